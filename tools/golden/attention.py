"""Reference values for DeepSharp's attention: scaled dot-product attention (computed by hand — torch 1.13 has no
F.scaled_dot_product_attention, which arrived in 2.0, so the 2.x semantics are written out: bool mask True = attend),
nn.MultiheadAttention (masks, key padding, batch_first, kdim/vdim, bias_kv, zero_attn, unbatched), Transformer
encoder/decoder layers (pre/post-norm, relu/gelu), stacks and nn.Transformer, loaded from PyTorch's state dicts,
plus sinusoidal and rotary position encodings. Dropout is 0 everywhere; modules stay in training mode so that
torch 1.13 takes its standard (not the fused inference "fast") path.

Module cases store inputs [*data, *parameters in state-dict order]; extra holds the state-dict keys, the module's
configuration and any masks (masks are not differentiated)."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import stateless
import golden
from golden import Fixture


def enc(t):
    # as golden.enc, with floats kept to 12 significant digits to keep the fixture small (tests compare at ~1e-8),
    # and infinities written as strings ("-Infinity"), which strict JSON readers accept
    e = _enc(t)
    if e is not None and e['dtype'].startswith('float'):
        e['data'] = [float('%.12g' % v) if math.isfinite(v) else str(v).replace('inf', 'Infinity') for v in e['data']]
    return e


_enc = golden.enc
golden.enc = enc

f = Fixture('attention')
r = lambda *s: torch.randn(*s, dtype=torch.float64)


# ---- scaled dot-product attention, by hand -----------------------------------------------------------
def sdpa(q, k, v, mask=None, causal=False, scale=None):
    L, S = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * scale
    if causal:
        scores = scores.masked_fill(torch.ones(L, S, dtype=torch.bool).triu(1), float('-inf'))
    if mask is not None:
        scores = scores + (torch.zeros(mask.shape, dtype=q.dtype).masked_fill(~mask, float('-inf')) if mask.dtype == torch.bool else mask)
    w = torch.softmax(scores, -1)
    return w @ v, w


def sdpa_case(name, q, k, v, mask=None, causal=False, scale=None):
    f.case(name, lambda q, k, v: sdpa(q, k, v, mask, causal, scale), [q, k, v],
           extra={'mask': enc(mask), 'causal': causal, 'scale': scale})


sdpa_case('sdpa_3d', r(2, 4, 6), r(2, 5, 6), r(2, 5, 3))
sdpa_case('sdpa_4d_float_mask', r(2, 2, 4, 3), r(2, 2, 7, 3), r(2, 2, 7, 2), mask=r(4, 7))
keep = torch.rand(2, 1, 4, 7) > 0.3
keep[..., 0] = True
sdpa_case('sdpa_4d_bool_mask', r(2, 2, 4, 3), r(2, 2, 7, 3), r(2, 2, 7, 2), mask=keep)
sdpa_case('sdpa_causal', r(1, 2, 6, 4), r(1, 2, 6, 4), r(1, 2, 6, 4), causal=True)
sdpa_case('sdpa_causal_rect_scale', r(1, 2, 4, 4), r(1, 2, 7, 4), r(1, 2, 7, 3), causal=True, scale=0.3)
sdpa_case('sdpa_f32', r(1, 2, 9, 4).float(), r(1, 2, 11, 4).float(), r(1, 2, 11, 4).float(), mask=r(9, 11).float())


# ---- modules with PyTorch's weights ------------------------------------------------------------------
def randomize(m, scale=0.4):
    """Random parameters (norm weights around 1), so that biases and norms are all exercised."""
    with torch.no_grad():
        for n, p in m.named_parameters():
            shift = 1.0 if 'norm' in n and n.endswith('weight') else 0.0
            p.copy_(torch.randn_like(p) * scale + shift)
    return m


def module_case(name, m, data, call, extra=None, grad=True):
    """call(module, *data) -> output (or tuple); the module's parameters become extra inputs."""
    keys = list(m.state_dict().keys())
    params = [t.detach().clone() for t in m.state_dict().values()]
    nd = len(data)

    def fn(*xs):
        state = dict(zip(keys, xs[nd:]))
        return stateless.functional_call(_Call(m, call), {'m.' + k: v for k, v in state.items()}, xs[:nd])

    e = {'keys': keys}
    e.update(extra or {})
    f.case(name, fn, list(data) + params, grad=grad, extra=e)


