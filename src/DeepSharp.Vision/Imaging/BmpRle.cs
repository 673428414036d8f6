namespace DeepSharp.Vision.Imaging;

/// <summary>
/// The run-length encodings of Windows bitmaps (RLE8 for 8-bit, RLE4 for 4-bit palette images): (count, index) runs and
/// escapes 0 end of line, 1 end of bitmap, 2 move (dx, dy), n ≥ 3 n literal indices padded to an even byte count. Rows are
/// bottom-up; pixels the stream never sets keep index 0, as in PIL.
/// </summary>
internal static class BmpRle
{
    /// <summary>Palette indices, top row first (w × h), from the compressed stream <paramref name="data"/>.</summary>
    public static byte[] Decode(ReadOnlySpan<byte> data, int w, int h, bool fourBit)
    {
        var index = new byte[(long)w * h];
        int x = 0, y = 0, pos = 0;   // y counts rows from the bottom
        void Put(byte value)
        {
            if (x < w && y < h) index[(long)(h - 1 - y) * w + x] = value;
            x++;
        }
        while (y < h)
        {
            if (data.Length - pos < 2) throw new InvalidDataException("BMP: the RLE data ends before the end-of-bitmap code (truncated file)");
            int count = data[pos], value = data[pos + 1];
            pos += 2;
            if (count > 0)
            {
                for (int i = 0; i < count; i++) Put((byte)(fourBit ? (i % 2 == 0 ? value >> 4 : value & 15) : value));
                continue;
            }
            switch (value)
            {
                case 0: x = 0; y++; break;
                case 1: return index;
                case 2:
                    if (data.Length - pos < 2) throw new InvalidDataException("BMP: the RLE data ends inside a move code (truncated file)");
                    x += data[pos]; y += data[pos + 1]; pos += 2;
                    break;
                default:
                    int bytes = fourBit ? (value + 1) / 2 : value;
                    if (data.Length - pos < bytes) throw new InvalidDataException("BMP: the RLE data ends inside a literal run (truncated file)");
                    for (int i = 0; i < value; i++) Put((byte)(fourBit ? (i % 2 == 0 ? data[pos + i / 2] >> 4 : data[pos + i / 2] & 15) : data[pos + i]));
                    pos += bytes + (bytes & 1);
                    break;
            }
        }
        return index;
    }
}
