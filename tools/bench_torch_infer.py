#!/usr/bin/python3
"""The peer of bench/bench_infer.c: PyTorch's batch-1 inference latency of the same TC-ResNet8,
TorchScript-traced and frozen, one thread; the median of many runs.

    tools/bench_torch_infer.py [RUNS]
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch_tcresnet import tc_resnet8  # noqa: E402


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    torch.set_num_threads(1)
    model = tc_resnet8().eval()
    x = torch.randn(1, 40, 98)
    with torch.no_grad():
        frozen = torch.jit.freeze(torch.jit.trace(model, x))
        for _ in range(200):
            frozen(x)
        t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            frozen(x)
            t.append(time.perf_counter() - t0)
    t.sort()
    print(f"PyTorch {torch.__version__} TC-ResNet8 batch-1 inference (TorchScript, frozen), 1 thread: median "
          f"{t[runs // 2] * 1e6:.1f} us (p10 {t[runs // 10] * 1e6:.1f}, p90 {t[runs * 9 // 10] * 1e6:.1f}) "
          f"over {runs} runs")


if __name__ == "__main__":
    main()
