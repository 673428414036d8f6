// A two-layer MLP trained with a hand-written SGD step, using nothing but tensors and autograd:
// first on XOR, then on a 2-D spiral of three arms. Run: dotnet run --project examples/MlpFromScratch
using DeepSharp;

DeepSharp.Random.Seed(0);
var (xorX, xorY) = MlpFromScratch.Xor();
Console.WriteLine($"XOR training accuracy:    {MlpFromScratch.Train(xorX, xorY, hidden: 32, steps: 2000, lr: 0.5):P1}");
var (spiralX, spiralY) = MlpFromScratch.Spiral(pointsPerClass: 100, classes: 3);
Console.WriteLine($"spiral training accuracy: {MlpFromScratch.Train(spiralX, spiralY, hidden: 64, steps: 3000, lr: 0.5):P1}");

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class MlpFromScratch
{
    /// <summary>The four XOR points and their labels.</summary>
    public static (Tensor X, Tensor Y) Xor() =>
        (Tensor.FromArray(new float[] { 0, 0, 0, 1, 1, 0, 1, 1 }, 4, 2), Tensor.FromArray(new long[] { 0, 1, 1, 0 }));

    /// <summary>CS231n's spiral: <paramref name="classes"/> interleaved arms of noisy points in 2-D.</summary>
    public static (Tensor X, Tensor Y) Spiral(int pointsPerClass, int classes, long seed = 0)
    {
        var rng = new Generator(seed);
        var x = new float[pointsPerClass * classes * 2];
        var y = new long[pointsPerClass * classes];
        for (int c = 0; c < classes; c++)
            for (int i = 0; i < pointsPerClass; i++)
            {
                int k = c * pointsPerClass + i;
                double r = (double)i / pointsPerClass;
                double t = c * 4 + 4.0 * i / pointsPerClass + rng.NextNormal() * 0.2;
                x[2 * k] = (float)(r * Math.Sin(t)); x[2 * k + 1] = (float)(r * Math.Cos(t)); y[k] = c;
            }
        return (Tensor.FromArray(x, y.Length, 2), Tensor.FromArray(y));
    }

    /// <summary>Trains x → tanh(x W1 + b1) W2 + b2 with softmax cross-entropy and plain SGD; returns training accuracy.</summary>
    public static double Train(Tensor x, Tensor y, int hidden, int steps, double lr)
    {
        int inputs = x.Shape[1], classes = (int)y.ToArray<long>().Max() + 1;
        var w1 = (Tensor.Randn(inputs, hidden) * Math.Sqrt(1.0 / inputs)).RequiresGrad_();
        var b1 = Tensor.Zeros([hidden], requiresGrad: true);
        var w2 = (Tensor.Randn(hidden, classes) * Math.Sqrt(1.0 / hidden)).RequiresGrad_();
        var b2 = Tensor.Zeros([classes], requiresGrad: true);
        Tensor[] parameters = [w1, b1, w2, b2];
        var oneHot = Tensor.Eye(classes).IndexSelect(0, y);           // (N, C)
        Tensor Logits() => (x.MatMul(w1) + b1).Tanh().MatMul(w2) + b2;
        for (int step = 0; step < steps; step++)
        {
            var logits = Logits();
            // cross-entropy written out: mean over rows of logsumexp(logits) - logit of the true class
            var loss = (logits.LogSumExp([1]) - (logits * oneHot).Sum(1)).Mean();
            foreach (var p in parameters) p.Grad = null;
            loss.Backward();
            using (Autograd.NoGrad())
                foreach (var p in parameters) p.SubInPlace(p.Grad! * lr);
        }
        using (Autograd.NoGrad())
        {
            var predicted = Logits().ArgMax(1).ToArray<long>();
            var truth = y.ToArray<long>();
            return predicted.Zip(truth).Count(p => p.First == p.Second) / (double)truth.Length;
        }
    }
}
