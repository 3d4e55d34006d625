"""The whole heart on real ACDC stacks: EDV, ESV, EF and LV mass against the experts' labels.

For each patient of one part of the split (default: the training patients, each measured by the
one network whose training folds did not hold it, ``--cv``; the test part only for the final
measurement, with the whole ensemble), the stack at ED and ES (ACDC keeps no other frames) goes
through the analysis's own whole-heart stages: the learned localiser on the stack, the LV slices
(:func:`lvquant.analysis.whole_heart.lv_slices`), every LV slice cropped by the spec's rule and
measured, the disc summation with the patient's slice spacing (``patients.csv``), ED and ES
given. The truth is the same disc summation of the labels: cavity (label 3) and myocardium
(label 2) pixels × pixel area × slice spacing; mass = myocardial volume at ED × 1.05 g/mL.

    python scripts/measure_volumes_acdc.py [--part train|test] [--cv] [--models DIR]
        [--acdc ../shared/data/acdc] [--json]

Prints one row per patient and the summary: EF mean absolute error (points), EDV / ESV / mass
mean relative error and signed bias, and how the LV slices found compare with the labelled ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from lvquant.analysis.localise import mid_ventricular_slice
from lvquant.analysis.localise_learned import LearnedLocaliser
from lvquant.analysis.predict import Ensemble
from lvquant.analysis.borders import BorderModel
from lvquant.analysis.whole_heart import MYOCARDIUM_DENSITY_G_PER_ML, check_enough_slices, combine, lv_slices, \
    drop_unmeasurable_ends, measure_slices
from lvquant.datasets.masks import crop_label_maps
from lvquant.datasets.acdc import read_acdc_pack, read_patients_csv
from lvquant.datasets.collect import read_split
from lvquant.errors import LocalisationError

ROOT = Path(__file__).resolve().parents[1]


def truth(stack, slice_mm: float) -> dict:
    """Label volumes by disc summation."""
    px = float(np.prod(stack.spacing_mm))
    cav = stack.cavity.reshape(2, stack.cavity.shape[1], -1).sum(-1) * px  # (2, S) mm²
    myo = stack.myocardium.reshape(2, stack.myocardium.shape[1], -1).sum(-1) * px
    edv, esv = cav[0].sum() * slice_mm / 1000, cav[1].sum() * slice_mm / 1000
    return {"edv_ml": float(edv), "esv_ml": float(esv), "ef_percent": float(100 * (edv - esv) / edv),
            "lv_mass_g": float(myo[0].sum() * slice_mm / 1000 * MYOCARDIUM_DENSITY_G_PER_ML),
            "lv_slices_ed": [int(s) for s in np.flatnonzero(cav[0] > 0)]}


def truth_maps(stack, m, spec) -> np.ndarray:
    """(2, P, P) the labels of slice ``m.index`` at ED and ES, cut by the analysis's crop of it."""
    c = m.crop
    return crop_label_maps(stack.cavity[:, m.index], stack.myocardium[:, m.index], c["centre_px"],
                           stack.spacing_mm, c["side_mm"], c["rv_angle_deg"], spec)


def dice(pred: np.ndarray, truth: np.ndarray, cls) -> float:
    p, t = np.isin(pred, cls), np.isin(truth, cls)
    total = p.sum() + t.sum()
    return float(2 * (p & t).sum() / total) if total else float("nan")


def measure(stack, slice_mm: float, localiser: LearnedLocaliser, ensemble: Ensemble,
            borders: BorderModel | None = None) -> dict:
    frames = np.transpose(stack.images, (1, 0, 2, 3))  # (S, 2, H, W)
    positions = np.arange(frames.shape[0]) * slice_mm
    row = {"patient": stack.subject, "group": stack.group, "truth": truth(stack, slice_mm)}
    try:
        _, locs = localiser.locate_stack(frames, stack.spacing_mm)
        check_enough_slices(locs)
    except LocalisationError as exc:
        row["error"] = str(exc)
        return row
    slices, excluded, located = lv_slices(locs)
    mid = mid_ventricular_slice(locs)  # as the analysis: the analysed slice keeps its own RV estimate
    if mid in slices:
        located[slices.index(mid)] = locs[mid]
    measured = measure_slices(frames, stack.spacing_mm, positions, slices, located, ensemble)
    try:  # as the analysis: slices at the ends whose prediction is no measurement are left out
        measured, excluded = drop_unmeasurable_ends(measured, excluded)
    except LocalisationError as exc:
        row["error"] = str(exc)
        return row
    heart = combine(measured, excluded, positions, ed=0, es=1, borders=borders)
    keys = ("edv_ml", "esv_ml", "ef_percent", "lv_mass_g")
    row["pred"] = {k: heart.function.get("regressed", heart.function)[k] for k in keys}
    row["pred"]["lv_slices"] = slices
    if borders is not None:
        row["masks"] = {k: heart.function[k] for k in keys}
        row["masks"]["lv_slices"] = slices
        hy = heart.function["regressed_where_masks_hold_lv"]
        row["hybrid"] = {k: hy[k] for k in ("edv_ml", "esv_ml", "ef_percent", "lv_mass_g")}
        row["hybrid"]["lv_slices"] = slices
        pred = np.stack([m.labels for m in heart.slices], axis=1)  # (2, S, P, P)
        true = np.stack([truth_maps(stack, m, ensemble.spec) for m in heart.slices], axis=1)
        row["dice"] = {f"{what}_{ph}": dice(pred[f], true[f], cls) for f, ph in ((0, "ed"), (1, "es"))
                       for what, cls in (("cavity", [1]), ("myocardium", [2]))}
    return row


