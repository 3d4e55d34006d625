"""Phantom mask crops for the border network: ED and ES crops and exact label maps of phantom subjects.

    python scripts/build_phantom_masks.py --subjects 100 --seed 7200 --stack 3 \\
        --mix hypertrophic=3,dilated=1,infarct=1,healthy=1 --out masks_phantom100s3_hyp_s7200.npz

Each subject gives its mid slice and ``--stack`` more slices between apex and base
(:func:`lvquant.datasets.masks.phantom_mask_crops`), cut with the shipped ensemble's input spec.
``--mix`` weights the heart types (``lvquant.phantom.config.parse_pathology_mix``): the phantom is
where the rare shapes come from. The file goes to ``scripts/train_border_net.py --masks``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lvquant.analysis.predict import Ensemble
from lvquant.datasets.masks import phantom_mask_crops, save_mask_crops
from lvquant.errors import InputError
from lvquant.phantom.config import PhantomConfig, parse_pathology_mix


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--stack", type=int, default=0, help="slices between apex and base per subject (besides the mid)")
    ap.add_argument("--mix", default=None, help="heart types, e.g. hypertrophic=3,dilated=1 (default: the phantom's)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    try:
        cfg = PhantomConfig() if args.mix is None else PhantomConfig(pathology_mix=parse_pathology_mix(args.mix))
        crops = phantom_mask_crops(args.subjects, args.seed, Ensemble.load().spec, stack_slices=args.stack, config=cfg)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mix = f", heart types {args.mix}" if args.mix else ""
    save_mask_crops(crops, args.out, {"phantom": f"lvquant's synthetic phantom, {args.subjects} subjects of seed "
                                                 f"{args.seed}, {args.stack} stack slices each{mix} (no licence restriction)"})
    print(f"wrote {len(crops)} slices of {args.subjects} phantom subjects to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