class _Call(nn.Module):
    def __init__(self, m, call):
        super().__init__()
        self.m = m
        self.call = call

    def forward(self, *d):
        return self.call(self.m, *d)


def mha(E=4, H=2, **kw):
    return randomize(nn.MultiheadAttention(E, H, dropout=0.0, **kw).double())


E, H, L, S, N = 4, 2, 4, 5, 2
x = r(L, N, E)
module_case('mha_self', mha(), [x], lambda m, x: m(x, x, x), extra={'batch_first': False})
module_case('mha_self_batch_first_per_head', mha(batch_first=True), [r(N, L, E)],
            lambda m, x: m(x, x, x, average_attn_weights=False), extra={'batch_first': True})
module_case('mha_cross_kv', mha(), [r(L, N, E), r(S, N, E)], lambda m, q, kv: m(q, kv, kv))
module_case('mha_cross_general', mha(batch_first=True), [r(N, L, E), r(N, S, E), r(N, S, E)], lambda m, q, k, v: m(q, k, v))
module_case('mha_kdim_vdim', mha(kdim=3, vdim=5), [r(L, N, E), r(S, N, 3), r(S, N, 5)], lambda m, q, k, v: m(q, k, v))

attn_bool = torch.rand(L, S) > 0.7
attn_bool[:, 0] = False
kpm = torch.zeros(N, S, dtype=torch.bool)
kpm[0, 4:] = True
kpm[1, 2:] = True
module_case('mha_bool_masks_no_weights', mha(), [r(L, N, E), r(S, N, E)],
            lambda m, q, kv: m(q, kv, kv, key_padding_mask=kpm, attn_mask=attn_bool, need_weights=False)[0],
            extra={'attn_mask': enc(attn_bool), 'key_padding_mask': enc(kpm)})
module_case('mha_bool_masks_weights', mha(batch_first=True), [r(N, L, E), r(N, S, E)],
            lambda m, q, kv: m(q, kv, kv, key_padding_mask=kpm, attn_mask=attn_bool),
            extra={'attn_mask': enc(attn_bool), 'key_padding_mask': enc(kpm)})
float_mask = r(N * H, L, L)
module_case('mha_float_mask_3d', mha(), [r(L, N, E)], lambda m, x: m(x, x, x, attn_mask=float_mask, need_weights=False)[0],
            extra={'attn_mask': enc(float_mask)})
causal = torch.triu(torch.full((L, L), float('-inf'), dtype=torch.float64), 1)
module_case('mha_causal_float_mask', mha(batch_first=True), [r(N, L, E)], lambda m, x: m(x, x, x, attn_mask=causal, need_weights=False)[0],
            extra={'attn_mask': enc(causal)})
module_case('mha_bias_kv_zero_attn', mha(add_bias_kv=True, add_zero_attn=True), [r(L, N, E), r(S, N, E)],
            lambda m, q, kv: m(q, kv, kv, key_padding_mask=kpm, attn_mask=attn_bool),
            extra={'attn_mask': enc(attn_bool), 'key_padding_mask': enc(kpm)})
kpm1 = torch.tensor([False, False, True, False])
module_case('mha_unbatched', mha(), [r(L, E)], lambda m, x: m(x, x, x, key_padding_mask=kpm1), extra={'key_padding_mask': enc(kpm1)})
module_case('mha_no_bias', mha(bias=False), [r(L, N, E)], lambda m, x: m(x, x, x, need_weights=False)[0])


# ---- Transformer layers and stacks -------------------------------------------------------------------
def layer(cls, **kw):
    return randomize(cls(E, H, dim_feedforward=8, dropout=0.0, **kw).double())


