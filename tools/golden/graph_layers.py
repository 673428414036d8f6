"""Reference values for DeepSharp.Graphs' layers. PyG is not installed, so each layer is the paper's formula written
with plain torch scatter ops, following PyG 2.x defaults: GCNConv (self loops, symmetric norm, glorot, bias),
SAGEConv (mean / max, lin_l with bias + lin_r without), GATConv (2 heads, concat and mean, negative_slope 0.2,
self loops), GINConv (eps 0 and trained eps, MLP), and global add/mean/max pooling over a batch vector; then
Linear/GCN/SAGE/GAT on sparse binary node features with torch.sparse.mm computing every product of x with the weights.
Parameter names are PyG's state-dict keys. Output: tests/DeepSharp.Graphs.Tests/Golden/graph_layers.json."""
import json, os, torch
import torch.nn.functional as F

torch.manual_seed(0)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Graphs.Tests', 'Golden', 'graph_layers.json')
D = torch.float64
enc = lambda t: {'shape': list(t.shape), 'data': t.detach().reshape(-1).tolist()}

N = 6
edge_index = torch.tensor([[0, 1, 1, 2, 3, 4, 5, 2, 0, 3], [1, 0, 2, 1, 4, 3, 3, 0, 0, 5]])   # incl. a self loop (0, 0)


def scatter_sum(src, index, n): return torch.zeros((n,) + src.shape[1:], dtype=src.dtype).index_add(0, index, src)


def scatter_max(src, index, n):
    idx = index.view((-1,) + (1,) * (src.dim() - 1)).expand_as(src)
    return torch.zeros((n,) + src.shape[1:], dtype=src.dtype).scatter_reduce(0, idx, src, 'amax', include_self=False)


def with_self_loops(ei, n):
    keep = ei[0] != ei[1]
    loops = torch.arange(n)
    return torch.cat([ei[:, keep], torch.stack([loops, loops])], 1)


def segment_softmax(src, index, n):
    m = scatter_max(src.detach(), index, n).index_select(0, index)
    e = (src - m).exp()
    return e / (scatter_sum(e, index, n) + 1e-16).index_select(0, index)


def gcn(p, x):
    s, t = with_self_loops(edge_index, N)
    deg = scatter_sum(torch.ones(s.numel(), dtype=D), t, N)
    norm = deg.pow(-0.5)[s] * deg.pow(-0.5)[t]
    h = x @ p['lin.weight'].T
    return scatter_sum(h[s] * norm.view(-1, 1), t, N) + p['bias']


def sage(aggr):
    def f(p, x):
        s, t = edge_index
        if aggr == 'mean':
            agg = scatter_sum(x[s], t, N) / scatter_sum(torch.ones(s.numel(), dtype=D), t, N).clamp(min=1).view(-1, 1)
        else:
            agg = scatter_max(x[s], t, N)
        return agg @ p['lin_l.weight'].T + p['lin_l.bias'] + x @ p['lin_r.weight'].T
    return f


def gat(heads, c, concat):
    def f(p, x):
        s, t = with_self_loops(edge_index, N)
        h = (x @ p['lin_src.weight'].T).view(N, heads, c)
        a_src, a_dst = (h * p['att_src']).sum(-1), (h * p['att_dst']).sum(-1)
        alpha = segment_softmax(F.leaky_relu(a_src[s] + a_dst[t], 0.2), t, N)
        out = scatter_sum(h[s] * alpha.unsqueeze(-1), t, N)
        out = out.reshape(N, heads * c) if concat else out.mean(1)
        return out + p['bias']
    return f


def gin(p, x):
    s, t = edge_index
    z = (1 + p['eps']) * x + scatter_sum(x[s], t, N)
    return F.relu(z @ p['nn.0.weight'].T + p['nn.0.bias']) @ p['nn.2.weight'].T + p['nn.2.bias']


batch = torch.tensor([0, 0, 1, 1, 1, 2])
pools = {
    'pool_add': lambda p, x: scatter_sum(x, batch, 3),
    'pool_mean': lambda p, x: scatter_sum(x, batch, 3) / torch.bincount(batch).view(-1, 1).to(D),
    'pool_max': lambda p, x: scatter_max(x, batch, 3),
}

