// The training-workload models of benchmarks/pytorch_workloads.py that no library project holds, shared by `deepsharp bench`
// and benchmarks/AllocProfile (which compiles this file in).
using DeepSharp.NN;

namespace DeepSharp.Cli.Commands;

/// <summary>pytorch_workloads.py's LSTMNet: LSTM(64, 256, num_layers=2, batch_first=True), fc on the last step's output.</summary>
internal sealed class LstmNet : Module<Tensor, Tensor>
{
    readonly LSTM lstm = new(64, 256, numLayers: 2, batchFirst: true);
    readonly Linear fc = new(256, 10);
    public override Tensor Forward(Tensor x) => fc.Call(lstm.Call(x).Output.Select(1, -1));
}

/// <summary>
/// The TinyGPT of benchmarks/pytorch_workloads.py: token and position embeddings, two pre-norm encoder layers
/// (d=128, 4 heads, ff=512, dropout 0, batch first) under a causal −∞ mask, a final LayerNorm and a 256-way head.
/// </summary>
internal sealed class TinyGpt : Module<Tensor, Tensor>
{
    readonly DeepSharp.NN.Embedding tok = new(256, 128);
    readonly DeepSharp.NN.Embedding pos = new(64, 128);
    readonly TransformerEncoder enc = new(new TransformerEncoderLayer(128, 4, 512, 0.0, batchFirst: true, normFirst: true), 2);
    readonly LayerNorm ln = new(128);
    readonly Linear head = new(128, 256);
    [Buffer] readonly Tensor mask = F.CausalMask(64);
    readonly Tensor positions = Tensor.Arange(64, DType.Int64);

    public override Tensor Forward(Tensor idx)
    {
        int t = idx.Shape[1];
        var h = tok.Call(idx).Add(pos.Call(positions.Narrow(0, 0, t)));
        return head.Call(ln.Call(enc.Call(h, mask.Narrow(0, 0, t).Narrow(1, 0, t))));
    }
}
