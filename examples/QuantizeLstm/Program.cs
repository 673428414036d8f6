// Dynamic int8 quantization of the LSTM language model (DeepSharp.Text's LstmLanguageModel): a character-level model
// trained on the fortunes corpus, then its LSTM replaced by DynamicQuantizedLSTM; next-character accuracy, cross-entropy
// and the LSTM's latency, float32 and int8 timed the same way in the same process (two warm-up calls each, then rounds of
// both back to back in alternating order; medians of each side and of the per-round ratios).
// Run: dotnet run -c Release --project examples/QuantizeLstm -- --steps 300 --rounds 30
using System.Globalization;

var settings = new QuantizeLstm.Settings();
for (int i = 0; i + 1 < args.Length; i += 2)
    settings = args[i] switch
    {
        "--text" => settings with { TextFile = args[i + 1] },
        "--steps" => settings with { TrainSteps = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
        "--hidden" => settings with { Hidden = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
        "--rounds" => settings with { TimingRounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
        _ => throw new ArgumentException($"unknown option {args[i]} (--text FILE, --steps N, --hidden H, --rounds N)"),
    };
Console.WriteLine(QuantizeLstm.Run(settings, Console.Out));
