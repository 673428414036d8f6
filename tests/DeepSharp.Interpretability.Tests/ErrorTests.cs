namespace DeepSharp.Interpretability.Tests;

/// <summary>Bad input gets an ArgumentException that names the argument and the shapes or names involved.</summary>
public class ErrorTests
{
    [Fact]
    public void UnknownLayerListsTheLayersThatExist()
    {
        var model = Golden.Model();
        foreach (var action in new Action[]
        {
            () => new LayerGradCam(model, "conv3"),
            () => new GradCamPlusPlus(model, "conv3"),
            () => FeatureVisualization.Channel(model, "conv3", 0, [1, 1, 8, 8]),
            () => SanityChecks.RandomizeLayer(model, "conv3"),
        })
        {
            var e = Assert.Throws<ArgumentException>(action);
            Assert.Contains("layer 'conv3' does not exist in TinyCnn; its layers are: conv1, relu1, conv2, relu2, pool, fc", e.Message);
        }
    }

    [Fact]
    public void GradCamNeedsAFeatureMap()
    {
        var e = Assert.Throws<ArgumentException>(() => Attribution.GradCam(Golden.Model(), "fc", Golden.Input, Golden.Target));
        Assert.Contains("layer 'fc' gives shape (2, 3); Grad-CAM needs a 4-D (N, K, h, w) feature map", e.Message);
    }

    [Fact]
    public void TargetsAreChecked()
    {
        var model = Golden.Model();
        var e = Assert.Throws<ArgumentException>(() => Attribution.Saliency(model, Golden.Input, 3));
        Assert.Contains("target 3 is not a class index of a model with 3 outputs (shape (2, 3))", e.Message);
        e = Assert.Throws<ArgumentException>(() => Attribution.Saliency(model, Golden.Input, new[] { 0, 1, 2 }));
        Assert.Contains("3 targets given for a batch of 2 examples", e.Message);
        Assert.Equal("target", e.ParamName);
    }

    [Fact]
    public void InputsAreChecked()
    {
        var model = Golden.Model();
        var e = Assert.Throws<ArgumentException>(() => Attribution.Saliency(model, Tensor.Zeros([2, 1, 8, 8], DType.Int64), 0));
        Assert.Contains("must be float32 or float64, got Int64", e.Message);
        e = Assert.Throws<ArgumentException>(() => Attribution.Saliency(model, Tensor.Zeros([8], DType.Float64), 0));
        Assert.Contains("must be a batch (N, ...) with N ≥ 1, got shape (8)", e.Message);
        e = Assert.Throws<ArgumentException>(() => Attribution.Explain(model, Golden.Input, 0, ExplainMethod.Saliency));
        Assert.Contains("expects one image (1, C, H, W), got shape (2, 1, 8, 8)", e.Message);
    }

    [Fact]
    public void IntegratedGradientsSettingsAreChecked()
    {
        var model = Golden.Model();
        var e = Assert.Throws<ArgumentException>(() => Attribution.IntegratedGradients(model, Golden.Input, 0, Tensor.Zeros([3, 8], DType.Float64)));
        Assert.Contains("baselines of shape (3, 8) do not broadcast to the input's (2, 1, 8, 8)", e.Message);
        e = Assert.Throws<ArgumentException>(() => Attribution.IntegratedGradients(model, Golden.Input, 0, steps: 1, method: IntegrationMethod.RiemannTrapezoid));
        Assert.Contains("steps (n_steps) must be at least 2 for RiemannTrapezoid, got 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => Attribution.IntegratedGradients(model, Golden.Input, 0, steps: 0));
        Assert.Contains("at least 1, got 0", e.Message);
    }

    [Fact]
    public void OcclusionWindowsAreChecked()
    {
        var model = Golden.Model();
        var e = Assert.Throws<ArgumentException>(() => Attribution.Occlusion(model, Golden.Input, 0, [3, 3]));
        Assert.Contains("slidingWindowShapes has 2 entries (3, 3) for examples of shape (1, 8, 8)", e.Message);
        e = Assert.Throws<ArgumentException>(() => Attribution.Occlusion(model, Golden.Input, 0, [1, 9, 3]));
        Assert.Contains("window (1, 9, 3) does not fit in examples of shape (1, 8, 8) (dimension 1)", e.Message);
        e = Assert.Throws<ArgumentException>(() => Attribution.Occlusion(model, Golden.Input, 0, [1, 3, 3], [1, 0, 1]));
        Assert.Contains("strides must be positive, got (1, 0, 1)", e.Message);
    }

    [Fact]
    public void OcclusionLeavesUncoveredElementsAtZero()
    {
        // windows of 2 every 3 pixels leave rows and columns 2 and 5 uncovered: 0 there (Captum: NaN)
        var a = Attribution.Occlusion(Golden.Model(), Golden.Input, Golden.Target, [1, 2, 2], [1, 3, 3]);
        Assert.Equal(0, a[0, 0, 2, 4].Item<double>());
        Assert.NotEqual(0, a.Abs().Sum().Item<double>());
        Assert.False(a.Ne(a).Any().Item<bool>());
    }

    [Fact]
    public void NoiseAndVisualisationSettingsAreChecked()
    {
        var model = Golden.Model();
        var tunnel = new NoiseTunnel(new Saliency(model));
        var e = Assert.Throws<ArgumentException>(() => tunnel.AttributeWithNoise(Golden.Input, 0, Tensor.Zeros([4, 2, 8, 8], DType.Float64)));
        Assert.Contains("noise must be (samples, 2, 1, 8, 8), got (4, 2, 8, 8)", e.Message);
        e = Assert.Throws<ArgumentException>(() => tunnel.Attribute(Golden.Input, 0, samples: 0));
        Assert.Equal("samples", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => FeatureVisualization.Channel(model, "conv2", 6, [1, 1, 8, 8], new FeatureVisualizationOptions(Steps: 1)));
        Assert.Contains("channel 6 does not exist in layer 'conv2' of output shape (1, 6, 8, 8)", e.Message);
        e = Assert.Throws<ArgumentException>(() => FeatureVisualization.Class(model, 0, [2, 1, 8, 8]));
        Assert.Contains("inputShape must be (1, C, H, W), got (2, 1, 8, 8)", e.Message);
        e = Assert.Throws<ArgumentException>(() => Heatmap.Overlay(Tensor.Zeros(1, 8, 8), Tensor.Zeros(4, 4)));
        Assert.Contains("heat map of shape (4, 4) does not match the image's (8, 8)", e.Message);
    }
}
