#!/usr/bin/python3
"""Regenerates the metrics reference fixtures in tests/fixtures/analyze/ with scikit-learn.

Needs Debian's python3-sklearn (with python3-numpy and python3-scipy); the test suite itself needs
no Python: tests/unit/test_metrics.c reads the committed text files.

Each case is one file, <case>.txt: '#' comment lines, then whitespace-separated tokens, each
block a keyword followed by its numbers:

    n N  k K
    label      N integers in [0, K)
    prob       N x K float32 probabilities, row-major (shortest round-trip decimal: strtof
               gives back the exact float32 that scikit-learn was given)
    accuracy x  macro_f1 x  balanced_accuracy x  top_k_2 x  top_k_3 x   (nan when K < 3)
    confusion  K x K counts (row = true class, column = predicted)
    precision K doubles  recall K  f1 K  support K integers
    end

The reference values are shortest round-trip doubles (repr). cases.txt lists the case files;
mcnemar.txt holds McNemar p-values from scipy (its own header says how). Everything is seeded:
running the script twice writes the same bytes.

    tools/make_metrics_fixtures.py
"""
import math
import os
import warnings

import numpy as np
import scipy.stats
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                             precision_recall_fscore_support, top_k_accuracy_score)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "analyze")


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def model_probs(rng, y, k, signal, err_rate):
    """A plausible classifier: logits N(0, 1) plus `signal` on the class the model believes in,
    which is the true class except for a share err_rate of examples, where it is random."""
    n = len(y)
    believed = np.where(rng.random(n) < err_rate, rng.integers(0, k, n), y)
    z = rng.normal(0.0, 1.0, (n, k))
    z[np.arange(n), believed] += signal
    return z


def case_ten_class(rng):
    n, k = 500, 10
    y = rng.integers(0, k, n)
    return "10 classes, 500 examples: softmax of noisy logits, about a quarter of the beliefs wrong", \
        y, softmax(model_probs(rng, y, k, 2.5, 0.25))


def case_never_predicted(rng):
    n, k = 300, 6
    y = rng.integers(0, k, n)
    z = model_probs(rng, y, k, 2.0, 0.2)
    z[:, 3] -= 8.0  # class 3 has true examples but is never the argmax
    return "6 classes, 300 examples: class 3 has support but is never predicted", y, softmax(z)


def case_absent_classes(rng):
    n, k = 300, 7
    y = rng.integers(0, 5, n)  # classes 5 and 6 have no true examples
    z = model_probs(rng, y, k, 2.0, 0.15)
    # class 6 is never predicted either, so it is outside sklearn's labels=None set and macro F1
    # leaves it out; class 5 is predicted for about a tenth of the examples
    z[:, 6] -= 8.0
    lure = rng.random(n) < 0.1
    z[lure, 5] += 6.0
    return "7 classes, 300 examples: class 5 predicted but never true, class 6 neither", y, softmax(z)


def case_two_class(rng):
    n, k = 400, 2
    y = (rng.random(n) < 0.35).astype(np.int64)  # imbalanced
    return "2 classes, 400 examples, 35 % positives", y, softmax(model_probs(rng, y, k, 1.5, 0.1))


def case_ties(rng):
    """Probabilities in eighths (exact in float32): many exact ties, at the maximum (where the
    argmax takes the first) and at the k-th place (where top-k takes the higher class index)."""
    n, k = 200, 4
    cuts = np.sort(rng.integers(0, 9, (n, k - 1)), axis=1)
    parts = np.diff(np.concatenate([np.zeros((n, 1), int), cuts, np.full((n, 1), 8)], axis=1), axis=1)
    p = parts / 8.0
    y = np.array([rng.choice(k, p=row) for row in p])
    return "4 classes, 200 examples: probabilities in eighths, with exact ties", y, p


def case_dirichlet(rng):
    n, k = 400, 5
    p = rng.dirichlet(np.full(k, 0.5), n)
    y = np.array([rng.choice(k, p=row / row.sum()) for row in p])
    return "5 classes, 400 examples: Dirichlet(0.5) probabilities, labels drawn from them", y, p


CASES = [("ten_class", case_ten_class, 11), ("never_predicted", case_never_predicted, 12),
         ("absent_classes", case_absent_classes, 13), ("two_class", case_two_class, 14),
         ("ties", case_ties, 15), ("dirichlet", case_dirichlet, 16)]


def top_k(y, p, k, top):
    if top > k:
        return float("nan")
    if k == 2:  # sklearn takes a binary problem's scores as one column (top 2 of 2 is every example)
        return top_k_accuracy_score(y, p[:, 1], k=top, labels=[0, 1])
    return top_k_accuracy_score(y, p, k=top, labels=list(range(k)))


def top_k_lower_first(y, p, top):
    """Top-k with ties to the lower index, only to count how many examples the tie rule decides."""
    order = np.argsort(-p, axis=1, kind="stable")[:, :top]
    return (order == y[:, None]).any(axis=1)


def hits_sklearn_rule(y, p, top):
    """sklearn's own rule, restated: a stable ascending argsort reversed, so ties go to the higher
    class index (main checks it against sklearn on every case)."""
    order = np.argsort(p, axis=1, kind="mergesort")[:, ::-1][:, :top]
    return (order == y[:, None]).any(axis=1)


def fmt(x):
    return repr(float(x))


