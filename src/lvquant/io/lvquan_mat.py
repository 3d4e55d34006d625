"""LVQuan challenge data: MATLAB v5 / v7.3 ``.mat`` files, ``.npz`` copies, LVQuan19 folders.

The layouts are described in ``docs/lvquan_format.md`` (which variants are accepted,
and which were checked against public code). In short, an LVQuan18 file holds

=========================  ============  ==========================================
key                        MATLAB shape  content
=========================  ============  ==========================================
``images_LV``              80×80×N       training crops, N = 20 × subjects; subject
                                         ``s`` owns the columns ``20s .. 20s+19``
``images_LV_30``           80×80×600     the 30-subject test file (images only)
``endo_LV``, ``epi_LV``    80×80×N       binary masks (optional)
``areas``                  2×N           A1, A2, normalised by (80 px)² of the crop
``dims``                   3×N           D1, D2, D3, normalised by 80 px
``rwt``                    6×N           RWT1..RWT6, normalised by 80 px
``lv_phase``               1×N           1 systole, 0 diastole (optional)
``pix_spa``                S values      native pixel spacing (mm)
``ratio_resize_inverse``   S values      crop pixels per native pixel, inverted
=========================  ============  ==========================================

A length in mm is ``value × 80 × pix_spa × ratio_resize_inverse``; an area in mm²
is ``value × (80 × pix_spa × ratio_resize_inverse)²``. Inside lvquant the indices
are always in mm / mm² (:class:`~lvquant.indices.Indices`); normalised units exist
only in the files (:meth:`LVQuanDataset.normalised_indices`, the writers).

Public API: :class:`LVQuanDataset`, :func:`read_lvquan` (any of the below, by
path), :func:`read_lvquan_mat`, :func:`read_lvquan_npz`, :func:`read_lvquan_folder`,
:func:`write_lvquan_mat`, :func:`write_lvquan_npz`, :func:`concat_datasets`.
Every problem with a file raises :class:`~lvquant.errors.MatFileError`.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ..cine import Cine, SourceInfo
from ..errors import InputError, MatFileError
from ..indices import Indices, mm_to_normalised, normalised_to_mm
from ..outputs import atomic_file, write_npz_atomic

__all__ = [
    "CROP_SIDE_PX",
    "FRAMES_PER_SUBJECT",
    "LVQuanDataset",
    "TEST_IMAGES_KEY",
    "TRAIN_IMAGES_KEY",
    "concat_datasets",
    "read_lvquan",
    "read_lvquan_folder",
    "read_lvquan_mat",
    "read_lvquan_npz",
    "write_lvquan_mat",
    "write_lvquan_npz",
]

#: Frames of one subject in the LVQuan files (one cardiac cycle).
FRAMES_PER_SUBJECT = 20
#: Side of the LVQuan18 crops in pixels: the normalisation length of the labels.
CROP_SIDE_PX = 80
#: Image key of the LVQuan18 training file.
TRAIN_IMAGES_KEY = "images_LV"
#: Image key of the LVQuan18 30-subject test file.
TEST_IMAGES_KEY = "images_LV_30"
IMAGE_KEYS = (TRAIN_IMAGES_KEY, TEST_IMAGES_KEY)
#: Label keys and their row counts, in the flat index order (A1 A2, D1-D3, RWT1-6).
LABEL_ROWS = {"areas": 2, "dims": 3, "rwt": 6}
MASK_KEYS = ("endo_LV", "epi_LV")
PHASE_KEY = "lv_phase"
SPACING_KEYS = ("pix_spa", "ratio_resize_inverse")
#: LVQuan19 per-subject keys (see docs/lvquan_format.md for their provenance).
LVQUAN19_IMAGE_KEY = "image"
LVQUAN19_MASK_KEYS = ("endo", "epi")
LVQUAN19_SPACING_KEY = "pix_spacing"
_KNOWN_KEYS = (
    IMAGE_KEYS + MASK_KEYS + tuple(LABEL_ROWS) + (PHASE_KEY,) + SPACING_KEYS
    + (LVQUAN19_IMAGE_KEY,) + LVQUAN19_MASK_KEYS + (LVQUAN19_SPACING_KEY,)
)
LAYOUTS = ("lvquan18", "lvquan18-test", "lvquan19", "mixed")

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


# ---------------------------------------------------------------------------- dataset
@dataclass(frozen=True, eq=False)
class LVQuanDataset:
    """Subjects of an LVQuan-layout dataset, in physical units.

    Attributes
    ----------
    images : ndarray, float32, shape (S, T, H, W)
        Frames of every subject (T = 20 in the LVQuan files); row 0 is the image
        top, as displayed by MATLAB ``imshow(images_LV(:, :, k))``.
    pix_spa : ndarray, float64, shape (S,)
        Native pixel spacing of each subject in mm; NaN where the file gave none
        (the images-only test file may have no spacing).
    ratio_resize_inverse : ndarray, float64, shape (S,)
        Inverse of the resize ratio of each subject's crop (1 for raw images);
        NaN where unknown.
    endo, epi : ndarray of bool, shape (S, T, H, W), or None
        Endocardial region and epicardial mask as stored in the file.
    indices : Indices or None
        Ground-truth indices with batch shape (S, T), in mm² (areas) and mm
        (dims, RWT); None for an unlabelled file.
    phase : ndarray of int64, shape (S, T), or None
        1 systole, 0 diastole.
    subject_ids : tuple of str
        A name per subject (file stem for per-subject files, else the subject's
        number); defaults to ``"0" .. "S-1"``.
    source_path : str
        The file or folder that was read ("" for datasets built in memory).
    layout : str
        ``"lvquan18"`` (``images_LV``), ``"lvquan18-test"`` (``images_LV_30``),
        ``"lvquan19"`` (per-subject raw files) or ``"mixed"``.

    Raises
    ------
    InputError
        When the arrays are inconsistent (shapes, NaN, phase not 0/1...).
    """

    images: np.ndarray
    pix_spa: np.ndarray
    ratio_resize_inverse: np.ndarray
    endo: np.ndarray | None = None
    epi: np.ndarray | None = None
    indices: Indices | None = None
    phase: np.ndarray | None = None
    subject_ids: tuple[str, ...] = ()
    source_path: str = ""
    layout: str = "lvquan18"

    def __post_init__(self) -> None:
        images = np.asarray(self.images)
        if images.ndim != 4 or 0 in images.shape:
            raise InputError(f"dataset images must be a non-empty (subjects, frames, rows, cols) array; got shape {images.shape}")
        if images.dtype != np.float32:
            images = images.astype(np.float32)
        if not np.all(np.isfinite(images)):
            raise InputError("dataset images contain NaN or infinite values")
        s, t = images.shape[:2]
        spacing = []
        for name in ("pix_spa", "ratio_resize_inverse"):
            v = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if v.shape == (1,) and s > 1:
                v = np.repeat(v, s)
            if v.shape != (s,):
                raise InputError(f"{name} must hold one value per subject ({s}); got {v.size}")
            known = ~np.isnan(v)
            if np.any(~np.isfinite(v[known]) | (v[known] <= 0)):
                raise InputError(f"{name} must be positive and finite (or NaN when unknown); got {v[known].min():g}")
            spacing.append(v)
        pix, ratio = spacing
        masks = []
        for name in ("endo", "epi"):
            m = getattr(self, name)
            if m is not None:
                m = np.asarray(m)
                if m.shape != images.shape:
                    raise InputError(f"{name} masks have shape {m.shape} but the images {images.shape}")
                m = m.astype(bool, copy=False)
            masks.append(m)
        indices = self.indices
        if indices is not None:
            if not isinstance(indices, Indices):
                raise InputError("indices must be an lvquant.indices.Indices")
            if indices.batch_shape != (s, t):
                raise InputError(f"indices have batch shape {indices.batch_shape}; expected ({s}, {t}) subjects × frames")
            if not np.all(np.isfinite(indices.to_array())):
                raise InputError("dataset indices contain NaN or infinite values")
            if np.any(np.isnan(pix) | np.isnan(ratio)):
                raise InputError("a labelled dataset needs pix_spa and ratio_resize_inverse for every subject")
        phase = self.phase
        if phase is not None:
            p = np.asarray(phase)
            if p.shape != (s, t):
                raise InputError(f"phase has shape {p.shape}; expected ({s}, {t}) subjects × frames")
            if not np.all(np.isin(p, (0, 1))):
                raise InputError("phase must be 0 (diastole) or 1 (systole) in every frame")
            phase = p.astype(np.int64)
        ids = tuple(str(i) for i in self.subject_ids) if self.subject_ids else tuple(str(i) for i in range(s))
        if len(ids) != s:
            raise InputError(f"{len(ids)} subject ids given for {s} subjects")
        if self.layout not in LAYOUTS:
            raise InputError(f"layout must be one of {', '.join(LAYOUTS)}; got {self.layout!r}")
        for name, value in (("images", images), ("pix_spa", pix), ("ratio_resize_inverse", ratio), ("endo", masks[0]),
                            ("epi", masks[1]), ("phase", phase), ("subject_ids", ids), ("source_path", str(self.source_path))):
            object.__setattr__(self, name, value)

    # -- shape
    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def n_subjects(self) -> int:
        """Number of subjects S."""
        return int(self.images.shape[0])

    @property
    def n_frames(self) -> int:
        """Frames per subject T."""
        return int(self.images.shape[1])

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) in pixels."""
        return int(self.images.shape[2]), int(self.images.shape[3])

    # -- units
    @property
    def pixel_size_mm(self) -> np.ndarray:
        """(S,) effective pixel size of the images in mm: ``pix_spa × ratio_resize_inverse``."""
        return self.pix_spa * self.ratio_resize_inverse

    @property
    def crop_side_mm(self) -> np.ndarray:
        """(S,) the LVQuan normalisation length in mm: ``80 × pixel_size_mm``."""
        return CROP_SIDE_PX * self.pixel_size_mm

    @property
    def spacing_known(self) -> bool:
        """Whether every subject has a pixel size."""
        return bool(np.all(np.isfinite(self.pixel_size_mm)))

    @property
    def has_labels(self) -> bool:
        """Whether ground-truth indices are present."""
        return self.indices is not None

    @property
    def has_masks(self) -> bool:
        """Whether endocardial masks are present."""
        return self.endo is not None

    def normalised_indices(self) -> np.ndarray:
        """Indices in the files' normalised units, shape (S, T, 11), flat LVQuan order.

        Raises
        ------
        InputError
            When the dataset has no labels.
        """
        if self.indices is None:
            raise InputError("the dataset has no labels (areas, dims, rwt)")
        return mm_to_normalised(self.indices.to_array(), self.crop_side_mm[:, None])

    # -- views
    def subject_cine(self, s: int) -> Cine:
        """Subject ``s`` as a one-slice :class:`~lvquant.cine.Cine`.

        The cine has shape (1, T, H, W), spacing ``pixel_size_mm[s]`` on both axes,
        frame times ``0 .. T-1`` (``timing_known`` False: the files carry no timing).

        Raises
        ------
        InputError
            Subject out of range. MatFileError when the subject has no pixel size.
        """
        if not -self.n_subjects <= s < self.n_subjects:
            raise InputError(f"subject {s} does not exist: the dataset has {self.n_subjects}, numbered 0..{self.n_subjects - 1}")
        s = int(s) % self.n_subjects
        px = float(self.pixel_size_mm[s])
        if not np.isfinite(px):
            raise MatFileError(
                f"subject {s} of {self.source_path or 'the dataset'} has no pixel spacing "
                "(no pix_spa / ratio_resize_inverse in the file); indices in mm cannot be computed"
            )
        t = self.n_frames
        return Cine(
            frames=self.images[s : s + 1],
            spacing_mm=(px, px),
            frame_times_ms=np.arange(t, dtype=np.float64),
            slice_positions_mm=np.zeros(1),
            timing_known=False,
            source=SourceInfo(
                format="lvquan-mat",
                path=self.source_path,
                n_files=1,
                extra={
                    "subject": s,
                    "subject_id": self.subject_ids[s],
                    "layout": self.layout,
                    "pix_spa": float(self.pix_spa[s]),
                    "ratio_resize_inverse": float(self.ratio_resize_inverse[s]),
                },
            ),
        )

    def subset(self, subject_indices: Sequence[int] | np.ndarray) -> "LVQuanDataset":
        """The dataset restricted to some subjects (in the order given).

        Parameters
        ----------
        subject_indices : sequence of int, or bool array of shape (S,)

        Raises
        ------
        InputError
            An index out of range, or a mask of the wrong length.
        """
        idx = np.asarray(subject_indices)
        if idx.dtype == bool:
            if idx.shape != (self.n_subjects,):
                raise InputError(f"a subject mask needs {self.n_subjects} entries; got {idx.shape}")
            idx = np.flatnonzero(idx)
        idx = idx.reshape(-1)
        if idx.size and (not np.issubdtype(idx.dtype, np.integer)):
            raise InputError("subject indices must be integers")
        idx = idx.astype(np.int64)
        if idx.size == 0:
            raise InputError("a subset needs at least one subject")
        if np.any((idx < -self.n_subjects) | (idx >= self.n_subjects)):
            raise InputError(f"subject indices must lie in 0..{self.n_subjects - 1}")
        idx = idx % self.n_subjects
        ind = None
        if self.indices is not None:
            ind = Indices.from_array(self.indices.to_array()[idx])
        return LVQuanDataset(
            images=self.images[idx],
            pix_spa=self.pix_spa[idx],
            ratio_resize_inverse=self.ratio_resize_inverse[idx],
            endo=None if self.endo is None else self.endo[idx],
            epi=None if self.epi is None else self.epi[idx],
            indices=ind,
            phase=None if self.phase is None else self.phase[idx],
            subject_ids=tuple(self.subject_ids[i] for i in idx),
            source_path=self.source_path,
            layout=self.layout,
        )


