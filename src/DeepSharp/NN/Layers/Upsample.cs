namespace DeepSharp.NN;

/// <summary>Resizes (N, C, H, W) inputs to a size or by a scale factor (torch.nn.Upsample).</summary>
public class Upsample : Module<Tensor, Tensor>
{
    /// <summary>Target size, or null when a scale factor is used (size).</summary>
    public Size2? Size { get; }
    /// <summary>Scale factor, or null when a size is used (scale_factor).</summary>
    public Scale2? ScaleFactor { get; }
    /// <summary>Interpolation mode (mode).</summary>
    public UpsampleMode Mode { get; }
    /// <summary>Align corner pixels in linear modes (align_corners).</summary>
    public bool? AlignCorners { get; }

    /// <summary>Creates the layer (torch.nn.Upsample(size, scale_factor, mode='nearest', align_corners)); give exactly one of size and scale factor.</summary>
    public Upsample(Size2? size = null, Scale2? scaleFactor = null, UpsampleMode mode = UpsampleMode.Nearest, bool? alignCorners = null)
    {
        if ((size == null) == (scaleFactor == null))
            throw new ArgumentException("Upsample: give exactly one of size and scaleFactor");
        Size = size; ScaleFactor = scaleFactor; Mode = mode; AlignCorners = alignCorners;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Interpolate(input, Size, ScaleFactor, Mode, AlignCorners);

    /// <inheritdoc/>
    public override string ExtraRepr()
    {
        string info = ScaleFactor is { } s
            ? "scale_factor=" + (s.H == s.W ? PyFloat(s.H) : $"({PyFloat(s.H)}, {PyFloat(s.W)})")
            : "size=" + MaxPool2d.PySize(Size!.Value);
        return info + $", mode={Mode.ToString().ToLowerInvariant()}";
    }
}
