"""The Sunnybrook patients as packed in ``../shared/data/sunnybrook45``: one ``SC-<group>-<n>.npz`` each.

Each pack holds ``images`` uint8 (K, 256, 256), ``endo`` bool (K, 256, 256) the cavity
(papillary muscles inside) and ``dicom_number`` (K,): image N of the original series is slice
``(N − 1) // 20``, frame ``(N − 1) % 20``. The contoured frames are ED and ES: ED the one with
the larger total contoured area. Only the endocardium is labelled (no myocardium, no RV), and
**the pixel spacing is not kept**: the caller gives one. With a nominal spacing, relative
errors of the cavity area (what the issue measures on these patients) do not depend on it,
since the crop side and so every predicted length scale with it.

The masks were filled from the experts' contours with every pixel the contour touches, so
they reach beyond the contour: on the 36 images of SC-HF-I-01 and -02, whose original
contours are in ``../shared/data/sunnybrook``, the mask edge lies **0.52 ± 0.03 pixel** outside
the contour (mask areas 4-24 % larger, 7.2 % on average; ``scripts/check_sunnybrook_masks.py``). The stacks carry that as
``cavity_edge_px`` (:data:`MASK_EDGE_PX`), and the dataset builder measures the cavity that far
inside the mask's edge: 0.99 ± 0.01 of the contours' areas on those 36 images.

Licence: CC0 1.0 (Radau et al., MIDAS Journal 2009).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import ReaderError
from .builder import LabelledStack

LICENCE = "Sunnybrook Cardiac Data (Radau et al., MIDAS Journal 2009): CC0 1.0"
#: How far (pixels) the packs' masks reach beyond the drawn contours (measured, see above).
MASK_EDGE_PX = 0.52
#: Frames per cycle of the original series (image numbering).
FRAMES_PER_SLICE = 20


def read_sunnybrook_pack(folder: str | os.PathLike, case: str, *, spacing_mm: float, group: str = "") -> LabelledStack:
    """One patient as a :class:`LabelledStack` (frames ED, ES; the slices contoured at both).

    Args:
        folder: the pack folder.
        case: e.g. ``"SC-HF-I-07"``.
        spacing_mm: the in-plane pixel spacing to assume (not in the packs), mm.
        group: the patient's group (``patients.csv``), for reports.

    Raises:
        ReaderError: a missing or unreadable file, arrays that do not match, not exactly two
            contoured frames, no slice contoured at both.
    """
    path = Path(folder) / f"{case}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            images, endo, numbers = z["images"], z["endo"], z["dicom_number"]
    except KeyError as exc:
        raise ReaderError(f"{path} lacks the array {exc}") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ReaderError(f"cannot read {path}: {exc}") from None
    numbers = np.asarray(numbers).astype(np.int64).ravel()
    if images.ndim != 3 or endo.shape != images.shape or numbers.shape != (images.shape[0],):
        raise ReaderError(f"{path}: images {images.shape}, endo {endo.shape} and dicom_number {numbers.shape} "
                          "must describe the same K images")
    if np.any(numbers < 1):
        raise ReaderError(f"{path}: dicom_number must count from 1")
    slices, frames = (numbers - 1) // FRAMES_PER_SLICE, (numbers - 1) % FRAMES_PER_SLICE
    contoured = np.unique(frames)
    if contoured.size != 2:
        raise ReaderError(f"{path}: expected contours at two frames (ED and ES); found frames {contoured.tolist()}")
    both = sorted(set(slices[frames == contoured[0]]) & set(slices[frames == contoured[1]]))
    if not both:
        raise ReaderError(f"{path}: no slice is contoured at both ED and ES")
    area = [int(endo[frames == f].sum()) for f in contoured]
    ed, es = (contoured[0], contoured[1]) if area[0] >= area[1] else (contoured[1], contoured[0])
    index = {(int(s), int(f)): k for k, (s, f) in enumerate(zip(slices, frames))}
    pick = np.array([[index[(s, ed)] for s in both], [index[(s, es)] for s in both]])
    return LabelledStack(subject=case, source="sunnybrook", group=group, images=images[pick].astype(np.float32),
                         cavity=endo[pick].astype(bool), myocardium=None, rv=None, spacing_mm=(spacing_mm, spacing_mm),
                         frame_names=("ED", "ES"), phase=np.array([0, 1]), cavity_edge_px=MASK_EDGE_PX)