def concat_datasets(parts: Sequence[LVQuanDataset]) -> LVQuanDataset:
    """Join datasets subject-wise (e.g. one per LVQuan19 file).

    Raises
    ------
    InputError
        Different frame counts or image sizes, or labels / masks / phase present
        in some parts only.
    """
    if not parts:
        raise InputError("no datasets to join")
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    for p in parts[1:]:
        if p.images.shape[1:] != first.images.shape[1:]:
            raise InputError(
                f"subjects differ in frames or image size ({_shape_text(first)} in {first.source_path or 'part 1'}, "
                f"{_shape_text(p)} in {p.source_path or 'another part'}); read them one at a time"
            )
        for what, has in (("labels", lambda d: d.indices is not None), ("endo masks", lambda d: d.endo is not None),
                          ("epi masks", lambda d: d.epi is not None), ("phase", lambda d: d.phase is not None)):
            if has(p) != has(first):
                raise InputError(f"{what} are present in {_where(first if has(first) else p)} but not in "
                                 f"{_where(p if has(first) else first)}; give files of one kind")
    cat = np.concatenate
    layouts = {p.layout for p in parts}
    return LVQuanDataset(
        images=cat([p.images for p in parts]),
        pix_spa=cat([p.pix_spa for p in parts]),
        ratio_resize_inverse=cat([p.ratio_resize_inverse for p in parts]),
        endo=None if first.endo is None else cat([p.endo for p in parts]),
        epi=None if first.epi is None else cat([p.epi for p in parts]),
        indices=None if first.indices is None else Indices.from_array(cat([p.indices.to_array() for p in parts])),
        phase=None if first.phase is None else cat([p.phase for p in parts]),
        subject_ids=tuple(i for p in parts for i in p.subject_ids),
        source_path=str(Path(first.source_path).parent) if first.source_path else "",
        layout=layouts.pop() if len(layouts) == 1 else "mixed",
    )


