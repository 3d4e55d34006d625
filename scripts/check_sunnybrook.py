"""The real-image check: ``lvquant analyze`` on the two Sunnybrook patients against their manual contours.

Usage::

    python scripts/check_sunnybrook.py [--sunnybrook ../shared/data/sunnybrook] [--models DIR]
        [--localiser learned|classic]

For each patient: the analysis with the slice chosen automatically and with
the known mid-ventricular slice (``--slice``), then the manual contours of the
analysed slice at its contoured ED and ES frames measured with
``lvquant.geometry`` (``lvquant measure --sunnybrook``): cavity area at ED and
ES, myocardium area and mean wall thickness at ED (epicardial contours exist at
ED only), and the ED/ES frames. The data are read in place, never copied.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lvquant.io import read_cine
from lvquant.measure_cmd import measure_sunnybrook
from lvquant.analysis.pipeline import analyze_cine
from lvquant.analysis.predict import Ensemble
from lvquant.analysis.localise_learned import LOCALISERS, load_localiser

PATIENTS = [("SCD0000101", "SC-HF-I-1", 5), ("SCD0000201", "SC-HF-I-2", 6)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sunnybrook", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "sunnybrook")
    ap.add_argument("--models", default=None)
    ap.add_argument("--localiser", choices=LOCALISERS, default="learned")
    args = ap.parse_args()
    ens = Ensemble.load(args.models)
    finder = load_localiser(args.localiser)
    print("| patient | slice | LV centre found | ED frame (manual) | ES frame (manual) | A1 ED mm² (manual) "
          "| A1 ES mm² (manual) | A2 ED mm² (manual) | mean RWT ED mm (manual) | RV angle |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for patient, contours, mid in PATIENTS:
        dicom = args.sunnybrook / "dicoms" / patient
        cine = read_cine(dicom)
        rows, _ = measure_sunnybrook(args.sunnybrook / "contourfiles" / contours, dicom)
        for how, k in (("auto", None), ("given", mid)):
            a = analyze_cine(cine, slice_index=k, ensemble=ens, localiser=finder)
            s = a.slice["index"]
            manual = {r["point"]: r for r in rows if r["slice"] == s}
            ed_m, es_m = manual.get("ED"), manual.get("ES")

            def fmt(pred: float, ref: dict | None, key: str) -> str:
                if ref is None or ref.get(key) is None:
                    return f"{pred:.0f} (–)"
                return f"{pred:.0f} ({ref[key]:.0f}, {100 * (pred / ref[key] - 1):+.0f} %)"

            rwt_ed = float(a.indices.rwt_mm[a.ed_frame].mean())
            rwt_m = (np.mean([ed_m[f"rwt_mm_RWT{i}"] for i in range(1, 7)])
                     if ed_m and ed_m.get("rwt_mm_RWT1") is not None else None)
            print(f"| {patient} | {s} ({how}) | score {a.crop['localiser_score']:.2f} "
                  f"| {a.ed_frame} ({ed_m['frame'] if ed_m else '–'}) | {a.es_frame} ({es_m['frame'] if es_m else '–'}) "
                  f"| {fmt(a.indices.cavity_area_mm2[a.ed_frame], ed_m, 'cavity_area_mm2')} "
                  f"| {fmt(a.indices.cavity_area_mm2[a.es_frame], es_m, 'cavity_area_mm2')} "
                  f"| {fmt(a.indices.myocardium_area_mm2[a.ed_frame], ed_m, 'myocardium_area_mm2')} "
                  f"| {rwt_ed:.1f} ({'–' if rwt_m is None else f'{rwt_m:.1f}'}) | {a.crop['rv_angle_deg']:.0f}° |", flush=True)


if __name__ == "__main__":
    main()
