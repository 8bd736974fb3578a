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

import torch
import torch.nn as nn

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench_torch_tcresnet import bench  # noqa: E402


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
    thread_counts = [int(t) for t in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1, 2]
    print(f"PyTorch ResNet-8 2-D: {sum(p.numel() for p in resnet8_2d().parameters())} parameters")
    bench("ResNet-8 2-D", resnet8_2d, (1, 40, 98), steps, thread_counts)


if __name__ == "__main__":
    main()
