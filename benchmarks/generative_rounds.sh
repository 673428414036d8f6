#!/usr/bin/env bash
# Step time of DeepSharp's generative models against their PyTorch twins (issue #14, docs/generative.md "Two hundred
# steps"): ROUNDS rounds, each model on both sides at 1 and 2 threads, the side that goes first alternating per round and
# model, one line per run. Build first: dotnet build benchmarks/GenerativeTwin -c Release. Summarise the lines with
# benchmarks/generative_rounds_table.py.
# Usage: benchmarks/generative_rounds.sh [ROUNDS=3] [TRAIN=12800] [WARMUP=100] [MODEL...=vae ae dae dcgan wgan-gp ddpm]
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; train=${2:-12800}; warm=${3:-100}; shift $(( $# < 3 ? $# : 3 ))
models=("$@"); [ ${#models[@]} -eq 0 ] && models=(vae ae dae dcgan wgan-gp ddpm)
bin=benchmarks/GenerativeTwin/bin/Release/net10.0/GenerativeTwin
[ -x "$bin" ] || { echo "build it first: dotnet build benchmarks/GenerativeTwin -c Release" >&2; exit 2; }
twin_out=$(mktemp -d)
trap 'rm -rf "$twin_out"' EXIT
for r in $(seq 1 "$rounds"); do
  for m in "${models[@]}"; do
    order="ds pt"; [ $(( (r + ${#m}) % 2 )) -eq 1 ] && order="pt ds"
    for side in $order; do
      for t in 1 2; do
        if [ "$side" = ds ]; then
          out=$("$bin" --model "$m" --train "$train" --test 500 --epochs 1 --samples 10 --threads "$t" --warmup "$warm" 2>&1 | tail -1 \
            | grep -o 'steps: [0-9]*, step_ms: [0-9.]*, steady_ms: [0-9.]*')
        else
          out=$(/usr/bin/python3 benchmarks/pytorch_generative_twin.py --model "$m" --train "$train" --test 500 --epochs 1 --samples 10 \
            --threads "$t" --warmup "$warm" --out "$twin_out/$m.safetensors" 2>&1 | tail -1 \
            | /usr/bin/python3 -c 'import json, sys; d = json.loads(sys.stdin.read()); print("steps: %d, step_ms: %.1f, steady_ms: %.1f" % (d["steps"], d["step_ms"], d.get("steady_ms", float("nan"))))')
        fi
        echo "$m r$r $side t$t $out load $(cut -d' ' -f1 /proc/loadavg) $(date +%H:%M:%S)"
      done
    done
  done
done
