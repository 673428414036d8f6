using DeepSharp.Compression.Pruning;
using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Compression.Distillation;

/// <summary>Students for distillation, built from zoo architectures at a fraction of their width.</summary>
public static class Students
{
    /// <summary>
    /// The Fashion CNN at half width (convolutions of 16 and 32 channels, a 128-unit hidden layer): about a quarter of its
    /// parameters (218k of 849k), freshly initialised with PyTorch's defaults. Its state dict has the Fashion CNN's keys
    /// with smaller shapes, so <see cref="FilterPruning.ShrinkTo"/> rebuilds it from a saved file.
    /// </summary>
    public static FashionCnn SmallCnn(int classes = 10, int inChannels = 1)
    {
        var model = new FashionCnn(classes, inChannels);
        FilterPruning.Shrink(model, 0.5);
        foreach (var m in model.Modules())
            switch (m)
            {
                case Conv2d conv: conv.ResetParameters(); break;
                case Linear fc: fc.ResetParameters(); break;
            }
        return model;
    }
}
