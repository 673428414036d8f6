// LSTM forecasting of a generated signal (a sum of three sines plus Gaussian noise): windows of the past values
// predict the next few values; the test error is compared with the naive forecast that repeats the last value.
// The series is split in time (train, validation, test), and the model is trained by the Trainer.
// Run: dotnet run -c Release --project examples/TimeSeries -- --epochs 20
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

int epochs = args.Length >= 2 && args[0] == "--epochs" ? int.Parse(args[1]) : 20;
TimeSeries.Run(epochs, Console.Out);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class TimeSeries
{
    /// <summary>Standard deviation of the noise added to the signal (so the best possible MSE is about its square, 0.01).</summary>
    public const double Noise = 0.1;

    /// <summary>x_t = sin(2πt/25) + 0.5 sin(2πt/63 + 1) + 0.3 sin(2πt/9.5 + 2) + N(0, 0.1²), seeded.</summary>
    public static float[] Signal(int length, long seed = 0)
    {
        var rng = new Generator(seed);
        var x = new float[length];
        for (int t = 0; t < length; t++)
            x[t] = (float)(Math.Sin(2 * Math.PI * t / 25) + 0.5 * Math.Sin(2 * Math.PI * t / 63 + 1)
                           + 0.3 * Math.Sin(2 * Math.PI * t / 9.5 + 2) + Noise * rng.NextNormal());
        return x;
    }

    /// <summary>Every window of <paramref name="series"/>[from, to): inputs (N, window) and the next values (N, horizon).</summary>
    public static TensorDataset Windows(float[] series, int from, int to, int window, int horizon)
    {
        int n = to - from - window - horizon + 1;
        var inputs = new float[n * window];
        var targets = new float[n * horizon];
        for (int i = 0; i < n; i++)
        {
            Array.Copy(series, from + i, inputs, i * window, window);
            Array.Copy(series, from + i + window, targets, i * horizon, horizon);
        }
        return new TensorDataset(Tensor.FromArray(inputs, n, window), Tensor.FromArray(targets, n, horizon));
    }

    /// <summary>An LSTM reads the window one value per step; a linear head maps its last state to the next values.</summary>
    public sealed class Forecaster(int hidden, int horizon) : Module<Tensor, Tensor>
    {
        readonly LSTM lstm = new(1, hidden, batchFirst: true);
        readonly Linear head = new(hidden, horizon);

        /// <summary>Windows (B, window) → forecasts (B, horizon).</summary>
        public override Tensor Forward(Tensor windows)
        {
            var (output, _) = lstm.Call(windows.Unsqueeze(2));   // (B, window, hidden)
            return head.Call(output.Select(1, -1));            // (B, horizon)
        }
    }

    /// <summary>Mean squared error of the forecasts (B, horizon) against the targets.</summary>
    public static double Mse(Tensor forecast, Tensor target) => F.MseLoss(forecast, target).Item();

    /// <summary>The naive forecast: the last value of each window, repeated over the horizon.</summary>
    public static Tensor LastValue(Tensor windows, int horizon) => windows.Narrow(1, windows.Shape[1] - 1, 1).Expand(windows.Shape[0], horizon);

    /// <summary>What a run measured: test MSE of the LSTM and of the naive forecast, and per horizon step.</summary>
    public sealed record Report(double LstmMse, double NaiveMse, double[] LstmMseByStep, double[] NaiveMseByStep);

    /// <summary>Trains for <paramref name="epochs"/> epochs and reports test errors (progress to <paramref name="output"/>).</summary>
    public static Report Run(int epochs, TextWriter output, int length = 6000, int window = 48, int horizon = 5, int hidden = 32, long seed = 0)
    {
        DeepSharp.Random.Seed(seed);
        var series = Signal(length, seed);
        int trainEnd = length * 7 / 10, validationEnd = length * 8 / 10;   // split in time: 70% / 10% / 20%
        var train = Windows(series, 0, trainEnd, window, horizon);
        var validation = Windows(series, trainEnd, validationEnd, window, horizon);
        var test = Windows(series, validationEnd, length, window, horizon);
        var model = new Forecaster(hidden, horizon);
        var optimizer = new Adam(model.Parameters(), lr: 1e-2);
        var trainer = new Trainer(model, optimizer, (forecast, target) => F.MseLoss(forecast, target), metrics: [],
                                  progress: new PlainProgress(output))
        {
            Scheduler = new CosineAnnealingLR(optimizer, tMax: epochs, etaMin: 1e-4),
        };
        trainer.Fit(new DataLoader(train, batchSize: 64, shuffle: true, generator: new Generator(seed)),
                    new DataLoader(validation, batchSize: 512), epochs);

        var (inputs, targets) = (test.Tensors[0], test.Tensors[1]);
        var forecast = trainer.Predict(new DataLoader(test, batchSize: 512));
        var naive = LastValue(inputs, horizon);
        double[] ByStep(Tensor f) => [.. Enumerable.Range(0, horizon).Select(h => Mse(f.Select(1, h), targets.Select(1, h)))];
        var report = new Report(Mse(forecast, targets), Mse(naive, targets), ByStep(forecast), ByStep(naive));
        output.WriteLine($"test MSE over {targets.Shape[0]} windows, next {horizon} values (noise floor {Noise * Noise:F3}):");
        output.WriteLine($"  LSTM       {report.LstmMse:F4}   by step: {string.Join("  ", report.LstmMseByStep.Select(v => v.ToString("F4")))}");
        output.WriteLine($"  last value {report.NaiveMse:F4}   by step: {string.Join("  ", report.NaiveMseByStep.Select(v => v.ToString("F4")))}");
        output.WriteLine($"  the LSTM's error is {report.NaiveMse / report.LstmMse:F1}x smaller");
        return report;
    }
}
