using DeepSharp.NN;

namespace DeepSharp.Vision.Transforms;

/// <summary>How padding fills the new border (torchvision's padding_mode).</summary>
public enum PaddingMode
{
    /// <summary>A constant value ("constant").</summary>
    Constant,
    /// <summary>The last value at the edge, repeated ("edge").</summary>
    Edge,
    /// <summary>Mirror without repeating the edge: 3 2 | 1 2 3 4 ("reflect").</summary>
    Reflect,
    /// <summary>Mirror repeating the edge: 2 1 | 1 2 3 4 ("symmetric").</summary>
    Symmetric,
}

/// <summary>
/// Border widths in pixels (torchvision's padding argument): one int for all sides, a (horizontal, vertical) pair for
/// left/right and top/bottom, or all four sides.
/// </summary>
public readonly record struct Padding(int Left, int Top, int Right, int Bottom)
{
    /// <summary>The same width on every side.</summary>
    public static implicit operator Padding(int all) => new(all, all, all, all);
    /// <summary>(left and right, top and bottom), as torchvision's 2-element padding.</summary>
    public static implicit operator Padding((int Horizontal, int Vertical) p) => new(p.Horizontal, p.Vertical, p.Horizontal, p.Vertical);
    /// <summary>(left, top, right, bottom), as torchvision's 4-element padding.</summary>
    public static implicit operator Padding((int Left, int Top, int Right, int Bottom) p) => new(p.Left, p.Top, p.Right, p.Bottom);
    /// <summary>Whether every side is zero.</summary>
    public bool IsZero => Left == 0 && Top == 0 && Right == 0 && Bottom == 0;
    /// <inheritdoc/>
    public override string ToString() => $"({Left}, {Top}, {Right}, {Bottom})";
}

/// <summary>
/// The functional image transforms (torchvision.transforms.functional, usually imported as TF) on float tensors: one image
/// (C, H, W) or a batch (B, C, H, W) whose images all get the same parameters. Values are expected in [0, 1] where it
/// matters (the colour adjustments clamp to it, as torchvision does for float images).
/// </summary>
public static partial class TF
{
    /// <summary>
    /// The output size of a resize (torchvision's _compute_resized_output_size): with <paramref name="smallerEdge"/> the
    /// shorter side becomes that long and the other keeps the aspect ratio (truncated), capped by <paramref name="maxSize"/>.
    /// </summary>
    public static (int Height, int Width) ResizedSize(int height, int width, int smallerEdge, int? maxSize = null)
    {
        if (smallerEdge <= 0) throw new ArgumentException($"Resize: size must be positive, got {smallerEdge}", nameof(smallerEdge));
        bool wide = width > height;
        int shortSide = wide ? height : width, longSide = wide ? width : height;
        int newShort = smallerEdge, newLong = (int)((long)smallerEdge * longSide / shortSide);
        if (maxSize is int max)
        {
            if (max <= smallerEdge) throw new ArgumentException($"Resize: maxSize ({max}) must be greater than the requested smaller edge ({smallerEdge})", nameof(maxSize));
            if (newLong > max) { newShort = (int)((long)max * newShort / newLong); newLong = max; }
        }
        return wide ? (newShort, newLong) : (newLong, newShort);
    }

    /// <summary>
    /// Resizes so the shorter side is <paramref name="smallerEdge"/> pixels (TF.resize(img, size=int, interpolation,
    /// max_size, antialias)). Antialias (on by default, as in current torchvision and PIL) smooths when shrinking.
    /// </summary>
    public static Tensor Resize(Tensor image, int smallerEdge, InterpolationMode interpolation = InterpolationMode.Bilinear,
        int? maxSize = null, bool antialias = true)
    {
        var (_, _, h, w) = ImageShape.Of(image, "Resize");
        return Resize(image, (Size2)ResizedSize(h, w, smallerEdge, maxSize), interpolation, antialias);
    }

    /// <summary>Resizes to exactly <paramref name="size"/> (height, width) (TF.resize(img, size=[h, w], interpolation, antialias=)).</summary>
    public static Tensor Resize(Tensor image, Size2 size, InterpolationMode interpolation = InterpolationMode.Bilinear, bool antialias = true)
    {
        CheckSize(size, "Resize");
        return ImageBatch.Map(image, "Resize", img => ResizeChw(img, size.H, size.W, interpolation, antialias));
    }

