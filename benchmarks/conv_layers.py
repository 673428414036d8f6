"""The PyTorch (oneDNN) side of the per-layer conv table of `deepsharp bench --compare-pytorch --convs` (issue #12), which
passes the layers so both sides time the same list.
Usage: /usr/bin/python3 benchmarks/conv_layers.py --shapes JSON [--threads 1,2] [--reps 9] [--json]
JSON: [{"name": .., "n": N, "c": C, "h": H, "o": O, "k": K, "stride": S, "pad": P, "groups": G, "input_grad": bool}, ...]
Each layer is timed as torch.nn.Conv2d: forward under no_grad, and forward + backward with a given output gradient (the
weight and bias gradients, and the input gradient where input_grad), median of --reps after 1 s of warm-up, at each
thread count, the faster kept. Prints a line per layer; with --json the last line is
{name: {"fwd_ms", "fwd_threads", "fwdbwd_ms", "fwdbwd_threads"}}."""
import json, statistics, sys, time
import torch

opts = dict(zip(sys.argv[1:], sys.argv[2:]))
shapes = json.loads(opts['--shapes'])
threads = [int(t) for t in opts.get('--threads', '1,2').split(',')]
reps = int(opts.get('--reps', '9'))
as_json = '--json' in sys.argv
torch.manual_seed(0)


def median_ms(f):
    s = time.perf_counter()
    while time.perf_counter() - s < 1:
        f()
    ts = []
    for _ in range(reps):
        a = time.perf_counter(); f(); ts.append(time.perf_counter() - a)
    return statistics.median(ts) * 1e3


results = {}
for s in shapes:
    conv = torch.nn.Conv2d(s['c'], s['o'], s['k'], stride=s['stride'], padding=s['pad'], groups=s['groups'])
    x = torch.randn(s['n'], s['c'], s['h'], s['h'], requires_grad=s['input_grad'])
    with torch.no_grad():
        g = torch.randn_like(conv(x))

    def fwd():
        with torch.no_grad():
            conv(x)

    def fb():
        conv.zero_grad(); x.grad = None
        conv(x).backward(g)
    r = {}
    for t in threads:
        torch.set_num_threads(t)
        for key, f in (('fwd', fwd), ('fwdbwd', fb)):
            ms = median_ms(f)
            if key + '_ms' not in r or ms < r[key + '_ms']:
                r[key + '_ms'] = round(ms, 4); r[key + '_threads'] = t
    results[s['name']] = r
    if not as_json:
        print(f"{s['name']:28} fwd {r['fwd_ms']:8.3f} ms  fwd+bwd {r['fwdbwd_ms']:8.3f} ms", flush=True)
if as_json:
    print(json.dumps(results))
