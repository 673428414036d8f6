#!/usr/bin/env bash
# MelSpectrogram of 1 s at 16 kHz, DeepSharp vs torchaudio 0.13 (Debian's python3-torchaudio), one thread each, float32,
# for n_fft/hop/n_mels 400/160/80 (the speech features), 400/200/128 (torchaudio's defaults) and 512/160/80.
# Three runs alternating sides; each side prints the median of 200 calls after a warm-up; the last lines give, per
# configuration, the range of each side and of the ratio DeepSharp / torchaudio over the runs. One command:
#   benchmarks/mel_vs_torchaudio.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
configs="400/160/80 400/200/128 512/160/80"
dotnet build benchmarks/MelTiming -c Release -v quiet --nologo >/dev/null
log=$(mktemp)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$runs"); do
  DOTNET_PROCESSOR_COUNT=1 dotnet benchmarks/MelTiming/bin/Release/net10.0/MelTiming.dll $configs | sed "s/^/run $run /" | tee -a "$log"
  /usr/bin/python3 - $configs <<'PY' | sed "s/^/run $run /" | tee -a "$log"
import sys, time, warnings, torch, torchaudio
warnings.filterwarnings("ignore")   # n_mels 128 leaves a filter empty at n_fft 400 (torchaudio warns; same filters on both sides)
torch.set_num_threads(1); torch.manual_seed(0)
wave = torch.randn(1, 16000)
for config in sys.argv[1:]:
    n_fft, hop, n_mels = map(int, config.split('/'))
    mel = torchaudio.transforms.MelSpectrogram(16000, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    with torch.no_grad():
        for _ in range(50): mel(wave)
        times = []
        for _ in range(200):
            t = time.perf_counter(); mel(wave); times.append((time.perf_counter() - t) * 1e6)
    times.sort(); print(f"torchaudio {config}: {times[len(times) // 2]:.0f} us (median of {len(times)})")
PY
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '{ side=$3; cfg=$4; sub(":", "", cfg); t[$2, side, cfg] = $5; runs[$2] = 1; cfgs[cfg] = 1 }
  END {
    for (c in cfgs) {
      dmin = tmin = rmin = 1e18; dmax = tmax = rmax = 0
      for (r in runs) {
        d = t[r, "deepsharp", c]; q = t[r, "torchaudio", c]; ratio = d / q
        if (d < dmin) dmin = d; if (d > dmax) dmax = d; if (q < tmin) tmin = q; if (q > tmax) tmax = q
        if (ratio < rmin) rmin = ratio; if (ratio > rmax) rmax = ratio
      }
      printf "%s: deepsharp %d-%d us, torchaudio %d-%d us, ratio %.2f-%.2fx\n", c, dmin, dmax, tmin, tmax, rmin, rmax
    }
  }' "$log" | sort
rm -f "$log"
