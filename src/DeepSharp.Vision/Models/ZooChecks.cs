namespace DeepSharp.Vision.Models;

/// <summary>Argument checks shared by the model-zoo constructors and forwards.</summary>
static class ZooChecks
{
    /// <summary>Rejects non-positive class or channel counts.</summary>
    public static void Classes(int numClasses, int inChannels, string model)
    {
        if (numClasses <= 0) throw new ArgumentOutOfRangeException(nameof(numClasses), $"{model}: numClasses must be positive, got {numClasses}");
        if (inChannels <= 0) throw new ArgumentOutOfRangeException(nameof(inChannels), $"{model}: inChannels must be positive, got {inChannels}");
    }

    /// <summary>Checks that <paramref name="input"/> is an (N, C, H, W) batch with the expected channels and at least <paramref name="minSize"/> pixels a side.</summary>
    public static void Image(Tensor input, int minSize, string model, int channels)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4)
            throw new ArgumentException($"{model}: expected an (N, C, H, W) batch of images, got shape {Fmt(input.Shape)}", nameof(input));
        if (input.Shape[1] != channels)
            throw new ArgumentException($"{model}: input of shape {Fmt(input.Shape)} has {input.Shape[1]} channels but the model was built for {channels}", nameof(input));
        if (input.Shape[2] < minSize || input.Shape[3] < minSize)
            throw new ArgumentException($"{model}: input of shape {Fmt(input.Shape)} is too small; the model needs at least {minSize}×{minSize} pixels", nameof(input));
    }

    static string Fmt(IReadOnlyList<int> shape) => "(" + string.Join(", ", shape) + ")";
}
