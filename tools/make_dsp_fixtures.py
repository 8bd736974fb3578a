#!/usr/bin/python3
"""Regenerates the DSP reference fixtures in tests/fixtures/dsp/ with torchaudio.

Needs Debian's python3-torchaudio (and python3-numpy); the test suite itself needs no Python: it
reads the committed fixtures. Every fixture is raw little-endian float32, row-major, with its
shape in tests/fixtures/dsp/README.md.

    tools/make_dsp_fixtures.py [FSDD_FOLDER]     (default ../shared/data/fsdd)
"""
import os
import sys
import wave

import numpy as np
import torch
import torchaudio
import torchaudio.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "dsp")


def read_wav(path):
    """16-bit PCM as float in [-1, 1), the way libsndfile normalises it (x / 32768)."""
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        return torch.from_numpy(x), w.getframerate()


def save(name, t):
    a = t.detach().to(torch.float32).contiguous().numpy()
    a.astype("<f4").tofile(os.path.join(OUT, name))
    print(f"{name}: shape {tuple(a.shape)}")


def main():
    fsdd = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data", "fsdd")
    x, sr = read_wav(os.path.join(fsdd, "recordings", "0_george_0.wav"))
    assert sr == 8000
    x = torch.nn.functional.pad(x, (0, 8000 - x.numel()))  # zero-padded at the end to 1 s
    os.makedirs(OUT, exist_ok=True)

    # The acceptance log-mel: frame t covers [80t, 80t + 200): torchaudio's center=False on the
    # signal padded with (n_fft - win) / 2 = 28 zeros at each end.
    kw = dict(sample_rate=8000, n_fft=256, win_length=200, hop_length=80, f_min=20.0, f_max=4000.0,
              n_mels=40, power=2.0, center=False, norm=None, mel_scale="htk")
    xp = torch.nn.functional.pad(x, (28, 28))
    mel = torchaudio.transforms.MelSpectrogram(**kw)(xp)
    logmel = torch.log(mel + 1e-6)
    save("logmel_george0.f32", logmel)                      # (40, 98)
    save("delta_george0.f32", F.compute_deltas(logmel.unsqueeze(0)).squeeze(0))  # (40, 98)
    mfcc = torchaudio.transforms.MFCC(sample_rate=8000, n_mfcc=13, log_mels=True, melkwargs={
        k: v for k, v in kw.items() if k != "sample_rate"})(xp)
    save("mfcc_george0.f32", mfcc)                          # (13, 98)
    # torchaudio's MFCC default: the log-mel in dB (AmplitudeToDB, top_db 80) before the DCT
    mfcc_db = torchaudio.transforms.MFCC(sample_rate=8000, n_mfcc=13, melkwargs={
        k: v for k, v in kw.items() if k != "sample_rate"})(xp)
    save("mfcc_db_george0.f32", mfcc_db)                    # (13, 98)

    # Centred frames (reflect padding), Slaney scale and area norm, dB with top_db 80.
    kw2 = dict(sample_rate=8000, n_fft=256, win_length=200, hop_length=80, f_min=0.0, f_max=4000.0,
               n_mels=40, power=2.0, center=True, pad_mode="reflect", norm="slaney", mel_scale="slaney")
    mel2 = torchaudio.transforms.MelSpectrogram(**kw2)(x)
    db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80.0)(mel2)
    save("logmel_db_center_george0.f32", db)                # (40, 101)

    # Magnitude spectrogram, Hamming window, centred.
    spec = torchaudio.transforms.Spectrogram(n_fft=128, win_length=128, hop_length=64, power=1.0, center=True,
                                             window_fn=torch.hamming_window)(x)
    save("spec_hamming_george0.f32", spec)                  # (65, 126)

    # Power spectrogram, Hann, centred with zero (constant) padding.
    spec0 = torchaudio.transforms.Spectrogram(n_fft=256, win_length=200, hop_length=80, power=2.0, center=True,
                                              pad_mode="constant")(x)
    save("spec_constant_george0.f32", spec0)                # (129, 101)

    # Filterbanks, (n_freqs, n_mels), and the DCT: torchaudio's formulas evaluated in float64 (its
    # float32 default rounds the band edges near 4 kHz to ~2e-4 Hz, which moves filter weights by
    # up to ~4e-6: more than the 1e-6 these are held to). Stored as float32 all the same.
    torch.set_default_dtype(torch.float64)
    save("fb_htk.f32", F.melscale_fbanks(129, 20.0, 4000.0, 40, 8000, None, "htk"))            # (129, 40)
    save("fb_slaney.f32", F.melscale_fbanks(257, 0.0, 8000.0, 64, 16000, "slaney", "slaney"))  # (257, 64)
    save("dct_13_40.f32", F.create_dct(13, 40, "ortho"))   # (40, 13)
    f32 = F.melscale_fbanks(129, 20.0, 4000.0, 40, 8000, None, "htk").to(torch.float32)
    torch.set_default_dtype(torch.float32)
    d = (F.melscale_fbanks(129, 20.0, 4000.0, 40, 8000, None, "htk") - f32).abs().max().item()
    print(f"HTK filterbank: torchaudio float32 vs float64, max |difference| {d:.2e}")
    print("torch", torch.__version__, "torchaudio", torchaudio.__version__)


if __name__ == "__main__":
    main()
