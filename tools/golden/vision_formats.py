"""Writes the JPEG, BMP and GIF fixtures of DeepSharp.Vision's decoder tests, with reference pixels from other decoders.

Sources are real pictures that need no download: ImageMagick's built-in photograph "rose:" cropped to 47x31 (odd sizes
on purpose) and its "granite:" texture cropped to 37x29. Variants:
- JPEG by libjpeg-turbo's cjpeg: baseline 4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, grey, RGB (Adobe, no colour transform),
  optimised Huffman tables, quality 10 and 100, restart markers every block and every MCU row, progressive (colour, grey,
  4:4:4, with restarts), and arithmetic coding (which the decoder must refuse clearly). Reference pixels: djpeg with its
  defaults: the "islow" integer IDCT and fancy (triangle) upsampling, written as PPM/PGM.
- CMYK JPEG (Adobe, inverted) by ImageMagick; EXIF orientations 1-8 by PIL. Reference: PIL (libjpeg) with
  convert("RGB") and ImageOps.exif_transpose.
- BMP by ImageMagick: 24-bit, 32-bit with alpha, 16-bit 5-6-5, 8/4/1-bit palettes, RLE8, RLE4 (by this script), top-down.
- GIF by ImageMagick: plain, interlaced, transparent, a frame smaller than the screen, an animation (first frame).
  Reference for BMP/GIF: PIL's convert("RGB"/"RGBA"/"L"), exact.

Output: tests/DeepSharp.Vision.Tests/Fixtures/formats/ (the files, the references as .ppm/.pgm/.pam, formats.json listing
each case with its reference and tolerance). Needs: apt-get install -y libjpeg-turbo-progs imagemagick python3-pil
Run: /usr/bin/python3 tools/golden/vision_formats.py
"""
import io, json, os, struct, subprocess
import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Vision.Tests', 'Fixtures', 'formats')
os.makedirs(OUT, exist_ok=True)
CONVERT = '/usr/bin/convert'
cases = []


def run(*args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, check=True).stdout


def source(name):
    path = os.path.join('/tmp', f'ds-src-{name}.ppm')
    spec = {'rose': ['rose:', '-crop', '47x31+12+8', '+repage'], 'granite': ['granite:', '-crop', '37x29+5+9', '+repage']}[name]
    run(CONVERT, *spec, f'PPM:{path}')
    return path


