"""Reference values for DeepSharp.Audio (src/DeepSharp.Audio): torch.stft/istft and torchaudio 0.13's spectrogram,
mel filter banks, MelSpectrogram, AmplitudeToDB, MFCC, create_dct and resample, with input gradients where the op is
differentiable; plus torch.nn.functional.ctc_loss (see the 'ctc_' cases). Each case's 'extra' holds the arguments.
Output: tests/DeepSharp.Audio.Tests/Golden/audio.json. Run: /usr/bin/python3 tools/golden/audio.py
"""
import os, math
import torch
import torch.nn.functional as F
import torchaudio
import torchaudio.functional as AF
import torchaudio.transforms as T
import golden
from golden import Fixture

golden.OUT = os.path.join(golden.ROOT, 'tests', 'DeepSharp.Audio.Tests', 'Golden')
_enc = golden.enc


def enc_nonfinite(t):
    """JSON has no Infinity/NaN: those values are written as the strings 'inf', '-inf', 'nan'."""
    e = _enc(t)
    if e is not None and e['dtype'].startswith('float'):
        e['data'] = [v if math.isfinite(v) else ('nan' if v != v else 'inf' if v > 0 else '-inf') for v in e['data']]
    return e


golden.enc = enc_nonfinite
f = Fixture('audio')
# torchaudio builds its windows, filter banks and DCT matrices in the default dtype: float64 keeps the references exact
torch.set_default_dtype(torch.float64)
r = lambda *s: torch.randn(*s, dtype=torch.float64)

# ---- stft ---------------------------------------------------------------------------------------------------------
x = r(2, 64)
for name, kw in {
    'stft_hann_reflect': dict(n_fft=16, hop_length=4, win_length=12, window='hann', center=True, pad_mode='reflect'),
    'stft_default_hop': dict(n_fft=16, window='hann', center=True, pad_mode='reflect'),
    'stft_constant': dict(n_fft=16, hop_length=5, window='hann', center=True, pad_mode='constant'),
    'stft_replicate': dict(n_fft=16, hop_length=5, window='hann', center=True, pad_mode='replicate'),
    'stft_circular': dict(n_fft=16, hop_length=5, window='hann', center=True, pad_mode='circular'),
    'stft_nocenter_rect': dict(n_fft=15, hop_length=3, window=None, center=False),
    'stft_normalized': dict(n_fft=16, hop_length=4, window='hann', normalized=True),
    'stft_twosided': dict(n_fft=10, hop_length=3, window='hann', onesided=False),
}.items():
    kw = dict(kw)
    wl = kw.get('win_length') or kw['n_fft']
    win = torch.hann_window(wl, dtype=torch.float64) if kw.pop('window') == 'hann' else None
    extra = dict(kw, window='hann' if win is not None else None)
    f.case(name, lambda x: torch.view_as_real(torch.stft(x, window=win, return_complex=True, **kw)), [x], extra=extra)

# ---- istft --------------------------------------------------------------------------------------------------------
win = torch.hann_window(16, dtype=torch.float64)
spec = torch.view_as_real(torch.stft(r(2, 60), 16, 4, window=win, return_complex=True)) + 0.1 * r(2, 9, 16, 2)
f.case('istft_hann', lambda s: torch.istft(torch.view_as_complex(s), 16, 4, window=win), [spec], extra=dict(n_fft=16, hop_length=4))
f.case('istft_length', lambda s: torch.istft(torch.view_as_complex(s), 16, 4, window=win, length=55), [spec],
       extra=dict(n_fft=16, hop_length=4, length=55))
sig = r(1, 80)
f.case('istft_roundtrip', lambda s: torch.istft(torch.stft(s, 16, 4, window=win, return_complex=True), 16, 4, window=win, length=80),
       [sig], extra=dict(n_fft=16, hop_length=4))

# ---- spectrogram / mel --------------------------------------------------------------------------------------------
w = r(2, 800) * 0.3
for power in [2.0, 1.0]:
    for norm in [False, True]:
        sp = T.Spectrogram(n_fft=64, power=power, normalized=norm).double()
        f.case(f'spectrogram_p{int(power)}_n{int(norm)}', lambda w: sp(w), [w], extra=dict(n_fft=64, power=power, normalized=norm))
