"""Reference values for DeepSharp's recurrent layers (RNN tanh/relu, LSTM, GRU, their cells) and sequence packing.

Each layer case stores inputs [x, h0, c0, *parameters in state-dict order] (h0/c0 None when the layer starts from
zeros), outputs [flat, output, h_n, c_n] where flat = cat(output, h_n, c_n) flattened (for packed input, output is
the padded output from pad_packed_sequence), an upstream gradient for flat, and the gradients of sum(flat * upstream)
for x, h0, c0 and every parameter. `extra` holds the configuration, the state-dict keys and print(module); the LSTM
cases with proj_size (appended last, lstm_proj_*) also hold proj_size, the parameter shapes and _flat_weights_names.
Run with Debian's interpreter: /usr/bin/python3 tools/golden/rnn.py
"""
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence, pack_sequence
from golden import Fixture, enc

f = Fixture('rnn')
torch.manual_seed(0)


def layer_case(name, m, x, state=None, lengths=None, enforce_sorted=True, dtype=torch.float64):
    m = m.to(dtype).eval()
    x = x.to(dtype).clone().requires_grad_()
    lstm = isinstance(m, nn.LSTM)
    h0 = c0 = None
    if state is not None:
        if lstm:
            h0, c0 = (s.to(dtype).clone().requires_grad_() for s in state)
        else:
            h0 = state.to(dtype).clone().requires_grad_()
    hx = (h0, c0) if lstm and h0 is not None else h0
    inp = x if lengths is None else pack_padded_sequence(x, torch.tensor(lengths), batch_first=m.batch_first, enforce_sorted=enforce_sorted)
    out, hn = m(inp, hx)
    if lengths is not None:
        out, _ = pad_packed_sequence(out, batch_first=m.batch_first, total_length=x.shape[1 if m.batch_first else 0])
    hn, cn = hn if lstm else (hn, None)
    flat = torch.cat([t.reshape(-1) for t in (out, hn, cn) if t is not None])
    params = list(m.parameters())
    leaves = [t for t in (x, h0, c0) if t is not None] + params
    upstream = torch.randn_like(flat)
    grads = iter(torch.autograd.grad([flat], leaves, [upstream]))
    ins = [x, h0, c0] + params
    f.cases[name] = {
        'inputs': [enc(t) for t in ins],
        'outputs': [enc(flat), enc(out), enc(hn), enc(cn)],
        'upstream': enc(upstream),
        'grads': [enc(next(grads)) if t is not None else None for t in ins],
        'extra': {
            'kind': type(m).__name__, 'input_size': m.input_size, 'hidden_size': m.hidden_size,
            'num_layers': m.num_layers, 'bias': m.bias, 'batch_first': m.batch_first, 'dropout': m.dropout,
            'bidirectional': m.bidirectional, 'nonlinearity': getattr(m, 'nonlinearity', 'tanh'),
            'lengths': lengths, 'enforce_sorted': enforce_sorted,
            'keys': list(m.state_dict().keys()), 'repr': repr(m),
        },
    }
    if lstm and m.proj_size > 0:   # only for the projection cases, so the older cases' JSON stays byte-identical
        f.cases[name]['extra']['proj_size'] = m.proj_size
        f.cases[name]['extra']['shapes'] = [list(p.shape) for p in params]
        f.cases[name]['extra']['flat_weights_names'] = list(m._flat_weights_names)


