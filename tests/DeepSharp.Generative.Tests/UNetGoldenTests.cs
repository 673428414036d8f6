using System.Text.Json;
using DeepSharp.Generative.Diffusion;
using DeepSharp.IO;
using DeepSharp.NN;

namespace DeepSharp.Generative.Tests;

/// <summary>
/// The U-Net against its PyTorch 1.13 twin (tools/golden/generative_unet.py): the same random weights
/// (Golden/unet.safetensors, loaded strictly by state-dict key), one forward pass, the DDPM ε-loss and its gradients at
/// fixed noise and timesteps, and one guided DDIM step.
/// </summary>
public class UNetGoldenTests
{
    static readonly JsonElement Case = GoldenFile.Case("unet");

    static UNet LoadTwin()
    {
        var unet = new UNet(new ImageShape(1, 12), channels: 8, numClasses: 3, groups: 4);
        var result = unet.LoadStateDict(SafeTensors.Load(Path.Combine(AppContext.BaseDirectory, "Golden", "unet.safetensors")));
        Assert.Empty(result.MissingKeys); Assert.Empty(result.UnexpectedKeys);
        return unet;
    }

    static Tensor Longs(string key) => Tensor.FromArray(Case.GetProperty(key).EnumerateArray().Select(e => e.GetInt64()).ToArray());
    static Tensor Floats(string key) => GoldenFile.Tensor(Case.GetProperty(key)).To(DType.Float32);

    [Fact]
    public void ForwardMatchesPyTorch()
    {
        var unet = LoadTwin();
        unet.Eval();
        var eps = unet.Predict(Floats("x"), Longs("t"), Longs("labels"));
        GoldenFile.AssertClose(GoldenFile.Tensor(Case.GetProperty("eps")), eps, 1e-4, 2e-5, "ε̂");
    }

    [Fact]
    public void DdpmLossAndGradientsMatchPyTorch()
    {
        var unet = LoadTwin();
        var ddpm = new Ddpm(unet, NoiseSchedule.Cosine(1000));
        var t = Longs("t");
        var noise = Floats("noise");
        var xt = ddpm.AddNoise(Floats("x0"), noise, t).Detach().RequiresGrad_();
        var loss = F.MseLoss(unet.Predict(xt, t, Longs("labels")), noise);
        Assert.Equal(Case.GetProperty("loss").GetDouble(), loss.Item(), 4);
        loss.Backward();
        GoldenFile.AssertClose(GoldenFile.Tensor(Case.GetProperty("grad_xt")), xt.Grad!, 1e-3, 1e-6, "∂loss/∂x_t");
        var parameters = unet.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        var expected = Case.GetProperty("grads").EnumerateObject().ToArray();
        Assert.Equal(7, expected.Length);
        foreach (var g in expected)
            GoldenFile.AssertClose(GoldenFile.Tensor(g.Value), parameters[g.Name].Grad!, 1e-3, 1e-6, $"∂loss/∂{g.Name}");
    }

    [Fact]
    public void GuidedDdimStepMatchesPyTorch()
    {
        var unet = LoadTwin();
        var ddpm = new Ddpm(unet, NoiseSchedule.Cosine(1000));
        var next = ddpm.DdimStep(Floats("ddim_x"), Case.GetProperty("ddim_from").GetInt32(), Case.GetProperty("ddim_to").GetInt32(),
            Longs("ddim_labels"), guidance: Case.GetProperty("ddim_guidance").GetDouble());
        GoldenFile.AssertClose(GoldenFile.Tensor(Case.GetProperty("ddim_out")), next, 1e-4, 2e-5, "DDIM x_400");
        Assert.Throws<ArgumentOutOfRangeException>(() => ddpm.DdimStep(Floats("ddim_x"), 400, 600));
    }
}
