using DeepSharp.Generative.Diffusion;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Generative.Tests;

/// <summary>
/// Twenty DDPM training steps against PyTorch 1.13 (tools/golden/generative_trajectory.py): the same starting weights and
/// the same inputs at every step (x₀, timesteps, noise, labels), the ε-loss, Adam 2e-3 and an EMA of decay 0.995. The
/// losses of all steps and the final and averaged weights must agree, so the U-Net's backward, the optimizer and the
/// average are checked together over a run (a wrong gradient that still trains, or a different Adam or EMA update,
/// drifts the trajectory), at activation sizes past the kernels' chunking.
/// </summary>
public class UNetTrajectoryTests
{
    [Fact]
    public void TwentyTrainingStepsFollowPyTorch()
    {
        var golden = SafeTensors.Load(Path.Combine(AppContext.BaseDirectory, "Golden", "unet_trajectory.safetensors"));
        Dictionary<string, Tensor> Sub(string prefix) =>
            golden.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
        var unet = new UNet(new ImageShape(1, 16), channels: 8, numClasses: 3, groups: 4);
        var loaded = unet.LoadStateDict(Sub("init."));
        Assert.Empty(loaded.MissingKeys); Assert.Empty(loaded.UnexpectedKeys);
        var averaged = new UNet(new ImageShape(1, 16), channels: 8, numClasses: 3, groups: 4);
        var ema = new ExponentialMovingAverage(unet, averaged, decay: 0.995);
        var adam = new Adam(unet.Parameters(), 2e-3);
        var ddpm = new Ddpm(unet, NoiseSchedule.Cosine(1000));
        var expected = golden["losses"].ToArray<float>();
        unet.Train();
        for (int s = 0; s < expected.Length; s++)
        {
            var t = golden["t"].Select(0, s).Contiguous();
            var noise = golden["noise"].Select(0, s).Contiguous();
            adam.ZeroGrad();
            var loss = F.MseLoss(unet.Predict(ddpm.AddNoise(golden["x0"].Select(0, s).Contiguous(), noise, t), t, golden["labels"].Select(0, s).Contiguous()), noise);
            loss.Backward();
            adam.Step();
            ema.Update();
            Assert.True(Math.Abs(loss.Item() - expected[s]) <= 1e-4 * expected[s], $"step {s}: loss {loss.Item():G8}, PyTorch {expected[s]:G8}");
        }
        foreach (var (prefix, model) in new[] { ("final.", (Module)unet), ("ema.", averaged) })
        {
            var reference = Sub(prefix);
            foreach (var (name, p) in model.NamedParameters())
                GoldenFile.AssertClose(reference[name], p, 2e-3, 1e-4, prefix + name);
        }
    }
}
