"""Write a copy of an LVQuan-layout file whose contrast differs from the phantom's (equalisation ablation).

Usage::

    python scripts/contrast_shift.py IN.npz OUT.npz [--seed 0]

Each subject's images go through a strong monotone grey-level mapping drawn
per subject: a power law ``v ** gamma`` with gamma log-uniform in 0.4-2.5
(after scaling to the subject's maximum), as different scanners' windowing,
reconstruction filters and display curves do. Labels are unchanged. Histogram
equalisation is invariant to any increasing mapping (up to grey-level ties);
a linear percentile normalisation is not — the point of the ablation.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from lvquant.io.lvquan_mat import read_lvquan, write_lvquan_mat, write_lvquan_npz


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ds = read_lvquan(args.data)
    rng = np.random.default_rng(args.seed)
    images = np.empty_like(ds.images)
    gammas = np.exp(rng.uniform(np.log(0.4), np.log(2.5), ds.images.shape[0]))
    for s, g in enumerate(gammas):
        x = np.clip(ds.images[s], 0, None)
        top = float(x.max()) or 1.0
        images[s] = (1000.0 * (x / top) ** g).astype(np.float32)
    shifted = replace(ds, images=images)
    (write_lvquan_mat if args.out.suffix == ".mat" else write_lvquan_npz)(shifted, args.out)
    print(f"wrote {args.out}: {len(gammas)} subjects, gamma {gammas.min():.2f}-{gammas.max():.2f}")


if __name__ == "__main__":
    main()