def _shape_text(d: LVQuanDataset) -> str:
    return f"{d.n_frames} frames of {d.image_shape[0]}×{d.image_shape[1]}"


def _where(d: LVQuanDataset) -> str:
    return Path(d.source_path).name if d.source_path else "one part"


# ---------------------------------------------------------------------------- sources
class _Source:
    """Arrays of a file by key, in MATLAB's axis order (H×W×N, 2×N...)."""

    def __init__(self, where: str, keys: list[str], getter: Callable[[str], Any]):
        self.where = where
        self._keys = keys
        self._get = getter

    def keys(self) -> list[str]:
        return list(self._keys)

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def numeric(self, key: str) -> np.ndarray:
        """The array stored under ``key``; MatFileError unless it is a real numeric array."""
        try:
            arr = self._get(key)
        except MatFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoding failure is a file problem
            raise MatFileError(f"{self.where}: cannot read '{key}' ({type(exc).__name__}: {exc}); the file may be damaged") from None
        arr = np.asarray(arr)
        if arr.dtype.kind not in "biuf" or arr.dtype.fields is not None:
            raise MatFileError(
                f"{self.where}: '{key}' is not a numeric array (MATLAB class/dtype {arr.dtype}); "
                "store it as a plain double, single, integer or logical array"
            )
        return arr


