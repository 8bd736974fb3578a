#!/usr/bin/python3
"""The peer side of bench/train2d.sh: PyTorch training throughput of the ResNet-8 in 2-D that
sigloop builds from examples/fsdd-resnet8-2d.yaml (MLPerf Tiny's shape: stem conv 1->16 3x3 + BN +
ReLU; residual stages 16/16/32/64 at strides 1/2/2 with 1x1 strided shortcuts + BN; global average
pooling; dense to 10), Adam, batch 64, on random 1 x 40 x 98 inputs (bands x frames, sigloop's
layout; the transposed 1 x 98 x 40 costs the same), with 1 and 2 threads. Prints the parameter
count and training samples per second, median of several timed runs.

    tools/bench_torch_resnet8_2d.py [STEPS] [THREADS,...]   (default: 6 steps, threads 1,2)
"""
import sys
import time

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.c1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(c_out)
        self.c2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(c_out)
        self.sc = None
        if stride != 1 or c_in != c_out:
            self.sc = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, 0, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        return torch.relu(y + (self.sc(x) if self.sc is not None else x))


def resnet8_2d():
    return nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    torch.manual_seed(0)
    x = torch.randn(64, 1, 40, 98)
    y = torch.randint(0, 10, (64,))
    print(f"PyTorch ResNet-8 2-D: {sum(p.numel() for p in resnet8_2d().parameters())} parameters")
    thread_counts = [int(t) for t in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1, 2]
    for threads in thread_counts:
        torch.set_num_threads(threads)
        model = resnet8_2d()
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
        print(f"PyTorch {torch.__version__} ResNet-8 2-D training, batch 64, {threads} thread(s): "
              f"median {rates[len(rates) // 2]:.0f} samples/s (min {rates[0]:.0f}, max {rates[-1]:.0f})")


if __name__ == "__main__":
    main()
