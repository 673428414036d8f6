using System.Text;

namespace DeepSharp.Text.Tests;

/// <summary>Random strings for property-style tests: ASCII, whitespace of every kind, contractions, emoji (with skin tones
/// and ZWJ sequences), combining marks, CJK (BMP and supplementary), RTL scripts, control characters.</summary>
static class RandomText
{
    static readonly string[] Pool =
    [
        "the", "The", " quick", "brown", "fox", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'", "\"", " ", "  ", "   ", "\t", "\n",
        "\r\n", "123", "4", "3.5", "!", "?!", "...", "--", "(", ")", "@", "😀", "👍🏽", "👨‍👩‍👧", "e\u0301", "ñ", "café", "中文",
        "日本語", "한국어", "𠀀", "Ω", "∑", "ß", "İ", "\u200b", "\u00a0", "\u3000", "\ufeff", "٣٤٥", "Ⅻ", "½", "ｆｕｌｌ", "שלום",
        "مرحبا", "हिन्दी", "\u0000", "\u007f", "\ufffd", "<|endoftext|>", "<|end", "endoftext|>",
    ];

    static readonly (int Low, int High)[] Ranges =
    [
        (0x20, 0x7e), (0x00, 0x1f), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x300, 0x36f), (0x4e00, 0x9fff),
        (0x3040, 0x30ff), (0xac00, 0xd7a3), (0x600, 0x6ff), (0x900, 0x97f), (0x2000, 0x206f), (0x1f300, 0x1faff),
        (0x20000, 0x2a6df), (0xe000, 0xf8ff), (0x10000, 0x10ffff),
    ];

    /// <summary>A well-formed string (no lone surrogates).</summary>
    public static string WellFormed(System.Random rng, int maxParts = 12)
    {
        var sb = new StringBuilder();
        int parts = rng.Next(0, maxParts + 1);
        for (int p = 0; p < parts; p++)
        {
            if (rng.NextDouble() < 0.6) { sb.Append(Pool[rng.Next(Pool.Length)]); continue; }
            var (low, high) = Ranges[rng.Next(Ranges.Length)];
            int n = rng.Next(1, 5);
            for (int i = 0; i < n; i++)
            {
                int cp = rng.Next(low, high + 1);
                if (cp is >= 0xD800 and <= 0xDFFF) cp = 'x';
                sb.Append(char.ConvertFromUtf32(cp));
            }
        }
        return sb.ToString();
    }

    /// <summary>A string that may hold lone high or low surrogates.</summary>
    public static string WithLoneSurrogates(System.Random rng)
    {
        var s = WellFormed(rng);
        var sb = new StringBuilder(s);
        int n = rng.Next(1, 4);
        for (int i = 0; i < n; i++) sb.Insert(rng.Next(sb.Length + 1), (char)rng.Next(0xD800, 0xE000));
        return sb.ToString();
    }

    /// <summary>Random bytes, often not valid UTF-8 (truncated sequences, stray continuation bytes, overlongs).</summary>
    public static byte[] Bytes(System.Random rng)
    {
        int mode = rng.Next(3);
        if (mode == 0) { var b = new byte[rng.Next(0, 64)]; rng.NextBytes(b); return b; }
        var utf8 = Encoding.UTF8.GetBytes(WellFormed(rng)).ToList();
        int edits = rng.Next(1, 5);
        for (int e = 0; e < edits && utf8.Count > 0; e++)
        {
            int at = rng.Next(utf8.Count);
            switch (rng.Next(4))
            {
                case 0: utf8.RemoveAt(at); break;                                   // cut a sequence
                case 1: utf8.Insert(at, (byte)rng.Next(0x80, 0xC0)); break;          // stray continuation byte
                case 2: utf8.Insert(at, (byte)rng.Next(0xF5, 0x100)); break;         // never-valid lead byte
                default: utf8.InsertRange(at, [0xC0, 0xAF]); break;                  // overlong '/'
            }
        }
        return [.. utf8];
    }
}