def _scipy_source(path: Path, where: str) -> _Source:
    import scipy.io

    try:
        data = scipy.io.loadmat(str(path), variable_names=_KNOWN_KEYS, squeeze_me=False,
                                verify_compressed_data_integrity=True)
        if not any(k in data for k in IMAGE_KEYS + (LVQUAN19_IMAGE_KEY,)):
            names = [n for n, _, _ in scipy.io.whosmat(str(path))]
        else:
            names = [k for k in data if not k.startswith("__")]
    except MatFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - scipy raises many types on damaged files
        raise MatFileError(f"{where} cannot be read as a MATLAB v5 file ({type(exc).__name__}: {exc}); it may be truncated or damaged") from None

    def get(key: str) -> Any:
        if key not in data:
            raise MatFileError(f"{where}: '{key}' could not be loaded")
        return data[key]

    return _Source(where, names, get)


@contextlib.contextmanager
def _hdf5_source(path: Path, where: str) -> Iterator[_Source]:
    import h5py

    try:
        handle = h5py.File(str(path), "r")
    except Exception as exc:  # noqa: BLE001
        raise MatFileError(f"{where} cannot be read as a MATLAB v7.3 (HDF5) file ({type(exc).__name__}: {exc}); it may be truncated or damaged") from None
    try:
        try:
            names = [k for k in handle.keys() if not k.startswith("#")]
        except Exception as exc:  # noqa: BLE001
            raise MatFileError(f"{where}: cannot list the variables of the HDF5 file ({type(exc).__name__}); it may be damaged") from None

        def get(key: str) -> Any:
            obj = handle[key]
            if not isinstance(obj, h5py.Dataset):
                raise MatFileError(f"{where}: '{key}' is a MATLAB struct or group, not a numeric array")
            cls = obj.attrs.get("MATLAB_class", b"double")
            cls = cls.decode("ascii", "replace") if isinstance(cls, bytes) else str(cls)
            if cls not in ("double", "single", "logical", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                           "int64", "uint64"):
                raise MatFileError(f"{where}: '{key}' has MATLAB class '{cls}', not a numeric array")
            if "MATLAB_empty" in obj.attrs and int(np.asarray(obj.attrs["MATLAB_empty"]).reshape(-1)[0]):
                return np.zeros((0,))
            arr = np.asarray(obj[()])
            if arr.dtype.kind not in "biuf" or arr.dtype.fields is not None:
                raise MatFileError(f"{where}: '{key}' is not a numeric array (HDF5 type {arr.dtype})")
            # MATLAB is column-major: an H×W×N array is stored as N×W×H.
            arr = arr.T
            return arr.astype(bool) if cls == "logical" else arr

        yield _Source(where, names, get)
    finally:
        with contextlib.suppress(Exception):
            handle.close()


def _npz_source(handle: Any, where: str) -> _Source:
    return _Source(where, list(handle.files), lambda key: handle[key])


