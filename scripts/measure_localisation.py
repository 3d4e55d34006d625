"""Measure lvquant.analysis.localise on full field-of-view phantom series and on the Sunnybrook patients.

Usage::

    python scripts/measure_localisation.py [--seed 777] [--subjects 20] [--sunnybrook /work/shared/data/sunnybrook]

Phantom: ``render_series(i, seed)`` for i in 0..subjects-1; the mid slice is the
one at z = 0 (``pixels`` are in ``z_mm`` order, apex to base; ``truth["mid_slice"]``
counts in ascending slice-location order instead). Truth: ``lv_centre_px``
(ED cavity centroid), ``rv_angle_deg``, the largest ``cavity_area_mm2`` over the
frames (cavity radius = sqrt(area / pi)) and the ED cavity + myocardium area
(epicardial radius). Sunnybrook: cine read with lvquant.io, truth = centroid of
the manual ED endocardial contour of the mid slice, the RV direction judged by
eye (scripts/make_phantom_figure.py), the mid-slice index known from the
contoured range. Prints one line per case and a summary; writes nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lvquant.errors import LocalisationError
from lvquant.analysis.localise import locate_lv, locate_lv_in_stack

# (patient folder, contour folder, mid slice in lvquant's order, ED frame, RV direction by eye)
SUNNYBROOK = [
    ("SCD0000101", "SC-HF-I-1", 5, 18, 200.0),
    ("SCD0000201", "SC-HF-I-2", 6, 19, 285.0),
]


def angle_diff(a: float, b: float) -> float:
    """Signed difference a - b in degrees, in [-180, 180)."""
    return (a - b + 180.0) % 360.0 - 180.0


def phantom(seed: int, n: int) -> None:
    from lvquant.phantom import render_series

    rows = []
    for i in range(n):
        s = render_series(i, seed)
        k = int(np.flatnonzero(s.z_mm == 0)[0])
        tr = s.truth
        frames = tr["frames"]
        sp = s.spacing_mm
        r_true = float(np.sqrt(max(f["cavity_area_mm2"] for f in frames) / np.pi))
        ed = frames[tr["ed_frame"]]
        epi_true = float(np.sqrt((ed["cavity_area_mm2"] + ed["myocardium_area_mm2"]) / np.pi))
        t0 = time.perf_counter()
        try:
            loc = locate_lv(s.pixels[k], (sp, sp))
        except LocalisationError as exc:
            print(f"phantom {seed}/{i:3d}: NOT FOUND ({exc})")
            rows.append(None)
            continue
        dt = time.perf_counter() - t0
        cy, cx = tr["lv_centre_px"]
        err = float(np.hypot(loc.centre_px[0] - cy, loc.centre_px[1] - cx) * sp)
        r = loc.cavity_radius_px * sp
        epi = loc.epi_radius_px * sp
        d_rv = angle_diff(loc.rv_angle_deg, tr["rv_angle_deg"])
        t1 = time.perf_counter()
        mid, locs = locate_lv_in_stack(s.pixels, (sp, sp))
        dt_stack = time.perf_counter() - t1
        rows.append((err, r_true, r / r_true - 1, epi / epi_true - 1, d_rv, dt, mid - k, dt_stack, loc.score))
        print(f"phantom {seed}/{i:3d} {tr['pathology']:12s} centre err {err:5.1f} mm ({err / r_true:4.2f} r)  "
              f"radius {r:5.1f}/{r_true:5.1f} mm ({r / r_true - 1:+5.0%})  epi {epi:5.1f}/{epi_true:5.1f} mm "
              f"({epi / epi_true - 1:+5.0%})  RV {loc.rv_angle_deg:5.0f}/{tr['rv_angle_deg']:5.0f} ({d_rv:+4.0f})  "
              f"score {loc.score:.2f}  {dt:.2f} s  stack: mid {mid} vs {k} ({len(locs)} slices, {dt_stack:.1f} s)")
    ok = [r for r in rows if r is not None]
    a = np.array(ok)
    print(f"\nphantom seed {seed}, {n} subjects: found {len(ok)}/{n}")
    if ok:
        print(f"  centre within 0.5 x cavity radius: {(a[:, 0] <= 0.5 * a[:, 1]).sum()}/{n};"
              f" within 5 mm: {(a[:, 0] <= 5).sum()}/{n}; median {np.median(a[:, 0]):.1f} mm, max {a[:, 0].max():.1f} mm")
        print(f"  cavity radius within 25 %: {(np.abs(a[:, 2]) <= 0.25).sum()}/{n}; median {np.median(a[:, 2]):+.1%}")
        print(f"  epicardial radius within 25 %: {(np.abs(a[:, 3]) <= 0.25).sum()}/{n}; median {np.median(a[:, 3]):+.1%}")
        print(f"  RV within 30 deg: {(np.abs(a[:, 4]) <= 30).sum()}/{n}; median |error| {np.median(np.abs(a[:, 4])):.0f} deg,"
              f" max {np.abs(a[:, 4]).max():.0f} deg")
        print(f"  stack mid slice within +-1 of the z=0 slice: {(np.abs(a[:, 6]) <= 1).sum()}/{n}")
        print(f"  time per slice: median {np.median(a[:, 5]):.3f} s, max {a[:, 5].max():.3f} s")


def sunnybrook(root: Path) -> None:
    from lvquant.geometry import polygon_centroid
    from lvquant.io import read_dicom, read_sunnybrook_contours, sunnybrook_index_map

    for pid, oid, mid_true, ed, rv_eye in SUNNYBROOK:
        cine = read_dicom(root / "dicoms" / pid)
        index = sunnybrook_index_map(cine)
        endo = {index[r.dicom_number]: r.polygon[:, ::-1] for r in read_sunnybrook_contours(root / "contourfiles" / oid)
                if r.kind == "endo"}
        sp = cine.spacing_mm
        truth = polygon_centroid(endo[(mid_true, ed)])
        t0 = time.perf_counter()
        loc = locate_lv(cine.frames[mid_true], sp)
        dt = time.perf_counter() - t0
        err = float(np.hypot((loc.centre_px[0] - truth[0]) * sp[0], (loc.centre_px[1] - truth[1]) * sp[1]))
        t1 = time.perf_counter()
        mid, locs = locate_lv_in_stack(cine.frames, sp)
        dt_stack = time.perf_counter() - t1
        found = [s for s, x in enumerate(locs) if x is not None]
        print(f"{pid}: slice {mid_true}: centre err {err:.1f} mm, cavity radius {loc.cavity_radius_px * np.sqrt(sp[0] * sp[1]):.1f} mm,"
              f" RV {loc.rv_angle_deg:.0f} deg (by eye {rv_eye:.0f}, {angle_diff(loc.rv_angle_deg, rv_eye):+.0f}),"
              f" score {loc.score:.2f}, {cine.frames.shape[1]}x{cine.frames.shape[2]}x{cine.frames.shape[3]} in {dt:.3f} s")
        print(f"    stack: mid slice {mid} (known {mid_true}), LV found in slices {found}, {dt_stack:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--subjects", type=int, default=20)
    ap.add_argument("--sunnybrook", type=Path, default=Path("/work/shared/data/sunnybrook"))
    args = ap.parse_args()
    if args.sunnybrook.is_dir():
        sunnybrook(args.sunnybrook)
    if args.subjects > 0:
        phantom(args.seed, args.subjects)


if __name__ == "__main__":
    main()
