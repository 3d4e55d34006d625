"""Benchmark: the model stage, 20 frames × N models (the method's ensemble).

Usage::

    .venv/bin/python benchmarks/bench_inference.py [--models DIR] [--repeat N] [--threads T]

Uses the shipped ensemble when it exists (or ``--models``), else five randomly
initialised networks of the default variant (speed does not depend on the
weight values). Prints the median and best wall time of one ensemble
prediction of 20 equalised 80×80 frames.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from lvquant.nets.dla import DLA_VARIANTS, create_dla, fuse_for_inference
from lvquant.predict import DEFAULT_MODEL_DIR, Ensemble

LIMIT_MS = 100.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", help="model folder (default: shipped weights, else random dla-small x5)")
    ap.add_argument("--network", default="dla-small", choices=sorted(DLA_VARIANTS))
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.models or (DEFAULT_MODEL_DIR / "manifest.json").is_file():
        ens = Ensemble.load(args.models)
        label = f"{ens.identity['network']} x{len(ens)} ({ens.folder})"
    else:
        torch.manual_seed(0)
        ens = Ensemble([fuse_for_inference(create_dla(args.network)) for _ in range(5)], np.zeros(11), np.ones(11))
        label = f"{args.network} x5 (random weights)"
    crops = np.random.default_rng(0).random((20, 80, 80), dtype=np.float32)
    for _ in range(5):
        ens.predict(crops, 1.5)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ens.predict(crops, 1.5)
        times.append((time.perf_counter() - t0) * 1000)
    med = statistics.median(times)
    print(f"model stage, 20 frames x {label}, torch threads {torch.get_num_threads()}: "
          f"median {med:.1f} ms, best {min(times):.1f} ms over {args.repeat} runs (limit {LIMIT_MS:.0f} ms)")
    return 0 if med <= LIMIT_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
