"""Regenerate docs/figures/phantom_vs_sunnybrook.png: phantom crops beside real Sunnybrook crops.

Usage::

    pip install -e '.[docs]'   # matplotlib, needed by this script only
    python scripts/make_phantom_figure.py [--sunnybrook /work/shared/data/sunnybrook] [--out docs/figures/phantom_vs_sunnybrook.png]

The real crops are cut exactly like the phantom's LVQuan crops: centred on the
centroid of the ED endocardial contour of the mid-ventricular slice, side 2.5 x
the ED epicardial diameter (diameter of the disc with the area inside the ED
epicardial contour), turned so the RV is on the left (angles set by eye, below),
anti-alias blurred and resized to 80 x 80. The Sunnybrook data are read in place
and never copied into the repository.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pydicom  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402
from skimage.draw import polygon2mask  # noqa: E402

from lvquant.analysis.convert import equalize_histogram  # noqa: E402
from lvquant.geometry import polygon_area, polygon_centroid  # noqa: E402
from lvquant.phantom import generate_subject  # noqa: E402

# (patient folder, contour folder, mid slice, ED frame, ES frame, RV direction in degrees clockwise from 12
# o'clock, judged by eye on the mid slice)
PATIENTS = [
    ("SCD0000101", "SC-HF-I-1", 7, 19, 8, 200.0),
    ("SCD0000201", "SC-HF-I-2", 7, 20, 7, 285.0),
]
K = 2.5
SIZE = 80
PHANTOM_SEED = 2024
PHANTOM_SUBJECTS = (0, 1, 2, 3, 4, 5)


def crop(image: np.ndarray, centre_rc: np.ndarray, side_px: float, rv_deg: float, size: int = SIZE) -> np.ndarray:
    """LV-centred crop of ``side_px`` native pixels, turned so that the RV (at ``rv_deg``) lands at 270 deg."""
    rot = np.deg2rad(rv_deg - 270.0)  # the crop's axes are the image's turned clockwise by this
    step = side_px / size
    a = (np.arange(size) - (size - 1) / 2.0) * step
    rr, cc = np.meshgrid(a, a, indexing="ij")
    # crop pixel (row offset a_r, col offset a_c) -> image offsets along the rotated axes
    c, s = np.cos(rot), np.sin(rot)
    rows = centre_rc[0] + rr * c + cc * s
    cols = centre_rc[1] - rr * s + cc * c
    sigma = 0.45 * np.sqrt(max(step * step - 1.0, 0.0))
    img = ndi.gaussian_filter(image.astype(np.float32), sigma) if sigma > 0 else image.astype(np.float32)
    return ndi.map_coordinates(img, [rows, cols], order=1, mode="nearest")


def sunnybrook_crops(root: Path):
    out = []
    for pid, oid, sl, ed, es, rv in PATIENTS:
        n_ed, n_es = 20 * (sl - 1) + ed, 20 * (sl - 1) + es
        frames = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for n in (n_ed, n_es):
                frames.append(pydicom.dcmread(root / "dicoms" / pid / f"{n}.dcm").pixel_array.astype(np.float32))
        endo = np.loadtxt(root / "contourfiles" / oid / "i-contours" / f"IM-0001-{n_ed:04d}-icontour-manual.txt")
        epi = np.loadtxt(root / "contourfiles" / oid / "o-contours" / f"IM-0001-{n_ed:04d}-ocontour-manual.txt")
        endo_rc, epi_rc = endo[:, ::-1], epi[:, ::-1]
        centre = polygon_centroid(endo_rc)
        side = K * 2.0 * np.sqrt(polygon_area(epi_rc) / np.pi)
        crops = [crop(f, centre, side, rv) for f in frames]
        # Tissue masks of the ED crop for the equalised-level markers.
        cav = polygon2mask(frames[0].shape, endo_rc)
        myo = polygon2mask(frames[0].shape, epi_rc) & ~cav
        cav_c = crop(cav.astype(np.float32), centre, side, rv) > 0.9
        myo_c = crop(myo.astype(np.float32), centre, side, rv) > 0.9
        out.append((pid, crops, cav_c, myo_c))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sunnybrook", default="/work/shared/data/sunnybrook", type=Path)
    ap.add_argument("--out", default=Path(__file__).resolve().parents[1] / "docs" / "figures" / "phantom_vs_sunnybrook.png", type=Path)
    args = ap.parse_args()

    real = sunnybrook_crops(args.sunnybrook)
    phantoms = [generate_subject(i, PHANTOM_SEED) for i in PHANTOM_SUBJECTS]

    n_cols = 2 * len(real) + 2 * 3
    fig = plt.figure(figsize=(2.0 * n_cols, 2.0 * 4 + 3.2))
    gs = fig.add_gridspec(5, n_cols, height_ratios=[1, 1, 1, 1, 1.6], hspace=0.25, wspace=0.05)

    def show(r: int, c: int, img: np.ndarray, title: str = "") -> None:
        ax = fig.add_subplot(gs[r, c])
        ax.imshow(img, cmap="gray", interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])
        if title:
            ax.set_title(title, fontsize=8)

    # Rows 0-1: raw (window 0..99.5th percentile) and equalised crops; real left, phantoms right.
    col = 0
    hist_real, hist_ph, levels = [], [], {"real": [], "phantom": []}
    for pid, crops, cav, myo in real:
        for lab, img in zip(("ED", "ES"), crops):
            eq = equalize_histogram(np.stack(crops))[0 if lab == "ED" else 1]
            show(0, col, np.clip(img / np.percentile(img, 99.5), 0, 1), f"Sunnybrook {pid[-3:]} {lab}")
            show(1, col, eq, "equalised")
            col += 1
        eq = equalize_histogram(np.stack(crops))
        hist_real.append((pid, np.stack(crops) / np.percentile(np.stack(crops), 99.5), eq))
        levels["real"].append((np.median(eq[0][cav]), np.median(eq[0][myo])))
    for j, p in enumerate(phantoms):
        eq = equalize_histogram(p.images)
        r0 = 0 if j < 3 else 2
        c0 = 2 * len(real) + 2 * (j % 3)
        for k, t in enumerate((p.ed_frame, p.es_frame)):
            img = p.images[t]
            show(r0, c0 + k, np.clip(img / np.percentile(p.images, 99.5), 0, 1),
                 f"phantom {p.index} {'ED' if k == 0 else 'ES'} ({p.info['pathology'][:5]})")
            show(r0 + 1, c0 + k, eq[t], "equalised")
        hist_ph.append((p.images / np.percentile(p.images, 99.5), eq))
        ring = p.epi[p.ed_frame] & ~p.endo[p.ed_frame]
        levels["phantom"].append((np.median(eq[p.ed_frame][p.endo[p.ed_frame]]), np.median(eq[p.ed_frame][ring])))
    # Rows 2-3 left: ES frames of the real patients side by side again at larger context? keep empty: text.
    ax = fig.add_subplot(gs[2:4, 0 : 2 * len(real)])
    ax.axis("off")
    ax.text(0.0, 0.95, "Top-left: two real Sunnybrook patients (heart failure with infarction),\n"
            "mid-ventricular slice at ED and ES, cropped like the phantom\n"
            f"(side {K} x ED epicardial diameter, RV turned to the left, 80 x 80).\n"
            "Right: phantom subjects (seed 2024), ED and ES.\n"
            "Rows 'equalised': lvquant.analysis.convert.equalize_histogram per subject\n"
            "(what the network sees).", va="top", fontsize=9)

    # Row 4: histograms.
    bins = np.linspace(0, 1.2, 61)
    ax1 = fig.add_subplot(gs[4, 0 : n_cols // 2])
    for pid, raw, _ in hist_real:
        ax1.hist(raw.ravel(), bins, density=True, histtype="step", lw=2, label=f"Sunnybrook {pid[-3:]}")
    for j, (raw, _) in enumerate(hist_ph):
        ax1.hist(raw.ravel(), bins, density=True, histtype="step", lw=0.8, color="grey", label="phantoms" if j == 0 else None)
    ax1.set_yscale("log")
    ax1.set_xlabel("intensity / 99.5th percentile of the subject's crops")
    ax1.set_title("grey-level histograms before equalisation", fontsize=9)
    ax1.legend(fontsize=8)
    ax2 = fig.add_subplot(gs[4, n_cols // 2 :])
    b2 = np.linspace(0, 1, 33)
    for pid, _, eq in hist_real:
        ax2.hist(eq.ravel(), b2, density=True, histtype="step", lw=2, label=f"Sunnybrook {pid[-3:]}")
    for j, (_, eq) in enumerate(hist_ph):
        ax2.hist(eq.ravel(), b2, density=True, histtype="step", lw=0.8, color="grey", label="phantoms" if j == 0 else None)
    for name, mk in (("real", "v"), ("phantom", "^")):
        for cav, myo in levels[name]:
            ax2.plot([cav], [0.15 if name == "real" else 0.35], mk, color="red", ms=7)
            ax2.plot([myo], [0.15 if name == "real" else 0.35], mk, color="blue", ms=7)
    ax2.set_ylim(0, 1.6)
    ax2.set_xlabel("equalised grey level (markers: median level of cavity (red) and myocardium (blue) at ED;\n"
                   "lower row real, upper row phantom)")
    ax2.set_title("histograms after equalize_histogram (flat by construction)", fontsize=9)
    ax2.legend(fontsize=8, loc="upper right")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80, bbox_inches="tight")


if __name__ == "__main__":
    main()
