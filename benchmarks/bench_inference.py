"""Benchmark: the model stage, 20 frames × N models (the method's ensemble).

Usage::

    .venv/bin/python benchmarks/bench_inference.py [--models DIR] [--repeat N] [--threads T]

Uses the shipped ensemble (or ``--models``) and times one ensemble prediction
of 20 equalised 80×80 frames with each inference engine: NumPy (what
``lvquant analyze`` uses) and PyTorch (batch norms folded). Prints the median
and best wall time over ``--repeat`` runs. The issue's limit: 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

LIMIT_MS = 100.0


def _time(ens, crops, repeat: int) -> tuple[float, float]:
    for _ in range(5):
        ens.predict(crops, 1.5)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ens.predict(crops, 1.5)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", help="model folder (default: the shipped ensemble)")
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    args = ap.parse_args()
    import torch

    from lvquant.predict import Ensemble

    if args.threads:
        torch.set_num_threads(args.threads)
    crops = np.random.default_rng(0).random((20, 80, 80), dtype=np.float32)
    worst = 0.0
    for engine in ("numpy", "torch"):
        ens = Ensemble.load(args.models, engine=engine)
        med, best = _time(ens, crops, args.repeat)
        worst = max(worst, med) if engine == "numpy" else worst
        print(f"model stage, 20 frames x {ens.identity['network']} x{len(ens)}, engine {engine} "
              f"(torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs): median {med:.1f} ms, "
              f"best {best:.1f} ms over {args.repeat} runs (limit {LIMIT_MS:.0f} ms)")
    return 0 if worst <= LIMIT_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
