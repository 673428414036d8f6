"""Summarises the lines of benchmarks/generative_rounds.sh (read from the files given, or standard input) as the
markdown table of docs/generative.md "Two hundred steps": per model the ranges of DeepSharp's and PyTorch's steady and
whole-run means at 1 / 2 threads, and per round the ratio of DeepSharp's best to PyTorch's best of their thread counts.
Usage: /usr/bin/python3 benchmarks/generative_rounds_table.py rounds.log"""
import collections, fileinput, re

runs = collections.defaultdict(dict)
order = []
for line in fileinput.input():
    m = re.match(r'(\S+) r(\d+) (ds|pt) t(\d) steps: \d+, step_ms: ([\d.]+), steady_ms: ([\d.]+|nan)', line)
    if not m:
        continue
    model, r, side, t, whole, steady = m.groups()
    if model not in order:
        order.append(model)
    runs[(model, int(r))][(side, int(t))] = (float(whole), float(steady))


def span(values):
    return '%.1f–%.1f' % (min(values), max(values))


print('| model | DeepSharp steady, 1 / 2 threads | PyTorch steady, 1 / 2 threads | steady ratio per round '
      '| DeepSharp whole run | PyTorch whole run | whole-run ratio per round |')
print('|---|---|---|---|---|---|---|')
for model in order:
    rounds = [runs[(model, r)] for r in sorted(r for (m, r) in runs if m == model) if len(runs[(model, r)]) == 4]
    if not rounds:
        continue
    cells = []
    for i in (1, 0):   # steady, then whole run
        sides = [' / '.join(span([d[(side, t)][i] for d in rounds]) for t in (1, 2)) for side in ('ds', 'pt')]
        ratios = ', '.join('%.2f' % (min(d[('ds', 1)][i], d[('ds', 2)][i]) / min(d[('pt', 1)][i], d[('pt', 2)][i])) for d in rounds)
        cells += sides + [ratios]
    print('| %s | %s |' % (model, ' | '.join(cells)))
