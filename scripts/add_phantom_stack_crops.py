"""Add phantom slices from the apex to the base to a crop file (training the regression networks on them).

    python scripts/add_phantom_stack_crops.py --base train_rings_ph_edge.npz --subjects 150 --seed 7100 \\
        --slices 2 [--rings-only] --out train_rings_ph_edge_stack.npz

Each of ``--subjects`` phantom subjects of population ``--seed`` gives ``--slices`` slices off its mid
slice (:func:`lvquant.datasets.collect.phantom_stack_pairs`: ED and ES, each slice cut on its own ED
borders, cavity 0 and wall thicknesses missing in the solid apical cap); they are appended to the
rows of ``--base`` (a file of ``lvquant dataset``; its input spec must be the phantom's) and written
to ``--out``, which ``lvquant train --data`` reads. ``--rings-only`` keeps only the slices whose
myocardium is a ring around a cavity at both frames (all 11 indices finite and positive), as
``lvquant dataset --slices rings`` keeps the real patients' slices: no apical cap. Use a seed whose subjects are not already in
``--base`` (the base's phantom rows come from ``lvquant phantom``), so that no heart is in two folds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lvquant.analysis.whole_heart import measurable_frames
from lvquant.datasets.builder import CropSet, take_rows
from lvquant.datasets.collect import phantom_stack_pairs
from lvquant.datasets.files import read_crops, save_crops
from lvquant.errors import LvquantError
from lvquant.indices import Indices


def ring_rows(indices: np.ndarray) -> np.ndarray:
    """(N,) bool: the rows of (N, F, 11) indices that are a measurement in every frame
    (:func:`lvquant.analysis.whole_heart.measurable_frames`: all 11 finite and positive; a slice of the
    solid apical cap has cavity 0 and its wall thicknesses missing)."""
    n, f = indices.shape[:2]
    return measurable_frames(Indices.from_array(indices.reshape(n * f, 11))).reshape(n, f).all(axis=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="crop file of 'lvquant dataset'")
    ap.add_argument("--subjects", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7100)
    ap.add_argument("--slices", type=int, default=2, help="slices per subject off its mid slice")
    ap.add_argument("--rings-only", action="store_true", help="leave out slices without a cavity ring (the apical cap)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    try:
        base = read_crops(args.base)
        stack = phantom_stack_pairs(args.subjects, args.seed, base.spec, args.slices, name=f"phantom-stack-s{args.seed}")
        if args.rings_only:
            stack = take_rows(stack, ring_rows(stack.indices))
        save_crops(CropSet.concatenate([base, stack]), args.out)
    except LvquantError as exc:
        print(f"add_phantom_stack_crops: {exc}", file=sys.stderr)
        return 2
    print(f"{len(base)} rows of {args.base} + {len(stack)} phantom stack rows -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