for scale in ['htk', 'slaney']:
    for norm in [None, 'slaney']:
        fb = AF.melscale_fbanks(201, 0.0, 8000.0, 40, 16000, norm, scale)
        f.case(f'fbank_{scale}_{norm}', lambda: fb, [], grad=False, extra=dict(n_freqs=201, f_min=0.0, f_max=8000.0, n_mels=40, sample_rate=16000))
        fb2 = AF.melscale_fbanks(129, 50.0, 7000.0, 23, 22050, norm, scale)
        f.case(f'fbank2_{scale}_{norm}', lambda: fb2, [], grad=False, extra=dict(n_freqs=129, f_min=50.0, f_max=7000.0, n_mels=23, sample_rate=22050))
w1 = r(1, 1600) * 0.2
mel = T.MelSpectrogram().double()
f.case('melspectrogram_default', lambda w: mel(w), [w1])
mel_s = T.MelSpectrogram(sample_rate=8000, n_fft=256, hop_length=80, n_mels=32, norm='slaney', mel_scale='slaney').double()
f.case('melspectrogram_slaney', lambda w: mel_s(w), [w1], extra=dict(sample_rate=8000, n_fft=256, hop_length=80, n_mels=32))
p = r(2, 3, 10, 7).exp()
f.case('db_power_top80', lambda p: T.AmplitudeToDB('power', top_db=8.0)(p), [p], extra=dict(top_db=8.0))
f.case('db_magnitude', lambda p: T.AmplitudeToDB('magnitude')(p), [p])
p2 = r(10, 7).exp()
f.case('db_2d_top', lambda p: T.AmplitudeToDB('power', top_db=5.0)(p), [p2], extra=dict(top_db=5.0))
mfcc = T.MFCC().double()
f.case('mfcc_default', lambda w: mfcc(w), [w1])
mfcc_l = T.MFCC(sample_rate=8000, n_mfcc=13, log_mels=True, melkwargs=dict(n_fft=256, hop_length=80, n_mels=32)).double()
f.case('mfcc_logmels', lambda w: mfcc_l(w), [w1], extra=dict(sample_rate=8000, n_mfcc=13, n_fft=256, hop_length=80, n_mels=32))
f.case('dct_ortho', lambda: AF.create_dct(13, 40, 'ortho'), [], grad=False)
f.case('dct_none', lambda: AF.create_dct(13, 40, None), [], grad=False)

# ---- resample -----------------------------------------------------------------------------------------------------
wr = r(2, 300)
for orig, new in [(44100, 16000), (16000, 22050), (3, 2), (8000, 16000)]:
    f.case(f'resample_{orig}_{new}', lambda w: AF.resample(w, orig, new), [wr], extra=dict(orig=orig, new=new))
f.case('resample_width3', lambda w: AF.resample(w, 5, 4, lowpass_filter_width=3, rolloff=0.9), [wr],
       extra=dict(orig=5, new=4, width=3, rolloff=0.9))

# ---- ctc loss -----------------------------------------------------------------------------------------------------
Tn, N, C = 12, 3, 5
lp = r(Tn, N, C).log_softmax(2)
targets = torch.tensor([[1, 2, 2, 3], [4, 1, 0, 0], [2, 2, 2, 0]])
in_len = torch.tensor([12, 10, 7])
tg_len = torch.tensor([4, 2, 3])
for red in ['mean', 'sum', 'none']:
    f.case(f'ctc_{red}', lambda lp: F.ctc_loss(lp, targets, in_len, tg_len, reduction=red), [lp], extra=dict(reduction=red))
# an infeasible sample (3 repeated labels need 5 frames, only 4 given) and an empty target
tg2 = torch.tensor([[3, 3, 3], [1, 0, 0], [0, 0, 0]])
in2 = torch.tensor([4, 12, 6])
len2 = torch.tensor([3, 1, 0])
for zi in [False, True]:
    f.case(f'ctc_infeasible_zi{int(zi)}', lambda lp: F.ctc_loss(lp, tg2, in2, len2, reduction='sum', zero_infinity=zi), [lp],
           extra=dict(reduction='sum', zero_infinity=zi))
f.case('ctc_infeasible_mean_zi1', lambda lp: F.ctc_loss(lp, tg2, in2, len2, reduction='mean', zero_infinity=True), [lp],
       extra=dict(reduction='mean', zero_infinity=True))
flat = torch.tensor([1, 2, 2, 3, 4, 1, 2, 2, 2])
f.case('ctc_concat_blank4', lambda lp: F.ctc_loss(lp, flat.clamp(max=3), in_len, tg_len, blank=4), [lp], extra=dict(reduction='mean', blank=4))
f.save()
