namespace DeepSharp.Vision.Imaging;

/// <summary>Chroma subsampling of a colour JPEG (PIL's <c>subsampling=</c> option of <c>Image.save</c>).</summary>
public enum JpegSubsampling
{
    /// <summary>4:4:4: chroma at full resolution (PIL subsampling=0).</summary>
    Chroma444,
    /// <summary>4:2:2: chroma halved horizontally (PIL subsampling=1).</summary>
    Chroma422,
    /// <summary>4:2:0: chroma halved both ways, the default of PIL and cjpeg (PIL subsampling=2).</summary>
    Chroma420,
}

/// <summary>The baseline JPEG encoder: JFIF, YCbCr or grey, Annex K quantization scaled by quality, Annex K Huffman tables.</summary>
public static partial class Jpeg
{
    /// <summary>
    /// Encodes <paramref name="image"/> as a baseline JFIF JPEG (PIL <c>Image.save(..., "JPEG", quality=, subsampling=)</c>;
    /// torchvision.io.encode_jpeg). Grey images (1 or 2 channels) give a one-component file, colour images YCbCr with
    /// <paramref name="subsampling"/> (chroma averaged over each 2×2 or 2×1 cell). Alpha is dropped (JPEG has none), and
    /// 16-bit samples are scaled to 8 bits. <paramref name="quality"/> 1..100 scales the T.81 Annex K tables as libjpeg does,
    /// so a quality means what it means to PIL and cjpeg (75 is their default).
    /// </summary>
    public static byte[] Encode(Image image, int quality = 75, JpegSubsampling subsampling = JpegSubsampling.Chroma420)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (quality is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(quality), $"Jpeg.Encode: quality must be in [1, 100], got {quality}");
        if (image.Width > 65535 || image.Height > 65535)
            throw new ArgumentException($"Jpeg.Encode: a JPEG is at most 65535x65535, the image is {image.Width}x{image.Height}", nameof(image));
        var bytes = image.ToBytes();
        int w = image.Width, h = image.Height, channels = image.Channels;
        bool grey = channels <= 2;
        var luma = new float[w * h];
        float[]? cb = null, cr = null;
        if (grey) for (int p = 0; p < luma.Length; p++) luma[p] = bytes[p * channels];
        else
        {
            cb = new float[w * h]; cr = new float[w * h];
            for (int p = 0; p < luma.Length; p++)
            {
                float r = bytes[p * channels], g = bytes[p * channels + 1], b = bytes[p * channels + 2];
                luma[p] = 0.299f * r + 0.587f * g + 0.114f * b;
                cb[p] = -0.168736f * r - 0.331264f * g + 0.5f * b + 128f;
                cr[p] = 0.5f * r - 0.418688f * g - 0.081312f * b + 128f;
            }
        }
        int hs = grey || subsampling == JpegSubsampling.Chroma444 ? 1 : 2, vs = !grey && subsampling == JpegSubsampling.Chroma420 ? 2 : 1;
        var lumaQuant = JpegTables.Scaled(JpegTables.LuminanceQuant, quality);
        var chromaQuant = JpegTables.Scaled(JpegTables.ChrominanceQuant, quality);
        var planes = new List<EncoderPlane> { new(luma, w, h, hs, vs, lumaQuant, 0) };
        if (!grey)
        {
            int cw = (w + hs - 1) / hs, chh = (h + vs - 1) / vs;
            planes.Add(new(Downsample(cb!, w, h, hs, vs), cw, chh, 1, 1, chromaQuant, 1));
            planes.Add(new(Downsample(cr!, w, h, hs, vs), cw, chh, 1, 1, chromaQuant, 1));
        }
        var output = new JpegWriter();
        output.WriteHeaders(w, h, planes, lumaQuant, grey ? null : chromaQuant);
        WriteScan(output, planes, w, h, hs, vs);
        output.WriteMarker(0xD9);
        return output.ToArray();
    }

    /// <summary>One component to encode: its samples, sampling factors, quantization table and Huffman table set.</summary>
    internal sealed record EncoderPlane(float[] Samples, int Width, int Height, int H, int V, ushort[] Quant, int TableId)
    {
        public int Predictor { get; set; }
    }

    /// <summary>Averages each <paramref name="hs"/>×<paramref name="vs"/> cell (cells cut by the edge average what they hold).</summary>
    static float[] Downsample(float[] plane, int w, int h, int hs, int vs)
    {
        if (hs == 1 && vs == 1) return plane;
        int cw = (w + hs - 1) / hs, ch = (h + vs - 1) / vs;
        var result = new float[cw * ch];
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++)
            {
                float sum = 0; int n = 0;
                for (int dy = 0; dy < vs && y * vs + dy < h; dy++)
                    for (int dx = 0; dx < hs && x * hs + dx < w; dx++) { sum += plane[(y * vs + dy) * w + x * hs + dx]; n++; }
                result[y * cw + x] = sum / n;
            }
        return result;
    }

    /// <summary>The one interleaved scan: MCU by MCU, each component's blocks transformed, quantized and Huffman coded.</summary>
    static void WriteScan(JpegWriter output, List<EncoderPlane> planes, int w, int h, int hmax, int vmax)
    {
        int mcusX = (w + 8 * hmax - 1) / (8 * hmax), mcusY = (h + 8 * vmax - 1) / (8 * vmax);
        Span<float> block = stackalloc float[64];
        Span<float> dct = stackalloc float[64];
        Span<int> quantized = stackalloc int[64];
        for (int my = 0; my < mcusY; my++)
            for (int mx = 0; mx < mcusX; mx++)
                foreach (var plane in planes)
                    for (int v = 0; v < plane.V; v++)
                        for (int hh = 0; hh < plane.H; hh++)
                        {
                            int top = (my * plane.V + v) * 8, left = (mx * plane.H + hh) * 8;
                            for (int y = 0; y < 8; y++)
                            {
                                // samples beyond the edge repeat the last row and column
                                int row = Math.Min(top + y, plane.Height - 1) * plane.Width;
                                for (int x = 0; x < 8; x++) block[y * 8 + x] = plane.Samples[row + Math.Min(left + x, plane.Width - 1)] - 128f;
                            }
                            JpegIdct.Forward(block, dct);
                            for (int i = 0; i < 64; i++) quantized[i] = (int)MathF.Round(dct[i] / plane.Quant[i], MidpointRounding.AwayFromZero);
                            output.WriteBlock(quantized, plane);
                        }
        output.FlushBits();
    }
}
