"""Train the border network on every LV slice of the ACDC training patients (never the test part).

    python scripts/train_border_net.py --out borders_b1 [--cache masks_train.npz] [--epochs 60]
        [--all-train] [--width 16] [--threads 2] [--phantom N [--phantom-stack K] [--phantom-cache F]
        [--phantom-mix hypertrophic=3,dilated=1,...]] [--masks FILE ...] [--init borders.safetensors]

The ACDC training part of ``splits/real_v1.json`` is divided as for the localiser: every fifth
patient by name is a validation patient (the epoch kept is the best on them), unless
``--all-train``. The crops (:func:`lvquant.datasets.masks.build_mask_crops`, the shipped
ensemble's input spec) are cached in ``--cache`` (ACDC-derived: keep it outside the repository).
Prints one line per epoch; the folder gets ``borders.onnx``, ``borders.json``,
``borders.safetensors``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lvquant.analysis.predict import Ensemble
from lvquant.border_training import BorderTrainConfig, train_border_net
from lvquant.datasets.acdc import LICENCE, read_acdc_pack, read_patients_csv
from lvquant.datasets.collect import read_split
from lvquant.datasets.masks import MaskSet, build_mask_crops, read_mask_crops, read_mask_licences, save_mask_crops

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--split", type=Path, default=ROOT / "splits" / "real_v1.json")
    ap.add_argument("--acdc", type=Path, default=ROOT.parent / "shared" / "data" / "acdc")
    ap.add_argument("--cache", type=Path, default=None, help="mask crop file (built when missing)")
    ap.add_argument("--all-train", action="store_true", help="train on every training patient (no validation)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--phantom", type=int, default=0, metavar="N",
                    help="also N phantom subjects (seed --phantom-seed; their ED and ES crops and exact masks)")
    ap.add_argument("--phantom-seed", type=int, default=7000)
    ap.add_argument("--phantom-stack", type=int, default=0, metavar="K",
                    help="and K more slices of each phantom subject between its apex and base")
    ap.add_argument("--phantom-cache", type=Path, default=None, help="mask crop file of the phantom subjects "
                    "(built when missing)")
    ap.add_argument("--phantom-mix", default=None, metavar="MIX",
                    help="heart types of the phantom subjects, e.g. hypertrophic=3,dilated=1 (default: the phantom's mix)")
    ap.add_argument("--masks", type=Path, action="append", default=[], metavar="FILE",
                    help="more training rows: a mask crop file (e.g. from a run with other --phantom settings); "
                         "repeatable")
    ap.add_argument("--init", type=Path, default=None, help="borders.safetensors to start from")
    args = ap.parse_args()
    train_part = read_split(args.split, "train")["acdc"]
    spec = Ensemble.load().spec
    if args.cache is not None and args.cache.exists():
        crops = read_mask_crops(args.cache)
    else:
        table = read_patients_csv(args.acdc)
        crops = MaskSet.concatenate([build_mask_crops(read_acdc_pack(args.acdc, p, table), spec) for p in train_part])
        if args.cache is not None:
            save_mask_crops(crops, args.cache, {"acdc": LICENCE})
    val_patients = [] if args.all_train else train_part[::5]
    is_val = np.array([s in val_patients for s in crops.subjects])
    train, val = crops.take(~is_val), (crops.take(is_val) if is_val.any() else None)
    sources = {"acdc": LICENCE}
    if args.phantom:
        from lvquant.datasets.masks import phantom_mask_crops

        if args.phantom_cache is not None and args.phantom_cache.exists():
            ph = read_mask_crops(args.phantom_cache)
        else:
            from lvquant.phantom.config import PhantomConfig, parse_pathology_mix

            cfg = PhantomConfig() if args.phantom_mix is None else PhantomConfig(
                pathology_mix=parse_pathology_mix(args.phantom_mix))
            ph = phantom_mask_crops(args.phantom, args.phantom_seed, spec, stack_slices=args.phantom_stack, config=cfg)
            if args.phantom_cache is not None:
                save_mask_crops(ph, args.phantom_cache, {"phantom": "lvquant synthetic phantom"})
        n_subjects = len({name.split("@")[0] for name in ph.subjects})
        if n_subjects != args.phantom:
            print(f"{args.phantom_cache} holds {n_subjects} phantom subjects, not {args.phantom}", file=sys.stderr)
            return 2
        train = MaskSet.concatenate([train, ph])
        stack = f", each with {args.phantom_stack} more slices between apex and base" if args.phantom_stack else ""
        mix = f", heart types {args.phantom_mix}" if args.phantom_mix else ""
        sources["phantom"] = (f"lvquant's synthetic phantom, {args.phantom} subjects of seed {args.phantom_seed}{stack}{mix} "
                              "(no licence restriction)")
    for path in args.masks:
        more = read_mask_crops(path)
        if more.spec != spec:
            print(f"{path} was cut with another input spec than the shipped ensemble's", file=sys.stderr)
            return 2
        if set(more.subjects) & set(train.subjects):
            print(f"{path} repeats rows already in the training set", file=sys.stderr)
            return 2
        train = MaskSet.concatenate([train, more])
        sources[f"masks:{path.name}"] = (f"{len(more)} slices of {len({n.split('@')[0] for n in more.subjects})} "
                                         f"subjects: {read_mask_licences(path)}")
    n_phantom = sum(s.startswith("phantom:") for s in train.subjects)
    cfg = BorderTrainConfig(epochs=args.epochs, width=args.width, lr=args.lr, threads=args.threads)
    provenance = {
        "data": {"sources": sources, "split": {"file": args.split.name, "part": "train",
                                                          "validation_patients": val_patients},
                 "patients": sorted(s for s in set(train.subjects) if not s.startswith("phantom:")),
                 "slices": "every slice with an LV label, ED and ES" + (
                     f"; and the ED and ES crops of {n_phantom} phantom slices" if n_phantom else "")},
    }

    def progress(epoch: int, loss: float, scores) -> None:
        extra = "" if scores is None else f"  val Dice cavity {scores['cavity']:.4f} myocardium {scores['myocardium']:.4f}"
        print(f"epoch {epoch:3d}  loss {loss:.4f}{extra}", flush=True)

    m = train_border_net(train, args.out, cfg=cfg, provenance=provenance, val=val, progress=progress, init=args.init)
    print(f"kept epoch {m['training']['kept_epoch']}, validation Dice {m['training']['validation_dice']}, "
          f"{m['training']['seconds']} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
