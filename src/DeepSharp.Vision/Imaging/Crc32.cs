namespace DeepSharp.Vision.Imaging;

/// <summary>CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320), as PNG chunks use it (PNG spec, annex D).</summary>
internal static class Crc32
{
    static readonly uint[] table = BuildTable();

    static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>Continues a running CRC (start with 0xFFFFFFFF, finish by inverting; Compute does both).</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    /// <summary>The CRC of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(0xFFFFFFFFu, data) ^ 0xFFFFFFFFu;

    /// <summary>The CRC of a chunk: its 4-byte type followed by its data.</summary>
    public static uint Compute(ReadOnlySpan<byte> type, ReadOnlySpan<byte> data) => Update(Update(0xFFFFFFFFu, type), data) ^ 0xFFFFFFFFu;
}
