"""Writes the image fixtures of DeepSharp.Vision's image I/O tests.

PNG files are written by a small independent encoder below (zlib + struct) so that every colour type, bit depth,
row filter, tRNS form and Adam7 interlacing is covered on purpose; each one is then decoded by PIL and checked
against the intended pixels, so the fixtures are known-good PNGs. A few files are written by PIL itself (its own
encoder and filter choices), and PGM/PPM files in both plain (P2/P3) and binary (P5/P6) forms.

Output: tests/DeepSharp.Vision.Tests/Fixtures/images/*.{png,pgm,ppm} and images.json with, for every file, the
pixels DeepSharp's decoder must return: height, width, channels, maxValue and the (H, W, C) samples.
Run with Debian's interpreter: /usr/bin/python3 tools/golden/vision_images.py
"""
import io, json, os, struct, zlib
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Vision.Tests', 'Fixtures')
IMG = os.path.join(OUT, 'images')
rng = np.random.default_rng(1234)
expected = {}

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
SPP = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    body = kind.encode('ascii') + data
    return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xffffffff)


def pack_row(samples, depth):
    """samples: 1-D ints of one row (all channels interleaved)."""
    if depth == 16:
        return b''.join(struct.pack('>H', int(v)) for v in samples)
    if depth == 8:
        return bytes(int(v) for v in samples)
    per = 8 // depth
    out = bytearray((len(samples) + per - 1) // per)
    for i, v in enumerate(samples):
        out[i // per] |= int(v) << (8 - depth * (i % per + 1))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_row(ftype, row, prev, bpp):
    out = bytearray(len(row))
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
        out[i] = (row[i] - pred) & 0xff
    return bytes([ftype]) + bytes(out)


def filtered(pixels, depth, filters, start):
    """pixels: (h, w, spp) array. Returns filtered bytes using filters[(start + y) % len]."""
    h, w, spp = pixels.shape
    bpp = max(1, spp * depth // 8)
    prev = bytes(len(pack_row(pixels[0].reshape(-1), depth)))
    out = b''
    for y in range(h):
        row = pack_row(pixels[y].reshape(-1), depth)
        out += filter_row(filters[(start + y) % len(filters)], row, prev, bpp)
        prev = row
    return out


def write_png(name, pixels, color_type, depth, interlace=False, filters=(0, 1, 2, 3, 4), palette=None, trns=None,
              idat_parts=1, extra=b''):
    h, w, spp = pixels.shape
    assert spp == SPP[color_type]
    if interlace:
        raw, count = b'', 0
        for xs, ys, dx, dy in ADAM7:
            sub = pixels[ys::dy, xs::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            raw += filtered(sub, depth, filters, count)
            count += sub.shape[0]
    else:
        raw = filtered(pixels, depth, filters, 0)
    comp = zlib.compress(raw, 9)
    data = b'\x89PNG\r\n\x1a\n' + chunk('IHDR', struct.pack('>IIBBBBB', w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    data += chunk('tEXt', b'Comment\x00DeepSharp test image') + extra
    if palette is not None:
        data += chunk('PLTE', bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        data += chunk('tRNS', trns)
    step = (len(comp) + idat_parts - 1) // idat_parts
    for i in range(0, len(comp), step):
        data += chunk('IDAT', comp[i:i + step])
    data += chunk('IEND', b'')
    with open(os.path.join(IMG, name), 'wb') as f:
        f.write(data)
    return data


def record(name, samples, maxval):
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = samples[:, :, None]
    h, w, c = samples.shape
    expected[name] = {'height': h, 'width': w, 'channels': c, 'maxValue': int(maxval),
                      'samples': [int(v) for v in samples.reshape(-1)]}


def pil_check(name, want):
    """Decodes the file with PIL and compares with `want` in PIL's own representation."""
    with Image.open(os.path.join(IMG, name)) as im:
        im.load()
        got = np.asarray(im)
        if got.dtype == bool:
            got = got.astype(np.int64)
        if want.ndim == 3 and want.shape[2] == 2 and got.ndim == 3 and got.shape[2] == 4:
            got = got[:, :, [0, 3]]                    # PIL opens 16-bit grey+alpha as RGBA
        assert got.shape == want.shape and np.array_equal(got.astype(np.int64), want.astype(np.int64)), \
            f'{name}: PIL ({im.mode}) disagrees'


def grey_case(depth, interlace, size=(9, 13)):
    h, w = size
    maxval = (1 << depth) - 1
    px = rng.integers(0, maxval + 1, size=(h, w, 1))
    name = f'grey{depth}{"_adam7" if interlace else ""}.png'
    write_png(name, px, 0, depth, interlace)
    record(name, px, maxval)
    if depth == 1:
        pil_check(name, px[:, :, 0])                   # PIL mode "1"
    elif depth in (2, 4):
        pil_check(name, px[:, :, 0] * (255 // maxval))  # PIL scales to "L"
    else:
        pil_check(name, px[:, :, 0])                   # "L" or "I;16"/"I"


def color_case(color_type, depth, interlace, size=(9, 13), filters=(0, 1, 2, 3, 4)):
    h, w = size
    spp = SPP[color_type]
    maxval = (1 << depth) - 1
    px = rng.integers(0, maxval + 1, size=(h, w, spp))
    kind = {2: 'rgb', 4: 'greyalpha', 6: 'rgba'}[color_type]
    name = f'{kind}{depth}{"_adam7" if interlace else ""}.png'
    write_png(name, px, color_type, depth, interlace, filters)
    record(name, px, maxval)
    want = px if depth == 8 else px >> 8               # PIL keeps the high byte of 16-bit colour
    pil_check(name, want if spp > 1 else want[:, :, 0])


def palette_case(depth, interlace, with_alpha, size=(9, 13)):
    h, w = size
    entries = min(1 << depth, 200)
    pal = rng.integers(0, 256, size=(entries, 3))
    idx = rng.integers(0, entries, size=(h, w, 1))
    alpha = rng.integers(0, 256, size=max(1, entries // 2)) if with_alpha else None
    name = f'palette{depth}{"_alpha" if with_alpha else ""}{"_adam7" if interlace else ""}.png'
    write_png(name, idx, 3, depth, interlace, palette=pal, trns=bytes(alpha.astype(np.uint8)) if with_alpha else None)
    rgb = pal[idx[:, :, 0]]
    if with_alpha:
        a = np.full(entries, 255)
        a[:len(alpha)] = alpha
        rgba = np.concatenate([rgb, a[idx[:, :, 0]][:, :, None]], axis=2)
        record(name, rgba, 255)
        with Image.open(os.path.join(IMG, name)) as im:
            assert np.array_equal(np.asarray(im.convert('RGBA')), rgba), name
    else:
        record(name, rgb, 255)
        with Image.open(os.path.join(IMG, name)) as im:
            assert np.array_equal(np.asarray(im.convert('RGB')), rgb), name


def colorkey_cases():
    # grey 8-bit with a transparent grey level
    px = rng.integers(0, 4, size=(5, 7, 1)) * 60
    write_png('grey8_trns.png', px, 0, 8, trns=struct.pack('>H', 60))
    record('grey8_trns.png', np.concatenate([px, np.where(px == 60, 0, 255)], axis=2), 255)
    with Image.open(os.path.join(IMG, 'grey8_trns.png')) as im:
        assert im.info.get('transparency') == 60
        assert np.array_equal(np.asarray(im), px[:, :, 0])
    # RGB 16-bit with a transparent colour
    px = rng.integers(0, 3, size=(6, 5, 3)) * 30000
    key = (30000, 0, 60000)
    px[0, 0] = key
    write_png('rgb16_trns.png', px, 2, 16, interlace=True, trns=struct.pack('>HHH', *key))
    match = np.all(px == np.array(key), axis=2, keepdims=True)
    record('rgb16_trns.png', np.concatenate([px, np.where(match, 0, 65535)], axis=2), 65535)


def pil_written():
    # images written by PIL's own encoder (its filter choices, single IDAT stream)
    yy, xx = np.mgrid[0:24, 0:32]
    rgb = np.stack([xx * 8, yy * 10, (xx + yy) * 4], axis=2) % 256
    rgb = (rgb + rng.integers(0, 20, size=rgb.shape)) % 256
    Image.fromarray(rgb.astype(np.uint8), 'RGB').save(os.path.join(IMG, 'pil_rgb.png'))
    record('pil_rgb.png', rgb, 255)
    rgba = np.concatenate([rgb, (xx * 8)[:, :, None] % 256], axis=2).astype(np.uint8)
    Image.fromarray(rgba, 'RGBA').save(os.path.join(IMG, 'pil_rgba.png'), compress_level=1)
    record('pil_rgba.png', rgba, 255)
    g16 = (xx * 2000 + yy * 37).astype(np.uint16)
    Image.fromarray(g16).save(os.path.join(IMG, 'pil_grey16.png'))
    record('pil_grey16.png', g16, 65535)
    pal = Image.fromarray(rgb.astype(np.uint8), 'RGB').quantize(colors=16)
    pal.save(os.path.join(IMG, 'pil_palette.png'))
    record('pil_palette.png', np.asarray(pal.convert('RGB')), 255)
    # PIL's PPM/PGM writers (binary P6/P5; 16-bit grey as P5 with maxval 65535)
    Image.fromarray(rgb.astype(np.uint8), 'RGB').save(os.path.join(IMG, 'pil_rgb.ppm'))
    record('pil_rgb.ppm', rgb, 255)
    Image.fromarray(rgb[:, :, 1].astype(np.uint8), 'L').save(os.path.join(IMG, 'pil_grey.pgm'))
    record('pil_grey.pgm', rgb[:, :, 1], 255)
    Image.fromarray(g16).convert('I').save(os.path.join(IMG, 'pil_grey16.pgm'))
    record('pil_grey16.pgm', g16, 65535)


def plain_netpbm():
    # plain (ASCII) P2/P3 with comments, odd maxvals and irregular whitespace, read back by PIL where it can
    g = rng.integers(0, 1000, size=(4, 6))
    text = 'P2\n# plain PGM written by tools/golden\n6 4\n1000\n' + '\n'.join('  '.join(str(v) for v in row) for row in g) + '\n'
    open(os.path.join(IMG, 'plain_grey.pgm'), 'w').write(text)
    record('plain_grey.pgm', g, 1000)
    c = rng.integers(0, 16, size=(3, 5, 3))
    text = 'P3\n5 3 15\n' + '\n'.join(' '.join(str(v) for v in row.reshape(-1)) for row in c) + '\n'
    open(os.path.join(IMG, 'plain_rgb.ppm'), 'w').write(text)
    record('plain_rgb.ppm', c, 15)
    with Image.open(os.path.join(IMG, 'plain_rgb.ppm')) as im:   # PIL rescales plain maxval 15 to 8 bits
        assert im.size == (5, 3)
    # binary P6 with maxval 4095 (two bytes per sample)
    c16 = rng.integers(0, 4096, size=(3, 4, 3))
    data = b'P6\n4 3\n4095\n' + b''.join(struct.pack('>H', int(v)) for v in c16.reshape(-1))
    open(os.path.join(IMG, 'rgb12.ppm'), 'wb').write(data)
    record('rgb12.ppm', c16, 4095)


def main():
    os.makedirs(IMG, exist_ok=True)
    for depth in (1, 2, 4, 8, 16):
        grey_case(depth, False)
        grey_case(depth, True)
    for ct in (2, 4, 6):
        for depth in (8, 16):
            color_case(ct, depth, False)
            color_case(ct, depth, True)
    for depth in (1, 2, 4, 8):
        palette_case(depth, False, False)
    palette_case(8, True, True)
    palette_case(4, False, True)
    colorkey_cases()
    # every filter type on every row kind, multi-IDAT, tiny images where Adam7 passes are empty
    px = rng.integers(0, 256, size=(7, 11, 3))
    for f in range(5):
        name = f'rgb8_filter{f}.png'
        write_png(name, px, 2, 8, filters=(f,), idat_parts=3)
        record(name, px, 255)
        pil_check(name, px)
    for h, w in ((1, 1), (2, 3), (3, 1), (1, 9)):
        px = rng.integers(0, 256, size=(h, w, 4))
        name = f'rgba8_adam7_{h}x{w}.png'
        write_png(name, px, 6, 8, interlace=True)
        record(name, px, 255)
        pil_check(name, px)
    pil_written()
    plain_netpbm()
    with open(os.path.join(OUT, 'images.json'), 'w') as f:
        json.dump(expected, f, separators=(',', ':'))
    total = sum(os.path.getsize(os.path.join(IMG, n)) for n in os.listdir(IMG))
    print(f'wrote {len(expected)} images ({total} bytes) to {IMG}')


if __name__ == '__main__':
    main()