    internal static Chw ResizeChw(Chw img, int outH, int outW, InterpolationMode interpolation, bool antialias) =>
        img.H == outH && img.W == outW ? img : Resampling.ResizeWindow(img, 0, 0, img.H, img.W, outH, outW, interpolation, antialias);

    /// <summary>
    /// The window (<paramref name="top"/>, <paramref name="left"/>, <paramref name="height"/>, <paramref name="width"/>);
    /// parts outside the image are zero (TF.crop).
    /// </summary>
    public static Tensor Crop(Tensor image, int top, int left, int height, int width)
    {
        CheckSize(new Size2(height, width), "Crop");
        return ImageBatch.Map(image, "Crop", img => CropChw(img, top, left, height, width));
    }

    internal static Chw CropChw(Chw img, int top, int left, int height, int width, float fill = 0f)
    {
        if (top == 0 && left == 0 && height == img.H && width == img.W) return img;
        var dst = Chw.Zeros(img.C, height, width);
        for (int c = 0; c < img.C; c++)
        {
            var src = img.Channel(c); var output = dst.Channel(c);
            for (int y = 0; y < height; y++)
            {
                int sy = top + y;
                var outRow = output.Slice(y * width, width);
                if (sy < 0 || sy >= img.H) { outRow.Fill(fill); continue; }
                for (int x = 0; x < width; x++)
                {
                    int sx = left + x;
                    outRow[x] = sx >= 0 && sx < img.W ? src[sy * img.W + sx] : fill;
                }
            }
        }
        return dst;
    }

    /// <summary>
    /// The central <paramref name="size"/> window, zero-padded first when the image is smaller (TF.center_crop); the offset
    /// is round((H − h) / 2) with round-half-to-even, as Python's round.
    /// </summary>
    public static Tensor CenterCrop(Tensor image, Size2 size)
    {
        CheckSize(size, "CenterCrop");
        return ImageBatch.Map(image, "CenterCrop", img => CenterCropChw(img, size.H, size.W));
    }

