"""Benchmark: time to generate a phantom population in the LVQuan layout.

Usage::

    python benchmarks/bench_phantom.py [--subjects 145] [--frames 20] [--seed 0] [--workers 2] [--out FILE.npz]

Prints the wall time of generating the subjects (and, with ``--out``, of
writing them) plus the population's figures (ED cavity area span, fractional
area change span, ED wall thickness span and median, ES frames, largest
within-subject myocardial-area change). The issue's target: 145 subjects x 20
frames in under 2 minutes on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lvquant.phantom import PhantomConfig, default_workers, generate_subjects, to_dataset


def summary(subjects) -> str:
    a1 = np.stack([s.indices.cavity_area_mm2 for s in subjects])
    a2 = np.stack([s.indices.myocardium_area_mm2 for s in subjects])
    ed = np.array([s.ed_frame for s in subjects])
    es = np.array([s.es_frame for s in subjects])
    rows = np.arange(len(subjects))
    a1_ed, a1_es = a1[rows, ed], a1[rows, es]
    fac = 100.0 * (a1_ed - a1_es) / a1_ed
    rwt_ed = np.stack([s.indices.rwt_mm[s.ed_frame] for s in subjects])
    myo = 100.0 * (a2 / a2.mean(axis=1, keepdims=True) - 1.0)
    kinds = {}
    for s in subjects:
        kinds[s.info["pathology"]] = kinds.get(s.info["pathology"], 0) + 1
    return "\n".join([
        f"heart types: {kinds}",
        f"ED cavity area: {a1_ed.min():.0f}-{a1_ed.max():.0f} mm2 (5-95 %: {np.percentile(a1_ed, 5):.0f}-{np.percentile(a1_ed, 95):.0f})",
        f"fractional area change: {fac.min():.0f}-{fac.max():.0f} % (median {np.median(fac):.0f} %)",
        f"ED wall thickness (segments): {rwt_ed.min():.1f}-{rwt_ed.max():.1f} mm, median {np.median(rwt_ed):.1f} mm",
        f"ES frame: {es.min()}-{es.max()} ({len(np.unique(es))} distinct); ED frame: {sorted(set(ed.tolist()))}",
        f"myocardial area within subject: max |deviation from the subject mean| {np.abs(myo).max():.1f} %",
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=145)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--out", type=Path, default=None, help="also write the dataset (.npz or .mat) and time it")
    args = ap.parse_args()
    config = PhantomConfig(n_frames=args.frames)
    t0 = time.perf_counter()
    subjects = generate_subjects(args.subjects, args.seed, config, workers=args.workers)
    t1 = time.perf_counter()
    print(f"generated {args.subjects} subjects x {args.frames} frames (LVQuan layout, 80x80) "
          f"with {args.workers} worker(s) in {t1 - t0:.1f} s ({(t1 - t0) / args.subjects * 1000:.0f} ms/subject)")
    out = args.out
    if out is not None:
        from lvquant.io.lvquan_mat import write_lvquan_mat, write_lvquan_npz

        t2 = time.perf_counter()
        ds = to_dataset(subjects)
        (write_lvquan_mat if out.suffix == ".mat" else write_lvquan_npz)(ds, out)
        print(f"wrote {out} in {time.perf_counter() - t2:.1f} s")
    print(summary(subjects))


if __name__ == "__main__":
    main()