R = lambda *s: torch.randn(*s, dtype=D) * 0.5
cases = {
    'gcn': (gcn, 4, {'lin.weight': R(3, 4), 'bias': R(3)}),
    'sage_mean': (sage('mean'), 4, {'lin_l.weight': R(3, 4), 'lin_l.bias': R(3), 'lin_r.weight': R(3, 4)}),
    'sage_max': (sage('max'), 4, {'lin_l.weight': R(3, 4), 'lin_l.bias': R(3), 'lin_r.weight': R(3, 4)}),
    'gat_concat': (gat(2, 3, True), 4, {'lin_src.weight': R(6, 4), 'att_src': R(1, 2, 3), 'att_dst': R(1, 2, 3), 'bias': R(6)}),
    'gat_mean': (gat(2, 3, False), 4, {'lin_src.weight': R(6, 4), 'att_src': R(1, 2, 3), 'att_dst': R(1, 2, 3), 'bias': R(3)}),
    'gin': (gin, 4, {'eps': torch.zeros(1, dtype=D), 'nn.0.weight': R(5, 4), 'nn.0.bias': R(5), 'nn.2.weight': R(3, 5), 'nn.2.bias': R(3)}),
    'gin_train_eps': (gin, 4, {'eps': torch.tensor([0.3], dtype=D), 'nn.0.weight': R(5, 4), 'nn.0.bias': R(5), 'nn.2.weight': R(3, 5), 'nn.2.bias': R(3)}),
}
for name, fn in pools.items():
    cases[name] = (fn, 4, {})

out = {'torch': torch.__version__, 'edge_index': enc(edge_index), 'batch': enc(batch), 'cases': {}}
for name, (fn, fin, params) in cases.items():
    x = R(N, fin).requires_grad_()
    ps = {k: v.clone().requires_grad_(name != 'gin' or k != 'eps') for k, v in params.items()}
    y = fn(ps, x)
    up = torch.randn_like(y)
    leaves = [x] + [v for v in ps.values() if v.requires_grad]
    grads = torch.autograd.grad(y, leaves, up)
    names = ['x'] + [k for k, v in ps.items() if v.requires_grad]
    out['cases'][name] = {'x': enc(x), 'params': {k: enc(v) for k, v in ps.items()}, 'out': enc(y), 'upstream': enc(up),
                          'grads': {k: enc(g) for k, g in zip(names, grads)}}

# Sparse node features (a binary bag of words, as DebianPackageGraph's): every product of x with dense weights is
# torch.sparse.mm itself on a sparse COO x, gradients for the weights and biases only (x is data).
torch.manual_seed(1)
XS = (torch.rand(N, 8) < 0.3).to(D)
XS[3] = 0                                                               # a node without any word
xs = XS.to_sparse()
spmm = torch.sparse.mm
adj_mean = lambda: torch.sparse_coo_tensor(torch.stack([edge_index[1], edge_index[0]]),
                                           1 / scatter_sum(torch.ones(edge_index.shape[1], dtype=D), edge_index[1], N)[edge_index[1]], (N, N))


def gcn_sparse(p):
    s, t = with_self_loops(edge_index, N)
    deg = scatter_sum(torch.ones(s.numel(), dtype=D), t, N)
    norm = deg.pow(-0.5)[s] * deg.pow(-0.5)[t]
    h = spmm(xs, p['lin.weight'].T)
    return scatter_sum(h[s] * norm.view(-1, 1), t, N) + p['bias']


def sage_sparse(p):
    return spmm(adj_mean(), spmm(xs, p['lin_l.weight'].T)) + p['lin_l.bias'] + spmm(xs, p['lin_r.weight'].T)


def gat_sparse(p):
    heads, c = 2, 3
    s, t = with_self_loops(edge_index, N)
    h = spmm(xs, p['lin_src.weight'].T).view(N, heads, c)
    a_src, a_dst = (h * p['att_src']).sum(-1), (h * p['att_dst']).sum(-1)
    alpha = segment_softmax(F.leaky_relu(a_src[s] + a_dst[t], 0.2), t, N)
    return scatter_sum(h[s] * alpha.unsqueeze(-1), t, N).reshape(N, heads * c) + p['bias']


sparse_cases = {
    'linear_sparse_x': (lambda p: spmm(xs, p['weight'].T) + p['bias'], {'weight': R(3, 8), 'bias': R(3)}),
    'gcn_sparse_x': (gcn_sparse, {'lin.weight': R(3, 8), 'bias': R(3)}),
    'sage_mean_sparse_x': (sage_sparse, {'lin_l.weight': R(3, 8), 'lin_l.bias': R(3), 'lin_r.weight': R(3, 8)}),
    'gat_sparse_x': (gat_sparse, {'lin_src.weight': R(6, 8), 'att_src': R(1, 2, 3), 'att_dst': R(1, 2, 3), 'bias': R(6)}),
}
for name, (fn, params) in sparse_cases.items():
    ps = {k: v.clone().requires_grad_() for k, v in params.items()}
    y = fn(ps)
    up = torch.randn_like(y)
    grads = torch.autograd.grad(y, list(ps.values()), up)
    out['cases'][name] = {'x': enc(XS), 'params': {k: enc(v) for k, v in ps.items()}, 'out': enc(y), 'upstream': enc(up),
                          'grads': {k: enc(g) for k, g in zip(ps.keys(), grads)}}

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print('wrote', OUT, len(out['cases']), 'cases')