def write_ref(name, array):
    """Writes a reference as binary PGM (H, W), PPM (H, W, 3) or PAM RGB_ALPHA (H, W, 4)."""
    h, w = array.shape[:2]
    c = 1 if array.ndim == 2 else array.shape[2]
    ext = {1: 'pgm', 3: 'ppm', 4: 'pam'}[c]
    head = {1: f'P5\n{w} {h}\n255\n', 3: f'P6\n{w} {h}\n255\n',
            4: f'P7\nWIDTH {w}\nHEIGHT {h}\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n'}[c]
    path = f'{name}.ref.{ext}'
    with open(os.path.join(OUT, path), 'wb') as f:
        f.write(head.encode('ascii') + np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    return path


def add(file, ref, tolerance, note, error=None):
    cases.append({'file': file, 'reference': ref, 'tolerance': tolerance, 'note': note, 'error': error})


def jpeg_cases():
    rose, granite = source('rose'), source('granite')
    variants = [
        ('rose_444', rose, ['-sample', '1x1', '-quality', '90'], 'baseline 4:4:4'),
        ('rose_422', rose, ['-sample', '2x1'], 'baseline 4:2:2'),
        ('rose_420', rose, [], 'baseline 4:2:0 (cjpeg default, quality 75)'),
        ('rose_440', rose, ['-sample', '1x2'], 'baseline 4:4:0'),
        ('rose_411', rose, ['-sample', '4x1'], 'baseline 4:1:1 (replicated chroma)'),
        ('rose_grey', rose, ['-grayscale'], 'baseline grey'),
        ('rose_rgb', rose, ['-rgb', '-sample', '1x1'], 'RGB components, Adobe transform 0'),
        ('rose_optimize', rose, ['-optimize'], 'optimised Huffman tables'),
        ('rose_q10', rose, ['-quality', '10'], 'quality 10'),
        ('rose_q100', rose, ['-quality', '100', '-sample', '1x1'], 'quality 100, 4:4:4'),
        ('rose_restart_block', rose, ['-restart', '1B'], 'a restart marker after every MCU'),
        ('rose_restart_row', rose, ['-restart', '1'], 'a restart marker after every MCU row'),
        ('rose_progressive', rose, ['-progressive'], 'progressive 4:2:0'),
        ('rose_progressive_444', rose, ['-progressive', '-sample', '1x1'], 'progressive 4:4:4'),
        ('rose_progressive_grey', rose, ['-progressive', '-grayscale'], 'progressive grey'),
        ('rose_progressive_restart', rose, ['-progressive', '-restart', '2B'], 'progressive with restart markers'),
        ('granite_420', granite, ['-quality', '85'], 'texture 37x29, 4:2:0'),
        ('granite_progressive', granite, ['-progressive', '-sample', '2x1'], 'texture 37x29, progressive 4:2:2'),
    ]
    for name, src, flags, note in variants:
        data = run('cjpeg', *flags, src)
        open(os.path.join(OUT, name + '.jpg'), 'wb').write(data)
        pixels = run('djpeg', '-pnm', os.path.join(OUT, name + '.jpg'))
        img = np.array(Image.open(io.BytesIO(pixels)))
        # libjpeg's islow IDCT is within 1 of the exact transform that DeepSharp computes; colour conversion multiplies a
        # difference of 1 in Y and Cr by up to 1 + 1.402, so YCbCr files get 3 and one-channel (grey, RGB) files 1
        add(name + '.jpg', write_ref(name, img), 1 if '-grayscale' in flags or '-rgb' in flags else 3, note)
    data = run('cjpeg', '-arithmetic', rose)
    open(os.path.join(OUT, 'rose_arithmetic.jpg'), 'wb').write(data)
    add('rose_arithmetic.jpg', None, 0, 'arithmetic coding: refused', error='arithmetic')

    # CMYK with Adobe's inverted storage (ImageMagick), reference PIL's CMYK → RGB
    path = os.path.join(OUT, 'rose_cmyk.jpg')
    run(CONVERT, source('rose'), '-colorspace', 'CMYK', '-quality', '92', '-sampling-factor', '1x1', path)
    add('rose_cmyk.jpg', write_ref('rose_cmyk', np.array(Image.open(path).convert('RGB'))), 3, 'YCCK (Adobe APP14 transform 2)')
    # plain CMYK, stored inverted with Adobe transform 0, by PIL
    path = os.path.join(OUT, 'rose_cmyk_pil.jpg')
    Image.open(rose).convert('CMYK').save(path, quality=92, subsampling=0)
    add('rose_cmyk_pil.jpg', write_ref('rose_cmyk_pil', np.array(Image.open(path).convert('RGB'))), 3, 'CMYK (Adobe APP14 transform 0, inverted)')

    # EXIF orientations on an asymmetric 24x16 crop, reference PIL's exif_transpose
    base = Image.open(rose).crop((10, 6, 34, 22))
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        name = f'exif_orientation_{o}'
        base.save(os.path.join(OUT, name + '.jpg'), quality=95, subsampling=0, exif=exif.tobytes())
        upright = ImageOps.exif_transpose(Image.open(os.path.join(OUT, name + '.jpg'))).convert('RGB')
        add(name + '.jpg', write_ref(name, np.array(upright)), 3, f'EXIF orientation {o}')


def rle4(indices):
    """RLE4 stream of a (H, W) array of 4-bit indices: runs of equal pairs, bottom-up rows."""
    out = bytearray()
    for row in indices[::-1]:
        x = 0
        while x < len(row):
            n = 1
            while x + n < len(row) and n < 255 and row[x + n] == row[x + (n % 2)] and (n < 2 or row[x + n] == row[x + n - 2]):
                n += 1
            hi, lo = row[x], row[x + 1] if x + 1 < len(row) else 0
            out += bytes([n, (hi << 4) | lo])
            x += n
        out += b'\x00\x00'
    return bytes(out + b'\x00\x01')


def bmp_rle4_file(path):
    img = Image.open(source('rose')).quantize(16)
    idx = np.array(img)
    pal = img.getpalette()[:48]
    h, w = idx.shape
    data = rle4(idx)
    offset = 14 + 40 + 64
    header = b'BM' + struct.pack('<IHHI', offset + len(data), 0, 0, offset)
    info = struct.pack('<IiiHHIIiiII', 40, w, h, 1, 4, 2, len(data), 2835, 2835, 16, 0)
    palette = b''.join(bytes([pal[3 * i + 2], pal[3 * i + 1], pal[3 * i], 0]) for i in range(16))
    open(path, 'wb').write(header + info + palette + data)


def bmp_gif_cases():
    variants = [
        ('rose_24.bmp', ['rose:', 'BMP3:{}'], 'RGB'),
        ('rose_32_alpha.bmp', ['rose:', '-alpha', 'set', '-channel', 'A', '-fx', 'i/w', '+channel', '-define', 'bmp:format=bmp4', 'BMP:{}'], 'RGBA'),
        ('rose_565.bmp', ['rose:', '-define', 'bmp:subtype=RGB565', 'BMP:{}'], 'RGB'),
        ('rose_8.bmp', ['rose:', '-colors', '200', '-type', 'Palette', 'BMP3:{}'], 'RGB'),
        ('rose_4.bmp', ['rose:', '-colors', '16', '-type', 'Palette', 'BMP3:{}'], 'RGB'),
        ('rose_1.bmp', ['rose:', '-monochrome', '-type', 'Bilevel', 'BMP3:{}'], 'L'),
        ('rose_rle8.bmp', ['rose:', '-colors', '64', '-type', 'Palette', '-compress', 'RLE', 'BMP3:{}'], 'RGB'),
        ('rose.gif', ['rose:', 'GIF:{}'], 'RGB'),
        ('rose_interlaced.gif', ['rose:', '-interlace', 'GIF', 'GIF:{}'], 'RGB'),
        ('rose_transparent.gif', ['rose:', '-fuzz', '12%', '-transparent', 'white', 'GIF:{}'], 'RGBA'),
        ('rose_small_frame.gif', ['-size', '80x60', 'xc:navy', 'rose:', '-geometry', '+6+9', '-composite', '-crop', '47x31+6+9', 'GIF:{}'], 'RGB'),
        ('rose_animation.gif', ['rose:', '(', 'rose:', '-flip', ')', '-loop', '0', 'GIF:{}'], 'RGB'),
    ]
    rose = source('rose')
    for name, args, mode in variants:
        path = os.path.join(OUT, name)
        run(CONVERT, *[rose if a == 'rose:' else a.format(path) for a in args])
        add(name, write_ref(name.replace('.', '_'), np.array(Image.open(path).convert(mode))), 0, f'{name}: PIL convert("{mode}")')
    # a top-down 24-bit bitmap (negative height), written here from the 24-bit file
    data = bytearray(open(os.path.join(OUT, 'rose_24.bmp'), 'rb').read())
    off, w, h = struct.unpack_from('<I', data, 10)[0], *struct.unpack_from('<ii', data, 18)
    stride = (w * 3 + 3) // 4 * 4
    rows = [data[off + y * stride: off + (y + 1) * stride] for y in range(h)]
    data[off:] = b''.join(reversed(rows))
    struct.pack_into('<i', data, 22, -h)
    open(os.path.join(OUT, 'rose_topdown.bmp'), 'wb').write(data)
    add('rose_topdown.bmp', 'rose_24_bmp.ref.ppm', 0, 'top-down rows (negative height)')
    grey = os.path.join(OUT, 'rose_grey8.bmp')
    Image.open(rose).convert('L').save(grey)   # PIL writes 8 bits with a grey palette
    add('rose_grey8.bmp', write_ref('rose_grey8_bmp', np.array(Image.open(grey))), 0, '8-bit grey palette (PIL mode L)')
    bmp_rle4_file(os.path.join(OUT, 'rose_rle4.bmp'))
    add('rose_rle4.bmp', write_ref('rose_rle4_bmp', np.array(Image.open(os.path.join(OUT, 'rose_rle4.bmp')).convert('RGB'))), 0, 'RLE4')


jpeg_cases()
bmp_gif_cases()
with open(os.path.join(OUT, 'formats.json'), 'w') as f:
    json.dump(cases, f, indent=1)
print(f'{len(cases)} cases, {sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT)) // 1024} KB in {OUT}')