def _mat_kind(path: Path, where: str) -> str:
    """``"v5"`` or ``"hdf5"`` from the first bytes; MatFileError otherwise."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(520)
    except OSError as exc:
        raise MatFileError(f"cannot open {path}: {exc.strerror or exc}") from None
    if head[:8] == _HDF5_SIGNATURE or head[512:520] == _HDF5_SIGNATURE or head.startswith(b"MATLAB 7.3"):
        return "hdf5"
    if len(head) >= 128 and (head.startswith(b"MATLAB 5.0") or (head[124:126] in (b"\x00\x01", b"\x01\x00") and head[126:128] in (b"IM", b"MI"))):
        return "v5"
    if len(head) < 128:
        raise MatFileError(f"{where} is too short ({len(head)} bytes) to be a MATLAB file; it may be truncated")
    raise MatFileError(
        f"{where} is not a MATLAB v5 or v7.3 .mat file (its header does not start with "
        "'MATLAB 5.0 MAT-file' or 'MATLAB 7.3 MAT-file'); give the LVQuan .mat file"
    )


# ---------------------------------------------------------------------------- readers
def read_lvquan(path: str | os.PathLike, *, images_key: str | None = None,
                frames_per_subject: int = FRAMES_PER_SUBJECT) -> LVQuanDataset:
    """Read an LVQuan dataset from a ``.mat`` file, an ``.npz`` copy or a folder of per-subject ``.mat`` files.

    Parameters
    ----------
    path : path
        ``.npz`` (or any zip) -> :func:`read_lvquan_npz`; a folder ->
        :func:`read_lvquan_folder`; anything else -> :func:`read_lvquan_mat`.
    images_key : str, optional
        ``"images_LV"`` or ``"images_LV_30"``; default: the one present
        (``images_LV`` when both are).
    frames_per_subject : int
        Frames of one subject (20 in LVQuan).

    Returns
    -------
    LVQuanDataset

    Raises
    ------
    MatFileError
        Missing, unreadable or malformed input (one sentence saying what to fix).
    """
    p = Path(path)
    if p.is_dir():
        return read_lvquan_folder(p, frames_per_subject=frames_per_subject)
    if p.suffix.lower() == ".npz":
        return read_lvquan_npz(p, images_key=images_key, frames_per_subject=frames_per_subject)
    if p.is_file():
        with contextlib.suppress(OSError), open(p, "rb") as fh:
            if fh.read(4) == b"PK\x03\x04":
                return read_lvquan_npz(p, images_key=images_key, frames_per_subject=frames_per_subject)
    return read_lvquan_mat(p, images_key=images_key, frames_per_subject=frames_per_subject)


def read_lvquan_mat(path: str | os.PathLike, *, images_key: str | None = None,
                    frames_per_subject: int = FRAMES_PER_SUBJECT) -> LVQuanDataset:
    """Read an LVQuan18 ``.mat`` file (MATLAB v5 or v7.3) or one LVQuan19 subject file.

    The MATLAB version is told by the header: v7.3 files are HDF5 (read with
    h5py and transposed back to MATLAB's axis order, so both versions give the
    same arrays); v5 files are read with SciPy.

    Parameters
    ----------
    path : path
        The ``.mat`` file.
    images_key : str, optional
        ``"images_LV"`` (training) or ``"images_LV_30"`` (test); default: the one
        present. A file without either but with ``image`` is read as LVQuan19.
    frames_per_subject : int
        T, the frames of one subject (20).

    Returns
    -------
    LVQuanDataset
        Images (S, T, H, W) float32, indices in mm / mm², per-subject spacing.

    Raises
    ------
    MatFileError
        Not a MATLAB file, truncated, missing keys, wrong shapes, counts that do
        not match, NaN/inf, non-positive spacing, phase not 0/1...
    """
    p = Path(path)
    where = p.name or str(p)
    _check_frames_per_subject(frames_per_subject)
    if not p.exists():
        raise MatFileError(f"{p} does not exist; give an LVQuan .mat file")
    if p.is_dir():
        raise MatFileError(f"{p} is a folder; read a folder of per-subject files with read_lvquan_folder (or read_lvquan)")
    kind = _mat_kind(p, where)
    if kind == "hdf5":
        with _hdf5_source(p, where) as src:
            return _parse(src, str(p), images_key, frames_per_subject)
    return _parse(_scipy_source(p, where), str(p), images_key, frames_per_subject)


def read_lvquan_npz(path: str | os.PathLike, *, images_key: str | None = None,
                    frames_per_subject: int = FRAMES_PER_SUBJECT) -> LVQuanDataset:
    """Read an ``.npz`` holding the LVQuan keys with MATLAB's shapes and units.

    The archive is opened with ``allow_pickle=False``: object arrays are refused.
    Same keys, shapes (H×W×N, 2×N...) and normalised units as the ``.mat`` files;
    see :func:`read_lvquan_mat` for the parameters, result and errors.
    """
    p = Path(path)
    where = p.name or str(p)
    _check_frames_per_subject(frames_per_subject)
    if not p.is_file():
        raise MatFileError(f"{p} does not exist or is not a file; give an LVQuan .npz file")
    try:
        handle = np.load(str(p), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise MatFileError(f"{where} cannot be read as an .npz archive ({type(exc).__name__}: {exc}); it may be truncated or damaged") from None
    if not hasattr(handle, "files"):
        raise MatFileError(f"{where} is a single .npy array, not an .npz archive of LVQuan keys")
    try:
        return _parse(_npz_source(handle, where), str(p), images_key, frames_per_subject)
    finally:
        with contextlib.suppress(Exception):
            handle.close()


def read_lvquan_folder(folder: str | os.PathLike, *, frames_per_subject: int = FRAMES_PER_SUBJECT) -> LVQuanDataset:
    """Read a folder of per-subject ``.mat`` files (LVQuan19, or LVQuan18 keys) as one dataset.

    Files are taken in natural order of their names (``patient2`` before
    ``patient10``); each file's subjects are named after its stem.

    Raises
    ------
    MatFileError
        No ``.mat`` file, any malformed file, or subjects that differ in frame
        count, image size (LVQuan19 raw images often do: read those files one at
        a time with :func:`read_lvquan_mat`) or in which labels they carry.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MatFileError(f"{folder} is not a folder")
    files = sorted((f for f in folder.iterdir() if f.is_file() and f.suffix.lower() == ".mat"),
                   key=lambda f: [int(x) if x.isdigit() else x.lower() for x in re.split(r"(\d+)", f.name)])
    if not files:
        raise MatFileError(f"{folder} holds no .mat files; give an LVQuan .mat file or a folder of per-subject .mat files")
    parts = []
    for f in files:
        d = read_lvquan_mat(f, frames_per_subject=frames_per_subject)
        ids = (f.stem,) if d.n_subjects == 1 else tuple(f"{f.stem}/{i}" for i in d.subject_ids)
        parts.append(_replace(d, subject_ids=ids))
    try:
        out = concat_datasets(parts)
    except InputError as exc:
        raise MatFileError(f"{folder}: {exc}") from None
    return _replace(out, source_path=str(folder))


def _replace(d: LVQuanDataset, **changes: Any) -> LVQuanDataset:
    import dataclasses

    return dataclasses.replace(d, **changes)


def _check_frames_per_subject(t: int) -> None:
    if not isinstance(t, (int, np.integer)) or t < 1:
        raise InputError(f"frames_per_subject must be a positive integer; got {t!r}")


