namespace DeepSharp.Vision.Imaging;

/// <summary>
/// The entropy-coded scans (T.81 F.2.2 sequential Huffman decoding; G.1.2 progressive: DC first/refinement, AC
/// first/refinement with end-of-band runs), restart intervals (F.2.2.5), and the MCU/block order of interleaved and
/// one-component scans (A.2).
/// </summary>
internal sealed partial class JpegDecoder
{
    /// <summary>Decodes the scan's data starting at <paramref name="pos"/>; returns the offset of the marker after it.</summary>
    int DecodeScan(ReadOnlySpan<byte> data, int pos, JpegComponent[] components, ScanType kind, int ss, int se, int ah, int al)
    {
        var reader = new JpegBitReader(data, pos);
        var state = new ScanState(kind, ss, se, al);
        foreach (var c in components) c.DcPredictor = 0;
        int untilRestart = restartInterval, nextRestart = 0;
        void Restart(ref JpegBitReader r)
        {
            r.Restart(nextRestart);
            nextRestart = (nextRestart + 1) & 7;
            untilRestart = restartInterval;
            foreach (var c in components) c.DcPredictor = 0;
            state.EobRun = 0;
        }
        if (components.Length == 1)
        {
            // one component: its blocks in raster order, one block per MCU, only those holding samples (A.2.2)
            var c = components[0];
            for (int by = 0; by < c.BlocksHigh; by++)
                for (int bx = 0; bx < c.BlocksWide; bx++)
                {
                    if (restartInterval > 0 && untilRestart-- == 0) { Restart(ref reader); untilRestart--; }
                    DecodeBlock(ref reader, c, c.Coefficients.AsSpan((by * c.BlocksPerLine + bx) * 64, 64), ref state);
                    reader.CheckOverrun();
                }
        }
        else
        {
            // interleaved: MCU by MCU, each component's H×V blocks in raster order within the MCU (A.2.3)
            for (int my = 0; my < frame!.McusPerColumn; my++)
                for (int mx = 0; mx < frame.McusPerLine; mx++)
                {
                    if (restartInterval > 0 && untilRestart-- == 0) { Restart(ref reader); untilRestart--; }
                    foreach (var c in components)
                        for (int v = 0; v < c.V; v++)
                        {
                            int row = (my * c.V + v) * c.BlocksPerLine + mx * c.H;
                            for (int h = 0; h < c.H; h++)
                                DecodeBlock(ref reader, c, c.Coefficients.AsSpan((row + h) * 64, 64), ref state);
                        }
                    reader.CheckOverrun();
                }
        }
        if (kind is ScanType.Sequential or ScanType.DcFirst) foreach (var c in components) c.HasDc = true;
        return reader.Marker >= 0 ? reader.Position : FindMarker(data, reader.Position);
    }

    /// <summary>The parameters of a scan and the end-of-band run carried from block to block.</summary>
    struct ScanState(ScanType kind, int ss, int se, int al)
    {
        public readonly ScanType Kind = kind;
        public readonly int Ss = ss, Se = se, Al = al;
        public int EobRun;
    }

    static void DecodeBlock(ref JpegBitReader reader, JpegComponent c, Span<short> block, ref ScanState state)
    {
        switch (state.Kind)
        {
            case ScanType.Sequential: DecodeSequential(ref reader, c, block); break;
            case ScanType.DcFirst:
                c.DcPredictor += reader.ReceiveExtend(c.DcTable!.Decode(ref reader));
                block[0] = (short)(c.DcPredictor << state.Al);
                break;
            case ScanType.DcRefine:
                if (reader.GetBit() != 0) block[0] |= (short)(1 << state.Al);
                break;
            case ScanType.AcFirst: DecodeAcFirst(ref reader, c.AcTable!, block, ref state); break;
            default: DecodeAcRefine(ref reader, c.AcTable!, block, ref state); break;
        }
    }

