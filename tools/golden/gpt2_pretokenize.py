"""Reference chunks of GPT-2's pre-tokenisation pattern, for DeepSharp.Text's byte-level BPE tests.

GPT-2 (and our ByteBpeTokenizer) split text with the pattern below, run by the `regex` module (which knows \\p{L}).
This script splits fixed and seeded random strings and writes tests/DeepSharp.Text.Tests/Fixtures/gpt2_pretokenize.json.
Needs Debian's python3-regex: apt-get install -y python3-regex; run with /usr/bin/python3 tools/golden/gpt2_pretokenize.py
"""
import json, os, random
import regex

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Text.Tests', 'Fixtures', 'gpt2_pretokenize.json')
PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

FIXED = [
    "Hello world's  test 123!!",
    "I'm sure they'll say we've done it, didn't they'd?",
    "  leading and trailing spaces   ",
    "tabs\tand\nnewlines\n\n  indented\r\nwindows",
    "numbers 3.14159 and 1,000,000 and ٣٤٥",
    "emoji 😀👍🏽 and family 👨‍👩‍👧 zwj",
    "combining e\u0301 and cafe\u0301 vs café",
    "中文字符和日本語のテキスト、한국어",
    "supplementary 𠀀𠀁 letters",
    "'''s ' s 'S 'LL 're",
    "x" * 5 + " " * 7 + "y",
    "",
    " ",
    "\n",
    "a\u00a0b\u2003c\u3000d",
]

POOL = [
    "the", "The", " quick", "brown", "fox", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'", "\"", " ", "  ", "   ",
    "\t", "\n", "\r\n", "123", "4", "3.5", "!", "?!", "...", "--", "(", ")", "@", "#", "$", "😀", "👍🏽", "👨‍👩‍👧",
    "e\u0301", "ñ", "café", "中文", "日本語", "한국어", "𠀀", "Ω", "∑", "ß", "İ", "\u200b", "\u00a0", "\u3000", "\ufeff",
    "٣٤٥", "Ⅻ", "½", "ｆｕｌｌ", "ـ", "שלום", "مرحبا", "हिन्दी", "\u0000", "\x7f", "\ufffd",
]
RANGES = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x300, 0x36f), (0x4e00, 0x4fff), (0x3040, 0x30ff),
          (0xac00, 0xacff), (0x600, 0x6ff), (0x900, 0x97f), (0x2000, 0x206f), (0x2200, 0x22ff), (0x1f300, 0x1f64f),
          (0x20000, 0x200ff), (0xff01, 0xff5e)]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(0, 12)):
        if rng.random() < 0.6:
            parts.append(rng.choice(POOL))
        else:
            lo, hi = rng.choice(RANGES)
            parts.append(''.join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 4))))
    return ''.join(parts)


def main():
    rng = random.Random(1234)
    texts = FIXED + [random_text(rng) for _ in range(400)]
    cases = [{'text': t, 'chunks': PATTERN.findall(t)} for t in texts]
    for c in cases:
        assert ''.join(c['chunks']) == c['text']
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump({'pattern': PATTERN.pattern, 'cases': cases}, f, ensure_ascii=True, indent=0)
    print(f'wrote {len(cases)} cases to {OUT}')


if __name__ == '__main__':
    main()
