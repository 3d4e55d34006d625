"""Write the held-out split of the real labelled patients (issue "real hearts"): splits/real_v1.json.

The rule is fixed before any network is measured on real data, and reads only the patient
lists (patients.csv), never an image or a label:

* ACDC (../shared/data/acdc, 5 groups of 16): 4 patients per group held out for the final test
  (20 patients), drawn with numpy's default_rng(20261201) from each group's patients sorted by
  name; the other 60 are for training and validation (folds by patient).
* Sunnybrook (../shared/data/sunnybrook45): SC-HF-I-01 and SC-HF-I-02 are the two patients whose
  full DICOM cines are in ../shared/data/sunnybrook (the end-to-end `lvquant analyze` test): held
  out entirely. Of the other 34, 2 per group (HF-I, HF-NI, HYP, N) are held out for the test
  (8 patients), drawn with the same generator; the other 26 are for training and validation.

Run once; the output is committed. Re-running gives the same file.

    python scripts/make_real_split.py [--shared ../shared/data] [--out splits/real_v1.json]
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

SEED = 20261201
DICOM_PATIENTS = ("SC-HF-I-01", "SC-HF-I-02")


def _draw(groups: dict[str, list[str]], per_group: int, rng: np.random.Generator) -> list[str]:
    out = []
    for group in sorted(groups):
        names = sorted(groups[group])
        out += [names[i] for i in sorted(rng.choice(len(names), per_group, replace=False))]
    return sorted(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "splits" / "real_v1.json")
    args = ap.parse_args()
    rng = np.random.default_rng(SEED)

    acdc = defaultdict(list)
    for row in csv.DictReader(open(args.shared / "acdc" / "patients.csv")):
        acdc[row["group"]].append(row["patient"])
    acdc_test = _draw(acdc, 4, rng)
    acdc_all = sorted(p for names in acdc.values() for p in names)

    sb = defaultdict(list)
    for row in csv.DictReader(open(args.shared / "sunnybrook45" / "patients.csv")):
        if row["case"] not in DICOM_PATIENTS:
            sb[row["group"]].append(row["case"])
    sb_test = _draw(sb, 2, rng)
    sb_all = sorted(p for names in sb.values() for p in names)

    split = {
        "name": "real_v1",
        "rule": __doc__.split("\n\n")[1].strip(),
        "seed": SEED,
        "acdc": {"test": acdc_test, "train": [p for p in acdc_all if p not in acdc_test],
                 "licence": "ACDC: research and non-commercial use only (Bernard et al., IEEE TMI 2018)"},
        "sunnybrook": {"test": sb_test, "train": [p for p in sb_all if p not in sb_test],
                       "dicom_test": list(DICOM_PATIENTS), "licence": "Sunnybrook Cardiac Data: CC0 1.0"},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(split, indent=1) + "\n")
    print(f"{args.out}: ACDC {len(acdc_test)} test / {len(split['acdc']['train'])} train; "
          f"Sunnybrook {len(sb_test)} test / {len(split['sunnybrook']['train'])} train + 2 DICOM test")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
