using DeepSharp.NN;

namespace DeepSharp.Audio;

/// <summary>
/// Keyword-spotting CNN on log-mel features (in the spirit of Sainath &amp; Parada's small-footprint KWS CNNs and
/// torchaudio's Speech Commands tutorial): four 3×3 conv-BN-ReLU blocks, the first three followed by 2×2 max pooling
/// (a receptive field of about 0.5 s), a global average over frequency and time, dropout and a linear classifier.
/// Input (B, 1, n_mels, frames) → logits (B, classes).
/// </summary>
public sealed class KeywordCnn : Module<Tensor, Tensor>
{
    readonly Conv2d conv1, conv2, conv3, conv4;
    readonly BatchNorm2d bn1, bn2, bn3, bn4;
    readonly Dropout dropout = new(0.2);
    readonly Linear fc;

    /// <summary>Creates the model with <paramref name="width"/> channels in the first block (doubling for the next two).</summary>
    public KeywordCnn(int classes = 10, int width = 16)
    {
        if (classes < 2 || width < 1) throw new ArgumentException($"KeywordCnn: need classes >= 2 and width >= 1, got {classes} and {width}");
        conv1 = new Conv2d(1, width, 3, padding: 1); bn1 = new BatchNorm2d(width);
        conv2 = new Conv2d(width, 2 * width, 3, padding: 1); bn2 = new BatchNorm2d(2 * width);
        conv3 = new Conv2d(2 * width, 4 * width, 3, padding: 1); bn3 = new BatchNorm2d(4 * width);
        conv4 = new Conv2d(4 * width, 4 * width, 3, padding: 1); bn4 = new BatchNorm2d(4 * width);
        fc = new Linear(4 * width, classes);
    }

    /// <summary>(B, 1, n_mels, frames) → (B, classes).</summary>
    public override Tensor Forward(Tensor x)
    {
        if (x.Rank != 4 || x.Size(1) != 1) throw new ArgumentException($"KeywordCnn: input must be (B, 1, n_mels, frames), got shape {Spectral.Shape(x)}", nameof(x));
        x = F.MaxPool2d(F.Relu(bn1.Call(conv1.Call(x))), 2);     // (B, w, M/2, T/2)
        x = F.MaxPool2d(F.Relu(bn2.Call(conv2.Call(x))), 2);     // (B, 2w, M/4, T/4)
        x = F.MaxPool2d(F.Relu(bn3.Call(conv3.Call(x))), 2);     // (B, 4w, M/8, T/8)
        x = F.Relu(bn4.Call(conv4.Call(x)));                      // (B, 4w, M/8, T/8)
        return fc.Call(dropout.Call(x.Mean([2, 3])));             // (B, classes)
    }
}
