#!/usr/bin/env bash
# MelSpectrogram of 1 s at 16 kHz (n_fft 400, hop 160, 80 mels), DeepSharp vs torchaudio 0.13 (Debian's python3-torchaudio,
# one thread each), three runs alternating sides; each run prints the median of 200 calls after a warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build benchmarks/MelTiming -c Release -v quiet --nologo >/dev/null
for run in 1 2 3; do
  DOTNET_PROCESSOR_COUNT=1 dotnet benchmarks/MelTiming/bin/Release/net10.0/MelTiming.dll
  /usr/bin/python3 - <<'PY'
import time, torch, torchaudio
torch.set_num_threads(1); torch.manual_seed(0)
wave = torch.randn(1, 16000); mel = torchaudio.transforms.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=80)
with torch.no_grad():
    for _ in range(50): mel(wave)
    times = []
    for _ in range(200):
        t = time.perf_counter(); mel(wave); times.append((time.perf_counter() - t) * 1e6)
times.sort(); print(f"torchaudio mel 1s@16k: {times[len(times) // 2]:.0f} us (median of {len(times)})")
PY
done
