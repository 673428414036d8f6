"""Reference values for DeepSharp.NN: Linear/Bilinear with fixed weights, batch/layer/group norm in training and
evaluation (running statistics after a step), and the state-dict keys and print() output of small models."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from golden import Fixture

f = Fixture('nn_layers')
r = lambda *s: torch.randn(*s, dtype=torch.float64)
r32 = lambda *s: torch.randn(*s, dtype=torch.float32)

# ---- Linear / Bilinear with fixed weights -------------------------------------------------------------
f.case('linear', lambda x, w, b: F.linear(x, w, b), [r(4, 5), r(3, 5), r(3)])
f.case('linear_3d_nobias', lambda x, w: F.linear(x, w), [r(2, 3, 5), r(4, 5)])
f.case('linear_f32', lambda x, w, b: F.linear(x, w, b), [r32(4, 5), r32(3, 5), r32(3)])
f.case('bilinear', lambda x1, x2, w, b: F.bilinear(x1, x2, w, b), [r(4, 3), r(4, 2), r(5, 3, 2), r(5)])


# ---- BatchNorm: training (batch statistics, running update) and evaluation ----------------------------
def bn_train(x, w, b):
    c = x.shape[1]
    rm = torch.zeros(c, dtype=x.dtype) + 0.5
    rv = torch.ones(c, dtype=x.dtype) * 2
    y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5)
    return y, rm, rv


f.case('batchnorm1d_train', bn_train, [r(6, 4) * 2 + 1, r(4), r(4)])
f.case('batchnorm1d_train_3d', bn_train, [r(3, 4, 5), r(4), r(4)])
f.case('batchnorm2d_train', bn_train, [r(2, 3, 4, 5) * 3 - 1, r(3), r(3)])
f.case('batchnorm2d_train_f32', bn_train, [r32(2, 3, 4, 5), r32(3), r32(3)])
f.case('batchnorm2d_train_noaffine', lambda x: bn_train(x, None, None), [r(2, 3, 4, 5)])

rm_eval = r(3)
rv_eval = r(3).abs() + 0.5
f.case('batchnorm2d_eval', lambda x, w, b: (F.batch_norm(x, rm_eval, rv_eval, w, b, training=False, eps=1e-5), rm_eval, rv_eval),
       [r(2, 3, 4, 5), r(3), r(3)])

# momentum=None: cumulative average over two training steps, then evaluation
torch.manual_seed(7)
bn = nn.BatchNorm1d(4, momentum=None).double()
x1, x2, x3 = r(5, 4), r(5, 4) * 2, r(3, 4)
bn(x1); bn(x2); bn.eval()
f.case('batchnorm1d_cumulative', lambda a, b, c: (bn(c), bn.running_mean.clone(), bn.running_var.clone(),
                                                  bn.num_batches_tracked.clone()), [x1, x2, x3], grad=False)

# ---- LayerNorm / GroupNorm ---------------------------------------------------------------------------
f.case('layernorm', lambda x, w, b: F.layer_norm(x, (4, 5), w, b, 1e-5), [r(3, 4, 5), r(4, 5), r(4, 5)])
f.case('layernorm_1d_noaffine', lambda x: F.layer_norm(x, (6,), None, None, 1e-5), [r(5, 6) * 4 + 2])
f.case('layernorm_f32', lambda x, w, b: F.layer_norm(x, (8,), w, b, 1e-5), [r32(2, 3, 8), r32(8), r32(8)])
f.case('groupnorm', lambda x, w, b: F.group_norm(x, 3, w, b, 1e-5), [r(2, 6, 3, 4), r(6), r(6)])
f.case('groupnorm_3d_noaffine', lambda x: F.group_norm(x, 2, None, None, 1e-5), [r(3, 4, 5)])
f.case('groupnorm_f32', lambda x, w, b: F.group_norm(x, 2, w, b, 1e-5), [r32(2, 4, 3, 3), r32(4), r32(4)])


# ---- module structure: state-dict keys and print(model) ----------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.features = nn.Sequential(nn.Conv2d(8, 16, 3), nn.ReLU(), nn.BatchNorm2d(16))
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.LayerNorm(4)])
        self.heads = nn.ModuleDict({'cls': nn.Linear(16, 10), 'aux': nn.Linear(16, 2, bias=False)})
        self.norm = nn.GroupNorm(2, 16)
        self.fc = nn.Linear(64, 10)


net = Net()
mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.BatchNorm1d(128), nn.Identity(),
                    nn.Sequential(nn.Linear(128, 64, bias=False), nn.LayerNorm(64, eps=1e-06)),
                    nn.GroupNorm(4, 64, affine=False), nn.Unflatten(1, (8, 8)), nn.BatchNorm1d(8, momentum=None))
f.case('structure', lambda x: x, [r(1)], grad=False, extra={
    'cnn_state_dict_keys': list(net.state_dict().keys()),
    'cnn_parameter_names': [n for n, _ in net.named_parameters()],
    'cnn_buffer_names': [n for n, _ in net.named_buffers()],
    'mlp_repr': repr(mlp),
    'mlp_parameter_count': sum(p.numel() for p in mlp.parameters()),
})
f.save()
