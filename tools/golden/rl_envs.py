"""Golden trajectories for DeepSharp.Reinforcement's CartPole-v1 and Acrobot-v1.

Gymnasium is not installed here, so this is a plain-Python reference written from the same published equations
and constants (Gymnasium's classic_control cartpole.py / acrobot.py: Barto, Sutton & Anderson 1983; Sutton & Barto's
book dynamics for the acrobot, one RK4 step of dt = 0.2). Each case is an initial state, an action sequence drawn
from Python's `random` with a fixed seed, and the states, observations, rewards and terminated flags after each step.
Writes tests/DeepSharp.Reinforcement.Tests/Golden/rl_envs.json. Run: python3 tools/golden/rl_envs.py
"""
import json, math, os, random

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Reinforcement.Tests', 'Golden', 'rl_envs.json')

# ---- CartPole-v1 --------------------------------------------------------------------------------------------
G, M_CART, M_POLE, LENGTH, FORCE, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
TOTAL = M_POLE + M_CART
PML = M_POLE * LENGTH
THETA_LIM = 12 * 2 * math.pi / 360
X_LIM = 2.4


def cartpole_step(s, a):
    x, x_dot, th, th_dot = s
    force = FORCE if a == 1 else -FORCE
    c, si = math.cos(th), math.sin(th)
    temp = (force + PML * th_dot ** 2 * si) / TOTAL
    th_acc = (G * si - c * temp) / (LENGTH * (4.0 / 3.0 - M_POLE * c ** 2 / TOTAL))
    x_acc = temp - PML * th_acc * c / TOTAL
    x = x + TAU * x_dot
    x_dot = x_dot + TAU * x_acc
    th = th + TAU * th_dot
    th_dot = th_dot + TAU * th_acc
    s = [x, x_dot, th, th_dot]
    term = x < -X_LIM or x > X_LIM or th < -THETA_LIM or th > THETA_LIM
    return s, list(s), 1.0, term


# ---- Acrobot-v1 ---------------------------------------------------------------------------------------------
DT = 0.2
L1, M1, M2, LC1, LC2, MOI = 1.0, 1.0, 1.0, 0.5, 0.5, 1.0
MAX_V1, MAX_V2 = 4 * math.pi, 9 * math.pi
TORQUES = [-1.0, 0.0, 1.0]


def dsdt(s, a):
    t1, t2, dt1, dt2 = s
    g = 9.8
    d1 = M1 * LC1 ** 2 + M2 * (L1 ** 2 + LC2 ** 2 + 2 * L1 * LC2 * math.cos(t2)) + MOI + MOI
    d2 = M2 * (LC2 ** 2 + L1 * LC2 * math.cos(t2)) + MOI
    phi2 = M2 * LC2 * g * math.cos(t1 + t2 - math.pi / 2.0)
    phi1 = (-M2 * L1 * LC2 * dt2 ** 2 * math.sin(t2) - 2 * M2 * L1 * LC2 * dt2 * dt1 * math.sin(t2)
            + (M1 * LC1 + M2 * L1) * g * math.cos(t1 - math.pi / 2) + phi2)
    ddt2 = (a + d2 / d1 * phi1 - M2 * L1 * LC2 * dt1 ** 2 * math.sin(t2) - phi2) / (M2 * LC2 ** 2 + MOI - d2 ** 2 / d1)
    ddt1 = -(d2 * ddt2 + phi1) / d1
    return [dt1, dt2, ddt1, ddt2]


def rk4(y0, a, dt):
    h = dt / 2
    k1 = dsdt(y0, a)
    k2 = dsdt([y + h * k for y, k in zip(y0, k1)], a)
    k3 = dsdt([y + h * k for y, k in zip(y0, k2)], a)
    k4 = dsdt([y + dt * k for y, k in zip(y0, k3)], a)
    return [y + dt / 6.0 * (p + 2 * q + 2 * r + w) for y, p, q, r, w in zip(y0, k1, k2, k3, k4)]


def wrap(x, m, M):
    diff = M - m
    while x > M:
        x = x - diff
    while x < m:
        x = x + diff
    return x


def acrobot_step(s, a):
    ns = rk4(s, TORQUES[a], DT)
    ns[0] = wrap(ns[0], -math.pi, math.pi)
    ns[1] = wrap(ns[1], -math.pi, math.pi)
    ns[2] = min(max(ns[2], -MAX_V1), MAX_V1)
    ns[3] = min(max(ns[3], -MAX_V2), MAX_V2)
    term = -math.cos(ns[0]) - math.cos(ns[1] + ns[0]) > 1.0
    obs = [math.cos(ns[0]), math.sin(ns[0]), math.cos(ns[1]), math.sin(ns[1]), ns[2], ns[3]]
    return ns, obs, (0.0 if term else -1.0), term


def trajectory(step, s0, actions):
    s, rows = list(s0), []
    for a in actions:
        s, obs, r, term = step(s, a)
        rows.append({'state': s, 'obs': obs, 'reward': r, 'terminated': term})
        if term:
            break
    return {'initial': list(s0), 'actions': actions[:len(rows)], 'steps': rows}


def cartpole_controller(s):
    """A linear state-feedback rule that balances the pole, for a long trajectory without termination."""
    x, x_dot, th, th_dot = s
    return 1 if th + 0.5 * th_dot + 0.05 * x + 0.1 * x_dot > 0 else 0


def main():
    rng = random.Random(15)
    cases = {'cartpole': [], 'acrobot': []}
    for _ in range(4):
        s0 = [rng.uniform(-0.05, 0.05) for _ in range(4)]
        cases['cartpole'].append(trajectory(cartpole_step, s0, [rng.randrange(2) for _ in range(200)]))
    s, actions = [0.01, -0.02, 0.03, 0.02], []
    for _ in range(500):
        a = cartpole_controller(s)
        actions.append(a)
        s = cartpole_step(s, a)[0]
    cases['cartpole'].append(trajectory(cartpole_step, [0.01, -0.02, 0.03, 0.02], actions))
    for _ in range(3):
        s0 = [rng.uniform(-0.1, 0.1) for _ in range(4)]
        cases['acrobot'].append(trajectory(acrobot_step, s0, [rng.randrange(3) for _ in range(120)]))
    # a bang-bang energy pump (torque along the second link's velocity) that swings the tip above the bar
    s, actions = [0.05, -0.03, 0.0, 0.01], []
    for _ in range(400):
        a = 2 if s[3] > 0 else 0
        actions.append(a)
        s, _, _, term = acrobot_step(s, a)
        if term:
            break
    cases['acrobot'].append(trajectory(acrobot_step, [0.05, -0.03, 0.0, 0.01], actions))
    with open(OUT, 'w') as f:
        json.dump(cases, f, separators=(',', ':'))
    for k, v in cases.items():
        print(k, [(len(c['steps']), c['steps'][-1]['terminated']) for c in v])


if __name__ == '__main__':
    main()
