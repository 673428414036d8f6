using DeepSharp.NN;

namespace DeepSharp.Interpretability;

/// <summary>Finds a model's layers by their state-dict style name ("features.3", "layer4.1.conv2").</summary>
public static class Layers
{
    /// <summary>
    /// The sub-module called <paramref name="name"/> (torch.nn.Module.get_submodule). A name that does not exist gives
    /// an ArgumentException listing the names that do.
    /// </summary>
    public static Module Find(Module model, string name)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(name);
        foreach (var (n, m) in model.NamedModules())
            if (n == name) return m;
        var names = model.NamedModules().Select(p => p.Name).Where(n => n.Length > 0).ToArray();
        throw new ArgumentException($"layer '{name}' does not exist in {model.GetType().Name}; its layers are: {string.Join(", ", names)}", nameof(name));
    }

    /// <summary>The name of the last Conv2d in registration order: the usual Grad-CAM layer when none is named.</summary>
    public static string LastConv(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.NamedModules().LastOrDefault(p => p.Module is Conv2d).Name
            ?? throw new ArgumentException($"{model.GetType().Name} has no Conv2d layer; name a layer for Grad-CAM", nameof(model));
    }

    /// <summary>
    /// The Grad-CAM layer used when none is named: the last Conv2d (in the order the forward runs them) whose output for
    /// <paramref name="input"/> is larger than 1×1 (a 1×1 map, as ResNet's layer4 gives on 28×28 images, makes a constant CAM).
    /// </summary>
    public static string DefaultCamLayer(Module<Tensor, Tensor> model, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(model);
        string? chosen = null;
        var handles = model.NamedModules().Where(p => p.Module is Conv2d).Select(p => p.Module.RegisterForwardHook((_, _, output) =>
        {
            if (output is Tensor { Rank: 4 } t && t.Shape[2] * t.Shape[3] > 1) chosen = p.Name;
        })).ToArray();
        try { using (Autograd.NoGrad()) model.Call(input); }
        finally { foreach (var h in handles) h.Dispose(); }
        return chosen ?? LastConv(model);
    }

    /// <summary>The first Conv2d in registration order (the filters of <see cref="FeatureVisualization.FilterGrid"/>).</summary>
    public static Conv2d FirstConv(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Modules().OfType<Conv2d>().FirstOrDefault()
            ?? throw new ArgumentException($"{model.GetType().Name} has no Conv2d layer", nameof(model));
    }
}

/// <summary>
/// Records a layer's output during a forward through a forward hook on the module contract
/// (torch.nn.Module.register_forward_hook), so that a gradient can be taken with respect to it. Dispose to remove the hook.
/// </summary>
internal sealed class LayerCapture : IDisposable
{
    readonly HookHandle handle;
    readonly string name;

    public LayerCapture(Module model, string layerName)
    {
        name = layerName;
        var layer = Layers.Find(model, layerName);
        handle = layer.RegisterForwardHook((_, _, output) =>
        {
            Output = output as Tensor ?? throw new ArgumentException(
                $"layer '{layerName}' ({layer.GetType().Name}) returns {output?.GetType().Name ?? "null"}, not a tensor; choose a layer with a tensor output", nameof(layerName));
        });
    }

    /// <summary>The layer's output in the last forward (its last call when the module runs several times).</summary>
    public Tensor? Output { get; private set; }

    /// <summary>The output and the gradient of <paramref name="score"/> with respect to it (torch.autograd.grad).</summary>
    public (Tensor Activation, Tensor Gradient) ActivationAndGradient(Tensor score)
    {
        var activation = Output ?? throw new InvalidOperationException($"layer '{name}' did not run in the model's forward");
        if (!activation.RequiresGrad)
            throw new InvalidOperationException($"layer '{name}''s output does not depend on anything that requires grad");
        return (activation.Detach(), Autograd.Grad(score, activation));
    }

    public void Dispose() => handle.Dispose();
}
