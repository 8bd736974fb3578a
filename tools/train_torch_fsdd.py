#!/usr/bin/python3
"""The peer recipe for step 4's accuracy: PyTorch trains the same TC-ResNet8 (as
tools/bench_torch_tcresnet.py builds it) on sigloop's own features and split, with the recipe of
examples/fsdd.yaml (per-band standardisation with the training split's statistics, 30 epochs, Adam
1e-3 with per-epoch cosine decay, batch 64, shuffled, no augmentation), and prints the test
accuracy of the last epoch for each seed, and their mean and standard deviation.

    build/sigloop features examples/fsdd.yaml --npy feats.npy
    tools/train_torch_fsdd.py runs/fsdd/manifest.csv feats.npy [SEEDS] [THREADS]
"""
import csv
import statistics
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench_torch_tcresnet import tc_resnet8  # noqa: E402


def main():
    manifest, npy = sys.argv[1], sys.argv[2]
    seeds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
    rows = list(csv.DictReader(open(manifest)))
    x = np.load(npy).astype(np.float32)
    labels = sorted({r["label"] for r in rows})
    y = np.array([labels.index(r["label"]) for r in rows])
    split = np.array([r["split"] for r in rows])
    tr, te = split == "train", split == "test"
    mean = x[tr].mean(axis=(0, 2), keepdims=True)
    std = x[tr].std(axis=(0, 2), keepdims=True)
    x = (x - mean) / np.maximum(std, 1e-12)
    xtr, ytr = torch.from_numpy(x[tr]), torch.from_numpy(y[tr])
    xte, yte = torch.from_numpy(x[te]), torch.from_numpy(y[te])
    accs = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = tc_resnet8()
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 30)
        loss_fn = nn.CrossEntropyLoss()
        for _ in range(30):
            model.train()
            order = torch.randperm(len(xtr))
            for i in range(0, len(order), 64):
                idx = order[i:i + 64]
                if len(idx) < 2:
                    continue
                opt.zero_grad()
                loss_fn(model(xtr[idx]), ytr[idx]).backward()
                opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        accs.append(100 * acc)
        print(f"PyTorch seed {seed}: test accuracy {100 * acc:.1f} % on {len(yte)} examples", flush=True)
    print(f"mean {statistics.mean(accs):.1f} %, sd {statistics.stdev(accs) if len(accs) > 1 else 0:.1f} "
          f"over {len(accs)} seeds")


if __name__ == "__main__":
    main()
