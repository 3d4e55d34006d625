"""Sunnybrook manual contour files, and where their images are in a DICOM cine.

The Sunnybrook Cardiac Data ships one text file per contour::

    <patient>/i-contours/IM-0001-<NNNN>-icontour-manual.txt   endocardium
    <patient>/o-contours/IM-0001-<NNNN>-ocontour-manual.txt   epicardium

``NNNN`` is the DICOM image number ``N`` (the file ``<N>.dcm``, whose
``InstanceNumber`` is also ``N``). Each line is ``x y``: x is the column and y
the row, in pixels of that image, with (0, 0) the centre of the top-left pixel.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..cine import Cine
from ..errors import ContourError, ReaderError

__all__ = [
    "ContourRecord",
    "read_contour_file",
    "read_sunnybrook_contours",
    "sunnybrook_index_map",
    "sunnybrook_image_index",
]

_CONTOUR_NAME = re.compile(r"^IM-\d+-(\d+)-([io])contour-manual\.txt$", re.IGNORECASE)
_KINDS = {"i": "endo", "o": "epi"}
_DICOM_NUMBER = re.compile(r"^(\d+)\.dcm$", re.IGNORECASE)


@dataclass(frozen=True)
class ContourRecord:
    """One manual contour of the Sunnybrook data.

    Attributes
    ----------
    dicom_number : int
        ``N`` of the image ``<N>.dcm`` the contour was drawn on.
    kind : str
        ``"endo"`` (endocardium, i-contour) or ``"epi"`` (epicardium, o-contour).
    polygon : numpy.ndarray
        float64 (P, 2) vertices ``(x, y)`` = (column, row) in pixels.
    path : str
        The contour file.
    """

    dicom_number: int
    kind: str
    polygon: np.ndarray
    path: str


def _parse_line(text: str, path: Path, lineno: int) -> tuple[float, float]:
    """``(x, y)`` from one ``x y`` line (whitespace or comma separated)."""
    parts = text.replace(",", " ").split()
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        raise ContourError(
            f"{path}, line {lineno}: expected two numbers 'x y', got {text.strip()[:40]!r}; fix or remove that line"
        ) from None
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ContourError(f"{path}, line {lineno}: coordinates must be finite numbers, got {text.strip()[:40]!r}")
    return x, y


def read_contour_file(path: str | os.PathLike) -> np.ndarray:
    """Read one contour: a text file of ``x y`` lines (blank lines ignored).

    Parameters
    ----------
    path : path
        The contour file.

    Returns
    -------
    numpy.ndarray
        float64 (P, 2) vertices ``(x, y)`` = (column, row) in pixels, P >= 3,
        in file order (the polygon is implicitly closed).

    Raises
    ------
    ContourError
        Missing or unreadable file, empty file, a line that is not two finite
        numbers (the message names file and line), or fewer than 3 points.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ContourError(f"{path} does not exist; check the path to the contour file") from None
    except UnicodeDecodeError:
        raise ContourError(f"{path} is not a text file of 'x y' lines; pass a contour file") from None
    except OSError as exc:
        raise ContourError(f"cannot read {path} ({type(exc).__name__}); check the path and permissions") from None
    points = [_parse_line(line, path, i) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not points:
        raise ContourError(f"{path} is empty; a contour file needs at least 3 'x y' lines")
    if len(points) < 3:
        raise ContourError(f"{path} has only {len(points)} point(s); a contour needs at least 3")
    return np.asarray(points, dtype=np.float64)


def read_sunnybrook_contours(folder: str | os.PathLike) -> list[ContourRecord]:
    """Read every manual endo/epi contour below a Sunnybrook patient folder.

    Parameters
    ----------
    folder : path
        e.g. ``contourfiles/SC-HF-I-1`` (searched recursively for
        ``IM-0001-NNNN-icontour-manual.txt`` and ``...-ocontour-manual.txt``;
        other files, such as papillary-muscle ``p1``/``p2`` contours, are ignored).

    Returns
    -------
    list of ContourRecord
        Sorted by DICOM number, endocardium before epicardium.

    Raises
    ------
    ContourError
        Missing folder, no contour file, two files for the same image and
        kind, or any unreadable contour file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ContourError(f"{folder} is not a folder; pass a Sunnybrook contour folder such as contourfiles/SC-HF-I-1")
    records: dict[tuple[int, str], ContourRecord] = {}
    for path in sorted(folder.rglob("*")):
        match = _CONTOUR_NAME.match(path.name)
        if match is None or not path.is_file():
            continue
        key = (int(match.group(1)), _KINDS[match.group(2).lower()])
        if key in records:
            raise ContourError(f"two {key[1]} contours for image {key[0]}: {records[key].path} and {path}; keep one")
        records[key] = ContourRecord(key[0], key[1], read_contour_file(path), str(path))
    if not records:
        raise ContourError(
            f"no Sunnybrook contour files (IM-0001-NNNN-icontour-manual.txt) below {folder}; pass the patient's contour folder"
        )
    return [records[k] for k in sorted(records, key=lambda k: (k[0], k[1] != "endo"))]


def _image_files(cine_or_folder: Cine | str | os.PathLike | Sequence[str | os.PathLike]) -> tuple[tuple[str, ...], ...]:
    """S x T file names of a DICOM cine (from the Cine, or by scanning the folder's headers)."""
    if isinstance(cine_or_folder, Cine):
        names = cine_or_folder.source.extra.get("image_files") if cine_or_folder.source.extra else None
        if not names:
            raise ReaderError("this cine was not read from DICOM files, so it has no DICOM image numbers")
        return names
    from .dicom import dicom_layout

    return dicom_layout(cine_or_folder)


def sunnybrook_index_map(cine_or_folder: Cine | str | os.PathLike | Sequence[str | os.PathLike]) -> dict[int, tuple[int, int]]:
    """Where each Sunnybrook image ``<N>.dcm`` sits in the cine: ``{N: (slice_index, frame_index)}``.

    Computed from the headers (through the DICOM reader's slice and frame
    ordering), never from the file numbering.

    Parameters
    ----------
    cine_or_folder : Cine or path
        A cine returned by :func:`lvquant.io.read_dicom` (uses
        ``source.extra["image_files"]``), or the DICOM folder itself (only the
        headers are read).

    Returns
    -------
    dict
        ``N -> (s, t)``: 0-based slice index in the cine's order (ascending
        along the slice normal) and 0-based frame index (time order), for every
        file named ``<N>.dcm``.
    """
    out: dict[int, tuple[int, int]] = {}
    for s, row in enumerate(_image_files(cine_or_folder)):
        for t, name in enumerate(row):
            match = _DICOM_NUMBER.match(Path(name.split("#")[0]).name)
            if match is not None and "#" not in name:
                out[int(match.group(1))] = (s, t)
    return out


def sunnybrook_image_index(cine_or_folder: Cine | str | os.PathLike | Sequence[str | os.PathLike], n: int) -> tuple[int, int]:
    """``(slice_index, frame_index)`` of the Sunnybrook image ``<n>.dcm`` in the cine.

    See :func:`sunnybrook_index_map` (prefer it to map many contours: a folder
    is scanned once per call).

    Raises
    ------
    ReaderError
        When no file ``<n>.dcm`` is part of the cine.
    """
    mapping = sunnybrook_index_map(cine_or_folder)
    if int(n) not in mapping:
        raise ReaderError(
            f"image {n} ({n}.dcm) is not part of the DICOM cine; check that the contours and the DICOM folder are the same patient"
        )
    return mapping[int(n)]
