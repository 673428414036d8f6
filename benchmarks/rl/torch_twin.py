"""PyTorch twin of DeepSharp.Reinforcement's DQN and PPO, for timing side by side (docs/rl.md).

Same algorithms and hyperparameters as src/DeepSharp.Reinforcement (the RL Baselines3 Zoo's settings), on the same
environment equations (tools/golden/rl_envs.py, the plain-Python reference the C# environments are tested against),
reset uniformly in [-0.05, 0.05] (CartPole) / [-0.1, 0.1] (Acrobot) with a 500-step time limit. Random streams differ
from the C# ones, so the curves are alike, not identical. Prints training seconds and the mean return of the greedy
policy over 100 evaluation episodes.
Run: /usr/bin/python3 benchmarks/rl/torch_twin.py ppo cartpole [steps] [seed]
"""
import faulthandler, math, os, random, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools', 'golden'))
from rl_envs import cartpole_step, acrobot_step  # noqa: E402


class Env:
    def __init__(self, name, rng):
        self.name, self.rng = name, rng
        self.n_actions, self.obs_size = (2, 4) if name == 'cartpole' else (3, 6)

    def obs(self):
        s = self.s
        return s[:] if self.name == 'cartpole' else [math.cos(s[0]), math.sin(s[0]), math.cos(s[1]), math.sin(s[1]), s[2], s[3]]

    def reset(self):
        b = 0.05 if self.name == 'cartpole' else 0.1
        self.s, self.t = [self.rng.uniform(-b, b) for _ in range(4)], 0
        return self.obs()

    def step(self, a):
        self.s, _, r, term = (cartpole_step if self.name == 'cartpole' else acrobot_step)(self.s, a)
        self.t += 1
        return self.obs(), r, term, self.t >= 500


def mlp(i, hidden, o, act):
    layers, w = [], i
    for h in hidden:
        layers += [nn.Linear(w, h), act()]
        w = h
    return nn.Sequential(*layers, nn.Linear(w, o))


def evaluate(act, name, episodes=100, seed=1_000_000):
    envs = [Env(name, random.Random(seed + i)) for i in range(episodes)]
    obs = [e.reset() for e in envs]
    ret, live = [0.0] * episodes, list(range(episodes))
    while live:
        with torch.no_grad():
            acts = act(torch.tensor([obs[i] for i in live], dtype=torch.float32))
        still = []
        for k, i in enumerate(live):
            obs[i], r, term, trunc = envs[i].step(int(acts[k]))
            ret[i] += r
            if not (term or trunc):
                still.append(i)
        live = still
    return sum(ret) / episodes


DQN = {'cartpole': dict(lr=2.3e-3, batch=64, buffer=100_000, starts=1000, gamma=0.99, target=10, freq=256, grad=128, frac=0.16, final=0.04, hidden=[256, 256], steps=50_000),
       'acrobot': dict(lr=6.3e-4, batch=128, buffer=50_000, starts=0, gamma=0.99, target=250, freq=4, grad=-1, frac=0.12, final=0.1, hidden=[256, 256], steps=100_000)}


def dqn(name, steps, seed):
    c = DQN[name]
    steps = steps or c['steps']
    rng = random.Random(seed)
    env = Env(name, random.Random(seed + 1))
    q = mlp(env.obs_size, c['hidden'], env.n_actions, nn.ReLU)
    qt = mlp(env.obs_size, c['hidden'], env.n_actions, nn.ReLU)
    qt.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=c['lr'])
    buf, pos = [], 0
    obs, since = env.reset(), 0
    for t in range(1, steps + 1):
        eps = 1.0 + (c['final'] - 1.0) * min(1.0, (t - 1) / (c['frac'] * steps))
        if t - 1 < c['starts'] or rng.random() < eps:
            a = rng.randrange(env.n_actions)
        else:
            with torch.no_grad():
                a = int(q(torch.tensor([obs], dtype=torch.float32)).argmax(1))
        nobs, r, term, trunc = env.step(a)
        item = (obs, a, r, nobs, float(term))
        if len(buf) < c['buffer']:
            buf.append(item)
        else:
            buf[pos] = item
        pos = (pos + 1) % c['buffer']
        obs, since = (env.reset() if term or trunc else nobs), since + 1
        if t % c['target'] == 0:
            qt.load_state_dict(q.state_dict())
        if since >= c['freq']:
            if t > c['starts']:
                for _ in range(since if c['grad'] == -1 else c['grad']):
                    b = [buf[rng.randrange(len(buf))] for _ in range(c['batch'])]
                    o, a_, r_, n_, d_ = (torch.tensor(x, dtype=torch.float32) for x in zip(*b))
                    with torch.no_grad():
                        target = r_ + (1 - d_) * c['gamma'] * qt(n_).max(1).values
                    cur = q(o).gather(1, a_.long().unsqueeze(1)).squeeze(1)
                    loss = F.smooth_l1_loss(cur, target)
                    opt.zero_grad(); loss.backward()
                    nn.utils.clip_grad_norm_(q.parameters(), 10)
                    opt.step()
            since = 0
    return lambda x: q(x).argmax(1)


