#!/usr/bin/python3
"""Regenerates the network reference fixtures in tests/fixtures/nn/ with PyTorch.

Needs Debian's python3-torch (and python3-numpy); the test suite itself needs no Python: it reads
the committed fixtures (tests/unit/test_nn_parity.c).

The network is TC-ResNet8 exactly as sigloop's `tc-resnet` builder (src/nn/build.c) makes it for
examples/fsdd.yaml's model section: widths [16, 24, 32, 48], kernel 9, stem kernel 3, one block
per stage, on (40 bands, 98 frames) inputs and 10 classes. Its starting weights are not stored:
both sides compute them from the closed formula in `initial_value` over sigloop's flat parameter
layout. The input batch is stored (it is the only other starting value).

The reference runs in float64 on the float32-rounded starting values, so the fixtures carry only
sigloop's error; the script prints how far PyTorch's own float32 run is from it, for scale.
Every fixture is raw little-endian float32, row-major; tests/fixtures/nn/README.md lists them.

    tools/make_nn_fixtures.py
"""
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "nn")

BANDS, FRAMES, CLASSES = 40, 98, 10
WIDTHS, KERNEL, STEM_KERNEL = [16, 24, 32, 48], 9, 3  # examples/fsdd.yaml's model: section
LABELS = [3, 7, 0, 9]
STEPS, LR = 3, 1e-3                                   # Adam, betas (0.9, 0.999), eps 1e-8, no decay


class Block(nn.Module):
    """A first block of a stage: stride 2, with the 1x1 strided conv + batch norm shortcut."""

    def __init__(self, c_in, width, kernel):
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, width, kernel, stride=2, padding=kernel // 2, bias=False)
        self.bn1 = nn.BatchNorm1d(width)
        self.conv2 = nn.Conv1d(width, width, kernel, stride=1, padding=kernel // 2, bias=False)
        self.bn2 = nn.BatchNorm1d(width)
        self.short = nn.Conv1d(c_in, width, 1, stride=2, bias=False)
        self.short_bn = nn.BatchNorm1d(width)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.short_bn(self.short(x)))


class TCResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv1d(BANDS, WIDTHS[0], STEM_KERNEL, padding=STEM_KERNEL // 2, bias=False)
        self.stem_bn = nn.BatchNorm1d(WIDTHS[0])
        self.stages = nn.ModuleList(Block(WIDTHS[s - 1], WIDTHS[s], KERNEL) for s in range(1, len(WIDTHS)))
        self.logits = nn.Linear(WIDTHS[-1], CLASSES)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        for block in self.stages:
            x = block(x)
        return self.logits(x.mean(dim=2))

    def sigloop_nodes(self):
        """(name, module) of every node with parameters, in sigloop's graph order: its parameter
        layout (conv w (C_out, C_in, K); batch norm gamma then beta; dense w (units, F) then b)."""
        nodes = [("stem", self.stem), ("stem_bn", self.stem_bn)]
        for s, b in enumerate(self.stages, start=1):
            for part in ("conv1", "bn1", "conv2", "bn2", "short", "short_bn"):
                nodes.append((f"s{s}_b1_{part}", getattr(b, part)))
        nodes.append(("logits", self.logits))
        return nodes


def node_tensors(module):
    """The node's parameters in sigloop's order, with the formula's kind for each."""
    if isinstance(module, nn.BatchNorm1d):
        return [(module.weight, "gamma"), (module.bias, "beta")]
    if isinstance(module, nn.Linear):
        return [(module.weight, "weight"), (module.bias, "bias")]
    return [(module.weight, "weight")]


def hash01(i):
    """A uniform number in [0, 1) from the integer i: Wellons' "lowbias32" integer hash of i, over
    2^32 (exact in float64 on both sides)."""
    x = i & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x / 4294967296.0


def initial_value(kind, i, fan_in):
    """The starting value of the parameter at flat index i of sigloop's layout (in float64; both
    sides round it to float32). Weights are uniform in +-1/sqrt(fan_in) (PyTorch's default range)
    by a hash of i. A smooth formula (sin(2.4 i + 0.3) / sqrt(fan_in) was tried) makes balanced
    kernels that all but cancel on smooth inputs, batch norm then divides by a small spread, and the
    result is ill-conditioned: a relative change of 1e-7 in the weights moved the gradients by 6 %,
    and PyTorch's own float32 run ended three Adam steps 1.4 % (in the change of the weights) from
    its float64 run. With the hash those figures are 4e-7 and 2e-5."""
    if kind == "weight":
        return (2.0 * hash01(i) - 1.0) / math.sqrt(fan_in)
    if kind == "gamma":
        return 1.0 + 0.1 * math.sin(i)
    return 0.1 * math.cos(i)  # beta, dense bias


def input_batch():
    """(4, 40, 98): smooth ripples over bands and frames, different per example, plus hashed noise
    (index (n 40 + c) 98 + t, offset by 2^31), roughly the range of standardised log-mel features."""
    n, c, t = np.meshgrid(np.arange(len(LABELS)), np.arange(BANDS), np.arange(FRAMES), indexing="ij")
    noise = np.vectorize(hash01)(((n * BANDS + c) * FRAMES + t) + (1 << 31))
    x = (np.sin(0.11 * t * (1 + 0.1 * c) + 0.7 * n + 0.3 * c) + 0.5 * np.cos(0.037 * t * (n + 1) - 0.2 * c)
         + 0.2 * n - 0.1 + (noise - 0.5))
    return x.astype(np.float32)


def set_initial(model):
    """Writes the formula's values (rounded to float32) into the model; returns the node list."""
    nodes, i = model.sigloop_nodes(), 0
    with torch.no_grad():
        for _, m in nodes:
            w = m.weight
            fan_in = w.shape[1] * (w.shape[2] if w.dim() == 3 else 1) if w.dim() > 1 else 1
            for p, kind in node_tensors(m):
                v = np.array([initial_value(kind, i + j, fan_in) for j in range(p.numel())], dtype=np.float32)
                p.copy_(torch.from_numpy(v).reshape(p.shape).to(p.dtype))
                i += p.numel()
    return nodes


def flat(nodes, what):
    """Parameters ("param"), gradients ("grad") or running statistics ("state": per batch norm,
    mean (C) then var (C), sigloop's sl_net_state layout) as one float64 vector."""
    parts = []
    for _, m in nodes:
        if what == "state":
            if isinstance(m, nn.BatchNorm1d):
                parts += [m.running_mean, m.running_var]
            continue
        parts += [p.grad if what == "grad" else p for p, _ in node_tensors(m)]
    return torch.cat([t.detach().reshape(-1).to(torch.float64) for t in parts])


def run(dtype):
    """Forward (training: batch statistics), mean cross-entropy, backward, Adam step; three times
    on the same batch. The first forward/backward is the one whose logits and gradients are kept."""
    torch.manual_seed(0)  # PyTorch's own initialisation, overwritten at once; fixed all the same
    model = TCResNet8()
    nodes = set_initial(model)
    model.to(dtype).train()
    x = torch.from_numpy(input_batch()).to(dtype)
    y = torch.tensor(LABELS)
    p0 = flat(nodes, "param")
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    losses = []
    for step in range(STEPS):
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if step == 0:
            logits0, grads0 = logits.detach().clone(), flat(nodes, "grad")
        losses.append(loss.item())
        opt.step()
    return dict(nodes=nodes, logits=logits0, losses=torch.tensor(losses, dtype=torch.float64), grads=grads0,
                p0=p0, p3=flat(nodes, "param"), state=flat(nodes, "state"))


def save(name, t):
    a = t.detach().to(torch.float64).reshape(-1).numpy() if torch.is_tensor(t) else np.asarray(t)
    a.astype("<f4").tofile(os.path.join(OUT, name))
    print(f"{name}: {a.size} floats")


def rel(a, b):
    return (a - b).norm().item() / b.norm().item()


def main():
    os.makedirs(OUT, exist_ok=True)
    ref, f32 = run(torch.float64), run(torch.float32)
    nodes = ref["nodes"]
    n_params = sum(p.numel() for _, m in nodes for p, _ in node_tensors(m))
    print(f"TC-ResNet8: {len(nodes)} nodes with parameters, {n_params} parameters")

    save("input.f32", input_batch())          # (4, 40, 98)
    save("logits.f32", ref["logits"])         # (4, 10), first forward
    save("losses.f32", ref["losses"])         # (3): the loss of each step's forward
    save("grads.f32", ref["grads"])           # (n_params), first backward
    save("params_step3.f32", ref["p3"])       # (n_params), after three Adam steps
    save("state_step3.f32", ref["state"])     # (n_state), running mean/var after three forwards

    # For scale: PyTorch's own float32 run against the float64 reference, measured the way the
    # test measures sigloop.
    lg = ref["logits"]
    print(f"PyTorch float32 vs float64: logits {(f32['logits'].double() - lg).abs().max().item() / lg.abs().max().item():.1e}"
          f", loss {abs(f32['losses'][0].item() - ref['losses'][0].item()) / abs(ref['losses'][0].item()):.1e}")
    off, worst, worst_name, worst_upd = 0, 0.0, "", 0.0
    for name, m in nodes:
        n = sum(p.numel() for p, _ in node_tensors(m))
        s = slice(off, off + n)
        e = rel(f32["grads"][s], ref["grads"][s])
        if e > worst:
            worst, worst_name = e, name
        worst_upd = max(worst_upd, rel(f32["p3"][s] - f32["p0"][s], ref["p3"][s] - ref["p0"][s]))
        off += n
    print(f"  worst gradient tensor {worst_name} {worst:.1e}; worst 3-step update {worst_upd:.1e}")
    print("losses", [f"{v:.6f}" for v in ref["losses"].tolist()])
    print("torch", torch.__version__)


if __name__ == "__main__":
    main()
