"""The whole heart on the two Sunnybrook DICOM cines against their manual contours.

    python scripts/check_sunnybrook_volumes.py [--sunnybrook ../shared/data/sunnybrook] [--models DIR]

For each patient: ``lvquant analyze --whole-heart`` (shipped networks, localiser and border
network) and the manual endocardial contours (``lvquant measure --sunnybrook``). On the slices
contoured at both ED and ES, the summed cavity volumes (disc summation with the cine's slice
spacing) at the contours' ED and ES frames, from the regressed areas and from the border
network's masks at the analysis's own ED/ES, against the contours'; EF from those partial
volumes. Sunnybrook contours exist on a subset of slices only, so these are partial volumes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lvquant.analysis.borders import load_borders
from lvquant.analysis.extract import resample_cycle
from lvquant.analysis.pipeline import analyze_cine
from lvquant.analysis.predict import Ensemble
from lvquant.io import read_cine
from lvquant.measure_cmd import measure_sunnybrook

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = (("SCD0000101", "SC-HF-I-1"), ("SCD0000201", "SC-HF-I-2"))  # DICOM folder, contour folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sunnybrook", type=Path, default=ROOT.parent / "shared" / "data" / "sunnybrook")
    ap.add_argument("--models", default=None)
    args = ap.parse_args()
    ens = Ensemble.load(args.models)
    borders = load_borders()
    print("| patient | slices both contoured | ED / ES frames manual (analysis) | EDV manual | EDV masks | EDV regressed "
          "| ESV manual | ESV masks | ESV regressed | EF manual | EF masks | EF regressed | whole stack: EDV / ESV / EF / "
          "mass (masks) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, contours in PATIENTS:
        folder = args.sunnybrook / "dicoms" / name
        cine = read_cine(folder)
        a = analyze_cine(cine, ensemble=ens, whole_heart=True, borders=borders)
        h = a.whole_heart
        rows, _ = measure_sunnybrook(args.sunnybrook / "contourfiles" / contours, folder)
        by_slice: dict[int, dict[str, dict]] = {}
        for r in rows:
            if r.get("point") in ("ED", "ES"):
                by_slice.setdefault(int(r["slice"]), {})[r["point"]] = r
        both = sorted(s for s, v in by_slice.items() if set(v) == {"ED", "ES"} and s in h.lv_slices)
        gap = h.slice_spacing_mm
        measured = {m.index: m for m in h.slices}
        man, reg, msk = {"ED": 0.0, "ES": 0.0}, {"ED": 0.0, "ES": 0.0}, {"ED": 0.0, "ES": 0.0}
        for s in both:
            m = measured[s]
            cycle = resample_cycle(cine.frames[s], cine.frame_times_ms[s], ens.spec.frames_per_cycle)
            a1 = cycle.values(m.indices.cavity_area_mm2[:, None])[:, 0]
            for point in ("ED", "ES"):
                r = by_slice[s][point]
                man[point] += r["cavity_area_mm2"] * gap / 1000
                reg[point] += a1[int(r["frame"])] * gap / 1000
            if m.mask_indices is not None:
                msk["ED"] += np.nan_to_num(m.mask_indices.cavity_area_mm2[0]) * gap / 1000
                msk["ES"] += np.nan_to_num(m.mask_indices.cavity_area_mm2[1]) * gap / 1000
        ef = lambda d: 100 * (d["ED"] - d["ES"]) / d["ED"]  # noqa: E731
        rel = lambda d, p: f"{d[p]:.1f} ({100 * (d[p] / man[p] - 1):+.1f} %)"  # noqa: E731
        f = h.function
        frames = {p: sorted({int(by_slice[s][p]["frame"]) for s in both}) for p in ("ED", "ES")}
        print(f"| {name} | {len(both)} ({both[0]}-{both[-1]}) | {frames['ED']} / {frames['ES']} ({h.ed_frame} / "
              f"{h.es_frame}) | {man['ED']:.1f} | {rel(msk, 'ED')} | {rel(reg, 'ED')} | {man['ES']:.1f} | "
              f"{rel(msk, 'ES')} | {rel(reg, 'ES')} | {ef(man):.1f} | {ef(msk):.1f} | {ef(reg):.1f} | "
              f"{f['edv_ml']:.0f} / {f['esv_ml']:.0f} / {f['ef_percent']:.0f} % / {f['lv_mass_g']:.0f} g "
              f"({len(h.lv_slices)} slices) |")


if __name__ == "__main__":
    main()
