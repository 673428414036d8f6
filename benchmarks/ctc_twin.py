"""PyTorch twin of `deepsharp train --dataset spoken-digit-strings --model ctc`: the same cached espeak-ng speech (read
from DeepSharp's safetensors cache), the same placement/gain/noise recipe (numpy draws, not System.Random's), the same
features (40-band log-mel, top_db 80, per-clip normalisation), model (conv x2 stride 2 + BiLSTM), loss, optimiser and
schedule. Usage: /usr/bin/python3 benchmarks/ctc_twin.py CACHE.safetensors [epochs] [hidden] [lr] [batch]"""
import json, math, struct, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F, torchaudio

def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]; header = json.loads(f.read(n)); data = f.read()
    dt = {"F32": np.float32, "I64": np.int64, "F64": np.float64}
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype=dt[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}

def place(speech, length, rng):
    clip_speech = speech if len(speech) <= length else speech[(len(speech) - length) // 2:][:length]
    offset = rng.integers(0, length - len(clip_speech) + 1); gain = 0.3 + 0.7 * rng.random()
    power = (clip_speech.astype(np.float64) ** 2).mean() * gain * gain if len(clip_speech) else 0.0
    snr = 5 + 25 * rng.random(); std = math.sqrt(power / 10 ** (snr / 10))
    clip = (std * rng.standard_normal(length)).astype(np.float32)
    clip[offset:offset + len(clip_speech)] += gain * clip_speech
    return clip

class Recognizer(nn.Module):
    def __init__(self, mels=40, hidden=128, layers=2, classes=11):
        super().__init__()
        self.conv1 = nn.Conv1d(mels, hidden, 5, 2, 2); self.bn1 = nn.BatchNorm1d(hidden)
        self.conv2 = nn.Conv1d(hidden, hidden, 5, 2, 2); self.bn2 = nn.BatchNorm1d(hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers, bidirectional=True, dropout=0.1 if layers > 1 else 0)
        self.fc = nn.Linear(2 * hidden, classes)
    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x))); x = F.relu(self.bn2(self.conv2(x)))
        y, _ = self.lstm(x.permute(2, 0, 1)); return F.log_softmax(self.fc(y), -1)

def greedy(lp):
    out, prev = [], 0
    for k in lp.argmax(-1).tolist():
        if k != prev and k != 0: out.append(k - 1)
        prev = k
    return out

def wer(refs, hyps):
    errors = words = 0
    for r, h in zip(refs, hyps):
        d = list(range(len(h) + 1))
        for i in range(1, len(r) + 1):
            prev, d[0] = d[0], i
            for j in range(1, len(h) + 1):
                prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
        errors += d[len(h)]; words += len(r)
    return errors / words

def main():
    path = sys.argv[1]; epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 40; hidden = int(sys.argv[3]) if len(sys.argv) > 3 else 96
    lr = float(sys.argv[4]) if len(sys.argv) > 4 else 2e-3; batch = int(sys.argv[5]) if len(sys.argv) > 5 else 8
    torch.manual_seed(42); torch.set_num_threads(1)
    t = load_safetensors(path); off = t["offsets"]; doff = t["digit_offsets"]; voice = t["voice"]
    rng = np.random.default_rng(0); n = len(voice); L = 56000
    clips = np.stack([place(t["speech"][off[i]:off[i + 1]], L, rng) for i in range(n)])
    digits = [t["digits"][doff[i]:doff[i + 1]].tolist() for i in range(n)]
    mel = torchaudio.transforms.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=40); db = torchaudio.transforms.AmplitudeToDB(top_db=80)
    with torch.no_grad():
        feats = torch.cat([db(mel(torch.from_numpy(clips[i:i + 64])).unsqueeze(1)).squeeze(1) for i in range(0, n, 64)])
        feats = (feats - feats.mean((1, 2), keepdim=True)) / (feats.std((1, 2), unbiased=False, keepdim=True) + 1e-5)
    test = voice % 4 == 3; tr = np.where(~test)[0]; te = np.where(test)[0]
    targets = torch.zeros(n, 5, dtype=torch.long); lengths = torch.tensor([len(d) for d in digits])
    for i, d in enumerate(digits): targets[i, :len(d)] = torch.tensor(d) + 1
    model = Recognizer(40, hidden); opt = torch.optim.AdamW(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(tr) / batch); sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(42); clock = time.time()
    for epoch in range(epochs):
        model.train(); perm = torch.from_numpy(tr)[torch.randperm(len(tr), generator=g)]; total = 0
        for s in range(0, len(perm), batch):
            idx = perm[s:s + batch]; lp = model(feats[idx])
            loss = F.ctc_loss(lp, targets[idx], torch.full((len(idx),), lp.shape[0], dtype=torch.long), lengths[idx])
            opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(model.parameters(), 5.0); opt.step(); sched.step(); total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}: loss {total / len(tr):.4f} ({time.time() - clock:.0f} s)", flush=True)
    model.eval()
    with torch.no_grad(): lp = model(feats[torch.from_numpy(te)])
    hyps = [greedy(lp[:, b]) for b in range(lp.shape[1])]
    print(f"train {len(tr)} test {len(te)}; heard {hyps[:3]} for {[digits[i] for i in te[:3]]}")
    print(f"test wer: {wer([digits[i] for i in te], hyps):.4f}")

main()
