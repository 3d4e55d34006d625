"""How far apart the ACDC and Sunnybrook readers draw the cavity: the border network against the regression ensemble.

    python scripts/label_convention_gap.py CROPS.npz [--split splits/real_v1.json]

``CROPS.npz`` is the training part's crop file of ``lvquant dataset`` (e.g. ``train_rings_ph_edge.npz``).
On the mid slices (ED and ES) of training patients the shipped border network never trained on (the
12 ACDC validation patients, every fifth training patient by name, and every Sunnybrook training
patient: the border network learned ACDC and phantom labels only), it prints the signed and absolute
relative error of the cavity area measured on the border network's masks, and of the regressed
cavity area (each row by the ensemble's network whose folds did not hold its patient,
``scripts/compare_cv.py``). A network that learned ACDC's readers and errs by a few per cent on
unseen ACDC patients measures Sunnybrook's cavities against Sunnybrook's readers: the difference is
the gap between the two sets of contours. No test patient is read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_cv import cv_predictions, held_out_networks  # noqa: E402

from lvquant.analysis.borders import load_borders, mask_indices  # noqa: E402
from lvquant.analysis.convert import normalize_intensity  # noqa: E402
from lvquant.analysis.predict import DEFAULT_MODEL_DIR  # noqa: E402
from lvquant.datasets.files import read_crops  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("crops")
    ap.add_argument("--split", default=str(Path(__file__).resolve().parents[1] / "splits" / "real_v1.json"))
    args = ap.parse_args()
    crops = read_crops(args.crops)
    borders = load_borders()
    networks = held_out_networks(DEFAULT_MODEL_DIR)
    validation = json.loads(Path(args.split).read_text())["acdc"]["train"][::5]
    sources, subjects = np.asarray(crops.sources), np.asarray(crops.subjects)
    mid = np.asarray(crops.mid, bool)
    parts = (("ACDC validation", np.flatnonzero(mid & (sources == "acdc") & np.isin(subjects, validation))),
             ("Sunnybrook training", np.flatnonzero(mid & (sources == "sunnybrook"))))
    for name, rows in parts:
        true = crops.indices[rows, :, 0]
        regressed = cv_predictions(crops, DEFAULT_MODEL_DIR, networks, rows, 0.0)[..., 0]
        masks = np.stack([mask_indices(borders.labels(normalize_intensity(crops.images[r], borders.spec)),
                                       float(crops.pixel_mm[r])).cavity_area_mm2 for r in rows])
        for what, pred in (("border masks", masks), ("regressed (CV)", regressed)):
            e = 100 * (pred / true - 1)
            print(f"{name} ({len(rows)} patients), {what}: bias ED {e[:, 0].mean():+.1f} % ES {e[:, 1].mean():+.1f} %, "
                  f"relative MAE ED {np.abs(e[:, 0]).mean():.1f} % ES {np.abs(e[:, 1]).mean():.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