def cell_case(name, m, x, state=None, dtype=torch.float64):
    m = m.to(dtype)
    x = x.to(dtype).clone().requires_grad_()
    lstm = isinstance(m, nn.LSTMCell)
    h0 = c0 = None
    if state is not None:
        if lstm:
            h0, c0 = (s.to(dtype).clone().requires_grad_() for s in state)
        else:
            h0 = state.to(dtype).clone().requires_grad_()
    out = m(x, (h0, c0) if lstm and h0 is not None else h0)
    h, c = out if lstm else (out, None)
    flat = torch.cat([t.reshape(-1) for t in (h, c) if t is not None])
    params = list(m.parameters())
    leaves = [t for t in (x, h0, c0) if t is not None] + params
    upstream = torch.randn_like(flat)
    grads = iter(torch.autograd.grad([flat], leaves, [upstream]))
    ins = [x, h0, c0] + params
    f.cases[name] = {
        'inputs': [enc(t) for t in ins],
        'outputs': [enc(flat), enc(h), enc(c)],
        'upstream': enc(upstream),
        'grads': [enc(next(grads)) if t is not None else None for t in ins],
        'extra': {
            'kind': type(m).__name__, 'input_size': m.input_size, 'hidden_size': m.hidden_size, 'bias': m.bias,
            'nonlinearity': getattr(m, 'nonlinearity', 'tanh'), 'keys': list(m.state_dict().keys()), 'repr': repr(m),
        },
    }


r = torch.randn

# ---- padded / unbatched layers ----------------------------------------------------------------------------
layer_case('rnn_tanh', nn.RNN(3, 5), r(4, 2, 3), r(1, 2, 5))
layer_case('rnn_relu_2layer', nn.RNN(3, 5, num_layers=2, nonlinearity='relu'), r(4, 2, 3), r(2, 2, 5))
layer_case('rnn_tanh_bidir_batchfirst', nn.RNN(3, 4, bidirectional=True, batch_first=True), r(2, 5, 3))
layer_case('lstm', nn.LSTM(3, 5), r(4, 2, 3), (r(1, 2, 5), r(1, 2, 5)))
layer_case('lstm_zero_state', nn.LSTM(3, 5), r(4, 2, 3))
layer_case('lstm_2layer_bidir_batchfirst', nn.LSTM(3, 3, num_layers=2, bidirectional=True, batch_first=True), r(3, 4, 3),
           (r(4, 3, 3), r(4, 3, 3)))
layer_case('lstm_2layer_timemajor', nn.LSTM(4, 3, num_layers=2), r(5, 2, 4), (r(2, 2, 3), r(2, 2, 3)))
layer_case('lstm_nobias', nn.LSTM(3, 4, bias=False), r(4, 2, 3), (r(1, 2, 4), r(1, 2, 4)))
layer_case('lstm_dropout_eval', nn.LSTM(3, 4, num_layers=2, dropout=0.5), r(4, 2, 3))
layer_case('lstm_unbatched', nn.LSTM(3, 5), r(4, 3), (r(1, 5), r(1, 5)))
layer_case('lstm_f32', nn.LSTM(4, 5, num_layers=2, batch_first=True), r(2, 5, 4), (r(2, 2, 5), r(2, 2, 5)), dtype=torch.float32)
layer_case('gru', nn.GRU(3, 5), r(4, 2, 3), r(1, 2, 5))
layer_case('gru_2layer_bidir', nn.GRU(4, 3, num_layers=2, bidirectional=True), r(5, 2, 4), r(4, 2, 3))
layer_case('gru_nobias_batchfirst', nn.GRU(3, 4, bias=False, batch_first=True), r(2, 4, 3), r(1, 2, 4))
layer_case('gru_unbatched_2layer', nn.GRU(3, 4, num_layers=2), r(5, 3))

# ---- packed variable-length batches -------------------------------------------------------------------------
layer_case('rnn_packed_sorted', nn.RNN(3, 4), r(5, 3, 3), r(1, 3, 4), lengths=[5, 3, 2])
layer_case('lstm_packed_sorted', nn.LSTM(3, 4), r(5, 3, 3), (r(1, 3, 4), r(1, 3, 4)), lengths=[5, 3, 2])
layer_case('lstm_packed_unsorted_bidir', nn.LSTM(3, 4, bidirectional=True), r(6, 4, 3), (r(2, 4, 4), r(2, 4, 4)),
           lengths=[2, 6, 3, 5], enforce_sorted=False)
layer_case('lstm_packed_unsorted_2layer_bidir_batchfirst', nn.LSTM(3, 3, num_layers=2, bidirectional=True, batch_first=True),
           r(4, 6, 3), (r(4, 4, 3), r(4, 4, 3)), lengths=[3, 6, 1, 3], enforce_sorted=False)
