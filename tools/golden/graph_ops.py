"""Reference values for the graph ops: torch.maximum/minimum, torch.scatter_reduce (every reduction, include_self
both ways, ties), segment sum/mean/max/min/softmax written as torch_scatter / PyG compute them with plain torch
scatter ops, and the CSR sparse x dense product written densely (index_put with accumulate, then mm)."""
import torch
from golden import Fixture

f = Fixture('graph_ops')
r = lambda *s: torch.randn(*s, dtype=torch.float64)
ties = lambda *s: torch.randint(0, 3, s).double()
L = lambda *v: torch.tensor(v, dtype=torch.int64)

# maximum / minimum (broadcasting, ties split the gradient)
f.case('maximum_broadcast', torch.maximum, [r(3, 4), r(4)])
f.case('minimum_broadcast', torch.minimum, [r(3, 1), r(1, 5)])
f.case('maximum_ties', torch.maximum, [ties(3, 4), ties(3, 4)])
f.case('minimum_ties', torch.minimum, [ties(2, 5), ties(5)])

# scatter_reduce: every reduction, include_self true and false
idx = torch.tensor([[0, 2, 0, 1, 2, 0], [1, 1, 3, 3, 0, 1]])
for red in ['sum', 'prod', 'mean', 'amax', 'amin']:
    for inc in [True, False]:
        f.case(f'scatter_reduce_{red}_{"self" if inc else "noself"}',
               lambda a, i, s, red=red, inc=inc: a.scatter_reduce(1, i, s, red, include_self=inc), [r(2, 4), idx, r(2, 6)])
f.case('scatter_reduce_amax_ties', lambda a, i, s: a.scatter_reduce(1, i, s, 'amax'), [ties(2, 4), idx, ties(2, 6)])
f.case('scatter_reduce_amin_ties_noself', lambda a, i, s: a.scatter_reduce(1, i, s, 'amin', include_self=False), [ties(2, 4), idx, ties(2, 6)])
f.case('scatter_reduce_prod_zero', lambda a, i, s: a.scatter_reduce(0, i, s, 'prod'),
       [r(3), L(0, 0, 1, 1, 1, 2), torch.tensor([0.5, 0.0, 0.0, 2.0, 1.5, -1.0], dtype=torch.float64)])
f.case('scatter_reduce_src_larger', lambda a, i, s: a.scatter_reduce(0, i, s, 'mean'), [r(3, 2), L(2, 0, 2).reshape(3, 1).repeat(1, 2)[:2], r(4, 3)], grad=False)

# segment reductions over dim 0 with a 1-D index (torch_scatter semantics, empty segments 0)
seg = L(0, 2, 0, 4, 2, 2, 0)
expand = lambda src: seg.view(-1, 1).expand_as(src)
def seg_sum(src): return torch.zeros(5, src.shape[1], dtype=src.dtype).index_add(0, seg, src)
def seg_mean(src): return seg_sum(src) / torch.bincount(seg, minlength=5).clamp(min=1).view(-1, 1)
def seg_red(src, red): return torch.zeros(5, src.shape[1], dtype=src.dtype).scatter_reduce(0, expand(src), src, red, include_self=False)
def seg_softmax(src):
    m = seg_red(src.detach(), 'amax').index_select(0, seg)
    e = (src - m).exp()
    return e / (seg_sum(e) + 1e-16).index_select(0, seg)
f.case('segment_sum', seg_sum, [r(7, 3)])
f.case('segment_mean', seg_mean, [r(7, 3)])
f.case('segment_max', lambda s: seg_red(s, 'amax'), [r(7, 3)])
f.case('segment_min', lambda s: seg_red(s, 'amin'), [r(7, 3)])
f.case('segment_max_ties', lambda s: seg_red(s, 'amax'), [ties(7, 3)])
f.case('segment_softmax', seg_softmax, [r(7, 2)])

# CSR sparse x dense: A[row[k], col[k]] += values[k], out = A @ X
row, col = L(0, 0, 1, 3, 3, 3, 1, 0), L(1, 4, 0, 2, 4, 1, 0, 3)
def spmm(v, x): return torch.zeros(4, 5, dtype=v.dtype).index_put((row, col), v, accumulate=True) @ x
f.case('csr_matmul', spmm, [r(8), r(5, 3)], extra={'row': row.tolist(), 'col': col.tolist(), 'rows': 4, 'cols': 5})
f.save()
