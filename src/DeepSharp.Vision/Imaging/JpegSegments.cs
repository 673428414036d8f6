using System.Buffers.Binary;

namespace DeepSharp.Vision.Imaging;

/// <summary>The marker segments of a JPEG file (T.81 B.2.2 to B.2.4, JFIF, Adobe APP14).</summary>
internal sealed partial class JpegDecoder
{
    /// <summary>Zig-zag position k → natural (row-major) index of the coefficient (T.81 figure A.6).</summary>
    internal static readonly byte[] ZigZag = BuildZigZag();

    static byte[] BuildZigZag()
    {
        var order = new byte[64];
        int k = 0;
        for (int diagonal = 0; diagonal < 15; diagonal++)
        {
            // even diagonals run up and to the right (row falling), odd ones down and to the left
            int first = Math.Max(0, diagonal - 7), last = Math.Min(7, diagonal);
            for (int i = first; i <= last; i++)
            {
                int row = diagonal % 2 == 0 ? diagonal - i : i;
                order[k++] = (byte)(row * 8 + diagonal - row);
            }
        }
        return order;
    }

    /// <summary>SOF0/SOF1/SOF2: the frame header (T.81 B.2.2).</summary>
    void ReadFrame(ReadOnlySpan<byte> s, bool progressive)
    {
        if (frame != null) throw new InvalidDataException("JPEG: more than one frame header (SOF)");
        if (s.Length < 6) throw new InvalidDataException($"JPEG: SOF segment of {s.Length} bytes is too short");
        int precision = s[0], height = BinaryPrimitives.ReadUInt16BigEndian(s[1..]), width = BinaryPrimitives.ReadUInt16BigEndian(s[3..]), count = s[5];
        if (precision != 8) throw new InvalidDataException($"JPEG: {precision}-bit samples are not supported (only 8-bit JPEG)");
        if (height == 0) throw new InvalidDataException("JPEG: the frame declares height 0 (a DNL marker would define it; not supported)");
        if (width == 0) throw new InvalidDataException("JPEG: the frame declares width 0");
        if (count is not (1 or 3 or 4)) throw new InvalidDataException($"JPEG: {count} components are not supported (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK)");
        if (s.Length != 6 + 3 * count) throw new InvalidDataException($"JPEG: SOF segment of {s.Length} bytes for {count} components (expected {6 + 3 * count})");
        options.CheckSize("JPEG", width, height);
        var f = new JpegFrame { Progressive = progressive, Width = width, Height = height, Components = new JpegComponent[count] };
        for (int i = 0; i < count; i++)
        {
            int id = s[6 + 3 * i], h = s[7 + 3 * i] >> 4, v = s[7 + 3 * i] & 15, tq = s[8 + 3 * i];
            if (h is < 1 or > 4 || v is < 1 or > 4) throw new InvalidDataException($"JPEG: component {id} has sampling factors {h}x{v} (each must be 1 to 4)");
            if (tq > 3) throw new InvalidDataException($"JPEG: component {id} names quantization table {tq} (0 to 3)");
            for (int j = 0; j < i; j++)
                if (f.Components[j].Id == id) throw new InvalidDataException($"JPEG: two components with id {id}");
            f.Components[i] = new JpegComponent { Id = id, H = h, V = v, QuantId = tq, Index = i };
        }
        f.Hmax = f.Components.Max(c => c.H);
        f.Vmax = f.Components.Max(c => c.V);
        f.McusPerLine = (width + 8 * f.Hmax - 1) / (8 * f.Hmax);
        f.McusPerColumn = (height + 8 * f.Vmax - 1) / (8 * f.Vmax);
        foreach (var c in f.Components)
        {
            if (f.Hmax % c.H != 0 || f.Vmax % c.V != 0)
                throw new InvalidDataException($"JPEG: component {c.Id} has sampling {c.H}x{c.V}, not a whole fraction of {f.Hmax}x{f.Vmax} (not supported)");
            c.Width = (int)(((long)width * c.H + f.Hmax - 1) / f.Hmax);
            c.Height = (int)(((long)height * c.V + f.Vmax - 1) / f.Vmax);
            c.BlocksWide = (c.Width + 7) / 8;
            c.BlocksHigh = (c.Height + 7) / 8;
            c.BlocksPerLine = f.McusPerLine * c.H;
            c.BlocksPerColumn = f.McusPerColumn * c.V;
        }
        frame = f;
    }

