namespace DeepSharp.Vision.Imaging;

/// <summary>
/// From coefficients to pixels: the inverse DCT of every block, chroma upsampling and colour conversion.
/// Upsampling by 2 (4:2:2, 4:2:0, 4:4:0) is the triangle ("fancy") filter that libjpeg, and so PIL and djpeg, use by
/// default: each output sample weighs its nearest input sample 3/4 and the next nearest 1/4 in each direction, edges
/// repeated. Other factors repeat samples. Colour follows JFIF 1.02 (YCbCr → RGB, full range) and Adobe's APP14 flag (RGB,
/// CMYK and YCCK, CMYK stored inverted as Photoshop writes it); CMYK becomes RGB as PIL's convert("RGB") makes it.
/// </summary>
internal sealed partial class JpegDecoder
{
    bool jfif;

    Image BuildImage()
    {
        var f = frame ?? throw new InvalidDataException("JPEG: no frame header (SOF) before EOI");
        foreach (var c in f.Components)
            if (c.Coefficients == null) throw new InvalidDataException($"JPEG: component {c.Id} has no scan (truncated file?)");
        int width = f.Width, height = f.Height, count = f.Components.Length;
        var planes = new byte[count][];
        var strides = new int[count];
        for (int i = 0; i < count; i++)
        {
            var c = f.Components[i];
            var (plane, stride) = InverseTransform(c);
            int rh = f.Hmax / c.H, rv = f.Vmax / c.V;
            (planes[i], strides[i]) = rh == 1 && rv == 1 ? (plane, stride) : (Upsample(plane, stride, c, rh, rv, width, height), width);
        }
        var image = count == 1
            ? Gather(planes[0], strides[0], width, height)
            : count == 3 ? ConvertThree(planes, strides, width, height, IsRgb(f)) : ConvertFour(planes, strides, width, height);
        return options.ApplyExifOrientation ? Exif.Orient(image, orientation) : image;
    }

    /// <summary>Whether three components hold RGB rather than YCbCr (libjpeg's rules: JFIF, then Adobe, then the ids 'R','G','B').</summary>
    bool IsRgb(JpegFrame f)
    {
        if (jfif) return false;
        if (adobeTransform >= 0) return adobeTransform == 0;
        return f.Components[0].Id == 'R' && f.Components[1].Id == 'G' && f.Components[2].Id == 'B';
    }

    /// <summary>The samples of a component: every block holding samples, dequantized and inverse transformed.</summary>
    static (byte[] Plane, int Stride) InverseTransform(JpegComponent c)
    {
        int stride = c.BlocksWide * 8;
        var plane = new byte[stride * c.BlocksHigh * 8];
        var coefficients = c.Coefficients!;
        var quant = c.Quant!;
        for (int by = 0; by < c.BlocksHigh; by++)
            for (int bx = 0; bx < c.BlocksWide; bx++)
                JpegIdct.Inverse(coefficients.AsSpan((by * c.BlocksPerLine + bx) * 64, 64), quant, plane.AsSpan(by * 8 * stride + bx * 8), stride);
        return (plane, stride);
    }

    /// <summary>A component upsampled by (<paramref name="rh"/>, <paramref name="rv"/>) to width × height samples.</summary>
    static byte[] Upsample(byte[] plane, int stride, JpegComponent c, int rh, int rv, int width, int height)
    {
        var result = new byte[width * height];
        int cw = c.Width, ch = c.Height;
        Span<int> sums = cw <= 4096 ? stackalloc int[cw] : new int[cw];
        for (int y = 0; y < height; y++)
        {
            var row = result.AsSpan(y * width, width);
            int r = y / rv;
            if (rv == 2 && rh <= 2)
            {
                // vertical triangle: 3/4 of the nearest component row, 1/4 of the row above (even y) or below (odd y)
                int far = Math.Clamp(y % 2 == 0 ? r - 1 : r + 1, 0, ch - 1);
                for (int x = 0; x < cw; x++) sums[x] = 3 * plane[r * stride + x] + plane[far * stride + x];
                if (rh == 2) HorizontalTriangle(sums, row, 8, 7, 4);
                else for (int x = 0; x < width; x++) row[x] = (byte)((sums[x] + (y % 2 == 0 ? 1 : 2)) >> 2);
            }
            else if (rv == 1 && rh == 2)
            {
                for (int x = 0; x < cw; x++) sums[x] = plane[r * stride + x];
                HorizontalTriangle(sums, row, 1, 2, 2);
            }
            else
                for (int x = 0; x < width; x++) row[x] = plane[r * stride + x / rh];
        }
        return result;
    }

