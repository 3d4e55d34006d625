"""Mix a crop file with more phantom subjects, and optionally give its real rows more weight.

Usage::

    python scripts/mix_crops.py --base train_rings_ph_edge.npz \\
        --phantom phantom300_s7400.npz phantom300_s7500.npz [--repeat-real 2] --out train_mix.npz

The ED and ES frames of every subject of each ``--phantom`` file (``lvquant phantom --format npz``;
:func:`lvquant.datasets.collect.phantom_pairs`, the rows ``lvquant dataset --phantom`` adds) are
appended to the rows of ``--base`` (a file of ``lvquant dataset``). Each phantom file's subjects are
named after the file (``STEM-i``), so a file whose subjects ``--base`` already holds is refused: no
heart may sit in two folds. ``--repeat-real K`` writes every real row (every source but the
phantom) K times: one epoch then shows each real slice K times, each time with its own random
augmentation, which keeps the real patients' share of the training when phantom subjects are
added. The copies keep their patient's name, so ``lvquant train`` puts them in that patient's fold
and the cross-validation stays honest. ``--out`` is what ``lvquant train --data`` reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lvquant.datasets.builder import CropSet, take_rows
from lvquant.datasets.collect import phantom_pairs
from lvquant.datasets.files import read_crops, save_crops
from lvquant.errors import InputError, LvquantError
from lvquant.io.lvquan_mat import read_lvquan


def mix(base: CropSet, phantoms: list[tuple[str, object]], repeat_real: int) -> CropSet:
    """``base`` with its real rows ``repeat_real`` times and the ED/ES pairs of each (name, dataset) appended.

    Raises:
        InputError: ``repeat_real`` below 1, or a phantom name whose subjects ``base`` already holds.
    """
    if repeat_real < 1:
        raise InputError(f"--repeat-real must be 1 or more; got {repeat_real}")
    known = {s.rsplit("-", 1)[0] for s, src in zip(base.subjects, base.sources) if src == "phantom"}
    parts = [base]
    real = np.array([src != "phantom" for src in base.sources])
    parts += [take_rows(base, real)] * (repeat_real - 1)
    for name, dataset in phantoms:
        if name in known:
            raise InputError(f"the subjects of {name} are already in the base file: no heart may be in two folds")
        parts.append(phantom_pairs(dataset, base.spec, name=name))
        known.add(name)
    return CropSet.concatenate(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="crop file of 'lvquant dataset'")
    ap.add_argument("--phantom", type=Path, nargs="*", default=[], help="labelled phantom files ('lvquant phantom --format npz')")
    ap.add_argument("--repeat-real", type=int, default=1, help="write every real row this many times (default 1)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    try:
        base = read_crops(args.base)
        mixed = mix(base, [(p.stem, read_lvquan(p)) for p in args.phantom], args.repeat_real)
        save_crops(mixed, args.out)
    except LvquantError as exc:
        print(f"mix_crops: {exc}", file=sys.stderr)
        return 2
    n_real = sum(src != "phantom" for src in mixed.sources)
    print(f"{len(base)} rows of {args.base} -> {len(mixed)} rows ({n_real} real, {len(mixed) - n_real} phantom) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