# ---------------------------------------------------------------------------- parsing
def _parse(src: _Source, path: str, images_key: str | None, t: int) -> LVQuanDataset:
    where = src.where
    keys = src.keys()
    if images_key is None:
        images_key = next((k for k in IMAGE_KEYS if k in src), None)
        if images_key is None and LVQUAN19_IMAGE_KEY in src:
            return _parse_lvquan19(src, path, t)
        if images_key is None:
            raise MatFileError(
                f"{where} has no LVQuan image array: expected 'images_LV' (training), 'images_LV_30' (test) or "
                f"'image' (LVQuan19); keys found: {', '.join(sorted(keys)) or 'none'}"
            )
    elif images_key not in IMAGE_KEYS:
        raise InputError(f"images_key must be one of {', '.join(IMAGE_KEYS)}; got {images_key!r}")
    elif images_key not in src:
        raise MatFileError(f"{where} has no '{images_key}'; keys found: {', '.join(sorted(keys)) or 'none'}")

    raw = src.numeric(images_key)
    if raw.ndim != 3:
        raise MatFileError(f"{where}: '{images_key}' must be a 3-D H×W×N array with frames along the last axis; got shape {raw.shape}")
    h, w, n = raw.shape
    if 0 in raw.shape:
        raise MatFileError(f"{where}: '{images_key}' is empty (shape {raw.shape})")
    if n % t:
        raise MatFileError(
            f"{where}: '{images_key}' holds {n} frames, not a multiple of {t} frames per subject "
            f"({n // t} subjects and {n % t} frames left over); each subject must own {t} consecutive frames"
        )
    s = n // t
    _check_finite(raw, images_key, where, float32=True)
    images = _frames_first(raw, s, t).astype(np.float32)

    # In a file holding both the training and the test images, the labels belong to images_LV.
    labels_belong = not (images_key == TEST_IMAGES_KEY and TRAIN_IMAGES_KEY in src)
    masks = {k: (_mask(src, k, raw.shape, images_key, s, t) if labels_belong and k in src else None) for k in MASK_KEYS}

    label_keys = [k for k in LABEL_ROWS if k in src] if labels_belong else []
    if label_keys and len(label_keys) < len(LABEL_ROWS):
        missing = [k for k in LABEL_ROWS if k not in src]
        raise MatFileError(f"{where} has '{label_keys[0]}' but no {', '.join(repr(k) for k in missing)}; "
                           "labels need areas, dims and rwt together")
    have_spacing = [k for k in SPACING_KEYS if k in src] if labels_belong else []
    if label_keys and len(have_spacing) < 2:
        missing = [k for k in SPACING_KEYS if k not in src]
        raise MatFileError(f"{where} has labels but no {' or '.join(repr(k) for k in missing)}; "
                           "both are needed to convert the normalised labels to mm")
    if len(have_spacing) == 2:
        pix = _per_subject(src, "pix_spa", s, t, images_key)
        ratio = _per_subject(src, "ratio_resize_inverse", s, t, images_key)
    else:
        pix = np.full(s, np.nan)
        ratio = np.full(s, np.nan)

    indices = None
    if label_keys:
        rows = [_label_rows(src, k, LABEL_ROWS[k], n, images_key) for k in LABEL_ROWS]
        norm = np.concatenate(rows, axis=0)  # (11, N)
        lo, hi = float(norm.min()), float(norm.max())
        if lo < 0 or hi > 1:
            raise MatFileError(
                f"{where}: normalised labels must lie within 0..1 (LVQuan convention: value × 80 × pix_spa × "
                f"ratio_resize_inverse = mm); found {lo:g}..{hi:g}: are they already in mm?"
            )
        values = norm.T.reshape(s, t, 11)
        side = CROP_SIDE_PX * pix * ratio
        indices = Indices.from_array(normalised_to_mm(values, side[:, None]))

    phase = None
    if labels_belong and PHASE_KEY in src:
        phase = _phase(src, PHASE_KEY, n, images_key).reshape(s, t)

    layout = "lvquan18" if images_key == TRAIN_IMAGES_KEY else "lvquan18-test"
    return _build(where, images=images, pix_spa=pix, ratio_resize_inverse=ratio, endo=masks["endo_LV"],
                  epi=masks["epi_LV"], indices=indices, phase=phase, source_path=path, layout=layout)


def _parse_lvquan19(src: _Source, path: str, t: int) -> LVQuanDataset:
    """One LVQuan19 subject: raw images H×W×T, labels in mm, ``pix_spacing``."""
    where = src.where
    key = LVQUAN19_IMAGE_KEY
    raw = src.numeric(key)
    if raw.ndim != 3 or 0 in raw.shape:
        raise MatFileError(f"{where}: '{key}' must be a 3-D H×W×T array with frames along the last axis; got shape {raw.shape}")
    n = raw.shape[2]
    if n != t:
        raise MatFileError(f"{where}: '{key}' holds {n} frames; an LVQuan19 subject file must hold {t}")
    _check_finite(raw, key, where, float32=True)
    images = _frames_first(raw, 1, t).astype(np.float32)
    endo_key, epi_key = LVQUAN19_MASK_KEYS
    endo = _mask(src, endo_key, raw.shape, key, 1, t) if endo_key in src else None
    epi = _mask(src, epi_key, raw.shape, key, 1, t) if epi_key in src else None

    label_keys = [k for k in LABEL_ROWS if k in src]
    if label_keys and len(label_keys) < len(LABEL_ROWS):
        missing = [k for k in LABEL_ROWS if k not in src]
        raise MatFileError(f"{where} has '{label_keys[0]}' but no {', '.join(repr(k) for k in missing)}; "
                           "labels need areas, dims and rwt together")
    if LVQUAN19_SPACING_KEY in src:
        sp = src.numeric(LVQUAN19_SPACING_KEY).astype(np.float64).reshape(-1)
        if sp.size == 0 or not np.allclose(sp, sp[0], rtol=1e-6, atol=0):
            raise MatFileError(f"{where}: '{LVQUAN19_SPACING_KEY}' must hold one pixel spacing (mm); got {sp.size} values {sp[:4]}")
        pix = np.array([sp[0]])
        _check_spacing(pix, LVQUAN19_SPACING_KEY, where)
    elif label_keys:
        raise MatFileError(f"{where} has labels but no '{LVQUAN19_SPACING_KEY}'; the pixel spacing is needed")
    else:
        pix = np.array([np.nan])
    indices = None
    if label_keys:
        rows = np.concatenate([_label_rows(src, k, LABEL_ROWS[k], n, key) for k in LABEL_ROWS], axis=0)
        if float(rows.min()) < 0:
            raise MatFileError(f"{where}: labels must not be negative; found {float(rows.min()):g}")
        if float(rows.max()) <= 1.0:
            raise MatFileError(
                f"{where}: every label is ≤ 1, which looks like normalised units, but LVQuan19 subject files "
                "are read as mm² / mm; convert them or store them in the LVQuan18 layout with pix_spa and ratio_resize_inverse"
            )
        indices = Indices.from_array(rows.T.reshape(1, t, 11))
    phase = _phase(src, PHASE_KEY, n, key).reshape(1, t) if PHASE_KEY in src else None
    return _build(where, images=images, pix_spa=pix, ratio_resize_inverse=np.ones(1), endo=endo, epi=epi,
                  indices=indices, phase=phase, source_path=path, layout="lvquan19")