layer_case('gru_packed_unsorted_2layer_bidir', nn.GRU(3, 3, num_layers=2, bidirectional=True), r(5, 3, 3), r(4, 3, 3),
           lengths=[4, 5, 2], enforce_sorted=False)
layer_case('rnn_relu_packed_unsorted_batchfirst', nn.RNN(2, 3, nonlinearity='relu', batch_first=True, bidirectional=True),
           r(3, 4, 2), lengths=[1, 4, 2], enforce_sorted=False)

# ---- cells ------------------------------------------------------------------------------------------------------
cell_case('rnn_cell_tanh', nn.RNNCell(3, 5), r(2, 3), r(2, 5))
cell_case('rnn_cell_relu', nn.RNNCell(3, 5, nonlinearity='relu'), r(2, 3), r(2, 5))
cell_case('lstm_cell', nn.LSTMCell(3, 5), r(2, 3), (r(2, 5), r(2, 5)))
cell_case('lstm_cell_unbatched', nn.LSTMCell(3, 4), r(3), (r(4), r(4)))
cell_case('lstm_cell_zero_state', nn.LSTMCell(3, 4, bias=False), r(2, 3))
cell_case('gru_cell', nn.GRUCell(3, 5), r(2, 3), r(2, 5))
cell_case('gru_cell_nobias', nn.GRUCell(3, 4, bias=False), r(3, 3), r(3, 4))

# ---- packing utilities ------------------------------------------------------------------------------------------
x = r(5, 3, 2).double()
packed = pack_padded_sequence(x, torch.tensor([5, 2, 4]), enforce_sorted=False)
padded, lens = pad_packed_sequence(packed, batch_first=True, padding_value=-1.0, total_length=6)
f.cases['pack_unsorted'] = {
    'inputs': [enc(x)], 'outputs': [enc(packed.data), enc(packed.batch_sizes), enc(packed.sorted_indices),
                                    enc(packed.unsorted_indices), enc(padded), enc(lens)],
}
seqs = [r(4, 2).double(), r(2, 2).double(), r(3, 2).double()]
f.cases['pad_sequence'] = {
    'inputs': [enc(s) for s in seqs],
    'outputs': [enc(pad_sequence(seqs)), enc(pad_sequence(seqs, batch_first=True, padding_value=7.0)),
                enc(pack_sequence(seqs, enforce_sorted=False).data), enc(pack_sequence(seqs, enforce_sorted=False).batch_sizes)],
}

# ---- LSTM with projections (proj_size); added last so the random draws of the cases above do not change -------------
layer_case('lstm_proj', nn.LSTM(3, 5, proj_size=2), r(4, 2, 3), (r(1, 2, 2), r(1, 2, 5)))
layer_case('lstm_proj_zero_state_nobias_2layer', nn.LSTM(4, 5, num_layers=2, bias=False, proj_size=3), r(5, 2, 4))
layer_case('lstm_proj_2layer_bidir_batchfirst', nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, proj_size=2),
           r(3, 4, 3), (r(4, 3, 2), r(4, 3, 4)))
layer_case('lstm_proj_unbatched', nn.LSTM(3, 4, proj_size=1), r(4, 3), (r(1, 1), r(1, 4)))
layer_case('lstm_proj_dropout_eval', nn.LSTM(3, 5, num_layers=2, dropout=0.5, proj_size=4), r(4, 2, 3))
layer_case('lstm_proj_packed_sorted', nn.LSTM(3, 4, proj_size=3), r(5, 3, 3), (r(1, 3, 3), r(1, 3, 4)), lengths=[5, 3, 2])
layer_case('lstm_proj_packed_unsorted_2layer_bidir_batchfirst',
           nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True, proj_size=2),
           r(4, 6, 3), (r(4, 4, 2), r(4, 4, 5)), lengths=[3, 6, 1, 4], enforce_sorted=False)
layer_case('lstm_proj_f32', nn.LSTM(4, 6, num_layers=2, batch_first=True, proj_size=3), r(2, 5, 4), (r(2, 2, 3), r(2, 2, 6)),
           dtype=torch.float32)

f.save()