    /// <summary>DHT: one or more Huffman tables (T.81 B.2.4.2).</summary>
    void ReadHuffmanTables(ReadOnlySpan<byte> s)
    {
        while (s.Length > 0)
        {
            if (s.Length < 17) throw new InvalidDataException("JPEG: DHT segment ends inside a table header");
            int tableClass = s[0] >> 4, id = s[0] & 15;
            if (tableClass > 1 || id > 3) throw new InvalidDataException($"JPEG: DHT names table class {tableClass} id {id} (class 0/1, id 0 to 3)");
            var counts = s.Slice(1, 16);
            int total = 0;
            foreach (var n in counts) total += n;
            if (total > 256) throw new InvalidDataException($"JPEG: Huffman table of {total} codes (at most 256)");
            if (s.Length < 17 + total) throw new InvalidDataException("JPEG: DHT segment ends inside a table's symbols");
            var symbols = s.Slice(17, total);
            if (tableClass == 0)
                foreach (var symbol in symbols)
                    if (symbol > 15) throw new InvalidDataException($"JPEG: DC Huffman table holds the symbol {symbol} (DC categories are 0 to 15)");
            var table = new JpegHuffmanTable(counts, symbols);
            if (tableClass == 0) dcTables[id] = table; else acTables[id] = table;
            s = s[(17 + total)..];
        }
    }

    /// <summary>DQT: one or more quantization tables, 8- or 16-bit entries in zig-zag order (T.81 B.2.4.1).</summary>
    void ReadQuantTables(ReadOnlySpan<byte> s)
    {
        while (s.Length > 0)
        {
            int precision = s[0] >> 4, id = s[0] & 15;
            if (precision > 1 || id > 3) throw new InvalidDataException($"JPEG: DQT names precision {precision} table {id} (precision 0/1, id 0 to 3)");
            int size = 1 + 64 * (precision + 1);
            if (s.Length < size) throw new InvalidDataException("JPEG: DQT segment ends inside a table");
            var table = new ushort[64];
            for (int k = 0; k < 64; k++)
                table[ZigZag[k]] = precision == 0 ? s[1 + k] : BinaryPrimitives.ReadUInt16BigEndian(s[(1 + 2 * k)..]);
            quantTables[id] = table;
            s = s[size..];
        }
    }

    /// <summary>Adobe APP14: the colour transform flag (0 none: RGB/CMYK, 1 YCbCr, 2 YCCK).</summary>
    void ReadAdobe(ReadOnlySpan<byte> s)
    {
        if (s.Length >= 12 && s[..5].SequenceEqual("Adobe"u8)) adobeTransform = s[11];
    }

    /// <summary>SOS: reads the scan header (T.81 B.2.3), decodes the scan and returns the offset of the marker after its data.</summary>
    int ReadScan(ReadOnlySpan<byte> data, ReadOnlySpan<byte> s, int pos)
    {
        var f = frame ?? throw new InvalidDataException("JPEG: a scan (SOS) before the frame header (SOF)");
        if (++scans > options.MaxScans)
            throw new InvalidDataException($"JPEG: more than {options.MaxScans} scans (ImageDecodeOptions.MaxScans; a decompression bomb?)");
        if (s.Length < 1) throw new InvalidDataException("JPEG: empty SOS segment");
        int count = s[0];
        if (count is < 1 or > 4 || s.Length != 4 + 2 * count)
            throw new InvalidDataException($"JPEG: SOS segment of {s.Length} bytes for {count} components");
        var components = new JpegComponent[count];
        for (int i = 0; i < count; i++)
        {
            int id = s[1 + 2 * i], tables = s[2 + 2 * i];
            var c = Array.Find(f.Components, x => x.Id == id) ?? throw new InvalidDataException($"JPEG: the scan names component {id}, which the frame does not have");
            if (Array.IndexOf(components, c) >= 0) throw new InvalidDataException($"JPEG: the scan names component {id} twice");
            components[i] = c;
            int dc = tables >> 4, ac = tables & 15;
            if (dc > 3 || ac > 3) throw new InvalidDataException($"JPEG: the scan names Huffman tables {dc}/{ac} (0 to 3)");
            c.DcTable = dcTables[dc];
            c.AcTable = acTables[ac];
        }
        int ss = s[1 + 2 * count], se = s[2 + 2 * count], ah = s[3 + 2 * count] >> 4, al = s[3 + 2 * count] & 15;
        var kind = ScanKind(f, components, ss, se, ah, al);
        int blocks = 0;
        foreach (var c in components) blocks += count == 1 ? 1 : c.H * c.V;
        if (blocks > 10) throw new InvalidDataException($"JPEG: an MCU of {blocks} blocks (at most 10)");
        PrepareComponents(data, pos, components, kind);
        return DecodeScan(data, pos, components, kind, ss, se, ah, al);
    }

