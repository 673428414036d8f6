namespace DeepSharp.Interpretability.Tests;

/// <summary>Every method against the plain-autograd PyTorch computation of tools/golden/interpretability.py (float64).</summary>
public class GoldenTests
{
    static readonly string[] UsedCases =
    [
        "input", "target", "logits", "saliency", "saliency_signed", "input_x_gradient", "smoothgrad_noise", "smoothgrad",
        "ig_gl", "ig_trap", "ig_gl_baseline", "gradcam_conv2", "gradcam_pool", "gradcampp_conv2", "occlusion", "feature_vis", "filter_grid",
    ];

    [Fact]
    public void EveryFixtureCaseIsUsed() =>
        Assert.Equal(UsedCases.Order(StringComparer.Ordinal), Golden.Cases.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

    [Fact]
    public void ModelGivesPyTorchsLogits()
    {
        var model = Golden.Model();
        using (Autograd.NoGrad()) Golden.Close(Golden.Tensor("logits"), model.Call(Golden.Input), "logits");
    }

    [Fact]
    public void SaliencyMatchesPyTorch()
    {
        var model = Golden.Model();
        Golden.Close(Golden.Tensor("saliency"), new Saliency(model).Attribute(Golden.Input, Golden.Target), "saliency");
        Golden.Close(Golden.Tensor("saliency_signed"), new Saliency(model).Attribute(Golden.Input, Golden.Target, abs: false), "saliency abs=False");
        Golden.Close(Golden.Tensor("input_x_gradient"), Attribution.InputXGradient(model, Golden.Input, Golden.Target), "input x gradient");
    }

    [Fact]
    public void SaliencyLeavesTheParametersGradAlone()
    {
        var model = Golden.Model();
        Attribution.Saliency(model, Golden.Input, Golden.Target);
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void SmoothGradMatchesPyTorchWithTheSameNoise()
    {
        var model = Golden.Model();
        var result = new NoiseTunnel(new Saliency(model)).AttributeWithNoise(Golden.Input, Golden.Target, Golden.Tensor("smoothgrad_noise"));
        Golden.Close(Golden.Tensor("smoothgrad"), result, "smoothgrad");
    }

    [Theory]
    [InlineData("ig_gl")]
    [InlineData("ig_trap")]
    [InlineData("ig_gl_baseline")]
    public void IntegratedGradientsMatchPyTorch(string name)
    {
        var c = Golden.Cases.GetProperty(name);
        var method = c.GetProperty("method").GetString() == "gausslegendre" ? IntegrationMethod.GaussLegendre : IntegrationMethod.RiemannTrapezoid;
        var model = Golden.Model();
        int steps = c.GetProperty("n_steps").GetInt32();
        var result = new IntegratedGradients(model).AttributeWithDelta(Golden.Input, Golden.Target, Golden.Tensor(c.GetProperty("baseline")), steps, method);
        Golden.Close(Golden.Tensor(c.GetProperty("attr")), result.Attributions, name);
        Golden.Close(Golden.Tensor(c.GetProperty("delta")), result.Delta, name + " delta", atol: 1e-9);
        // chunked evaluation gives the same result
        var chunked = new IntegratedGradients(model).AttributeWithDelta(Golden.Input, Golden.Target, Golden.Tensor(c.GetProperty("baseline")), steps, method, internalBatchSize: 6);
        Golden.Close(result.Attributions, chunked.Attributions, name + " chunked", atol: 1e-12);
    }

    [Theory]
    [InlineData("conv2")]
    [InlineData("pool")]
    public void GradCamMatchesPyTorch(string layer)
    {
        var c = Golden.Cases.GetProperty("gradcam_" + layer);
        var model = Golden.Model();
        Golden.Close(Golden.Tensor(c.GetProperty("layer")), new LayerGradCam(model, layer).Attribute(Golden.Input, Golden.Target, reluAttributions: false), "layer grad-cam " + layer);
        Golden.Close(Golden.Tensor(c.GetProperty("cam")), Attribution.GradCam(model, layer, Golden.Input, Golden.Target), "grad-cam " + layer);
    }

    [Fact]
    public void GradCamPlusPlusMatchesPyTorch()
    {
        var model = Golden.Model();
        Golden.Close(Golden.Tensor("gradcampp_conv2"), Attribution.GradCamPlusPlus(model, "conv2", Golden.Input, Golden.Target), "grad-cam++", atol: 1e-8, rtol: 1e-6);
    }

    [Fact]
    public void GradCamRemovesItsHook()
    {
        var model = Golden.Model();
        Attribution.GradCam(model, "conv2", Golden.Input, Golden.Target);
        Assert.All(model.Modules(), m => Assert.False(m.HasForwardHooks));
    }

    [Fact]
    public void OcclusionMatchesPyTorch()
    {
        var c = Golden.Cases.GetProperty("occlusion");
        int[] Ints(string key) => c.GetProperty(key).EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var result = new Occlusion(Golden.Model()).Attribute(Golden.Input, Golden.Target, Ints("window"), Ints("strides"));
        Golden.Close(Golden.Tensor(c.GetProperty("attr")), result, "occlusion");
    }

    [Fact]
    public void FeatureVisualizationWithoutJitterMatchesPyTorchsAdamAscent()
    {
        var c = Golden.Cases.GetProperty("feature_vis");
        var options = new FeatureVisualizationOptions(Steps: c.GetProperty("steps").GetInt32(), LearningRate: c.GetProperty("lr").GetDouble(), Jitter: 0,
            L2: c.GetProperty("l2").GetDouble(), TotalVariation: c.GetProperty("tv").GetDouble());
        var result = FeatureVisualization.Channel(Golden.Model(), c.GetProperty("layer").GetString()!, c.GetProperty("channel").GetInt32(), [1, 1, 8, 8],
            options, Golden.Tensor(c.GetProperty("start")));
        Golden.Close(Golden.Tensor(c.GetProperty("result")), result, "feature visualisation", atol: 1e-8, rtol: 1e-6);
    }

    [Fact]
    public void FilterGridMatchesTorchvisionMakeGrid()
    {
        var grid = FeatureVisualization.FilterGrid(Golden.Model(), nrow: 2, padding: 1);
        Golden.Close(Golden.Tensor("filter_grid"), grid, "filter grid", atol: 1e-6, rtol: 1e-5);
    }
}
