"""The ACDC patients as packed in ``../shared/data/acdc``: one ``patientNNN.npz`` each, and ``patients.csv``.

Each pack holds ``image_ed``, ``image_es`` (S, H, W) float32 and ``label_ed``, ``label_es``
(S, H, W) uint8 with 0 background, 1 RV cavity, 2 LV myocardium, 3 LV cavity (papillary
muscles and trabeculations inside the cavity, the LVQuan convention). ``patients.csv`` gives
the group and the true in-plane spacing (``pixel_mm``), which the packs themselves lack.

ACDC is for research and non-commercial use only (Bernard et al., IEEE TMI 2018): read it,
never copy it into the repository.
"""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import ReaderError
from .builder import LabelledStack

#: ACDC label values.
RV, MYOCARDIUM, CAVITY = 1, 2, 3
LICENCE = "ACDC (Bernard et al., IEEE TMI 2018): research and non-commercial use only"


def read_patients_csv(folder: str | os.PathLike) -> dict[str, dict[str, str]]:
    """``patients.csv`` of a pack folder: patient name -> its row.

    Raises:
        ReaderError: missing file or columns.
    """
    path = Path(folder) / "patients.csv"
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from None
    need = {"patient", "group", "pixel_mm"}
    if not rows or not need <= set(rows[0]):
        raise ReaderError(f"{path} must have the columns {', '.join(sorted(need))}")
    return {r["patient"]: r for r in rows}


def read_acdc_pack(folder: str | os.PathLike, patient: str,
                   patients: dict[str, dict[str, str]] | None = None) -> LabelledStack:
    """One patient of a pack folder as a :class:`LabelledStack` (frames ED, ES).

    Raises:
        ReaderError: a missing or unreadable file, a label value other than 0-3, image and
            label shapes that differ, a spacing that is not a positive number.
    """
    folder = Path(folder)
    patients = patients if patients is not None else read_patients_csv(folder)
    if patient not in patients:
        raise ReaderError(f"{patient} is not listed in {folder / 'patients.csv'}")
    path = folder / f"{patient}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("image_ed", "image_es", "label_ed", "label_es")}
    except KeyError as exc:
        raise ReaderError(f"{path} lacks the array {exc}") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ReaderError(f"cannot read {path}: {exc}") from None
    images = np.stack([arrays["image_ed"], arrays["image_es"]]).astype(np.float32)
    labels = np.stack([arrays["label_ed"], arrays["label_es"]])
    if labels.shape != images.shape or images.ndim != 4:
        raise ReaderError(f"{path}: images {images.shape} and labels {labels.shape} must be two equal (S, H, W) stacks")
    unknown = np.setdiff1d(np.unique(labels), [0, RV, MYOCARDIUM, CAVITY])
    if unknown.size:
        raise ReaderError(f"{path}: label values {unknown.tolist()} are not ACDC's (0 background, 1 RV, "
                          "2 myocardium, 3 LV cavity)")
    try:
        spacing = float(patients[patient]["pixel_mm"])
    except ValueError:
        spacing = float("nan")
    if not (np.isfinite(spacing) and spacing > 0):
        raise ReaderError(f"{folder / 'patients.csv'}: {patient} has no positive pixel_mm")
    return LabelledStack(subject=patient, source="acdc", group=patients[patient].get("group", ""), images=images,
                         cavity=labels == CAVITY, myocardium=labels == MYOCARDIUM, rv=labels == RV,
                         spacing_mm=(spacing, spacing), frame_names=("ED", "ES"), phase=np.array([0, 1]))