    /// <summary>Classifies a scan and checks its spectral selection and successive approximation (T.81 G.1.1.1).</summary>
    static ScanType ScanKind(JpegFrame f, JpegComponent[] components, int ss, int se, int ah, int al)
    {
        if (!f.Progressive)
        {
            if (ss != 0 || se != 63 || ah != 0 || al != 0)
                throw new InvalidDataException($"JPEG: sequential scan with Ss={ss} Se={se} Ah={ah} Al={al} (expected 0, 63, 0, 0)");
            return ScanType.Sequential;
        }
        if (se > 63 || ss > se || al > 13 || ah > 13 || (ah != 0 && ah != al + 1))
            throw new InvalidDataException($"JPEG: invalid progressive scan parameters Ss={ss} Se={se} Ah={ah} Al={al}");
        if (ss == 0)
        {
            if (se != 0) throw new InvalidDataException($"JPEG: a progressive DC scan with Se={se} (DC and AC coefficients are coded in separate scans)");
            return ah == 0 ? ScanType.DcFirst : ScanType.DcRefine;
        }
        if (components.Length != 1) throw new InvalidDataException($"JPEG: a progressive AC scan of {components.Length} components (AC scans hold one)");
        if (!components[0].HasDc) throw new InvalidDataException($"JPEG: an AC scan of component {components[0].Id} before its DC scan");
        return ah == 0 ? ScanType.AcFirst : ScanType.AcRefine;
    }

    /// <summary>
    /// Latches quantization tables, checks the Huffman tables the scan needs, and allocates the coefficients of components
    /// the scan covers for the first time, after checking that the scan's data can hold that many blocks: every block of a
    /// DC or sequential scan costs at least one bit, so a small file cannot make the decoder allocate much.
    /// </summary>
    void PrepareComponents(ReadOnlySpan<byte> data, int pos, JpegComponent[] components, ScanType kind)
    {
        long newBlocks = 0;
        foreach (var c in components)
        {
            bool needsDc = kind is ScanType.Sequential or ScanType.DcFirst, needsAc = kind is ScanType.Sequential or ScanType.AcFirst or ScanType.AcRefine;
            if (needsDc && c.DcTable == null) throw new InvalidDataException($"JPEG: component {c.Id}'s scan uses a DC Huffman table that was not defined");
            if (needsAc && c.AcTable == null) throw new InvalidDataException($"JPEG: component {c.Id}'s scan uses an AC Huffman table that was not defined");
            c.Quant ??= quantTables[c.QuantId]?.ToArray() ?? throw new InvalidDataException($"JPEG: component {c.Id} uses quantization table {c.QuantId}, which was not defined");
            if (c.Coefficients == null) newBlocks += components.Length == 1 ? (long)c.BlocksWide * c.BlocksHigh : (long)c.BlocksPerLine * c.BlocksPerColumn;
        }
        if (newBlocks == 0) return;
        if (kind is ScanType.DcRefine or ScanType.AcFirst or ScanType.AcRefine)
            throw new InvalidDataException($"JPEG: a refinement or AC scan of component {components[0].Id} before its first DC scan");
        long bytes = ScanDataLength(data, pos);
        if (newBlocks > 8 * bytes + 64)
            throw new InvalidDataException($"JPEG: the scan has {bytes} bytes of data, too few for {newBlocks} blocks (truncated file or a decompression bomb)");
        foreach (var c in components)
            c.Coefficients ??= new short[(long)c.BlocksPerLine * c.BlocksPerColumn * 64];
    }

    /// <summary>What a scan codes.</summary>
    internal enum ScanType { Sequential, DcFirst, DcRefine, AcFirst, AcRefine }
}