PPO = {'cartpole': dict(n_envs=8, n_steps=32, batch=256, lam=0.8, gamma=0.98, epochs=20, lr=1e-3, lr_lin=True, clip=0.2, clip_lin=True, steps=100_000),
       'acrobot': dict(n_envs=16, n_steps=256, batch=64, lam=0.94, gamma=0.99, epochs=4, lr=3e-4, lr_lin=False, clip=0.2, clip_lin=False, steps=200_000)}


def ortho(seq, gain_out):
    lins = [m for m in seq if isinstance(m, nn.Linear)]
    for i, l in enumerate(lins):
        nn.init.orthogonal_(l.weight, gain_out if i == len(lins) - 1 else math.sqrt(2))
        nn.init.zeros_(l.bias)


def ppo(name, steps, seed):
    c = PPO[name]
    steps = steps or c['steps']
    envs = [Env(name, random.Random(seed + i)) for i in range(c['n_envs'])]
    pi = mlp(envs[0].obs_size, [64, 64], envs[0].n_actions, nn.Tanh); ortho(pi, 0.01)
    vf = mlp(envs[0].obs_size, [64, 64], 1, nn.Tanh); ortho(vf, 1.0)
    params = list(pi.parameters()) + list(vf.parameters())
    opt = torch.optim.Adam(params, lr=c['lr'], eps=1e-5)
    obs, done_steps, n, T = [e.reset() for e in envs], 0, c['n_envs'], c['n_steps']
    while done_steps < steps:
        frac = done_steps / steps
        for g in opt.param_groups:
            g['lr'] = c['lr'] * (1 - frac) if c['lr_lin'] else c['lr']
        clip = c['clip'] * (1 - frac) if c['clip_lin'] else c['clip']
        O, A, LP, V, R, D = [], [], [], [], [], []
        with torch.no_grad():
            for _ in range(T):
                o = torch.tensor(obs, dtype=torch.float32)
                logp = pi(o).log_softmax(-1); v = vf(o).squeeze(-1)
                a = torch.distributions.Categorical(logits=logp).sample()
                O.append(o); A.append(a); LP.append(logp.gather(1, a.unsqueeze(1)).squeeze(1)); V.append(v)
                rs, ds = [], []
                for i, e in enumerate(envs):
                    nobs, r, term, trunc = e.step(int(a[i]))
                    if trunc and not term:
                        r += c['gamma'] * float(vf(torch.tensor([nobs], dtype=torch.float32)))
                    rs.append(r); ds.append(float(term or trunc))
                    obs[i] = e.reset() if term or trunc else nobs
                R.append(torch.tensor(rs)); D.append(torch.tensor(ds))
                done_steps += n
            last = vf(torch.tensor(obs, dtype=torch.float32)).squeeze(-1)
        adv, gae = torch.zeros(T, n), torch.zeros(n)
        for t in reversed(range(T)):
            nv = last if t == T - 1 else V[t + 1]
            delta = R[t] + c['gamma'] * nv * (1 - D[t]) - V[t]
            gae = delta + c['gamma'] * c['lam'] * (1 - D[t]) * gae
            adv[t] = gae
        Vs = torch.stack(V); ret = adv + Vs
        O, A, LP, adv, ret = torch.cat(O), torch.cat(A), torch.cat(LP), adv.reshape(-1), ret.reshape(-1)
        for _ in range(c['epochs']):
            perm = torch.randperm(T * n)
            for s in range(0, T * n, c['batch']):
                idx = perm[s:s + c['batch']]
                logp_all = pi(O[idx]).log_softmax(-1)
                logp = logp_all.gather(1, A[idx].unsqueeze(1)).squeeze(1)
                ad = adv[idx]; ad = (ad - ad.mean()) / (ad.std() + 1e-8)
                ratio = (logp - LP[idx]).exp()
                pl = -torch.min(ratio * ad, ratio.clamp(1 - clip, 1 + clip) * ad).mean()
                loss = pl + 0.5 * F.mse_loss(vf(O[idx]).squeeze(-1), ret[idx])
                opt.zero_grad(); loss.backward()
                nn.utils.clip_grad_norm_(params, 0.5)
                opt.step()
    return lambda x: pi(x).argmax(1)


if __name__ == '__main__':
    if os.environ.get('TRACE'):
        faulthandler.dump_traceback_later(int(os.environ['TRACE']))
    algo, name = sys.argv[1], sys.argv[2]
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else None
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    torch.manual_seed(seed)
    torch.set_num_threads(int(os.environ.get('THREADS', '2')))
    start = time.time()
    act = (dqn if algo == 'dqn' else ppo)(name, steps, seed)
    seconds = time.time() - start
    print(f'pytorch {torch.__version__} {algo} on {name}, seed {seed}: trained in {seconds:.1f} s; mean return over 100 episodes: {evaluate(act, name):.1f}')
