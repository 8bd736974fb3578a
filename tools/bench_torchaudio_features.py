#!/usr/bin/python3
"""The peer side of bench/features.sh: torchaudio's log-mel of every FSDD clip with the acceptance
settings, one thread, per clip: compute alone (signals decoded and padded beforehand) and decode +
compute (the WAV read with Python's wave module and numpy); then, for reference, compute with 64
clips per call (torchaudio's batched use). Median of several passes.

    tools/bench_torchaudio_features.py FSDD_RECORDINGS_FOLDER [PASSES]
"""
import os
import sys
import time
import wave

import numpy as np
import torch
import torchaudio


def decode(path):
    with wave.open(path, "rb") as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    out = np.zeros(8000, dtype=np.float32)
    out[: min(8000, x.size)] = x[:8000]
    return torch.from_numpy(out)


def main():
    folder = sys.argv[1]
    passes = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    torch.set_num_threads(1)
    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".wav"))
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=8000, n_fft=256, win_length=200, hop_length=80,
                                               f_min=20.0, f_max=4000.0, n_mels=40, power=2.0, center=False,
                                               norm=None, mel_scale="htk")
    signals = [decode(p) for p in paths]

    def compute(x):
        with torch.no_grad():
            return torch.log(mel(torch.nn.functional.pad(x, (28, 28))) + 1e-6)

    batch = torch.stack(signals)

    for label, fn in (("compute:", lambda: [compute(x) for x in signals]),
                      ("decode + compute:", lambda: [compute(decode(p)) for p in paths]),
                      ("compute, 64 clips per call:", lambda: [compute(batch[i:i + 64]) for i in range(0, len(paths), 64)])):
        fn()  # warm-up
        times = []
        for _ in range(passes):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        times.sort()
        n = len(paths)
        print(f"torchaudio {torchaudio.__version__} log-mel, {n} clips, 1 thread, {label:<17} median "
              f"{times[len(times) // 2] / n * 1e3:.4f} ms per clip (min {times[0] / n * 1e3:.4f}, "
              f"max {times[-1] / n * 1e3:.4f})")


if __name__ == "__main__":
    main()