def _build(where: str, **fields: Any) -> LVQuanDataset:
    try:
        return LVQuanDataset(**fields)
    except MatFileError:
        raise
    except InputError as exc:
        raise MatFileError(f"{where}: {exc}") from None


def _frames_first(raw: np.ndarray, s: int, t: int) -> np.ndarray:
    """MATLAB H×W×N -> (S, T, H, W), subject ``s`` owning frames ``t*s .. t*s+t-1``."""
    h, w, _ = raw.shape
    return np.ascontiguousarray(np.moveaxis(raw, 2, 0)).reshape(s, t, h, w)


def _check_finite(arr: np.ndarray, key: str, where: str, *, float32: bool = False) -> None:
    """MatFileError on NaN/inf (or, with ``float32``, on values beyond the float32 range)."""
    if arr.dtype.kind != "f":
        return
    bad = ~np.isfinite(arr)
    if float32 and arr.dtype.itemsize > 4:
        bad |= np.abs(arr) > np.finfo(np.float32).max
    if np.any(bad):
        first = np.argwhere(bad)[0]
        raise MatFileError(f"{where}: '{key}' contains NaN, infinite or out-of-range values (first at MATLAB index "
                           f"({', '.join(str(int(i) + 1) for i in first)})); fix or remove those frames")


def _mask(src: _Source, key: str, shape: tuple[int, ...], images_key: str, s: int, t: int) -> np.ndarray:
    where = src.where
    arr = src.numeric(key)
    if arr.shape != shape:
        raise MatFileError(f"{where}: '{key}' has shape {arr.shape} but '{images_key}' has {shape}; "
                           "masks must match the images frame for frame")
    _check_finite(arr, key, where)
    if arr.dtype != bool:
        if arr.size and float(arr.min()) < 0:
            raise MatFileError(f"{where}: '{key}' has negative values; masks must be binary (0 and 1)")
        nz = arr[arr != 0]
        if nz.size and not np.all(nz == nz.max()):
            raise MatFileError(f"{where}: '{key}' is not binary (values {np.unique(nz)[:4]} besides 0); masks must hold 0 and 1")
        arr = arr != 0
    return _frames_first(arr, s, t)


def _label_rows(src: _Source, key: str, k: int, n: int, images_key: str) -> np.ndarray:
    """(k, N) float64 from a k×N array (or N×k, which is unambiguous since N ≥ 20 > k)."""
    where = src.where
    arr = src.numeric(key).astype(np.float64)
    if arr.shape == (k, n):
        out = arr
    elif arr.ndim == 2 and arr.shape == (n, k):
        out = arr.T
    else:
        raise MatFileError(
            f"{where}: '{key}' has shape {arr.shape}; expected {k}×{n} ({k} values for each of the {n} frames of "
            f"'{images_key}'): the label count does not match the image count"
        )
    _check_finite(out, key, where)
    return out


def _phase(src: _Source, key: str, n: int, images_key: str) -> np.ndarray:
    where = src.where
    arr = src.numeric(key)
    if sum(d > 1 for d in arr.shape) > 1 or arr.size != n:
        raise MatFileError(f"{where}: '{key}' has shape {arr.shape}; expected one value per frame (1×{n}, matching '{images_key}')")
    arr = arr.astype(np.float64).reshape(-1)
    _check_finite(arr, key, where)
    if not np.all(np.isin(arr, (0.0, 1.0))):
        bad = arr[~np.isin(arr, (0.0, 1.0))][0]
        raise MatFileError(f"{where}: '{key}' must be 0 (diastole) or 1 (systole) in every frame; found {bad:g}")
    return arr.astype(np.int64)


def _per_subject(src: _Source, key: str, s: int, t: int, images_key: str) -> np.ndarray:
    """One value per subject from the shapes seen in copies of the LVQuan18 file.

    Accepted: S values (1×S, S×1, S), one per frame (1×N, N×1, N), or a T×S / S×T
    matrix (the column / row of a subject), each constant within a subject.
    """
    where = src.where
    arr = src.numeric(key).astype(np.float64)
    n = s * t
    vector = sum(d > 1 for d in arr.shape) <= 1
    if arr.size == 0:
        raise MatFileError(f"{where}: '{key}' is empty; it needs one value per subject ({s})")
    _check_finite(arr, key, where)
    candidates: list[np.ndarray] = []  # (S, frames) views
    if vector and arr.size == s:
        values = arr.reshape(-1)
        _check_spacing(values, key, where)
        return values
    if vector and arr.size == n:
        candidates.append(arr.reshape(s, t))
    elif arr.ndim == 2 and arr.shape in ((t, s), (s, t)):
        if arr.shape == (t, s):
            candidates.append(arr.T)
        if arr.shape == (s, t):
            candidates.append(arr)
    if not candidates:
        raise MatFileError(
            f"{where}: '{key}' has shape {arr.shape} ({arr.size} values) but '{images_key}' holds {s} subjects; "
            f"expected one value per subject (1×{s} or {s}×1) or one per frame ({n}): the counts do not match"
        )
    for per in candidates:
        if np.allclose(per, per[:, :1], rtol=1e-5, atol=0):
            values = per[:, 0].copy()
            _check_spacing(values, key, where)
            return values
    per = candidates[0]
    i = int(np.argmax(np.ptp(per, axis=1) / np.abs(per[:, :1]).clip(1e-12)[:, 0]))
    raise MatFileError(
        f"{where}: '{key}' varies within subject {i} (frames {t * i}..{t * i + t - 1}: {per[i].min():g} to "
        f"{per[i].max():g}); lvquant needs one value per subject"
    )


def _check_spacing(values: np.ndarray, key: str, where: str) -> None:
    bad = ~np.isfinite(values) | (values <= 0)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise MatFileError(f"{where}: '{key}' must be positive and finite for every subject; subject {i} has {values[i]:g}")


