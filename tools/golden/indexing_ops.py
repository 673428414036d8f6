"""Reference values for DeepSharp's indexing area: joining/splitting, gather/scatter, where/masks, the subscript,
comparisons, and min/max/var/std/norm/cumsum/sort/topk reductions."""
import torch
from golden import Fixture

f = Fixture('indexing_ops')
r = lambda *s: torch.randn(*s, dtype=torch.float64)
ties = lambda *s: torch.randint(0, 3, s).double()          # small integers: many ties
L = lambda *v: torch.tensor(v, dtype=torch.int64)

# joining / splitting
f.case('cat_dim1', lambda a, b, c: torch.cat([a, b, c], 1), [r(2, 3), r(2, 1), r(2, 2)])
f.case('cat_dim0_3d', lambda a, b: torch.cat([a, b], 0), [r(1, 2, 3), r(2, 2, 3)])
f.case('stack_dim1', lambda a, b: torch.stack([a, b], 1), [r(3, 4), r(3, 4)])
f.case('split_sizes', lambda a: torch.cat([p * (i + 1) for i, p in enumerate(a.split([1, 3, 2], 1))], 1), [r(2, 6)])
f.case('chunk', lambda a: torch.cat([p * (i + 1) for i, p in enumerate(a.chunk(3, 0))], 0), [r(7, 2)])
f.case('unbind', lambda a: torch.stack([p * (i + 1) for i, p in enumerate(a.unbind(1))], 0), [r(2, 3)])
f.case('repeat', lambda a: a.repeat(2, 1, 2), [r(2, 3)])

# index-driven ops
f.case('index_select_dim0', lambda a, i: a.index_select(0, i), [r(4, 5), L(3, 0, 3)])
f.case('index_select_dim1', lambda a, i: a.index_select(1, i), [r(2, 4, 3), L(2, 2, 1, 0)])
f.case('gather_dim1', lambda a, i: a.gather(1, i), [r(3, 4), torch.randint(0, 4, (3, 2))])
f.case('gather_dim0', lambda a, i: a.gather(0, i), [r(3, 4), torch.randint(0, 3, (2, 4))])
cols = torch.stack([torch.randperm(3)[:2] for _ in range(5)], 1)   # (2, 5), distinct per column
f.case('scatter_dim0', lambda a, i, s: a.scatter(0, i, s), [r(3, 5), cols, r(2, 5)])
f.case('scatter_value', lambda a, i: a.scatter(0, i, 2.5), [r(3, 5), cols])
f.case('scatter_add_dim1', lambda a, i, s: a.scatter_add(1, i, s), [r(3, 5), torch.randint(0, 5, (3, 4)), r(3, 4)])
f.case('index_add', lambda a, i, s: a.index_add(0, i, s, alpha=2.0), [r(5, 3), L(0, 2, 0, 4), r(4, 3)])

# masks
f.case('masked_fill', lambda a, m: a.masked_fill(m, -1.5), [r(3, 4), torch.rand(4) > 0.5])
f.case('where_broadcast', lambda c, x, y: torch.where(c, x, y), [torch.rand(3, 1) > 0.5, r(3, 4), r(4)])
f.case('masked_select', lambda a, m: a.masked_select(m), [r(3, 4), torch.rand(3, 4) > 0.5])

# subscript
f.case('sub_slices', lambda a: a[1:3, ::2] * 2, [r(4, 5)])
f.case('sub_ellipsis_select', lambda a: a[..., 0] * 2, [r(2, 3, 4)])
f.case('sub_last', lambda a: a[-1] * 2, [r(3, 4)])
f.case('sub_newaxis', lambda a: a[:, None, 1] * 2, [r(3, 4)])
f.case('sub_tensor', lambda a, i: a[i] * 2, [r(4, 3), L(2, 0, -1, 2)])
f.case('sub_tensor_middle', lambda a, i: a[:, i, 1:] * 2, [r(2, 4, 3), L(1, 3)])
f.case('sub_mask', lambda a, m: a[m] * 2, [r(3, 4), torch.rand(3, 4) > 0.5])
f.case('sub_mask_rows', lambda a, m: a[m] * 2, [r(4, 3), torch.tensor([True, False, True, True])])

# comparisons (forward only)
a, b = ties(3, 4), ties(4)
f.case('eq', lambda a, b: a == b, [a, b], grad=False)
f.case('lt', lambda a, b: a < b, [a, b], grad=False)
f.case('ge_scalar', lambda a: a >= 1, [a], grad=False)
f.case('isclose', lambda a, b: torch.isclose(a, b, rtol=1e-3, atol=1e-2), [torch.tensor([1.0, 1.001, 2.0, 100.0]), torch.tensor([1.0, 1.0, 2.1, 100.05])], grad=False)

# reductions
f.case('max_dim_ties', lambda a: a.max(1), [ties(4, 5)])
f.case('min_dim0_keep', lambda a: a.min(0, keepdim=True), [ties(3, 4, 2)])
f.case('max_dim_inner', lambda a: a.max(1), [r(2, 5, 3)])
f.case('max_all_ties', lambda a: a.max(), [ties(3, 4)])
f.case('amax_ties', lambda a: a.amax(dim=(0, 2)), [ties(3, 2, 4)])
f.case('amin_keep', lambda a: a.amin(dim=1, keepdim=True), [ties(3, 4)])
f.case('argmax_dim', lambda a: a.argmax(1), [r(3, 5)], grad=False)
f.case('argmin_all', lambda a: a.argmin(), [r(3, 5)], grad=False)
f.case('var_dims', lambda a: a.var(dim=(0, 2)), [r(3, 2, 4)])
f.case('var_all_biased', lambda a: a.var(unbiased=False), [r(3, 4)])
f.case('std_dim_keep', lambda a: a.std(dim=1, keepdim=True), [r(3, 5)])
f.case('std_all', lambda a: a.std(), [r(4, 3)])
f.case('norm2_dim', lambda a: torch.linalg.vector_norm(a, 2, dim=1), [r(3, 4)])
f.case('norm2_zero_row', lambda a: torch.linalg.vector_norm(a, 2, dim=1), [torch.cat([r(1, 3), torch.zeros(1, 3, dtype=torch.float64)])])
f.case('norm1_all', lambda a: torch.linalg.vector_norm(a, 1), [r(3, 4)])
f.case('norm_inf_ties', lambda a: torch.linalg.vector_norm(a, float('inf'), dim=1),
       [torch.tensor([[3.0, -3.0, 1.0], [0.5, -2.0, 1.0]], dtype=torch.float64)])
f.case('norm3_keep', lambda a: torch.linalg.vector_norm(a, 3, dim=0, keepdim=True), [r(3, 4)])
f.case('norm_half', lambda a: torch.linalg.vector_norm(a, 0.5, dim=1), [r(2, 4)])
f.case('cumsum', lambda a: a.cumsum(1), [r(3, 4, 2)])
f.case('sort_desc', lambda a: a.sort(1, descending=True), [r(3, 5)])
f.case('sort_dim0_ties', lambda a: a.sort(stable=True, dim=0), [ties(5, 3)])
f.case('topk', lambda a: a.topk(2, dim=1), [r(3, 5)])
f.case('topk_smallest_dim0', lambda a: a.topk(3, dim=0, largest=False), [r(5, 2)])
f.save()
