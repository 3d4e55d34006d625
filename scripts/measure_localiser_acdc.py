"""The localiser on real full field-of-view ACDC stacks: centre error (mm) and RV direction error (degrees).

For each patient of one part of the split (default: the training patients; the test part only
for the final measurement), the whole stack at ED and ES (2 frames: ACDC keeps no other) goes
through :func:`lvquant.analysis.localise.locate_lv_in_stack`, as ``lvquant analyze`` does. The
truth on the labelled mid-ventricular slice (:func:`lvquant.datasets.mid_ring_slice`):

* centre: the centroid of cavity + myocardium at ED, compared with the localiser's centre on
  that slice (or, when it found no LV there, counted as a miss);
* RV direction: from that centre to the RV label's centroid, compared with the localiser's
  ``rv_angle_deg``.

    python scripts/measure_localiser_acdc.py [--part train] [--acdc ../shared/data/acdc] [--json]
        [--localiser path/to/localiser.json]   # a learned localiser instead of the hand-made one
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from lvquant.analysis.localise import locate_lv_in_stack
from lvquant.analysis.localise_learned import LearnedLocaliser
from lvquant.datasets import mid_ring_slice
from lvquant.datasets.acdc import read_acdc_pack, read_patients_csv
from lvquant.datasets.collect import read_split
from lvquant.errors import LocalisationError

ROOT = Path(__file__).resolve().parents[1]


def measure(stack, localiser: LearnedLocaliser | None = None) -> dict:
    """One patient's errors; ``localiser`` None: the hand-made localiser."""
    k = mid_ring_slice(stack)
    epi = stack.cavity[0, k] | stack.myocardium[0, k]
    rr, cc = np.nonzero(epi)
    centre = np.array([rr.mean(), cc.mean()])
    ry, rx = np.nonzero(stack.rv[0, k])
    sp = np.asarray(stack.spacing_mm)
    d = (np.array([ry.mean(), rx.mean()]) - centre) * sp
    rv_true = float(np.degrees(np.arctan2(d[1], -d[0])) % 360)
    frames = np.transpose(stack.images, (1, 0, 2, 3))  # (S, T=2, H, W)
    try:
        if localiser is None:
            chosen, locs = locate_lv_in_stack(frames, stack.spacing_mm)
        else:
            chosen, locs = localiser.locate_stack(frames, stack.spacing_mm)
    except LocalisationError as exc:
        return {"patient": stack.subject, "group": stack.group, "found": False, "reason": str(exc)}
    loc = locs[k]
    if loc is None:
        return {"patient": stack.subject, "group": stack.group, "found": False, "mid_slice": k, "chosen": chosen}
    err_mm = float(np.hypot(*((np.asarray(loc.centre_px) - centre) * sp)))
    rv_err = float(abs((loc.rv_angle_deg - rv_true + 180) % 360 - 180))
    return {"patient": stack.subject, "group": stack.group, "found": True, "mid_slice": k, "chosen": chosen,
            "centre_error_mm": err_mm, "rv_error_deg": rv_err}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="train", choices=("train", "test"))
    ap.add_argument("--split", type=Path, default=ROOT / "splits" / "real_v1.json")
    ap.add_argument("--acdc", type=Path, default=ROOT.parent / "shared" / "data" / "acdc")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--localiser", type=Path, default=None,
                    help="a learned localiser's localiser.json (default: the hand-made localiser)")
    args = ap.parse_args()
    table = read_patients_csv(args.acdc)
    loc = LearnedLocaliser.load(args.localiser) if args.localiser is not None else None
    rows = [measure(read_acdc_pack(args.acdc, p, table), loc) for p in read_split(args.split, args.part)["acdc"]]
    found = [r for r in rows if r["found"]]
    c = np.array([r["centre_error_mm"] for r in found])
    a = np.array([r["rv_error_deg"] for r in found])
    n = len(rows)
    summary = {
        "part": args.part, "patients": n, "found_on_mid_slice": len(found),
        "centre_within_5mm": int((c <= 5).sum()), "rv_within_30deg": int((a <= 30).sum()),
        "centre_error_mm_median": float(np.median(c)) if len(c) else None,
        "rv_error_deg_median": float(np.median(a)) if len(a) else None,
    }
    if args.json:
        print(json.dumps({"summary": summary, "patients": rows}, indent=1))
    else:
        for r in rows:
            print(r)
        print(f"{args.part}: {n} patients; LV found on the mid slice in {len(found)}; centre within 5 mm in "
              f"{summary['centre_within_5mm']} ({100 * summary['centre_within_5mm'] / n:.0f} %), RV within 30 deg in "
              f"{summary['rv_within_30deg']} ({100 * summary['rv_within_30deg'] / n:.0f} %); median errors "
              f"{summary['centre_error_mm_median']:.1f} mm, {summary['rv_error_deg_median']:.0f} deg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