    /// <summary>
    /// Doubles a row of (weighted) samples: out[2i] = (3·s[i] + s[i−1] + biasEven) &gt;&gt; shift,
    /// out[2i+1] = (3·s[i] + s[i+1] + biasOdd) &gt;&gt; shift, neighbours outside the row repeating the edge.
    /// </summary>
    static void HorizontalTriangle(ReadOnlySpan<int> s, Span<byte> output, int biasEven, int biasOdd, int shift)
    {
        int n = s.Length, width = output.Length;
        for (int i = 0; i < n; i++)
        {
            int three = 3 * s[i];
            int x = 2 * i;
            if (x < width) output[x] = (byte)((three + s[Math.Max(i - 1, 0)] + biasEven) >> shift);
            if (x + 1 < width) output[x + 1] = (byte)((three + s[Math.Min(i + 1, n - 1)] + biasOdd) >> shift);
        }
    }

    static Image Gather(byte[] plane, int stride, int width, int height)
    {
        var samples = new ushort[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) samples[y * width + x] = plane[y * stride + x];
        return new Image(height, width, 1, samples);
    }

    // JFIF 1.02 YCbCr → RGB, G in 16.16 fixed point: R = Y + 1.402 (Cr−128), G = Y − 0.34414 (Cb−128) − 0.71414 (Cr−128),
    // B = Y + 1.772 (Cb−128)
    static readonly int[] CrToR = Table(1.402, true), CbToB = Table(1.772, true), CbToG = Table(-0.34414, false), CrToG = Table(-0.71414, false);

    static int[] Table(double factor, bool rounded)
    {
        var t = new int[256];
        for (int i = 0; i < 256; i++)
            t[i] = rounded ? (int)Math.Round(factor * (i - 128), MidpointRounding.AwayFromZero) : (int)Math.Round(factor * 65536 * (i - 128));
        return t;
    }

    static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);

    /// <summary>Red, green and blue of one YCbCr sample.</summary>
    static (byte R, byte G, byte B) YccToRgb(int y, int cb, int cr) =>
        (Clamp(y + CrToR[cr]), Clamp(y + ((CbToG[cb] + CrToG[cr] + 32768) >> 16)), Clamp(y + CbToB[cb]));

    static Image ConvertThree(byte[][] p, int[] stride, int width, int height, bool rgb)
    {
        var samples = new ushort[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            var c0 = p[0].AsSpan(y * stride[0], width);
            var c1 = p[1].AsSpan(y * stride[1], width);
            var c2 = p[2].AsSpan(y * stride[2], width);
            var row = samples.AsSpan(y * width * 3, width * 3);
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = rgb ? (c0[x], c1[x], c2[x]) : YccToRgb(c0[x], c1[x], c2[x]);
                row[3 * x] = r; row[3 * x + 1] = g; row[3 * x + 2] = b;
            }
        }
        return new Image(height, width, 3, samples);
    }

    /// <summary>CMYK or YCCK to RGB: R = (255 − C)(255 − K)/255 for ink amounts C and K (PIL's CMYK → RGB).</summary>
    Image ConvertFour(byte[][] p, int[] stride, int width, int height)
    {
        bool ycck = adobeTransform == 2, inverted = adobeTransform >= 0;
        var samples = new ushort[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int s0 = p[0][y * stride[0] + x], s1 = p[1][y * stride[1] + x], s2 = p[2][y * stride[2] + x], s3 = p[3][y * stride[3] + x];
                if (ycck)
                {
                    // YCCK codes 255 − C, 255 − M, 255 − Y of the CMYK it replaces as if they were R, G, B (T.81 / Adobe TN 5116)
                    var (r, g, b) = YccToRgb(s0, s1, s2);
                    (s0, s1, s2) = (255 - r, 255 - g, 255 - b);
                }
                // "paper" left by each ink: the stored value when Adobe inverted the file, else 255 − ink
                int kPaper = inverted ? s3 : 255 - s3;
                int o = (y * width + x) * 3;
                samples[o] = Paper(inverted ? s0 : 255 - s0, kPaper);
                samples[o + 1] = Paper(inverted ? s1 : 255 - s1, kPaper);
                samples[o + 2] = Paper(inverted ? s2 : 255 - s2, kPaper);
            }
        return new Image(height, width, 3, samples);
    }

    static ushort Paper(int inkPaper, int kPaper) => (ushort)((inkPaper * kPaper + 127) / 255);
}
