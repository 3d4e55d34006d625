"""How the LV cavity and wall change along the long axis in the ACDC training patients (ED labels).

    python scripts/acdc_long_axis_profile.py [--acdc ../shared/data/acdc] [--split splits/real_v1.json]

Per training patient (never the test part), the mid slice is the middle slice of those holding an
LV label at ED; every slice is placed at its distance from it (mm, + toward the base: ACDC's slice
0 is basal). Prints, per 10 mm, the median ED cavity area over the mid slice's, and the median
wall ratio (myocardial area ratio over the square root of the cavity ratio: the wall thickness
ratio of a ring). What the phantom's basal slices were fitted to
(:data:`lvquant.phantom.motion.BASAL_CAVITY_GAIN` and its neighbours).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lvquant.datasets.acdc import read_patients_csv
from lvquant.datasets.collect import read_split

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--acdc", type=Path, default=ROOT.parent / "shared" / "data" / "acdc")
    ap.add_argument("--split", type=Path, default=ROOT / "splits" / "real_v1.json")
    args = ap.parse_args()
    table = read_patients_csv(args.acdc)
    rows = []
    for p in read_split(args.split, "train")["acdc"]:
        with np.load(args.acdc / f"{p}.npz") as a:
            label = a["label_ed"]
        gap = float(table[p]["slice_spacing_mm"])
        cav = (label == 3).sum((1, 2)).astype(float)
        myo = (label == 2).sum((1, 2)).astype(float)
        lv = np.flatnonzero((label >= 2).any((1, 2)))
        mid = int(lv[len(lv) // 2])
        for k in lv:
            c = cav[k] / cav[mid]
            rows.append(((mid - k) * gap, c, myo[k] / myo[mid] / np.sqrt(max(c, 1e-6))))
    r = np.array(rows)
    print("z from the mid slice (mm, + basal) | slices | cavity area / mid (median, p90) | wall ratio (median)")
    for lo in range(-50, 60, 10):
        m = (r[:, 0] >= lo) & (r[:, 0] < lo + 10)
        if m.any():
            print(f"{lo:+4d} .. {lo + 10:+4d} | {int(m.sum()):3d} | {np.median(r[m, 1]):.2f}, {np.percentile(r[m, 1], 90):.2f}"
                  f" | {np.median(r[m, 2]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