    internal static Chw CenterCropChw(Chw img, int cropH, int cropW)
    {
        if (cropW > img.W || cropH > img.H)
        {
            var pad = new Padding(cropW > img.W ? (cropW - img.W) / 2 : 0, cropH > img.H ? (cropH - img.H) / 2 : 0,
                                  cropW > img.W ? (cropW - img.W + 1) / 2 : 0, cropH > img.H ? (cropH - img.H + 1) / 2 : 0);
            img = PadChw(img, pad, 0f, PaddingMode.Constant);
            if (img.H == cropH && img.W == cropW) return img;
        }
        int top = (int)Math.Round((img.H - cropH) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((img.W - cropW) / 2.0, MidpointRounding.ToEven);
        return CropChw(img, top, left, cropH, cropW);
    }

    /// <summary>Crops a window and resizes it to <paramref name="size"/> (TF.resized_crop).</summary>
    public static Tensor ResizedCrop(Tensor image, int top, int left, int height, int width, Size2 size,
        InterpolationMode interpolation = InterpolationMode.Bilinear, bool antialias = true)
    {
        CheckSize(new Size2(height, width), "ResizedCrop");
        CheckSize(size, "ResizedCrop");
        return ImageBatch.Map(image, "ResizedCrop", img => ResizedCropChw(img, top, left, height, width, size.H, size.W, interpolation, antialias));
    }

    internal static Chw ResizedCropChw(Chw img, int top, int left, int height, int width, int outH, int outW, InterpolationMode interpolation, bool antialias)
    {
        if (top < 0 || left < 0 || top + height > img.H || left + width > img.W)
        {
            img = CropChw(img, top, left, height, width);
            top = 0; left = 0;
        }
        return Resampling.ResizeWindow(img, top, left, height, width, outH, outW, interpolation, antialias);
    }

    /// <summary>Mirrors left-right (TF.hflip).</summary>
    public static Tensor HorizontalFlip(Tensor image) => ImageBatch.Map(image, "HorizontalFlip", HFlipChw);

    /// <summary>Mirrors top-bottom (TF.vflip).</summary>
    public static Tensor VerticalFlip(Tensor image) => ImageBatch.Map(image, "VerticalFlip", VFlipChw);

    internal static Chw HFlipChw(Chw img)
    {
        for (int c = 0; c < img.C; c++)
            for (int y = 0; y < img.H; y++) img.Channel(c).Slice(y * img.W, img.W).Reverse();
        return img;
    }

    internal static Chw VFlipChw(Chw img)
    {
        var row = new float[img.W];
        for (int c = 0; c < img.C; c++)
        {
            var plane = img.Channel(c);
            for (int y = 0; y < img.H / 2; y++)
            {
                var a = plane.Slice(y * img.W, img.W); var b = plane.Slice((img.H - 1 - y) * img.W, img.W);
                a.CopyTo(row); b.CopyTo(a); row.CopyTo(b);
            }
        }
        return img;
    }

    /// <summary>Pads the borders (TF.pad(img, padding, fill, padding_mode)).</summary>
    public static Tensor Pad(Tensor image, Padding padding, float fill = 0f, PaddingMode mode = PaddingMode.Constant)
    {
        if (padding.Left < 0 || padding.Top < 0 || padding.Right < 0 || padding.Bottom < 0)
            throw new ArgumentException($"Pad: padding must be non-negative, got {padding}", nameof(padding));
        return ImageBatch.Map(image, "Pad", img => PadChw(img, padding, fill, mode));
    }

    internal static Chw PadChw(Chw img, Padding p, float fill, PaddingMode mode)
    {
        if (p.IsZero) return img;
        if (mode == PaddingMode.Reflect && (Math.Max(p.Left, p.Right) >= img.W || Math.Max(p.Top, p.Bottom) >= img.H))
            throw new ArgumentException($"Pad: reflect padding {p} must be smaller than the image ({img.H}x{img.W}) on each side");
        if (mode == PaddingMode.Symmetric && (Math.Max(p.Left, p.Right) > img.W || Math.Max(p.Top, p.Bottom) > img.H))
            throw new ArgumentException($"Pad: symmetric padding {p} must not exceed the image ({img.H}x{img.W}) on each side");
        int h = img.H + p.Top + p.Bottom, w = img.W + p.Left + p.Right;
        var dst = Chw.Zeros(img.C, h, w);
        var mapX = new int[w]; var mapY = new int[h];
        for (int x = 0; x < w; x++) mapX[x] = SourceIndex(x - p.Left, img.W, mode);
        for (int y = 0; y < h; y++) mapY[y] = SourceIndex(y - p.Top, img.H, mode);
        for (int c = 0; c < img.C; c++)
        {
            var src = img.Channel(c); var output = dst.Channel(c);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    output[y * w + x] = mapY[y] < 0 || mapX[x] < 0 ? fill : src[mapY[y] * img.W + mapX[x]];
        }
        return dst;
    }

    /// <summary>The source index of padded index <paramref name="i"/> (-1 = fill).</summary>
    static int SourceIndex(int i, int n, PaddingMode mode)
    {
        if (i >= 0 && i < n) return i;
        return mode switch
        {
            PaddingMode.Constant => -1,
            PaddingMode.Edge => Math.Clamp(i, 0, n - 1),
            PaddingMode.Reflect => n == 1 ? 0 : i < 0 ? -i : 2 * (n - 1) - i,
            _ => i < 0 ? -i - 1 : 2 * n - 1 - i,
        };
    }

    /// <summary>
    /// Replaces the window (<paramref name="top"/>, <paramref name="left"/>, <paramref name="height"/>, <paramref name="width"/>)
    /// by <paramref name="value"/>: one value for all channels or one per channel (TF.erase).
    /// </summary>
    public static Tensor Erase(Tensor image, int top, int left, int height, int width, params float[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return ImageBatch.Map(image, "Erase", img =>
        {
            if (value.Length != 1 && value.Length != img.C)
                throw new ArgumentException($"Erase: {value.Length} values for an image with {img.C} channels (give 1 or {img.C})", nameof(value));
            if (top < 0 || left < 0 || height < 0 || width < 0 || top + height > img.H || left + width > img.W)
                throw new ArgumentException($"Erase: window (top {top}, left {left}, {height}x{width}) is outside the image {img.H}x{img.W}");
            for (int c = 0; c < img.C; c++)
            {
                float v = value[value.Length == 1 ? 0 : c];
                for (int y = top; y < top + height; y++) img.Channel(c).Slice(y * img.W + left, width).Fill(v);
            }
            return img;
        });
    }

    internal static void CheckSize(Size2 size, string op)
    {
        if (size.H <= 0 || size.W <= 0) throw new ArgumentException($"{op}: size must be positive, got {size}", nameof(size));
    }
}
