using System.Buffers;
using System.Text;

namespace DeepSharp.Text;

/// <summary>
/// GPT-2's pre-tokenisation split, run directly over UTF-8 bytes: the chunks are what GPT-2's pattern
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c> matches, so a word keeps the
/// space before it (" world"), digits and punctuation form their own chunks, and a run of spaces gives all but its last
/// space to a chunk of its own. Classes are those of whole Unicode scalars (so a supplementary-plane letter is a
/// letter); a byte that is not part of valid UTF-8 counts as punctuation. The chunks always tile the input exactly,
/// so no byte is ever lost. BPE merges never cross a chunk boundary.
/// </summary>
static class ByteLevelPreTokenizer
{
    enum UnitClass : byte { Letter, Number, Space, Other }

    /// <summary>Appends the (start, length) byte ranges of the chunks of <paramref name="bytes"/> to <paramref name="chunks"/>.</summary>
    internal static void Split(ReadOnlySpan<byte> bytes, List<(int Start, int Length)> chunks)
    {
        if (bytes.IsEmpty) return;
        // Decode into units (one per scalar value or invalid byte run): their class and where each starts.
        var classes = ArrayPool<UnitClass>.Shared.Rent(bytes.Length);
        var starts = ArrayPool<int>.Shared.Rent(bytes.Length + 1);
        try
        {
            int n = 0;
            for (int position = 0; position < bytes.Length; n++)
            {
                starts[n] = position;
                byte b = bytes[position];
                if (b < 0x80)
                {
                    classes[n] = AsciiClass(b);
                    position++;
                    continue;
                }
                var status = Rune.DecodeFromUtf8(bytes[position..], out var rune, out int consumed);
                classes[n] = status == OperationStatus.Done ? Classify(rune) : UnitClass.Other;
                position += Math.Max(consumed, 1);
            }
            starts[n] = bytes.Length;
            SplitUnits(bytes, classes.AsSpan(0, n), starts.AsSpan(0, n + 1), chunks);
        }
        finally
        {
            ArrayPool<UnitClass>.Shared.Return(classes);
            ArrayPool<int>.Shared.Return(starts);
        }
    }

    static void SplitUnits(ReadOnlySpan<byte> bytes, ReadOnlySpan<UnitClass> classes, ReadOnlySpan<int> starts, List<(int, int)> chunks)
    {
        int n = classes.Length;
        int unit = 0;
        while (unit < n)
        {
            int begin = unit;
            int contraction = ContractionLength(bytes, starts[unit]);
            if (contraction > 0)
            {
                unit += contraction;                                  // contractions are ASCII: one unit per byte
            }
            else if (classes[unit] != UnitClass.Space || (bytes[starts[unit]] == (byte)' ' && unit + 1 < n && classes[unit + 1] != UnitClass.Space))
            {
                // " ?\p{L}+", " ?\p{N}+" or " ?[^\s\p{L}\p{N}]+": an optional single space, then a run of one class.
                if (classes[unit] == UnitClass.Space) unit++;
                var runClass = classes[unit];
                while (unit < n && classes[unit] == runClass) unit++;
            }
            else
            {
                // "\s+(?!\S)|\s+": a whitespace run; when a non-space follows, its last whitespace unit starts the next chunk.
                while (unit < n && classes[unit] == UnitClass.Space) unit++;
                if (unit < n && unit - begin > 1) unit--;
            }
            chunks.Add((starts[begin], starts[unit] - starts[begin]));
        }
    }

    /// <summary>Length of "'s", "'t", "'re", "'ve", "'m", "'ll" or "'d" at <paramref name="at"/>, or 0.</summary>
    static int ContractionLength(ReadOnlySpan<byte> bytes, int at)
    {
        if (bytes[at] != (byte)'\'' || at + 1 >= bytes.Length) return 0;
        byte c1 = bytes[at + 1];
        if (c1 is (byte)'s' or (byte)'t' or (byte)'m' or (byte)'d') return 2;
        if (at + 2 >= bytes.Length) return 0;
        byte c2 = bytes[at + 2];
        return (c1, c2) is ((byte)'r', (byte)'e') or ((byte)'v', (byte)'e') or ((byte)'l', (byte)'l') ? 3 : 0;
    }

    static UnitClass AsciiClass(byte b) =>
        b is (byte)' ' or (>= 0x09 and <= 0x0D) ? UnitClass.Space
        : (b | 0x20) is >= (byte)'a' and <= (byte)'z' ? UnitClass.Letter
        : b is >= (byte)'0' and <= (byte)'9' ? UnitClass.Number
        : UnitClass.Other;

    static UnitClass Classify(Rune rune) =>
        Rune.IsLetter(rune) ? UnitClass.Letter
        : Rune.IsNumber(rune) ? UnitClass.Number
        : Rune.IsWhiteSpace(rune) ? UnitClass.Space
        : UnitClass.Other;
}
