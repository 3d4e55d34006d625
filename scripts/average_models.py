"""Average model folders fine-tuned from one ensemble, fold by fold, into a new model folder.

    python scripts/average_models.py src/lvquant/weights:0.5 models_r12:0.5 --out models_r15 --name lvquant-real-r15

Each argument is FOLDER:WEIGHT (weights positive, summing to 1). Fold k of ``--out`` is the weighted
mean of every folder's fold-k weights (:func:`lvquant.train.average_ensembles`): the folders must hold
the same network, input spec and target standardisation, and agree on the fold of every patient they
share, so that cross-validation of the average stays honest. Score it as any model folder
(``scripts/compare_cv.py``, ``lvquant evaluate``).
"""

from __future__ import annotations

import argparse
import sys

from lvquant.errors import LvquantError
from lvquant.train import average_ensembles


def folder_weight(text: str) -> tuple[str, float]:
    folder, sep, weight = text.rpartition(":")
    if not sep or not folder:
        raise argparse.ArgumentTypeError(f"{text!r} is not FOLDER:WEIGHT")
    try:
        return folder, float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the weight {weight!r} is not a number") from None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="+", type=folder_weight, metavar="FOLDER:WEIGHT")
    ap.add_argument("--out", required=True, help="the new model folder")
    ap.add_argument("--name", default="averaged", help="the ensemble's name in its manifest")
    args = ap.parse_args()
    try:
        manifest = average_ensembles([f for f, _ in args.parts], [w for _, w in args.parts], args.out, name=args.name)
    except LvquantError as exc:
        print(f"average_models: {exc}", file=sys.stderr)
        return 2
    print(f"averaged {len(args.parts)} folders, {len(manifest['models'])} folds -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
