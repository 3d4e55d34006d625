"""How far the sunnybrook45 packs' cavity masks reach beyond the experts' contours.

SC-HF-I-01 and SC-HF-I-02 are in both ``../shared/data/sunnybrook45`` (filled 8-bit masks) and
``../shared/data/sunnybrook`` (the original contour files). For every image contoured in both,
this prints the mask's area against the contour polygon's (pixels), the offset of the mask's
edge beyond the contour (``(mask area - polygon area) / polygon perimeter``) and the area of the
mask taken ``MASK_EDGE_PX`` inside its edge (as the dataset builder measures it) against the
polygon's::

    python scripts/check_sunnybrook_masks.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from lvquant.datasets.sunnybrook import MASK_EDGE_PX

PAIRS = (("SC-HF-I-01", "SC-HF-I-1"), ("SC-HF-I-02", "SC-HF-I-2"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = ap.parse_args()
    offsets, raw, corrected = [], [], []
    k = 8  # sub-pixel grid
    for pack, folder in PAIRS:
        z = np.load(args.shared / "sunnybrook45" / f"{pack}.npz")
        files = (args.shared / "sunnybrook" / "contourfiles" / folder / "i-contours").glob("*-icontour-manual.txt")
        by_number = {int(re.search(r"IM-\d+-(\d+)-icontour", f.name).group(1)): f for f in files}
        for number, mask in zip(z["dicom_number"], z["endo"]):
            if int(number) not in by_number:
                continue
            p = np.loadtxt(by_number[int(number)])
            x, y = p[:, 0], p[:, 1]
            area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
            perimeter = np.hypot(np.diff(np.r_[x, x[0]]), np.diff(np.r_[y, y[0]])).sum()
            fine = np.kron(mask, np.ones((k, k), bool))
            inside = (ndi.distance_transform_edt(fine) > MASK_EDGE_PX * k).sum() / k**2
            offsets.append((mask.sum() - area) / perimeter)
            raw.append(mask.sum() / area)
            corrected.append(inside / area)
    o, r, c = map(np.array, (offsets, raw, corrected))
    print(f"{len(o)} images: mask edge {o.mean():.2f} +/- {o.std():.2f} px beyond the contour; mask area / contour "
          f"area {r.mean():.3f} ({r.min():.3f}-{r.max():.3f}); {MASK_EDGE_PX} px inside the edge: {c.mean():.3f} "
          f"+/- {c.std():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
