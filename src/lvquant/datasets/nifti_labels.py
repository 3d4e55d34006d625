"""Labelled NIfTI volumes: an image and its label map (ACDC's public layout, M&Ms and in-house sets).

Axis convention, the same as :func:`lvquant.io.read_nifti`: nibabel indexes a volume
``[i, j, k]``; slice ``k`` is displayed with columns along ``i`` and rows along ``j``
reversed, ``slice = data[:, ::-1, k].T``; the row spacing is ``pixdim[2]``, the column
spacing ``pixdim[1]``. Slices keep the file's order (``k`` ascending).

ACDC's public layout (one folder per patient)::

    patientNNN/Info.cfg                      ED: 1 / ES: 12 / Group: DCM / ...
    patientNNN/patientNNN_frameEE.nii.gz     the ED volume, EE = the ED frame (1-based, 2 digits)
    patientNNN/patientNNN_frameEE_gt.nii.gz  its labels: 0 background, 1 RV, 2 myocardium, 3 LV cavity
    patientNNN/patientNNN_frameSS[_gt].nii.gz  the same at ES
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ReaderError
from ..io.quiet import quiet_library
from ..spacing import check_pixel_spacing
from .builder import LabelledStack


@dataclass(frozen=True)
class LabelValues:
    """Which value of a label map means what (0 is background; ``None``: not labelled)."""

    cavity: int = 3
    myocardium: int | None = 2
    rv: int | None = 1

    def known(self) -> set[int]:
        return {0} | {v for v in (self.cavity, self.myocardium, self.rv) if v is not None}


#: ACDC's (and M&Ms') label values.
ACDC_LABELS = LabelValues(cavity=3, myocardium=2, rv=1)


def _volume(path: Path) -> tuple[np.ndarray, tuple[float, float]]:
    """(S, H, W) slices and (row, column) spacing of a 3-D NIfTI file."""
    if not path.is_file():
        raise ReaderError(f"{path} does not exist")
    import nibabel as nib

    try:
        with quiet_library("nibabel"):
            img = nib.load(str(path))
            data = np.asarray(img.dataobj)
            zooms = img.header.get_zooms()
    except Exception as exc:  # nibabel raises many kinds on a corrupt file
        raise ReaderError(f"cannot read {path} as NIfTI ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") from None
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3 or 0 in data.shape:
        raise ReaderError(f"{path}: a labelled volume must be 3-D (x, y, slices); got shape {data.shape}")
    spacing = check_pixel_spacing((float(zooms[1]), float(zooms[0])), error=ReaderError, what=f"{path}: pixel spacing")
    return np.ascontiguousarray(np.transpose(data[:, ::-1, :], (2, 1, 0))), spacing


def read_labelled_pair(image: str | os.PathLike, labels: str | os.PathLike, *,
                       values: LabelValues = ACDC_LABELS) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """An image volume and its label map: (S, H, W) float32 image, (S, H, W) int labels, spacing (row, col) mm.

    Raises:
        ReaderError: unreadable files, shapes that differ, label values that ``values`` does not name,
            no LV cavity label at all.
    """
    img, spacing = _volume(Path(image))
    lab, _ = _volume(Path(labels))
    if img.shape != lab.shape:
        raise ReaderError(f"{image} is {img.shape} (slices, rows, columns) but its labels {labels} are {lab.shape}")
    if not np.all(np.isfinite(img)):
        raise ReaderError(f"{image} holds NaN or infinite values")
    if not np.all(np.equal(np.mod(lab, 1), 0)):
        raise ReaderError(f"{labels} is not a label map: its values are not whole numbers")
    lab = lab.astype(np.int64)
    unknown = sorted(set(np.unique(lab).tolist()) - values.known())
    if unknown:
        raise ReaderError(f"{labels} has label values {unknown} that are not named (known: "
                          f"{sorted(values.known())}; give the values of cavity, myocardium and RV)")
    if not np.any(lab == values.cavity):
        raise ReaderError(f"{labels} has no LV cavity label (value {values.cavity}) on any slice")
    return img.astype(np.float32), lab, spacing


def stack_from_pairs(subject: str, source: str, group: str, ed: tuple[str | os.PathLike, str | os.PathLike],
                     es: tuple[str | os.PathLike, str | os.PathLike], *,
                     values: LabelValues = ACDC_LABELS) -> LabelledStack:
    """A :class:`LabelledStack` (frames ED, ES) from an (image, labels) pair at ED and one at ES.

    Raises:
        ReaderError: see :func:`read_labelled_pair`; ED and ES of other shapes or spacings.
    """
    img_ed, lab_ed, sp = read_labelled_pair(*ed, values=values)
    img_es, lab_es, sp_es = read_labelled_pair(*es, values=values)
    if img_ed.shape != img_es.shape or not np.allclose(sp, sp_es):
        raise ReaderError(f"{subject}: the ED and ES volumes differ in shape or spacing")
    lab = np.stack([lab_ed, lab_es])

    def mask(v: int | None) -> np.ndarray | None:
        return None if v is None else lab == v

    return LabelledStack(subject=subject, source=source, group=group, images=np.stack([img_ed, img_es]),
                         cavity=lab == values.cavity, myocardium=mask(values.myocardium), rv=mask(values.rv),
                         spacing_mm=sp, frame_names=("ED", "ES"), phase=np.array([0, 1]))


def read_info_cfg(path: str | os.PathLike) -> dict[str, str]:
    """ACDC's ``Info.cfg``: ``Key: value`` lines.

    Raises:
        ReaderError: missing file, or no ED / ES frame in it.
    """
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise ReaderError(f"cannot read {path}: {exc.strerror or exc} (an ACDC patient folder needs its Info.cfg)") from None
    info = {}
    for line in text.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            info[key.strip()] = value.strip()
    for key in ("ED", "ES"):
        if not re.fullmatch(r"\d+", info.get(key, "")):
            raise ReaderError(f"{path} gives no {key} frame number")
    return info


def read_acdc_patient(folder: str | os.PathLike) -> LabelledStack:
    """One patient in ACDC's public layout (see the module's docstring) as a :class:`LabelledStack`.

    Raises:
        ReaderError: no Info.cfg, a missing frame or label file, bad labels.
    """
    folder = Path(folder)
    name = folder.name
    info = read_info_cfg(folder / "Info.cfg")

    def pair(frame: str) -> tuple[Path, Path]:
        stem = folder / f"{name}_frame{int(frame):02d}"
        return Path(f"{stem}.nii.gz"), Path(f"{stem}_gt.nii.gz")

    return stack_from_pairs(name, "acdc", info.get("Group", ""), pair(info["ED"]), pair(info["ES"]))