def summary(rows: list[dict], which: str = "pred") -> dict:
    ok = [dict(r, pred=r[which]) for r in rows if which in r]
    out = {"patients": len(rows), "measured": len(ok)}
    if not ok:
        return out
    t = {k: np.array([r["truth"][k] for r in ok]) for k in ("edv_ml", "esv_ml", "ef_percent", "lv_mass_g")}
    p = {k: np.array([r["pred"][k] for r in ok]) for k in t}
    out["ef_mae_points"] = float(np.abs(p["ef_percent"] - t["ef_percent"]).mean())
    out["ef_bias_points"] = float((p["ef_percent"] - t["ef_percent"]).mean())
    for k in ("edv_ml", "esv_ml", "lv_mass_g"):
        rel = (p[k] - t[k]) / t[k]
        out[f"{k}_mean_rel_error_percent"] = float(100 * np.abs(rel).mean())
        out[f"{k}_bias_percent"] = float(100 * rel.mean())
        out[f"{k}_mae"] = float(np.abs(p[k] - t[k]).mean())
    extra = [len(set(r["pred"]["lv_slices"]) - set(r["truth"]["lv_slices_ed"])) for r in ok]
    missed = [len(set(r["truth"]["lv_slices_ed"]) - set(r["pred"]["lv_slices"])) for r in ok]
    out["slices_found_not_labelled"] = int(sum(extra))
    out["slices_labelled_not_found"] = int(sum(missed))
    if which == "masks":
        for key in ok[0]["dice"]:
            out[f"dice_{key}"] = float(np.mean([r["dice"][key] for r in ok]))
    groups = sorted({r["group"] for r in ok})
    out["by_group"] = {}
    for g in groups:
        sel = [i for i, r in enumerate(ok) if r["group"] == g]
        out["by_group"][g] = {
            "ef_mae_points": float(np.abs(p["ef_percent"][sel] - t["ef_percent"][sel]).mean()),
            "edv_rel_percent": float(100 * np.abs((p["edv_ml"][sel] - t["edv_ml"][sel]) / t["edv_ml"][sel]).mean()),
            "esv_rel_percent": float(100 * np.abs((p["esv_ml"][sel] - t["esv_ml"][sel]) / t["esv_ml"][sel]).mean()),
            "mass_rel_percent": float(100 * np.abs((p["lv_mass_g"][sel] - t["lv_mass_g"][sel])
                                                   / t["lv_mass_g"][sel]).mean()),
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="train", choices=("train", "test"))
    ap.add_argument("--split", type=Path, default=ROOT / "splits" / "real_v1.json")
    ap.add_argument("--acdc", type=Path, default=ROOT.parent / "shared" / "data" / "acdc")
    ap.add_argument("--models", type=Path, default=None, help="model folder (default: the shipped ensemble)")
    ap.add_argument("--localiser", type=Path, default=None, help="localiser.json (default: the shipped one)")
    ap.add_argument("--cv", action="store_true",
                    help="each patient measured by the network whose training folds did not hold it")
    ap.add_argument("--borders", type=Path, default=None,
                    help="borders.json of a border network: also the figures from its masks, and their Dice")
    ap.add_argument("--every-fifth", action="store_true",
                    help="only every fifth patient by name (the localiser's and border network's validation patients)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    patients = read_split(args.split, args.part)["acdc"]
    if args.every_fifth:
        patients = patients[::5]
    borders = BorderModel.load(args.borders) if args.borders else None
    table = read_patients_csv(args.acdc)
    ens = Ensemble.load(args.models)
    loc = LearnedLocaliser.load(args.localiser)
    folds = ens.manifest["training"].get("patient_folds", {}) if args.cv else {}
    by_fold = {int(m["fold"]): ens.subset([i]) for i, m in enumerate(ens.manifest["models"])}
    rows = []
    for p in patients:
        stack = read_acdc_pack(args.acdc, p, table)
        model = ens
        if args.cv:
            key = f"acdc:{p}"
            if key not in folds:
                print(f"{p}: not among the ensemble's training patients; --cv needs them", file=sys.stderr)
                return 2
            model = by_fold[int(folds[key])]
        row = measure(stack, float(table[p]["slice_spacing_mm"]), loc, model, borders)
        rows.append(row)
        if not args.json:
            if "pred" in row:
                t, q = row["truth"], row["pred"]
                print(f"{p} {row['group']:4s} EF {q['ef_percent']:5.1f} ({t['ef_percent']:5.1f})  "
                      f"EDV {q['edv_ml']:6.1f} ({t['edv_ml']:6.1f})  ESV {q['esv_ml']:6.1f} ({t['esv_ml']:6.1f})  "
                      f"mass {q['lv_mass_g']:6.1f} ({t['lv_mass_g']:6.1f})  slices {q['lv_slices'][0]}-"
                      f"{q['lv_slices'][-1]} ({t['lv_slices_ed'][0]}-{t['lv_slices_ed'][-1]})", flush=True)
            else:
                print(f"{p}: {row['error']}", flush=True)
    s = {"regressed": summary(rows)}
    if borders is not None:
        s["masks"] = summary(rows, "masks")
        s["regressed_where_masks_hold_lv"] = summary(rows, "hybrid")
    print(json.dumps({"summary": s, "patients": rows} if args.json else s, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
