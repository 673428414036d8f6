namespace DeepSharp.Vision.Imaging;

/// <summary>
/// A JPEG Huffman decoding table (ITU T.81 C and F.2.2.3) built from a DHT segment's 16 code-length counts and its symbols.
/// Codes of up to <see cref="LookupBits"/> bits are resolved with one table look-up; longer codes walk the canonical
/// largest-code-per-length list. A table whose counts do not form a prefix code (more codes of a length than fit, or the
/// reserved all-ones code in use) is refused, as libjpeg refuses it.
/// </summary>
internal sealed class JpegHuffmanTable
{
    /// <summary>Bits resolved by the look-up table.</summary>
    public const int LookupBits = 9;

    /// <summary>Entry for each 9-bit prefix: (code length &lt;&lt; 8) | symbol, or 0 when the code is longer (or unused).</summary>
    readonly ushort[] lookup = new ushort[1 << LookupBits];
    /// <summary>The largest code of each length 1..16 (-1 when that length has none); index 17 is a sentinel.</summary>
    readonly int[] maxCode = new int[18];
    /// <summary>Symbol index = code + valueOffset[length].</summary>
    readonly int[] valueOffset = new int[17];
    readonly byte[] symbols;

    /// <summary>Builds the table; <paramref name="counts"/>[i] is the number of codes of length i + 1.</summary>
    public JpegHuffmanTable(ReadOnlySpan<byte> counts, ReadOnlySpan<byte> symbolList)
    {
        if (counts.Length != 16) throw new ArgumentException("JpegHuffmanTable: expects 16 counts", nameof(counts));
        symbols = symbolList.ToArray();
        int code = 0, k = 0;
        for (int length = 1; length <= 16; length++)
        {
            int n = counts[length - 1];
            // the codes of this length must fit in `length` bits, leaving the all-ones code unused (T.81 C.2)
            if (code + n >= 1 << length)
                throw new InvalidDataException($"JPEG: Huffman table overflows: {k + n} codes of up to {length} bits do not form a prefix code");
            valueOffset[length] = k - code;
            maxCode[length] = n > 0 ? code + n - 1 : -1;
            for (int i = 0; i < n; i++, k++, code++)
                if (length <= LookupBits)
                {
                    int first = code << (LookupBits - length), span = 1 << (LookupBits - length);
                    for (int j = 0; j < span; j++) lookup[first + j] = (ushort)((length << 8) | symbols[k]);
                }
            code <<= 1;
        }
        if (k != symbols.Length) throw new InvalidDataException($"JPEG: Huffman table lists {symbols.Length} symbols for {k} codes");
        maxCode[17] = int.MaxValue;
    }

    /// <summary>Decodes one symbol from <paramref name="reader"/>; an unassigned code is an <see cref="InvalidDataException"/>.</summary>
    public int Decode(ref JpegBitReader reader)
    {
        reader.EnsureBits(16);
        int entry = lookup[reader.Peek(LookupBits)];
        if (entry != 0)
        {
            reader.Skip(entry >> 8);
            return entry & 0xFF;
        }
        int code16 = reader.Peek(16);
        for (int length = LookupBits + 1; length <= 16; length++)
        {
            int code = code16 >> (16 - length);
            if (code <= maxCode[length])
            {
                reader.Skip(length);
                return symbols[code + valueOffset[length]];
            }
        }
        throw new InvalidDataException("JPEG: corrupt entropy-coded data (a bit pattern that is no Huffman code of the table)");
    }
}

