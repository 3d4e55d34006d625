"""End-to-end check of ``lvquant analyze`` on full field-of-view DICOM phantoms with known truth.

Usage::

    lvquant phantom --subjects 24 --seed 3000 --format dicom --out /tmp/dicom24_s3000
    python scripts/eval_analyze_phantoms.py /tmp/dicom24_s3000 [--models DIR] [--json out.json]

For every subject folder (``subject_0000``, ``subject_0001``, ...): runs the whole analysis (slice chosen
automatically, LV found, RV direction estimated), then compares with its
truth.json: whether the LV was found, the chosen slice, the LV centre and RV
direction errors, ED/ES within +-1 frame, and the indices' mean absolute errors
(areas mm², dims mm, RWT mm) and phase error over all frames, against the mid
slice's truth and (``analysed_slice_*``, when truth.json has ``slices``)
against the truth of the slice the analysis chose.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from lvquant.errors import LvquantError
from lvquant.io import read_cine
from lvquant.analysis.pipeline import analyze_cine
from lvquant.analysis.predict import Ensemble


def _circ(d: float, n: int) -> int:
    d = abs(d) % n
    return int(min(d, n - d))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--models", default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--given-slice", action="store_true",
                    help="analyse the truth's mid-ventricular slice (as --slice would) instead of choosing it")
    args = ap.parse_args()
    ens = Ensemble.load(args.models)
    rows = []
    for sub in sorted(p for p in args.folder.iterdir() if p.is_dir()):
        truth = json.loads((sub / "truth.json").read_text())
        cine = read_cine(sub)
        row = {"subject": sub.name, "pathology": truth["pathology"]}
        mid_loc = truth["slice_locations_mm"][truth["mid_slice"]]
        given = int(np.argmin(np.abs(cine.slice_positions_mm - mid_loc))) if args.given_slice else None
        try:
            a = analyze_cine(cine, ensemble=ens, slice_index=given)
        except LvquantError as exc:
            row.update(found=False, error=str(exc))
            rows.append(row)
            print(sub.name, "NOT FOUND:", exc, flush=True)
            continue
        n = a.n_frames
        tf = truth["frames"]
        true = np.array([[f["cavity_area_mm2"], f["myocardium_area_mm2"], *f["dims_mm"], *f["rwt_mm"]] for f in tf])
        pred = a.indices.to_array()
        err = np.abs(pred - true)
        sp = truth["pixel_spacing_mm"][0]
        r, c = a.crop["centre_px"]
        tr, tc = truth["lv_centre_px"]
        row.update(
            found=True,
            slice_ok=bool(abs(float(cine.slice_positions_mm[a.slice["index"]]) - mid_loc) < 1e-3),
            centre_error_mm=float(np.hypot(r - tr, c - tc) * sp),
            rv_error_deg=float(abs((a.crop["rv_angle_deg"] - truth["rv_angle_deg"] + 180) % 360 - 180)),
            ed_error=_circ(a.ed_frame - truth["ed_frame"], n), es_error=_circ(a.es_frame - truth["es_frame"], n),
            areas_mae_mm2=float(err[:, :2].mean()), dims_mae_mm=float(err[:, 2:5].mean()),
            rwt_mae_mm=float(err[:, 5:].mean()),
            phase_error=float(np.mean(a.phase != np.array([f["phase"] for f in tf]))),
        )
        if "slices" in truth:  # truth of the slice actually analysed (phantoms written since per-slice truth)
            here = float(cine.slice_positions_mm[a.slice["index"]])
            st = min(truth["slices"], key=lambda sl: abs(sl["location_mm"] - here))
            true_here = np.array([[f["cavity_area_mm2"], f["myocardium_area_mm2"], *f["dims_mm"], *f["rwt_mm"]]
                                  for f in st["frames"]])
            err_here = np.abs(pred - true_here)
            row.update(slice_z_mm=st["z_mm"], here_areas_mae_mm2=float(err_here[:, :2].mean()),
                       here_dims_mae_mm=float(err_here[:, 2:5].mean()), here_rwt_mae_mm=float(err_here[:, 5:].mean()))
        rows.append(row)
        print(json.dumps(row), flush=True)
    ok = [r for r in rows if r["found"]]
    summary = {
        "n_subjects": len(rows),
        "lv_found": len(ok),
        "mid_slice_chosen": sum(r["slice_ok"] for r in ok),
        "ed_es_within_1": sum(r["ed_error"] <= 1 and r["es_error"] <= 1 for r in ok),
        "median_centre_error_mm": float(np.median([r["centre_error_mm"] for r in ok])) if ok else None,
        "rv_within_30deg": sum(r["rv_error_deg"] <= 30 for r in ok),
        "areas_mae_mm2": float(np.mean([r["areas_mae_mm2"] for r in ok])) if ok else None,
        "dims_mae_mm": float(np.mean([r["dims_mae_mm"] for r in ok])) if ok else None,
        "rwt_mae_mm": float(np.mean([r["rwt_mae_mm"] for r in ok])) if ok else None,
        "phase_error": float(np.mean([r["phase_error"] for r in ok])) if ok else None,
    }
    here = [r for r in ok if "here_areas_mae_mm2" in r]
    if here:  # against the truth of the slice analysed, whichever it is
        for key in ("areas_mae_mm2", "dims_mae_mm", "rwt_mae_mm"):
            summary[f"analysed_slice_{key}"] = float(np.mean([r[f"here_{key}"] for r in here]))
    print("summary", json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "subjects": rows}, indent=1))


if __name__ == "__main__":
    main()