src_mask = torch.triu(torch.full((L, L), float('-inf'), dtype=torch.float64), 1)
skpm = torch.zeros(N, L, dtype=torch.bool)
skpm[1, 3:] = True
for norm_first in (False, True):
    for act in ('relu', 'gelu'):
        tag = ('pre' if norm_first else 'post') + '_' + act
        module_case('enc_layer_' + tag, layer(nn.TransformerEncoderLayer, activation=act, norm_first=norm_first), [r(L, N, E)],
                    lambda m, x: m(x, src_mask=src_mask, src_key_padding_mask=skpm),
                    extra={'norm_first': norm_first, 'activation': act, 'src_mask': enc(src_mask), 'src_key_padding_mask': enc(skpm)})
        mkpm = torch.zeros(N, S, dtype=torch.bool)
        mkpm[0, 4:] = True
        module_case('dec_layer_' + tag, layer(nn.TransformerDecoderLayer, activation=act, norm_first=norm_first, batch_first=True),
                    [r(N, L, E), r(N, S, E)],
                    lambda m, t, mem, mkpm=mkpm: m(t, mem, tgt_mask=src_mask, memory_key_padding_mask=mkpm),
                    extra={'norm_first': norm_first, 'activation': act, 'tgt_mask': enc(src_mask), 'memory_key_padding_mask': enc(mkpm)})

enc_stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, 8, 0.0, batch_first=True, norm_first=True), 2, norm=nn.LayerNorm(E))
module_case('encoder_stack_pre', randomize(enc_stack.double()), [r(N, L, E)], lambda m, x: m(x, mask=src_mask),
            extra={'mask': enc(src_mask)})
dec_stack = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, 8, 0.0, activation='gelu'), 2)
module_case('decoder_stack_post', randomize(dec_stack.double()), [r(L, N, E), r(S, N, E)], lambda m, t, mem: m(t, mem, tgt_mask=src_mask),
            extra={'tgt_mask': enc(src_mask)})
transformer = nn.Transformer(E, H, 1, 1, 8, 0.0, batch_first=True)
module_case('transformer', randomize(transformer.double()), [r(N, S, E), r(N, L, E)],
            lambda m, s, t: m(s, t, tgt_mask=src_mask), extra={'tgt_mask': enc(src_mask)})


# ---- position encodings ------------------------------------------------------------------------------
def sinusoidal(max_len, d):
    # the PositionalEncoding of PyTorch's transformer tutorial, as (max_len, d)
    position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    pe = torch.zeros(max_len, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


f.case('sinusoidal', lambda x: x + sinusoidal(10, 6)[:x.shape[1]], [r(2, 7, 6)])


def rope(x, start, dim, theta=10000.0):
    # Hugging Face / LLaMA: inv_freq = theta^(-2i/d), emb = cat(freqs, freqs), x*cos + rotate_half(x)*sin on the first dim features
    T = x.shape[-2]
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    t = torch.arange(start, start + T, dtype=torch.float64)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    xr, xp = x[..., :dim], x[..., dim:]
    x1, x2 = xr[..., :dim // 2], xr[..., dim // 2:]
    rot = torch.cat((-x2, x1), dim=-1)
    return torch.cat((xr * cos + rot * sin, xp), dim=-1)


f.case('rope_full', lambda x: rope(x, 0, 8), [r(2, 2, 5, 8)], extra={'start': 0, 'dim': 8})
f.case('rope_partial_offset', lambda x: rope(x, 6, 4, 500.0), [r(2, 5, 6)], extra={'start': 6, 'dim': 4, 'theta': 500.0})

# ---- structure: keys and printout --------------------------------------------------------------------
f.case('structure', lambda x: x, [r(1)], grad=False, extra={
    'encoder_keys': list(nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8)).state_dict().keys()),
    'decoder_layer_keys': list(nn.TransformerDecoderLayer(8, 2, 16).state_dict().keys()),
    'mha_kdim_keys': list(nn.MultiheadAttention(8, 2, kdim=4, vdim=6, add_bias_kv=True).state_dict().keys()),
    'transformer_keys': list(nn.Transformer(8, 2, 1, 1, 16).state_dict().keys()),
    'encoder_layer_repr': repr(nn.TransformerEncoderLayer(8, 2, 16)),
})
# ---- causal depthwise convolution over time (channels last), Primer's q/k/v convolution ------------------------------
def causal_dconv(x, w, b=None):
    k, T = w.shape[-1], x.shape[1]
    return F.conv1d(x.transpose(1, 2), w, b, padding=k - 1, groups=x.shape[2])[..., :T].transpose(1, 2)


f.case('causal_dconv', causal_dconv, [r(2, 5, 6), r(6, 1, 3), r(6)])
f.case('causal_dconv_long_kernel_no_bias', causal_dconv, [r(1, 3, 4), r(4, 1, 5)])
f.save()
