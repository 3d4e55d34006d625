"""Mix a crop file with more phantom subjects, and optionally give a source's rows more weight.

Usage::

    python scripts/mix_crops.py --base train_rings_ph_edge.npz \\
        --phantom phantom300_s7400.npz phantom300_s7500.npz [--repeat acdc=2 sunnybrook=3] --out train_mix.npz

The ED and ES frames of every subject of each ``--phantom`` file (``lvquant phantom --format npz``;
:func:`lvquant.datasets.collect.phantom_pairs`, the rows ``lvquant dataset --phantom`` adds) are
appended to the rows of ``--base`` (a file of ``lvquant dataset``). Each phantom file's subjects are
named after the file (``STEM-i``), so a file whose subjects ``--base`` already holds is refused: no
heart may sit in two folds. ``--repeat SOURCE=K`` writes every row of that source of ``--base``
(``acdc``, ``sunnybrook``, ``phantom``) K times: one epoch then shows each of its slices K times,
each time with its own random augmentation, which keeps the real patients' share of the training
when phantom subjects are added, or weighs one source more. The copies keep their patient's name,
so ``lvquant train`` puts them in that patient's fold and the cross-validation stays honest.
``--out`` is what ``lvquant train --data`` reads.
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


def mix(base: CropSet, phantoms: list[tuple[str, object]], repeat: dict[str, int]) -> CropSet:
    """``base`` with the rows of each source of ``repeat`` written that many times, and the ED/ES pairs
    of each (name, dataset) of ``phantoms`` appended.

    Raises:
        InputError: a count below 1, a source ``base`` does not hold, or a phantom name whose
            subjects ``base`` already holds.
    """
    for source, times in repeat.items():
        if times < 1:
            raise InputError(f"--repeat {source}={times}: the count must be 1 or more")
        if source not in base.sources:
            raise InputError(f"--repeat {source}: the base file holds no {source} rows "
                             f"(it holds {', '.join(sorted(set(base.sources)))})")
    known = {s.rsplit("-", 1)[0] for s, src in zip(base.subjects, base.sources) if src == "phantom"}
    parts = [base]
    for k in range(2, max(repeat.values(), default=1) + 1):  # the k-th copy: rows of every source wanted k times or more
        parts.append(take_rows(base, np.array([repeat.get(src, 1) >= k for src in base.sources])))
    for name, dataset in phantoms:
        if name in known:
            raise InputError(f"the subjects of {name} are already in the base file: no heart may be in two folds")
        parts.append(phantom_pairs(dataset, base.spec, name=name))
        known.add(name)
    return CropSet.concatenate(parts)


def parse_repeat(items: list[str]) -> dict[str, int]:
    """``["acdc=2", "sunnybrook=3"]`` -> ``{"acdc": 2, "sunnybrook": 3}``.

    Raises:
        InputError: an item that is not SOURCE=COUNT, or a source named twice.
    """
    out: dict[str, int] = {}
    for item in items:
        source, _, count = item.partition("=")
        if not source or not count.strip().isdigit() or source in out:
            raise InputError(f"--repeat takes SOURCE=COUNT once per source, e.g. acdc=2; got {item!r}")
        out[source] = int(count)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="crop file of 'lvquant dataset'")
    ap.add_argument("--phantom", type=Path, nargs="*", default=[], help="labelled phantom files ('lvquant phantom --format npz')")
    ap.add_argument("--repeat", nargs="*", default=[], metavar="SOURCE=K",
                    help="write every row of that source K times, e.g. acdc=2 sunnybrook=3 (default: each once)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    try:
        base = read_crops(args.base)
        repeat = parse_repeat(args.repeat)
        mixed = mix(base, [(p.stem, read_lvquan(p)) for p in args.phantom], repeat)
        save_crops(mixed, args.out)
    except LvquantError as exc:
        print(f"mix_crops: {exc}", file=sys.stderr)
        return 2
    n_real = sum(src != "phantom" for src in mixed.sources)
    print(f"{len(base)} rows of {args.base} -> {len(mixed)} rows ({n_real} real, {len(mixed) - n_real} phantom) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
