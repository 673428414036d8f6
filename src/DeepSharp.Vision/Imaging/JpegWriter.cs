using System.Buffers.Binary;

namespace DeepSharp.Vision.Imaging;

/// <summary>
/// The byte side of the JPEG encoder: marker segments (SOI, JFIF APP0, DQT, SOF0, DHT, SOS, EOI) and the Huffman-coded
/// bit stream with a 0x00 stuffed after every 0xFF byte and the last byte padded with 1 bits (T.81 F.1.2, B.1.1.5).
/// </summary>
internal sealed class JpegWriter
{
    /// <summary>A Huffman code per symbol: (code, length).</summary>
    sealed class EncodingTable
    {
        public readonly ushort[] Code = new ushort[256];
        public readonly byte[] Length = new byte[256];

        public EncodingTable(ReadOnlySpan<byte> counts, ReadOnlySpan<byte> symbols)
        {
            int code = 0, k = 0;
            for (int length = 1; length <= 16; length++, code <<= 1)
                for (int i = 0; i < counts[length - 1]; i++, k++, code++)
                {
                    Code[symbols[k]] = (ushort)code;
                    Length[symbols[k]] = (byte)length;
                }
        }
    }

    static readonly EncodingTable[] DcTables = [new(JpegTables.DcLuminanceCounts, JpegTables.DcSymbols), new(JpegTables.DcChrominanceCounts, JpegTables.DcSymbols)];
    static readonly EncodingTable[] AcTables = [new(JpegTables.AcLuminanceCounts, JpegTables.AcLuminanceSymbols), new(JpegTables.AcChrominanceCounts, JpegTables.AcChrominanceSymbols)];

    byte[] buffer = new byte[4096];
    int length;
    ulong bits;     // pending bits, right-aligned
    int bitCount;

    public byte[] ToArray() => buffer.AsSpan(0, length).ToArray();

    void WriteByte(byte b)
    {
        if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
        buffer[length++] = b;
    }

    void WriteBytes(ReadOnlySpan<byte> bytes) { foreach (var b in bytes) WriteByte(b); }

    public void WriteMarker(int marker) { WriteByte(0xFF); WriteByte((byte)marker); }

    void WriteSegment(int marker, ReadOnlySpan<byte> payload)
    {
        WriteMarker(marker);
        WriteByte((byte)((payload.Length + 2) >> 8)); WriteByte((byte)(payload.Length + 2));
        WriteBytes(payload);
    }

    /// <summary>SOI, JFIF APP0, the quantization tables, SOF0, the Huffman tables and the SOS header.</summary>
    public void WriteHeaders(int width, int height, List<Jpeg.EncoderPlane> planes, ushort[] lumaQuant, ushort[]? chromaQuant)
    {
        WriteMarker(0xD8);
        WriteSegment(0xE0, [(byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);   // v1.01, aspect 1:1
        foreach (var (quant, id) in new[] { (lumaQuant, 0), (chromaQuant, 1) })
        {
            if (quant == null) continue;
            var dqt = new byte[65];
            dqt[0] = (byte)id;
            for (int k = 0; k < 64; k++) dqt[1 + k] = (byte)quant[JpegDecoder.ZigZag[k]];
            WriteSegment(0xDB, dqt);
        }
        var sof = new byte[6 + 3 * planes.Count];
        sof[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(sof.AsSpan(1), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(sof.AsSpan(3), (ushort)width);
        sof[5] = (byte)planes.Count;
        for (int i = 0; i < planes.Count; i++)
        {
            sof[6 + 3 * i] = (byte)(i + 1);
            sof[7 + 3 * i] = (byte)((planes[i].H << 4) | planes[i].V);
            sof[8 + 3 * i] = (byte)planes[i].TableId;
        }
        WriteSegment(0xC0, sof);
        int tableSets = chromaQuant == null ? 1 : 2;
        for (int id = 0; id < tableSets; id++)
        {
            WriteHuffman(0x00 | id, id == 0 ? JpegTables.DcLuminanceCounts : JpegTables.DcChrominanceCounts, JpegTables.DcSymbols);
            WriteHuffman(0x10 | id, id == 0 ? JpegTables.AcLuminanceCounts : JpegTables.AcChrominanceCounts,
                id == 0 ? JpegTables.AcLuminanceSymbols : JpegTables.AcChrominanceSymbols);
        }
        var sos = new byte[4 + 2 * planes.Count];
        sos[0] = (byte)planes.Count;
        for (int i = 0; i < planes.Count; i++) { sos[1 + 2 * i] = (byte)(i + 1); sos[2 + 2 * i] = (byte)((planes[i].TableId << 4) | planes[i].TableId); }
        sos[^3] = 0; sos[^2] = 63; sos[^1] = 0;
        WriteSegment(0xDA, sos);
    }

    void WriteHuffman(int classAndId, ReadOnlySpan<byte> counts, ReadOnlySpan<byte> symbols)
    {
        var dht = new byte[17 + symbols.Length];
        dht[0] = (byte)classAndId;
        counts.CopyTo(dht.AsSpan(1));
        symbols.CopyTo(dht.AsSpan(17));
        WriteSegment(0xC4, dht);
    }

    void PutBits(int value, int count)
    {
        bits = (bits << count) | ((uint)value & ((1u << count) - 1));
        bitCount += count;
        while (bitCount >= 8)
        {
            bitCount -= 8;
            byte b = (byte)(bits >> bitCount);
            WriteByte(b);
            if (b == 0xFF) WriteByte(0);
        }
    }

    /// <summary>Pads the last byte with 1 bits.</summary>
    public void FlushBits()
    {
        if (bitCount > 0) PutBits(0x7F, 8 - bitCount);
        bits = 0;
    }

    static int Category(int v) => v == 0 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)Math.Abs(v));

    /// <summary>Huffman codes one quantized block (natural order): the DC difference, then run/size pairs, ZRL and EOB.</summary>
    public void WriteBlock(ReadOnlySpan<int> q, Jpeg.EncoderPlane plane)
    {
        var dc = DcTables[plane.TableId];
        var ac = AcTables[plane.TableId];
        int diff = q[0] - plane.Predictor;
        plane.Predictor = q[0];
        int size = Category(diff);
        PutBits(dc.Code[size], dc.Length[size]);
        if (size > 0) PutBits(diff < 0 ? diff - 1 : diff, size);
        int run = 0;
        for (int k = 1; k < 64; k++)
        {
            int v = q[JpegDecoder.ZigZag[k]];
            if (v == 0) { run++; continue; }
            for (; run > 15; run -= 16) PutBits(ac.Code[0xF0], ac.Length[0xF0]);
            size = Category(v);
            int symbol = (run << 4) | size;
            PutBits(ac.Code[symbol], ac.Length[symbol]);
            PutBits(v < 0 ? v - 1 : v, size);
            run = 0;
        }
        if (run > 0) PutBits(ac.Code[0], ac.Length[0]);
    }
}
