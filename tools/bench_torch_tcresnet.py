#!/usr/bin/python3
"""The peer side of bench/train.sh: PyTorch training throughput of the same TC-ResNet8 sigloop
builds (stem conv 40->16 k3 + BN + ReLU; stages 24/32/48, k9, stride 2, 1x1 strided shortcut;
global average pooling; dense to 10), Adam, batch 64, on random 40 x 98 inputs, with 1 and 2
threads. Prints training samples per second, median of several timed runs.

    tools/bench_torch_tcresnet.py [STEPS] [THREADS,...]   (default: 40 steps, threads 1,2)
"""
import sys
import time

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.c1 = nn.Conv1d(c_in, c_out, 9, 2, 4, bias=False)
        self.b1 = nn.BatchNorm1d(c_out)
        self.c2 = nn.Conv1d(c_out, c_out, 9, 1, 4, bias=False)
        self.b2 = nn.BatchNorm1d(c_out)
        self.sc = nn.Conv1d(c_in, c_out, 1, 2, 0, bias=False)
        self.bs = nn.BatchNorm1d(c_out)

    def forward(self, x):
        y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        return torch.relu(y + self.bs(self.sc(x)))


def tc_resnet8():
    return nn.Sequential(nn.Conv1d(40, 16, 3, 1, 1, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                         Block(16, 24), Block(24, 32), Block(32, 48),
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(48, 10))


def bench(name, make_model, shape, steps, thread_counts):
    """Prints the median training throughput of make_model() on random inputs of shape (batch 64)
    over 5 timed runs of `steps` Adam steps (after one untimed), for each thread count."""
    torch.manual_seed(0)
    x = torch.randn(64, *shape)
    y = torch.randint(0, 10, (64,))
    for threads in thread_counts:
        torch.set_num_threads(threads)
        model = make_model()
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        loss_fn = nn.CrossEntropyLoss()
        rates = []
        for rep in range(6):
            t0 = time.perf_counter()
            for _ in range(steps):
                opt.zero_grad()
                loss_fn(model(x), y).backward()
                opt.step()
            rate = steps * 64 / (time.perf_counter() - t0)
            if rep:  # the first is a warm-up
                rates.append(rate)
        rates.sort()
        print(f"PyTorch {torch.__version__} {name} training, batch 64, {threads} thread(s): "
              f"median {rates[len(rates) // 2]:.0f} samples/s (min {rates[0]:.0f}, max {rates[-1]:.0f})")


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    thread_counts = [int(t) for t in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1, 2]
    bench("TC-ResNet8", tc_resnet8, (40, 98), steps, thread_counts)


if __name__ == "__main__":
    main()