    /// <summary>One block of a sequential scan: the DC difference, then run/size-coded AC coefficients (F.2.2.1, F.2.2.2).</summary>
    static void DecodeSequential(ref JpegBitReader reader, JpegComponent c, Span<short> block)
    {
        c.DcPredictor += reader.ReceiveExtend(c.DcTable!.Decode(ref reader));
        block[0] = (short)c.DcPredictor;
        var ac = c.AcTable!;
        ReadOnlySpan<byte> zigZag = ZigZag;
        for (int k = 1; k < 64; k++)
        {
            int rs = ac.Decode(ref reader), run = rs >> 4, size = rs & 15;
            if (size == 0)
            {
                if (run != 15) break;   // end of block
                k += 15;                // sixteen zeros
                continue;
            }
            k += run;
            if (k > 63) throw new InvalidDataException("JPEG: corrupt image data (a coefficient run past the end of the block)");
            block[zigZag[k]] = (short)reader.ReceiveExtend(size);
        }
    }

    /// <summary>The first AC scan of a band (G.1.2.2): values scaled by 2^Al, end-of-band runs over whole blocks.</summary>
    static void DecodeAcFirst(ref JpegBitReader reader, JpegHuffmanTable ac, Span<short> block, ref ScanState state)
    {
        if (state.EobRun > 0) { state.EobRun--; return; }
        ReadOnlySpan<byte> zigZag = ZigZag;
        for (int k = state.Ss; k <= state.Se; k++)
        {
            int rs = ac.Decode(ref reader), run = rs >> 4, size = rs & 15;
            if (size == 0)
            {
                if (run < 15)
                {
                    state.EobRun = (1 << run) - 1 + reader.GetBits(run);   // this block ends the first of the run
                    break;
                }
                k += 15;
                continue;
            }
            k += run;
            if (k > state.Se) throw new InvalidDataException("JPEG: corrupt image data (a coefficient run past the end of the spectral band)");
            block[zigZag[k]] = (short)(reader.ReceiveExtend(size) * (1 << state.Al));
        }
    }

    /// <summary>
    /// A refinement AC scan (G.1.2.3): one correction bit for each coefficient that is already non-zero, and new
    /// coefficients of magnitude 2^Al placed after a run of coefficients that are still zero.
    /// </summary>
    static void DecodeAcRefine(ref JpegBitReader reader, JpegHuffmanTable ac, Span<short> block, ref ScanState state)
    {
        int plus = 1 << state.Al, minus = -1 << state.Al;
        ReadOnlySpan<byte> zigZag = ZigZag;
        int k = state.Ss;
        if (state.EobRun == 0)
        {
            for (; k <= state.Se; k++)
            {
                int rs = ac.Decode(ref reader), run = rs >> 4, size = rs & 15, value = 0;
                if (size != 0)
                {
                    if (size != 1) throw new InvalidDataException($"JPEG: corrupt refinement scan (coefficient size {size}, expected 1)");
                    value = reader.GetBit() != 0 ? plus : minus;
                }
                else if (run != 15)
                {
                    state.EobRun = (1 << run) + reader.GetBits(run);
                    break;
                }
                // skip `run` coefficients that are still zero, correcting the non-zero ones passed on the way
                for (; k <= state.Se; k++)
                {
                    int z = zigZag[k];
                    if (block[z] != 0) Correct(ref reader, ref block[z], plus, minus);
                    else if (run-- == 0)
                    {
                        if (value != 0) block[z] = (short)value;
                        break;
                    }
                }
            }
        }
        if (state.EobRun > 0)
        {
            // inside an end-of-band run: only corrections of the non-zero coefficients left in the band
            for (; k <= state.Se; k++)
            {
                int z = zigZag[k];
                if (block[z] != 0) Correct(ref reader, ref block[z], plus, minus);
            }
            state.EobRun--;
        }
    }

    /// <summary>Adds the next bit of precision to a non-zero coefficient (G.1.2.3), away from zero.</summary>
    static void Correct(ref JpegBitReader reader, ref short coefficient, int plus, int minus)
    {
        if (reader.GetBit() != 0 && (coefficient & plus) == 0)
            coefficient = (short)(coefficient + (coefficient >= 0 ? plus : minus));
    }
}