def write_case(name, desc, y, p32):
    n, k = p32.shape
    pred = p32.argmax(axis=1)  # numpy's argmax is the first maximum
    labels = list(range(k))
    prec, rec, f1, sup = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    ref = {
        "accuracy": accuracy_score(y, pred),
        "macro_f1": f1_score(y, pred, average="macro", zero_division=0),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
        "top_k_2": top_k(y, p32, k, 2),
        "top_k_3": top_k(y, p32, k, 3),
    }
    cm = confusion_matrix(y, pred, labels=labels)
    lines = [f"# sigloop metrics fixture {name}: {desc}",
             "# made by tools/make_metrics_fixtures.py (its docstring describes the layout)",
             "# scikit-learn: accuracy_score, f1_score(average='macro', zero_division=0),",
             "# balanced_accuracy_score, top_k_accuracy_score(labels=range(k)), confusion_matrix and",
             "# precision_recall_fscore_support(labels=range(k), zero_division=0), on the argmax",
             f"n {n}", f"k {k}", "label"]
    for i in range(0, n, 25):
        lines.append(" ".join(str(int(v)) for v in y[i:i + 25]))
    lines.append("prob")
    for row in p32:
        lines.append(" ".join(str(v) for v in row))  # numpy's shortest round-trip float32 text
    for key, v in ref.items():
        lines.append(f"{key} {fmt(v)}")
    lines.append("confusion")
    for row in cm:
        lines.append(" ".join(str(int(v)) for v in row))
    for key, arr in (("precision", prec), ("recall", rec), ("f1", f1)):
        lines.append(key + " " + " ".join(fmt(v) for v in arr))
    lines.append("support " + " ".join(str(int(v)) for v in sup))
    lines.append("end")
    path = os.path.join(OUT, name + ".txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")

    # what makes the case interesting, checked rather than hoped for
    true_set, pred_set = set(y.tolist()), set(pred.tolist())
    present = sorted(true_set | pred_set)
    tie_max = int(sum((row == row.max()).sum() > 1 for row in p32))
    decided = [int((top_k_lower_first(y, p32, t) != hits_sklearn_rule(y, p32, t)).sum()) for t in (2, 3) if t < k]
    print(f"{name}.txt: n {n}, k {k}, {os.path.getsize(path)} bytes; accuracy {ref['accuracy']:.4f}, "
          f"macro F1 {ref['macro_f1']:.4f} over {len(present)} classes, balanced {ref['balanced_accuracy']:.4f}, "
          f"top-2 {ref['top_k_2']:.4f}, top-3 {ref['top_k_3']:.4f}; never true {sorted(set(labels) - true_set)}, "
          f"never predicted {sorted(set(labels) - pred_set)}; rows with a tied maximum {tie_max}; "
          f"examples the top-k tie rule decides {decided}")
    return n, k, true_set, pred_set


MCNEMAR = [(0, 0), (1, 0), (0, 1), (10, 2), (2, 10), (5, 5), (3, 0), (25, 47), (600, 500),
           (3000, 3100), (100000, 99000), (499000, 501000), (499800, 500200)]


def write_mcnemar():
    lines = ["# sigloop McNemar fixture: made by tools/make_metrics_fixtures.py with scipy",
             "# one row per pair: b c p_exact chi2 p_chi2, with p_exact = min(1, 2 binom.cdf(min(b, c),",
             "# b + c, 1/2)), chi2 = (|b - c| - 1)^2 / (b + c) and p_chi2 = chi2.sf(chi2, 1); for",
             "# b + c = 0: 1, 0, 1. Values are shortest round-trip doubles."]
    for b, c in MCNEMAR:
        m = b + c
        if m == 0:
            pe, x2, pc = 1.0, 0.0, 1.0
        else:
            pe = min(1.0, 2.0 * scipy.stats.binom.cdf(min(b, c), m, 0.5))
            bt = scipy.stats.binomtest(min(b, c), m, 0.5).pvalue
            assert math.isclose(pe, bt, rel_tol=1e-9, abs_tol=1e-300), (b, c, pe, bt)
            x2 = (abs(b - c) - 1) ** 2 / m
            pc = scipy.stats.chi2.sf(x2, 1)
        lines.append(f"{b} {c} {fmt(pe)} {fmt(x2)} {fmt(pc)}")
    path = os.path.join(OUT, "mcnemar.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"mcnemar.txt: {len(MCNEMAR)} pairs, b + c up to {max(b + c for b, c in MCNEMAR)}, "
          f"{os.path.getsize(path)} bytes")


def main():
    # sklearn warns, rightly, about the cases built to have them: classes predicted but never true,
    # and top-2 of 2 classes (always a hit)
    warnings.simplefilter("ignore")
    os.makedirs(OUT, exist_ok=True)
    names = []
    for name, make, seed in CASES:
        desc, y, p = make(np.random.default_rng(seed))
        p32 = np.asarray(p, dtype=np.float32)
        y = np.asarray(y, dtype=np.int64)
        k = p32.shape[1]
        for t in (2, 3):
            if t < k:
                assert math.isclose(hits_sklearn_rule(y, p32, t).mean(), top_k(y, p32, k, t)), (name, t)
        write_case(name, desc, y, p32)
        names.append(name + ".txt")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# the metrics fixture cases (tools/make_metrics_fixtures.py), one file a line\n")
        f.write("\n".join(names) + "\n")
    print(f"cases.txt: {len(names)} cases")
    write_mcnemar()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"tests/fixtures/analyze: {total} bytes in all")


if __name__ == "__main__":
    main()
