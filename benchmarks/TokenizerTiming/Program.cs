// Byte-level BPE timing on the fortunes corpus (apt-get install fortunes): training 1000 merges on the first ~1 MB,
// then encode/decode throughput over the whole corpus. Usage: dotnet run -c Release [-- merges megabytes]
using System.Diagnostics;
using DeepSharp.Text;
using DeepSharp.Text.Datasets;

int merges = args.Length > 0 ? int.Parse(args[0]) : 1000;
double megabytes = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1.0;
var corpus = Fortunes.LoadText();
var training = corpus[..Math.Min(corpus.Length, (int)(megabytes * 1_000_000))];
Console.WriteLine($"fortunes: {corpus.Length:N0} chars; training on {training.Length:N0} chars");

for (int run = 0; run < 3; run++)
{
    var sw = Stopwatch.StartNew();
    var tokenizer = ByteBpeTokenizer.Train(training, 256 + merges, ["<|endoftext|>"]);
    double trainSeconds = sw.Elapsed.TotalSeconds;
    sw.Restart();
    var ids = tokenizer.Encode(corpus);
    double encodeSeconds = sw.Elapsed.TotalSeconds;
    sw.Restart();
    var text = tokenizer.Decode(ids);
    double decodeSeconds = sw.Elapsed.TotalSeconds;
    if (text != corpus) throw new InvalidOperationException("round trip failed");
    Console.WriteLine($"run {run}: train {tokenizer.Merges.Count} merges {trainSeconds:F2} s | encode {corpus.Length / 1e6 / encodeSeconds:F1} MB/s " +
                      $"({(double)corpus.Length / ids.Length:F2} chars/token) | decode {corpus.Length / 1e6 / decodeSeconds:F1} MB/s");
}
