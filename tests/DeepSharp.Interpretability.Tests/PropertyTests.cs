using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Interpretability.Tests;

/// <summary>Completeness, the Adebayo et al. sanity check, and every method on the Fashion CNN and a zoo ResNet.</summary>
public class PropertyTests
{
    [Fact]
    public void IntegratedGradientsAreCompleteWithEnoughSteps()
    {
        var model = Golden.Model();
        var result = Attribution.IntegratedGradients(model, Golden.Input, Golden.Target, steps: 512);
        var delta = result.Delta.ToArray<double>();
        // the attributions sum to f(x) − f(baseline) up to the quadrature error at the ReLU kinks (1.6 % at 64 steps, 0.3 % at 256): within 1 %
        var sums = result.Attributions.Reshape(2, -1).Sum(1).ToArray<double>();
        for (int i = 0; i < 2; i++)
            Assert.True(Math.Abs(delta[i]) < 0.01 * Math.Abs(sums[i]), $"example {i}: delta {delta[i]} against a sum of {sums[i]}");
        Assert.Contains(sums, s => Math.Abs(s) > 0.1);
        // and the delta shrinks as the steps grow (Gauss–Legendre converges fast on this piecewise-linear path)
        var coarse = Attribution.IntegratedGradients(model, Golden.Input, Golden.Target, steps: 2, method: IntegrationMethod.RiemannTrapezoid);
        Assert.True(coarse.Delta.Abs().Sum().Item<double>() > result.Delta.Abs().Sum().Item<double>());
    }

    [Fact]
    public void GaussLegendreMatchesNumpysLeggauss()
    {
        // numpy.polynomial.legendre.leggauss(3): nodes ±sqrt(3/5), 0; weights 5/9, 8/9, 5/9
        var (nodes, weights) = IntegratedGradients.GaussLegendre(3);
        Assert.Equal(-Math.Sqrt(0.6), nodes[0], 14);
        Assert.Equal(0, nodes[1], 14);
        Assert.Equal(Math.Sqrt(0.6), nodes[2], 14);
        Assert.Equal(5.0 / 9, weights[0], 12);
        Assert.Equal(8.0 / 9, weights[1], 12);
        Assert.Equal(5.0 / 9, weights[2], 12);
        var (_, w50) = IntegratedGradients.GaussLegendre(50);
        Assert.Equal(2, w50.Sum(), 12);
        var (alphas, steps) = IntegratedGradients.Quadrature(4, IntegrationMethod.RiemannTrapezoid);
        Assert.Equal([0, 1.0 / 3, 2.0 / 3, 1], alphas);
        Assert.Equal([0.125, 0.25, 0.25, 0.125], steps);
    }

    /// <summary>
    /// "Sanity checks for saliency maps" (Adebayo et al. 2018): randomising the model's weights must change the attribution.
    /// Trained and randomised maps correlate far less than a map with itself.
    /// </summary>
    [Fact]
    public void RandomisingTheWeightsChangesTheAttributions()
    {
        var x = Golden.Input;
        var target = Golden.Target;
        foreach (var (name, attribute) in new (string, Func<TinyCnn, Tensor>)[]
        {
            ("saliency", m => Attribution.Saliency(m, x, target)),
            ("integrated gradients", m => Attribution.IntegratedGradients(m, x, target, steps: 16).Attributions),
            ("grad-cam", m => Attribution.GradCam(m, "conv2", x, target)),
        })
        {
            var model = Golden.Model();
            var before = attribute(model);
            Assert.Equal(1.0, SanityChecks.RankCorrelation(before, attribute(model)), 12);
            var cascade = SanityChecks.CascadingRandomization(model, ["fc", "conv2", "conv1"], () => attribute(model), new Generator(3));
            Assert.Equal(["fc", "conv2", "conv1"], cascade.Select(c => c.Layer));
            Assert.True(cascade[^1].Correlation < 0.7, $"{name}: a fully randomised model's map still correlates {cascade[^1].Correlation:F3} with the trained one's");
            var after = attribute(model);
            Assert.True((after - before).Abs().Sum().Item<double>() > 0.1 * before.Abs().Sum().Item<double>(), $"{name}: the map barely moved");
        }
    }

