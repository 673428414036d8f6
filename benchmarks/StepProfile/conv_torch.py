import torch, time, statistics, sys
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
shapes = [("lenet c1 1->6 5x5 p2", 64, 1, 28, 6, 5, 2, False), ("lenet c2 6->16 5x5", 64, 6, 14, 16, 5, 0, True),
          ("cnn c1 1->32 3x3", 128, 1, 28, 32, 3, 1, False), ("cnn c2 32->32 3x3", 128, 32, 28, 32, 3, 1, True),
          ("cnn c3 32->64 3x3", 128, 32, 14, 64, 3, 1, True), ("cnn c4 64->64 3x3", 128, 64, 14, 64, 3, 1, True)]
for name, n, c, h, o, k, p, gx in shapes:
    conv = torch.nn.Conv2d(c, o, k, padding=p)
    x = torch.randn(n, c, h, h, requires_grad=gx)
    def fwd():
        with torch.no_grad(): conv(x)
    y = conv(x); g = torch.randn_like(y)
    def fb():
        conv.zero_grad(); conv(x).backward(g)
    def t(f):
        s = time.perf_counter()
        while time.perf_counter() - s < 1: f()
        ts = []
        for _ in range(15):
            a = time.perf_counter(); f(); ts.append(time.perf_counter() - a)
        return statistics.median(ts) * 1e3
    tf = t(fwd); tfb = t(fb)
    print(f"{name:24} fwd {tf:7.3f} ms  fwd+bwd {tfb:7.3f} ms")
