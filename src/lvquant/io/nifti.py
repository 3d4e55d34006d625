"""Read a cine MRI from a NIfTI file (.nii, .nii.gz) into a :class:`~lvquant.cine.Cine`.

Axis convention
---------------
nibabel indexes the data ``[i, j, k, t]``. A frame of the cine is the plane
``k`` at time ``t``, displayed as viewers (and ``dcm2niix``, which stores DICOM
rows bottom-up) show it:

* **columns** run along ``i`` (column ``c`` = voxel ``i = c``);
* **rows** run along ``j`` **reversed** (row 0, the image top, is the last
  ``j``): ``frame = data[:, ::-1, k, t].T``.

So a DICOM series converted with ``dcm2niix`` reads back with the same
orientation as :func:`lvquant.io.read_dicom` gives for the DICOM files, and
``spacing_mm`` is ``(pixdim[2], pixdim[1])`` (row spacing = ``j`` step,
column spacing = ``i`` step). Slices are sorted ascending along the slice
normal computed from the affine, in DICOM (LPS) patient coordinates, exactly
as the DICOM reader does.

Shapes accepted: ``(X, Y, Z, T)`` (3D+t); ``(X, Y, 1, T)`` and ``(X, Y, T)``
(2D+t, one slice); trailing singleton axes beyond the 4th are dropped. A 3-D
array whose header says (``dim_info``) that its third axis is the slice axis is
read as Z slices of one frame.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..cine import MAX_CINE_VOXELS, Cine, SourceInfo
from ..errors import NiftiError
from ..spacing import check_pixel_spacing
from .quiet import quiet_library

__all__ = ["read_nifti"]

_SPACE_UNITS_MM = {"mm": 1.0, "meter": 1000.0, "micron": 1e-3}
_TIME_UNITS_MS = {"sec": 1000.0, "msec": 1.0, "usec": 1e-3}
_LPS = np.diag([-1.0, -1.0, 1.0])  # RAS (NIfTI) <-> LPS (DICOM)


def _is_nifti_name(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def _load(path: Path) -> tuple[Any, Any]:
    """The nibabel image of ``path`` and its header exactly as stored.

    nibabel "fixes" some header fields when loading (zero pixdim becomes 1);
    the raw header keeps the stored values so they can be checked.

    Raises
    ------
    NiftiError
        Missing file, wrong extension, or not a readable NIfTI-1/NIfTI-2 file.
    """
    import nibabel as nib
    from nibabel.openers import ImageOpener

    if not path.exists():
        raise NiftiError(f"{path} does not exist; check the path to the NIfTI file")
    if not path.is_file() or not _is_nifti_name(path):
        raise NiftiError(f"{path} is not named .nii or .nii.gz; rename it or pass a NIfTI file")
    try:
        with quiet_library("nibabel"):
            img = nib.load(str(path))
            if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
                raise NiftiError(f"{path} is not a NIfTI-1 or NIfTI-2 image; convert it to .nii or .nii.gz")
            with ImageOpener(str(path)) as fh:
                raw = type(img.header).from_fileobj(fh, check=False)
    except NiftiError:
        raise
    except Exception as exc:
        raise NiftiError(f"cannot read {path} as NIfTI ({type(exc).__name__}); the file is corrupt or not NIfTI") from None
    return img, raw


def _data(img: Any, path: Path) -> np.ndarray:
    """The voxel data with scl_slope/scl_inter applied, float32, as stored ([i, j, ...])."""
    if np.iscomplexobj(np.empty(0, dtype=img.get_data_dtype())) or img.get_data_dtype().names:
        raise NiftiError(f"{path} holds {img.get_data_dtype()} voxels; only real greyscale NIfTI images can be read")
    n_voxels = math.prod(int(v) for v in img.shape)
    if n_voxels > MAX_CINE_VOXELS:
        raise NiftiError(f"{path} claims {'x'.join(str(int(v)) for v in img.shape)} voxels, more than the "
                         f"{MAX_CINE_VOXELS:,} lvquant reads into memory; the header is corrupt or the image too large")
    try:
        with quiet_library("nibabel"):
            data = np.asarray(img.get_fdata(dtype=np.float32), dtype=np.float32)
    except Exception as exc:
        raise NiftiError(f"cannot read the voxel data of {path} ({type(exc).__name__}); the file is truncated or corrupt") from None
    if not np.all(np.isfinite(data)):
        raise NiftiError(f"{path} contains NaN or infinite voxel values; fix or mask them before reading")
    return data


def _to_4d(data: np.ndarray, header: Any, path: Path) -> tuple[np.ndarray, str]:
    """Data as (X, Y, Z, T) and its layout: ``"3d+t"``, ``"2d+t"`` (X, Y, T) or ``"static"`` (X, Y, Z).

    Raises
    ------
    NiftiError
        Fewer than 3 or more than 4 (non-singleton) axes.
    """
    shape = data.shape
    while data.ndim > 4 and data.shape[-1] == 1:
        data = data[..., 0]
    if 0 in data.shape:
        raise NiftiError(f"{path} has an empty axis (shape {shape}); the header's dimensions are wrong")
    if data.ndim < 3 or data.ndim > 4:
        raise NiftiError(
            f"{path} has shape {shape}; a cine needs 3 axes (x, y, time) or 4 (x, y, slice, time)"
        )
    if data.ndim == 4:
        return data, "3d+t"
    try:
        _, _, slice_dim = header.get_dim_info()
    except Exception:
        slice_dim = None
    if slice_dim == 2:  # 0-based: the third axis is the slice axis, there is no time axis
        return data[..., np.newaxis], "static"
    return data[:, :, np.newaxis, :], "2d+t"


def _units(header: Any) -> tuple[float, float | None, list[str]]:
    """(mm per spatial unit, ms per time unit or None, warnings)."""
    try:
        space, time = header.get_xyzt_units()
    except Exception:  # a unit code outside the NIfTI table
        space, time = "unknown", "unknown"
    warns = []
    to_mm = _SPACE_UNITS_MM.get(space)
    if to_mm is None:
        to_mm = 1.0
        warns.append("spatial units not set in the header; pixel spacing read as mm")
    return to_mm, _TIME_UNITS_MS.get(time), warns


def _spacing(header: Any, to_mm: float, spacing_mm: Any, path: Path) -> tuple[float, float]:
    """(row, column) spacing in mm: (pixdim[2], pixdim[1]) unless given."""
    if spacing_mm is not None:
        return check_pixel_spacing(spacing_mm, error=NiftiError)
    pixdim = header["pixdim"]
    col, row = float(pixdim[1]) * to_mm, float(pixdim[2]) * to_mm
    if not (np.isfinite(row) and np.isfinite(col) and row > 0 and col > 0):
        raise NiftiError(
            f"{path} has no valid pixel spacing in its header (pixdim {pixdim[1]}, {pixdim[2]}); "
            "give it explicitly (spacing_mm, or --spacing on the command line)"
        )
    return row, col


def _frame_times(header: Any, n_frames: int, to_ms: float | None, layout: str) -> tuple[np.ndarray, bool]:
    """Frame times in ms from the time step and the header's time unit, else frame numbers and False.

    The time step is pixdim[4] for (X, Y, Z, T) data and pixdim[3] for (X, Y, T) data.
    """
    dt = {"3d+t": float(header["pixdim"][4]), "2d+t": float(header["pixdim"][3])}.get(layout, 0.0)
    if to_ms is not None and np.isfinite(dt) and dt > 0:
        return np.arange(n_frames, dtype=np.float64) * dt * to_ms, True
    return np.arange(n_frames, dtype=np.float64), False


def _geometry(affine: np.ndarray, shape: tuple[int, ...], to_mm: float) -> tuple[np.ndarray | None, np.ndarray]:
    """DICOM-style orientation (6,) and the position of every slice along its normal (mm).

    The orientation's row cosines follow +i (columns), its column cosines -j
    (rows top to bottom), in LPS. Positions are those of each slice's top-left
    voxel ``(0, ny - 1, k)``. Falls back to ``(None, k * pixdim[3])`` when the
    affine is not usable.
    """
    nx, ny, nz = shape[:3]
    a = np.asarray(affine, dtype=np.float64)
    ok = a.shape == (4, 4) and np.all(np.isfinite(a))
    if ok:
        row_dir = _LPS @ a[:3, 0]
        col_dir = _LPS @ -a[:3, 1]
        ok = np.linalg.norm(row_dir) > 0 and np.linalg.norm(col_dir) > 0
    if ok:
        row_dir, col_dir = row_dir / np.linalg.norm(row_dir), col_dir / np.linalg.norm(col_dir)
        normal = np.cross(row_dir, col_dir)
        ok = np.linalg.norm(normal) > 1e-6
    if not ok:
        return None, np.arange(nz, dtype=np.float64)
    normal /= np.linalg.norm(normal)
    corners = np.stack([np.zeros(nz), np.full(nz, ny - 1.0), np.arange(nz, dtype=np.float64), np.ones(nz)])
    lps = _LPS @ (a @ corners)[:3] * to_mm
    return np.concatenate([row_dir, col_dir]), normal @ lps


def read_nifti(path: str | os.PathLike, *, spacing_mm: float | Sequence[float] | None = None) -> Cine:
    """Read a 2D+t or 3D+t NIfTI cine.

    Parameters
    ----------
    path : path
        A ``.nii`` or ``.nii.gz`` file (NIfTI-1 or NIfTI-2).
    spacing_mm : float or (float, float), optional
        Pixel spacing (row, column) in mm overriding the header.

    Returns
    -------
    Cine
        ``frames`` float32 (S, T, H, W) with ``scl_slope``/``scl_inter``
        applied, row 0 at the image top (see the module docstring for the axis
        convention); ``spacing_mm`` = (pixdim[2], pixdim[1]) converted to mm;
        ``frame_times_ms`` = ``arange(T) * pixdim[4]`` converted to ms when the
        header's time unit is set (else frame numbers, ``timing_known=False``);
        slices ascending along the slice normal from the affine.

    Raises
    ------
    NiftiError
        Missing, unreadable or truncated file; fewer than 3 or more than 4
        axes; NaN or infinite voxels; zero or missing pixel spacing.
    """
    path = Path(path)
    img, header = _load(path)
    data4, layout = _to_4d(_data(img, path), header, path)
    to_mm, to_ms, warns = _units(header)
    spacing = _spacing(header, to_mm, spacing_mm, path)
    n_frames = data4.shape[3]
    times, timing_known = _frame_times(header, n_frames, to_ms, layout)
    with quiet_library("nibabel"):
        affine = img.affine
    orientation, positions = _geometry(affine, data4.shape, to_mm)
    order = np.argsort(positions, kind="stable")
    # (X, Y, Z, T) -> (Z, T, Y, X) with Y reversed: row 0 is the image top.
    frames = np.ascontiguousarray(np.transpose(data4[:, ::-1, :, :], (2, 3, 1, 0))[order])
    if layout == "static":
        warns.append("no time axis: each slice has a single frame")
    source = SourceInfo(
        format="nifti",
        path=str(path),
        n_files=1,
        extra={
            "warnings": warns,
            "nifti_shape": tuple(int(v) for v in img.shape),
            "nifti_layout": layout,
            "slice_order": tuple(int(v) for v in order),
            "axis_convention": "columns = i, rows = j reversed (row 0 = last j), slices sorted along the normal",
        },
    )
    return Cine(
        frames=frames,
        spacing_mm=spacing,
        frame_times_ms=times,
        slice_positions_mm=positions[order],
        orientation=orientation,
        slice_thickness_mm=_thickness(header, layout, to_mm),
        timing_known=timing_known,
        source=source,
    )


def _thickness(header: Any, layout: str, to_mm: float) -> float | None:
    """pixdim[3] in mm when the third axis is a slice axis, else None."""
    if layout == "2d+t":
        return None
    value = float(header["pixdim"][3]) * to_mm
    return value if np.isfinite(value) and value > 0 else None