# ---------------------------------------------------------------------------- writers
def _matlab_arrays(dataset: LVQuanDataset, images_key: str | None) -> dict[str, np.ndarray]:
    """The dataset as MATLAB-shaped arrays under the LVQuan18 keys (normalised labels)."""
    if not isinstance(dataset, LVQuanDataset):
        raise InputError("expected an LVQuanDataset")
    if images_key is None:
        images_key = TRAIN_IMAGES_KEY if dataset.has_labels else TEST_IMAGES_KEY
    if images_key not in IMAGE_KEYS:
        raise InputError(f"images_key must be one of {', '.join(IMAGE_KEYS)}; got {images_key!r}")
    s, t, h, w = dataset.images.shape
    n = s * t

    def to_matlab(frames: np.ndarray) -> np.ndarray:  # (S, T, H, W) -> H×W×N
        return frames.reshape(n, h, w).transpose(1, 2, 0)

    out: dict[str, np.ndarray] = {images_key: to_matlab(dataset.images)}
    if dataset.endo is not None:
        out["endo_LV"] = to_matlab(dataset.endo)
    if dataset.epi is not None:
        out["epi_LV"] = to_matlab(dataset.epi)
    if dataset.has_labels:
        flat = dataset.normalised_indices().reshape(n, 11).T  # (11, N)
        out["areas"], out["dims"], out["rwt"] = flat[0:2], flat[2:5], flat[5:11]
    if dataset.phase is not None:
        out[PHASE_KEY] = dataset.phase.reshape(1, n).astype(np.float64)
    if dataset.spacing_known:
        out["pix_spa"] = dataset.pix_spa.reshape(s, 1)
        out["ratio_resize_inverse"] = dataset.ratio_resize_inverse.reshape(1, s)
    return out


def _matlab73_header() -> bytes:
    text = (f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: {time.strftime('%a %b %d %H:%M:%S %Y')} "
            "HDF5 schema 1.00 .")
    # 116 bytes of text, 8 bytes subsystem offset, version 0x0200, endian indicator.
    return text.encode("ascii").ljust(116, b" ")[:116] + b"\x00" * 8 + b"\x00\x02" + b"IM"


_MATLAB_CLASS = {"f8": "double", "f4": "single", "u1": "uint8", "i1": "int8", "u2": "uint16", "i2": "int16",
                 "u4": "uint32", "i4": "int32", "u8": "uint64", "i8": "int64"}


def write_lvquan_mat(dataset: LVQuanDataset, path: str | os.PathLike, *, version: str = "5",
                     images_key: str | None = None) -> Path:
    """Write a dataset as an LVQuan18-layout MATLAB file (the inverse of :func:`read_lvquan_mat`).

    Keys, shapes and units are those of the challenge files: images H×W×N
    (double), ``endo_LV`` / ``epi_LV`` (logical) when present, normalised
    ``areas`` 2×N, ``dims`` 3×N, ``rwt`` 6×N, ``lv_phase`` 1×N, ``pix_spa`` S×1
    and ``ratio_resize_inverse`` 1×S (omitted when the spacing is unknown).
    The file appears complete or not at all.

    Parameters
    ----------
    dataset : LVQuanDataset
    path : path
        Output ``.mat`` file (overwritten).
    version : {"5", "7.3"}
        MATLAB v5 (SciPy, compressed) or v7.3 (HDF5 with the 512-byte MATLAB
        header, ``MATLAB_class`` attributes and MATLAB's column-major storage).
    images_key : {"images_LV", "images_LV_30"}, optional
        Default: ``images_LV`` when the dataset has labels, else ``images_LV_30``.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        Bad version or images key. OutputError when the file cannot be written.
    """
    if version not in ("5", "7.3"):
        raise InputError(f"version must be '5' or '7.3'; got {version!r}")
    arrays = _matlab_arrays(dataset, images_key)
    path = Path(path)
    with atomic_file(path) as tmp:
        if version == "5":
            import scipy.io

            v5 = {k: (v if v.dtype == bool else np.asarray(v, dtype=np.float64)) for k, v in arrays.items()}
            scipy.io.savemat(str(tmp), v5, format="5", do_compression=True, oned_as="row")
        else:
            _write_hdf5_mat(tmp, arrays)
    return path


def _write_hdf5_mat(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    import h5py

    with h5py.File(str(path), "w", userblock_size=512, libver="earliest") as f:
        for key, value in arrays.items():
            logical = value.dtype == bool
            data = value.astype(np.uint8) if logical else np.asarray(value, dtype=np.float64)
            stored = np.ascontiguousarray(data.T)  # column-major: MATLAB H×W×N is stored N×W×H
            kwargs: dict[str, Any] = {}
            if stored.size > 4096:
                kwargs = {"compression": "gzip", "compression_opts": 4, "chunks": True}
            ds = f.create_dataset(key, data=stored, **kwargs)
            cls = "logical" if logical else _MATLAB_CLASS[data.dtype.str[1:]]
            ds.attrs.create("MATLAB_class", np.bytes_(cls))
            if logical:
                ds.attrs.create("MATLAB_int_decode", np.int32(1))
    with open(path, "r+b") as fh:
        fh.write(_matlab73_header())


def write_lvquan_npz(dataset: LVQuanDataset, path: str | os.PathLike, *, images_key: str | None = None) -> Path:
    """Write a dataset as a compressed ``.npz`` with the LVQuan keys, MATLAB shapes and normalised units.

    Images are stored as float32 and masks as bool; everything else as in
    :func:`write_lvquan_mat`. Read back with :func:`read_lvquan_npz`.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        Bad images key. OutputError when the file cannot be written.
    """
    arrays = _matlab_arrays(dataset, images_key)
    key = next(k for k in IMAGE_KEYS if k in arrays)
    arrays[key] = arrays[key].astype(np.float32)
    return write_npz_atomic(path, arrays)
