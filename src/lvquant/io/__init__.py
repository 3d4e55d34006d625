"""Readers: every cine format into one in-memory :class:`~lvquant.cine.Cine`.

* :func:`read_cine` picks the reader from the path (see its docstring);
* :func:`read_dicom`, :func:`list_dicom_series` (:mod:`lvquant.io.dicom`);
* :func:`read_nifti` (:mod:`lvquant.io.nifti`);
* Sunnybrook contours: :func:`read_contour_file`, :func:`read_sunnybrook_contours`,
  :func:`sunnybrook_index_map`, :func:`sunnybrook_image_index`
  (:mod:`lvquant.io.contours`);
* LVQuan ``.mat`` datasets: :mod:`lvquant.io.lvquan_mat`.

The formats, ordering rules and errors are described in ``docs/io.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ..cine import Cine
from ..errors import ReaderError
from .contours import (
    ContourRecord,
    read_contour_file,
    read_sunnybrook_contours,
    sunnybrook_image_index,
    sunnybrook_index_map,
)
from .dicom import SeriesSummary, dicom_layout, list_dicom_series, read_dicom
from .lvquan_mat import (
    LVQuanDataset,
    read_lvquan,
    read_lvquan_mat,
    read_lvquan_npz,
    write_lvquan_mat,
    write_lvquan_npz,
)
from .nifti import read_nifti

__all__ = [
    "ContourRecord",
    "LVQuanDataset",
    "SeriesSummary",
    "dicom_layout",
    "list_dicom_series",
    "read_cine",
    "read_contour_file",
    "read_dicom",
    "read_lvquan",
    "read_lvquan_mat",
    "read_lvquan_npz",
    "read_nifti",
    "read_sunnybrook_contours",
    "sunnybrook_image_index",
    "sunnybrook_index_map",
    "write_lvquan_mat",
    "write_lvquan_npz",
]

_NIFTI_MAGIC = (b"n+1\x00", b"ni1\x00")
_GZIP_MAGIC = b"\x1f\x8b"


def _sniff(path: Path) -> str:
    """``"dicom"``, ``"nifti"``, ``"mat"`` or ``"unknown"`` from a file's name and first bytes."""
    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if name.endswith(".mat"):
        return "mat"
    try:
        with open(path, "rb") as fh:
            head = fh.read(544)
    except OSError:
        return "unknown"
    if head[128:132] == b"DICM" or head[:2] in (b"\x02\x00", b"\x08\x00"):
        return "dicom"
    if head[344:348] in _NIFTI_MAGIC or head[4:8] == b"n+2\x00":
        return "nifti"
    if name.endswith(".dcm") or "." not in name:
        return "dicom"  # let the DICOM reader explain what is wrong
    return "unknown"


def read_cine(
    path: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    series_uid: str | None = None,
    spacing_mm: float | Sequence[float] | None = None,
) -> Cine:
    """Read a cine from a DICOM folder or files, or a NIfTI file.

    Dispatch: a list of paths or a folder -> :func:`read_dicom`; ``.nii`` /
    ``.nii.gz`` (or a NIfTI header in the first bytes) -> :func:`read_nifti`;
    ``.dcm``, extension-less files and files starting like DICOM ->
    :func:`read_dicom`. ``.mat`` files hold whole LVQuan datasets, not one
    cine: read them with :mod:`lvquant.io.lvquan_mat`.

    Parameters
    ----------
    path : path or sequence of paths
        The input.
    series_uid : str, optional
        DICOM only: the ``SeriesInstanceUID`` to read.
    spacing_mm : float or (float, float), optional
        Pixel spacing (row, column) in mm overriding the header.

    Returns
    -------
    Cine

    Raises
    ------
    ReaderError
        (or its subclasses DicomError, NiftiError) when the input cannot be
        read; see the readers.
    """
    if not isinstance(path, (str, os.PathLike)):
        return read_dicom(path, series_uid=series_uid, spacing_mm=spacing_mm)
    p = Path(path)
    if not p.exists():
        raise ReaderError(f"{p} does not exist; give a DICOM folder, DICOM files or a .nii/.nii.gz file")
    if p.is_dir():
        return read_dicom(p, series_uid=series_uid, spacing_mm=spacing_mm)
    if not p.is_file():  # a FIFO would block the first read for ever; a device or socket holds no image
        raise ReaderError(f"{p} is not a regular file or a folder; give a DICOM folder, DICOM files or a "
                          ".nii/.nii.gz file")
    kind = _sniff(p)
    if kind == "dicom":
        return read_dicom(p, series_uid=series_uid, spacing_mm=spacing_mm)
    if series_uid is not None:
        raise ReaderError(f"a series UID only applies to DICOM input, and {p} is not DICOM; leave the series out")
    if kind == "nifti":
        return read_nifti(p, spacing_mm=spacing_mm)
    if kind == "mat":
        raise ReaderError(
            f"{p} is a MATLAB file: LVQuan .mat files hold many subjects, not one cine; "
            "read them with lvquant.io.lvquan_mat (lvquant info/measure handle them)"
        )
    raise ReaderError(f"{p} is neither DICOM nor NIfTI; give a DICOM folder, DICOM files or a .nii/.nii.gz file")