    [Fact]
    public void RankCorrelationIsSpearmans()
    {
        var a = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5 });
        Assert.Equal(1, SanityChecks.RankCorrelation(a, a * a), 12);        // monotone: 1
        Assert.Equal(-1, SanityChecks.RankCorrelation(a, -a), 12);
        // scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]) = 0.8207826816681233 (ties share the mean rank)
        Assert.Equal(0.8207826816681233, SanityChecks.RankCorrelation(a, Tensor.FromArray(new double[] { 5, 6, 7, 8, 7 })), 12);
    }

    public static TheoryData<string> Models => new() { "fashion_cnn", "resnet18" };

    /// <summary>Every method runs on the Fashion CNN and a zoo ResNet-18 (28×28 grey input) and gives finite maps of the right shape.</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void EveryMethodRunsOnZooModels(string name)
    {
        DeepSharp.Random.Seed(1);
        var model = ModelZoo.Create(name, numClasses: 10, inChannels: 1);
        model.Eval();
        var x = Tensor.Rand(1, 1, 28, 28);
        foreach (var method in Enum.GetValues<ExplainMethod>())
        {
            var e = Attribution.Explain(model, x, 3, method);
            Assert.Equal(new[] { 28, 28 }, e.Heat.Shape);
            Assert.True(e.Heat.Min().Item<float>() >= 0 && e.Heat.Max().Item<float>() <= 1, $"{name} {method}: heat outside [0, 1]");
            Assert.False(e.Attributions.Ne(e.Attributions).Any().Item<bool>(), $"{name} {method}: NaN in the attributions");
            Assert.Equal(new[] { 1, 1, 28, 28 }, e.Attributions.Shape);   // one input channel: the CAMs and the pixel maps agree in shape
            Assert.Equal(method == ExplainMethod.IntegratedGradients, e.Delta != null);
        }
        var layer = name == "resnet18" ? "layer4" : "features.10";
        Assert.Equal(new[] { 1, 1, 28, 28 }, Attribution.GradCam(model, layer, x, 3).Shape);
        Assert.Equal(name == "resnet18" ? "layer4.1.conv2" : "features.9", Layers.LastConv(model));
        // on 28×28 images ResNet-18's layer4 is 1×1: the default CAM layer is the last convolution with a larger map
        Assert.Equal(name == "resnet18" ? "layer3.1.conv2" : "features.9", Layers.DefaultCamLayer(model, x));
        var dream = FeatureVisualization.Channel(model, layer, 0, [1, 1, 28, 28], new FeatureVisualizationOptions(Steps: 3));
        Assert.Equal(new[] { 1, 1, 28, 28 }, dream.Shape);
    }

    [Fact]
    public void ActivationMaximisationRaisesTheActivation()
    {
        var model = Golden.Model();
        var start = Tensor.Randn([1, 1, 8, 8], DType.Float64, generator: new Generator(5)) * 0.01;
        double Activation(Tensor image)
        {
            Tensor? output = null;
            using var hook = Layers.Find(model, "relu2").RegisterForwardHook((_, _, o) => { output = (Tensor)o!; });
            using (Autograd.NoGrad()) model.Call(image);
            return output!.Select(1, 2).Mean().Item<double>();
        }
        var result = FeatureVisualization.Channel(model, "relu2", 2, [1, 1, 8, 8], new FeatureVisualizationOptions(Steps: 40, Jitter: 1), start);
        Assert.True(Activation(result) > Activation(start) + 0.1, $"activation {Activation(start)} → {Activation(result)}");
        var classImage = FeatureVisualization.Class(model, 1, [1, 1, 8, 8], new FeatureVisualizationOptions(Steps: 40), start);
        Tensor logits;
        using (Autograd.NoGrad()) logits = model.Call(classImage);
        Assert.Equal(1, logits.ArgMax(1).Item<long>());
    }

    [Fact]
    public void RollIsTorchRoll()
    {
        var x = Tensor.Arange(6).Reshape(1, 1, 2, 3).To(DType.Float64);
        Assert.Equal(new double[] { 2, 0, 1, 5, 3, 4 }, FeatureVisualization.Roll(x, 1, 3).Contiguous().ToArray<double>());
        Assert.Equal(new double[] { 1, 2, 0, 4, 5, 3 }, FeatureVisualization.Roll(x, -1, 3).Contiguous().ToArray<double>());
        Assert.Equal(new double[] { 3, 4, 5, 0, 1, 2 }, FeatureVisualization.Roll(x, 1, 2).Contiguous().ToArray<double>());
    }
}
