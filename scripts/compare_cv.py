"""Cross-validate model folders on the real training patients of a crop file, optionally turned.

Usage::

    python scripts/compare_cv.py CROPS.npz MODELS [MODELS ...] [--rotate DEG ...] [--json]

Every real row of ``CROPS.npz`` (a crop file of ``lvquant dataset``, e.g. ``train_rings_ph_edge.npz``)
is predicted by the one network of each folder whose training folds did not hold its patient (the
folder's manifest ``training.patient_folds``, keyed ``source:patient``); a patient that folder never
kept in a fold is refused, since its networks may have trained on it. So two folders fine-tuned
from the same one (the same folds) compare on the same held-out rows even when they trained on
different files (corrected labels, more phantom subjects), where ``lvquant evaluate --cv`` needs the
very file.

``--rotate DEG`` (one or more angles) also turns every crop by DEG degrees about its centre (linear
interpolation, reflected edges) before prediction: the crop a localiser that misjudged the RV
direction by DEG would cut. Only the areas are scored there (A1 and A2 do not depend on the
direction; the dims and RWT do).

Prints, per folder and angle, the mid slice (ED + ES) figures per source: ACDC areas / dims / RWT
MAE and the relative bias of A1 and A2, Sunnybrook A1 relative MAE and bias; ``--groups`` adds the
areas per pathology group.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from lvquant.analysis.predict import Ensemble
from lvquant.datasets.files import read_crops
from lvquant.evaluate import fold_models
from lvquant.train import FLIP_PERMUTATION


def rotated(images: np.ndarray, deg: float) -> np.ndarray:
    """(F, P, P) crops turned by ``deg`` degrees about the centre (the same for every frame)."""
    if deg == 0:
        return images
    return np.stack([ndi.rotate(f, deg, reshape=False, order=1, mode="reflect") for f in images]).astype(np.float32)


def held_out_networks(folder: Path) -> tuple[dict[str, int], dict[int, Ensemble]]:
    """A folder's ``patient_folds`` and, per fold, the network that did not train on it."""
    ens = Ensemble.load(folder)
    return ens.manifest["training"].get("patient_folds") or {}, fold_models(ens)


def cv_predictions(crops, folder: Path, networks: tuple[dict[str, int], dict[int, Ensemble]], rows: np.ndarray,
                   deg: float, flip_tta: bool = False) -> np.ndarray:
    """(len(rows), F, 11) predictions in mm / mm², each row by the network that did not train on it
    (``networks`` of :func:`held_out_networks`); ``flip_tta``: the mean of the crop's and its vertical
    flip's (the flip's indices permuted back)."""
    folds, by_fold = networks
    out = []
    for r in rows:
        key = f"{crops.sources[r]}:{crops.subjects[r]}"
        if key not in folds:
            raise SystemExit(f"{folder}: patient {key} is in none of its folds (it may have trained on it)")
        net, image, pixel = by_fold[int(folds[key])], rotated(crops.images[r], deg), float(crops.pixel_mm[r])
        pred = net.predict_raw(image, pixel).mean.to_array()
        if flip_tta:
            pred = (pred + net.predict_raw(image[:, ::-1, :], pixel).mean.to_array()[:, FLIP_PERMUTATION]) / 2
        out.append(pred)
    return np.stack(out)


def figures(pred: np.ndarray, true: np.ndarray, areas_only: bool) -> dict[str, float]:
    """MAE and relative bias of (R, F, 11) predictions against the truth, over the known values."""
    def mae(cols):
        e = np.abs(pred[..., cols] - true[..., cols])
        return float(np.nanmean(e))

    def rel(col):
        t = true[..., col]
        known = np.isfinite(t) & (t > 0)
        r = (pred[..., col][known] - t[known]) / t[known]
        return float(100 * r.mean()), float(100 * np.abs(r).mean())

    out = {"areas_mm2": mae([0, 1]) if np.isfinite(true[..., 1]).any() else mae([0])}
    if not areas_only and np.isfinite(true[..., 2:]).any():
        out["dims_mm"], out["rwt_mm"] = mae([2, 3, 4]), mae(list(range(5, 11)))
    out["a1_bias_pct"], out["a1_rel_mae_pct"] = rel(0)
    if np.isfinite(true[..., 1]).any():
        out["a2_bias_pct"], out["a2_rel_mae_pct"] = rel(1)
    return {k: round(v, 3) for k, v in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("crops")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--rotate", type=float, nargs="*", default=[], metavar="DEG")
    ap.add_argument("--flip-tta", action="store_true", help="average each crop's prediction with its vertical flip's")
    ap.add_argument("--groups", action="store_true", help="also the areas per pathology group")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    crops = read_crops(args.crops)
    sources = np.asarray(crops.sources)
    mid = np.asarray(crops.mid, bool)
    result: dict[str, dict] = {}
    for folder in args.models:
        networks = held_out_networks(Path(folder))
        for deg in [0.0] + list(args.rotate):
            part = {}
            for source in ("acdc", "sunnybrook"):
                rows = np.flatnonzero(mid & (sources == source))
                if len(rows):
                    pred = cv_predictions(crops, Path(folder), networks, rows, deg, args.flip_tta)
                    part[source] = figures(pred, crops.indices[rows], areas_only=deg != 0)
                    part[source]["n_patients"] = len(rows)
                    if args.groups:
                        groups = np.asarray(crops.groups)[rows]
                        part[source]["by_group"] = {g: figures(pred[groups == g], crops.indices[rows][groups == g],
                                                               areas_only=True) for g in sorted(set(groups))}
            result[f"{folder} @ {deg:g} deg"] = part
            if not args.json:
                print(f"{folder} @ {deg:g} deg: " + "; ".join(f"{s} {v}" for s, v in part.items()), flush=True)
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