/// <summary>
/// Reads the bits of a JPEG entropy-coded segment (T.81 F.2.2.5): removes the 0x00 stuffed after each 0xFF byte, stops at
/// a marker, and past the marker or the end of the data supplies zero bits while counting them, so a scan that uses bits
/// it does not have is detected (<see cref="CheckOverrun"/>) instead of decoding garbage.
/// </summary>
internal ref struct JpegBitReader
{
    readonly ReadOnlySpan<byte> data;
    int position;      // next byte of data to load
    ulong buffer;      // loaded bits, most significant first
    int count;         // bits in the buffer
    int padBits;       // zero bits appended after a marker or the end of the data: not part of the image
    int marker;        // the marker byte the reader stopped at (0xD0..0xFE), or -1

    public JpegBitReader(ReadOnlySpan<byte> data, int position)
    {
        this.data = data;
        this.position = position;
        marker = -1;
    }

    /// <summary>The offset of the next unread byte (at the marker the reader stopped at, when it found one).</summary>
    public readonly int Position => position;

    /// <summary>The marker the reader stopped at, or -1 when it has not met one yet.</summary>
    public readonly int Marker => marker;

    /// <summary>Loads bytes until at least <paramref name="bits"/> (at most 57) bits are buffered.</summary>
    public void EnsureBits(int bits)
    {
        while (count < bits)
        {
            int b = 0;
            if (marker < 0 && position < data.Length)
            {
                b = data[position];
                if (b != 0xFF) position++;
                else
                {
                    int next = position + 1 < data.Length ? data[position + 1] : -1;
                    if (next == 0x00) position += 2;                  // stuffed zero: a 0xFF data byte
                    else if (next == 0xFF) { position++; continue; }  // fill byte before a marker
                    else { marker = next < 0 ? 0xD9 : next; b = 0; padBits += 8; }
                }
            }
            else padBits += 8;
            buffer |= (ulong)(uint)b << (56 - count);
            count += 8;
        }
    }

    /// <summary>The next <paramref name="bits"/> bits (1..16) without consuming them (after <see cref="EnsureBits"/>).</summary>
    public readonly int Peek(int bits) => (int)(buffer >> (64 - bits));

    /// <summary>Consumes <paramref name="bits"/> bits that <see cref="EnsureBits"/> has loaded.</summary>
    public void Skip(int bits) { buffer <<= bits; count -= bits; }

    /// <summary>Reads <paramref name="bits"/> bits (0..16) as an unsigned number.</summary>
    public int GetBits(int bits)
    {
        if (bits == 0) return 0;
        EnsureBits(bits);
        int v = (int)(buffer >> (64 - bits));
        buffer <<= bits; count -= bits;
        return v;
    }

    /// <summary>Reads one bit.</summary>
    public int GetBit()
    {
        EnsureBits(1);
        int v = (int)(buffer >> 63);
        buffer <<= 1; count--;
        return v;
    }

    /// <summary>
    /// Reads a <paramref name="size"/>-bit magnitude category value and extends its sign (T.81 F.2.2.1 RECEIVE and EXTEND):
    /// a leading 0 bit means a negative value.
    /// </summary>
    public int ReceiveExtend(int size)
    {
        if (size == 0) return 0;
        int v = GetBits(size);
        return v < 1 << (size - 1) ? v - (1 << size) + 1 : v;
    }

    /// <summary>Throws when the decoder has consumed bits beyond the segment's data (a truncated or corrupt scan).</summary>
    public readonly void CheckOverrun()
    {
        if (padBits > count)
            throw new InvalidDataException(position >= data.Length
                ? "JPEG: the file ends inside the image data (truncated file)"
                : $"JPEG: corrupt image data: the scan needs more bits than its data holds before the marker at byte {position}");
    }

    /// <summary>
    /// Ends a restart interval (T.81 F.2.2.5): drops the buffered padding bits, finds the next marker and checks that it is
    /// RST<paramref name="expected"/>, then resumes after it.
    /// </summary>
    public void Restart(int expected)
    {
        CheckOverrun();
        buffer = 0; count = 0; padBits = 0;
        if (marker < 0) position = JpegDecoder.FindMarker(data, position);
        if (position + 1 >= data.Length) throw new InvalidDataException("JPEG: the file ends inside the image data (truncated file, no restart marker)");
        int found = data[position + 1];
        if (found != 0xD0 + expected)
            throw new InvalidDataException($"JPEG: corrupt image data: expected restart marker RST{expected} at byte {position}, found marker 0x{found:X2}");
        position += 2;
        marker = -1;
    }
}
