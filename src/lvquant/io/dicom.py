"""Read a cine MRI series from DICOM files into a :class:`~lvquant.cine.Cine`.

The reader works in three passes, each a few small functions:

1. **scan**: every file is opened with only the header tags this module needs
   (:data:`_SCAN_TAGS`; patient tags are never parsed) and pixel data deferred.
   Files that are not DICOM, or DICOM without pixel data, are *skipped* with a
   reason, never fatal.
2. **arrange**: images are grouped by ``SeriesInstanceUID``; one series is
   chosen (see :func:`list_dicom_series` for the rule); its images are grouped
   into slices by their position along the slice normal and ordered in time.
3. **load**: the pixel data of the chosen images is decoded, rescaled with
   ``RescaleSlope``/``RescaleIntercept`` and stacked as float32 ``(S, T, H, W)``.

Every problem is raised as :class:`~lvquant.errors.DicomError` with one
actionable sentence. No patient-identifying header value (name, ID, birth
date...) is read, so none can reach a :class:`Cine`, an exception or a log.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..cine import MAX_CINE_VOXELS, Cine, SourceInfo
from ..errors import DicomError
from ..spacing import check_pixel_spacing
from .dicom_header import RawHeader, read_raw_header
from .quiet import quiet_library

__all__ = ["SLICE_TOLERANCE_MM", "SeriesSummary", "dicom_layout", "list_dicom_series", "read_dicom"]

#: Images whose positions along the slice normal differ by at most this many mm
#: belong to the same slice.
SLICE_TOLERANCE_MM = 0.01

#: Two orientations (direction cosines) are "the same" within this tolerance.
_ORIENTATION_TOLERANCE = 1e-3

#: The only header attributes the scan reads. Patient-module tags are absent
#: on purpose: they are never parsed, so they can never leak; so are the free-text
#: SeriesDescription and ProtocolName, which often hold names, dates or accession numbers.
_SCAN_TAGS = [
    "SOPClassUID", "SOPInstanceUID", "Modality", "Manufacturer",
    "SeriesInstanceUID", "SeriesNumber",
    "InstanceNumber", "TriggerTime", "SliceLocation", "SliceThickness",
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing",
    "Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation",
    "BitsAllocated", "BitsStored", "PixelRepresentation",
    "NumberOfFrames", "RescaleSlope", "RescaleIntercept",
    "SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence",
    "PixelData", "FloatPixelData", "DoubleFloatPixelData",
]

#: The attributes needed to decode pixel data.
_PIXEL_TAGS = [
    "Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation",
    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "PlanarConfiguration", "NumberOfFrames", "PixelData", "FloatPixelData",
    "DoubleFloatPixelData",
]

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class _Image:
    """One 2-D image of a series: a single-frame file, or one frame of a multi-frame file."""

    path: Path
    frame: int | None  # frame number inside a multi-frame file, None for single-frame files
    series_uid: str
    series_number: int | None
    modality: str | None
    manufacturer: str | None
    sop_uid: str | None
    rows: int
    cols: int
    photometric: str | None
    spacing: tuple[float, float] | None
    orientation: tuple[float, ...] | None
    position: tuple[float, float, float] | None
    slice_location: float | None
    trigger_time: float | None
    instance_number: int | None
    slope: float
    intercept: float
    slice_thickness: float | None
    #: the dataset the scan read (pixel data deferred, not loaded): decoding reuses it instead of
    #: parsing the file a second time
    header: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SeriesSummary:
    """What one DICOM series holds, with nothing that identifies the patient.

    Attributes
    ----------
    series_uid : str
        ``SeriesInstanceUID`` (``""`` when the files carry none).
    series_number : int or None
        ``SeriesNumber``.
    modality : str or None
        e.g. ``"MR"``.
    n_images : int
        Number of 2-D images (files, or frames of multi-frame files).
    n_slices : int
        Number of distinct positions along the slice normal (1 when unknown).
    n_frames : int
        Largest number of images at one slice position.
    n_trigger_times : int
        Number of distinct ``TriggerTime`` values (0 when absent).
    image_size : tuple of int
        ``(rows, columns)`` of the most common image size.
    spacing_mm : tuple of float or None
        ``PixelSpacing`` (row spacing, column spacing) in mm of the first image.
    orientation : tuple of float or None
        ``ImageOrientationPatient`` of the first image (6 direction cosines).
    is_cine : bool
        True when the series has several trigger times (a cine).
    """

    series_uid: str
    series_number: int | None
    modality: str | None
    n_images: int
    n_slices: int
    n_frames: int
    n_trigger_times: int
    image_size: tuple[int, int]
    spacing_mm: tuple[float, float] | None
    orientation: tuple[float, ...] | None
    is_cine: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of the summary."""
        return asdict(self)

    def label(self) -> str:
        """One line naming the series for messages, without free text, e.g.
        ``1.2.3 (series 5, 240 images, 12 slices x 20 frames)``."""
        number = f"series {self.series_number}, " if self.series_number is not None else ""
        return (f"{self.series_uid or '(no SeriesInstanceUID)'} ({number}{self.n_images} images, "
                f"{self.n_slices} slice(s) x {self.n_frames} frame(s))")


@dataclass
class _Layout:
    """The chosen series arranged as S x T images (no pixels yet)."""

    images: list[list[_Image]]
    positions: np.ndarray  # (S,) mm, ascending
    times: np.ndarray  # (S, T) ms, or frame numbers when not timing_known
    timing_known: bool
    position_source: str
    frame_order: str
    warnings: list[str]


# --------------------------------------------------------------------------- quiet pydicom
def _safe_reason(exc: BaseException) -> str:
    """A short description of a pydicom/numpy exception without any header value.

    Quoted substrings (where parsers echo raw values) are removed and the text
    is cut to 160 characters.
    """
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = re.sub(r"b?'[^']*'|b?\"[^\"]*\"", "…", text)
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------- value helpers
#: The scan's attributes whose values :func:`_raw_value` converts itself, with the VR the standard
#: gives them (tag, VR). pydicom's own conversion costs ~50 µs an element, most of reading a header.
#: Text that may depend on the character set (Manufacturer) is left to pydicom.
_RAW_VR = {
    "SOPClassUID": (0x00080016, "UI"), "SOPInstanceUID": (0x00080018, "UI"), "Modality": (0x00080060, "CS"),
    "SeriesInstanceUID": (0x0020000E, "UI"), "SeriesNumber": (0x00200011, "IS"), "InstanceNumber": (0x00200013, "IS"),
    "TriggerTime": (0x00181060, "DS"), "SliceLocation": (0x00201041, "DS"), "SliceThickness": (0x00180050, "DS"),
    "ImagePositionPatient": (0x00200032, "DS"), "ImageOrientationPatient": (0x00200037, "DS"),
    "PixelSpacing": (0x00280030, "DS"), "Rows": (0x00280010, "US"), "Columns": (0x00280011, "US"),
    "SamplesPerPixel": (0x00280002, "US"), "PhotometricInterpretation": (0x00280004, "CS"),
    "BitsAllocated": (0x00280100, "US"), "BitsStored": (0x00280101, "US"), "PixelRepresentation": (0x00280103, "US"),
    "NumberOfFrames": (0x00280008, "IS"), "RescaleSlope": (0x00281053, "DS"), "RescaleIntercept": (0x00281052, "DS"),
}

#: Marks "not converted here": :func:`_get` then asks pydicom.
_NOT_RAW = object()
#: A decimal string (DS) and an integer string (IS) as the standard writes them.
_DS_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_IS_TEXT = re.compile(r"[+-]?\d+")


def _raw_value(ds: Any, keyword: str) -> Any:
    """The value of one of :data:`_RAW_VR`'s attributes of a pydicom dataset from its raw bytes, as
    pydicom would give it for :func:`_get`'s callers (a number or string, a list when multi-valued,
    None when absent or empty), or :data:`_NOT_RAW` when pydicom must convert it: already converted,
    deferred, stated with another VR, or not parsable here (:func:`_convert_raw`)."""
    tag, vr = _RAW_VR[keyword]
    try:
        elem = ds.get_item(tag)
    except Exception:
        return _NOT_RAW
    if elem is None:
        return None
    raw = getattr(elem, "value", None)
    if not getattr(elem, "is_raw", False) or elem.VR not in (None, vr):
        return _NOT_RAW
    if raw is None and getattr(elem, "length", None) == 0:
        return None
    if not isinstance(raw, bytes):  # deferred
        return _NOT_RAW
    return _convert_raw(raw, vr, bool(elem.is_little_endian))


def _convert_raw(raw: bytes, vr: str, little_endian: bool = True) -> Any:
    """A US, UI, CS, DS or IS value from its bytes, as pydicom converts it (see :func:`_raw_value`), or
    :data:`_NOT_RAW` when it is not written as the standard says."""
    if vr == "US":
        if len(raw) == 0:
            return None
        if len(raw) != 2:
            return _NOT_RAW
        return int.from_bytes(raw, "little" if little_endian else "big")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return _NOT_RAW
    if vr in ("UI", "CS"):
        value = text.strip("\x00 ")
        return value if value and "\\" not in value else (None if not value else _NOT_RAW)
    parts = [v.strip(" \x00") for v in text.split("\\")]
    if not any(parts):
        return None
    number = _DS_TEXT if vr == "DS" else _IS_TEXT
    if not all(number.fullmatch(v) for v in parts):
        return _NOT_RAW
    numbers = [float(v) if vr == "DS" else int(v) for v in parts]
    return numbers[0] if len(numbers) == 1 else numbers


#: Manufacturer (LO) as the lean header reader gives it; read there only when plain printable ASCII.
_MANUFACTURER_TAG = 0x00080070
#: Every tag the lean reader keeps (:func:`_fast_header`).
_FAST_TAGS = frozenset([tag for tag, _ in _RAW_VR.values()] + [_MANUFACTURER_TAG])


@dataclass(frozen=True)
class _FastHeader:
    """The scan's attributes of a file read without pydicom (:func:`_fast_header`).

    ``values``: keyword -> value as :func:`_get` gives it (None when absent or empty) for every
    keyword of :data:`_RAW_VR` and Manufacturer; ``raw``: where the pixel data lies.
    """

    values: dict[str, Any]
    raw: RawHeader


def _fast_header(path: Path) -> _FastHeader | None:
    """The scan's attributes of an uncompressed little-endian Part 10 file, read from its bytes
    (:func:`~lvquant.io.dicom_header.read_raw_header`), or None when pydicom must read it: another
    encoding, a value stated with another VR or not written as the standard says, a Manufacturer that
    is not plain ASCII, an enhanced multi-frame file, or a file that cannot be opened."""
    try:
        raw = read_raw_header(path, _FAST_TAGS)
    except OSError:
        return None
    if raw is None:
        return None
    values: dict[str, Any] = {}
    for keyword, (tag, vr) in _RAW_VR.items():
        if tag not in raw.values:
            values[keyword] = None
            continue
        stated, data = raw.values[tag]
        if stated not in (None, vr):
            return None
        value = _convert_raw(data, vr)
        if value is _NOT_RAW:
            return None
        values[keyword] = value
    stated, data = raw.values.get(_MANUFACTURER_TAG, (None, b""))
    if stated not in (None, "LO"):
        return None
    text = data.rstrip(b"\x00 ")
    if any(not 0x20 <= b < 0x7F for b in text):
        return None
    values["Manufacturer"] = text.decode("ascii").strip() or None
    if raw.functional_groups and ((values["NumberOfFrames"] or 1) != 1 or
                                  any(values[k] is None for k in _FUNCTIONAL_KEYWORDS)):
        return None  # the values may sit in the functional groups: pydicom reads those
    return _FastHeader(values, raw)


#: The per-image attributes :func:`_images_of` takes from a file's functional groups where its top level
#: lacks them: a single-frame file with functional groups is read without pydicom only when it has them all.
_FUNCTIONAL_KEYWORDS = ("PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient", "TriggerTime",
                        "RescaleSlope", "RescaleIntercept", "SliceThickness")


def _get(ds: Any, keyword: str) -> Any:
    """``ds.<keyword>`` or None when absent, empty or unparsable."""
    if isinstance(ds, _FastHeader):
        return ds.values.get(keyword)
    if keyword in _RAW_VR:
        value = _raw_value(ds, keyword)
        if value is not _NOT_RAW:
            return value
    try:
        value = ds.get(keyword, None)
    except Exception:  # pydicom may fail converting a malformed raw value
        return None
    if value is None or value == "":
        return None
    return value


def _float(value: Any) -> float | None:
    """A finite float from a DICOM value, or None."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if np.isfinite(f) else None


def _int(value: Any) -> int | None:
    """An int from a DICOM value, or None."""
    f = _float(value)
    return int(round(f)) if f is not None and abs(f) < 2**62 else None


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    """Exactly ``n`` finite floats from a multi-valued DICOM value, or None."""
    if value is None:
        return None
    try:
        items = list(value) if not isinstance(value, (str, bytes)) else [value]
    except TypeError:
        return None
    if len(items) != n:
        return None
    out = tuple(_float(v) for v in items)
    return None if any(v is None for v in out) else out  # type: ignore[return-value]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return str(value).strip() or None
    except Exception:
        return None


def _spacing(value: Any) -> tuple[float, float] | None:
    vals = _floats(value, 2)
    if vals is None or not all(v > 0 for v in vals):
        return None
    return (float(vals[0]), float(vals[1]))


def _orientation(value: Any) -> tuple[float, ...] | None:
    """Six direction cosines with two non-zero, non-parallel vectors, or None."""
    vals = _floats(value, 6)
    if vals is None:
        return None
    (a, b, c), (d, e, f) = vals[:3], vals[3:]  # plain floats: NumPy's cross costs ~0.1 ms an image
    cross = (b * f - c * e, c * d - a * f, a * e - b * d)
    if math.hypot(a, b, c) < 1e-6 or math.hypot(d, e, f) < 1e-6 or math.hypot(*cross) < 1e-6:
        return None
    return vals


def _slice_normal(orientation: Sequence[float]) -> np.ndarray:
    """Unit normal ``cross(row cosines, column cosines)`` of an ImageOrientationPatient."""
    row = np.asarray(orientation[:3], dtype=np.float64)
    col = np.asarray(orientation[3:], dtype=np.float64)
    normal = np.cross(row / np.linalg.norm(row), col / np.linalg.norm(col))
    return normal / np.linalg.norm(normal)


# --------------------------------------------------------------------------- scan: files
def _collect_files(path_or_paths: str | os.PathLike | Iterable[str | os.PathLike]) -> tuple[Path, list[Path]]:
    """The root used for relative names and every file to scan (folders walked recursively).

    Raises
    ------
    DicomError
        When a given path does not exist, or nothing was given.
    """
    if isinstance(path_or_paths, (str, os.PathLike)):
        given = [Path(path_or_paths)]
    else:
        given = [Path(p) for p in path_or_paths]
    if not given:
        raise DicomError("no DICOM files or folders were given; pass a folder holding the cine series")
    files: list[Path] = []
    for p in given:
        if p.is_dir():
            files.extend(_walk(p))
        elif p.is_file():
            files.append(p)
        else:
            raise DicomError(f"{p} does not exist; check the path to the DICOM folder or files")
    if len(given) == 1:
        root = given[0] if given[0].is_dir() else given[0].parent
    else:
        try:
            root = Path(os.path.commonpath([str(p.resolve()) for p in given]))
        except ValueError:
            root = Path(".")
        if root.is_file():
            root = root.parent
    return root, files


def _walk(folder: Path) -> list[Path]:
    """All regular files below ``folder``, in a stable sorted order.

    FIFOs, sockets, devices and broken or looping symlinks are left out: opening a FIFO
    blocks for ever, and none of them can hold an image. Folder symlinks are not followed.
    """
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        out.extend(p for p in (Path(dirpath) / f for f in sorted(filenames)) if p.is_file())
    return out


def _rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when possible (for messages and records)."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- scan: headers
def _looks_like_raw_dicom(path: Path) -> bool:
    """True for a DICOM file without the 128-byte preamble (starts with a group 0002/0008 tag)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return len(head) == 4 and head[:2] in (b"\x02\x00", b"\x08\x00")


def _check_dicom_file(path: Path) -> None:
    """Refuse, without pydicom, a file that cannot be DICOM: empty, unreadable, or with neither the
    ``DICM`` marker after the 128-byte preamble nor the start of a DICOM file without the preamble.

    Raises
    ------
    ValueError
        With the skip reason (the same pydicom's reading would lead to).
    """
    try:
        if path.stat().st_size == 0:
            raise ValueError("empty file")
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        raise ValueError(f"cannot open file ({type(exc).__name__})") from None
    if head[128:132] != b"DICM" and not _looks_like_raw_dicom(path):
        raise ValueError("not a DICOM file (no 'DICM' marker)")


def _read_header(path: Path) -> Any:
    """The dataset of ``path`` with only :data:`_SCAN_TAGS` and the pixel data deferred, read by pydicom
    (a file :func:`_check_dicom_file` let through that the lean reader does not handle).

    Raises
    ------
    ValueError
        With the skip reason, when the file is not a DICOM file.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path, defer_size=1024, specific_tags=_SCAN_TAGS)
    except InvalidDicomError:
        if not _looks_like_raw_dicom(path):
            raise ValueError("not a DICOM file (no 'DICM' marker)") from None
    except Exception as exc:
        raise ValueError(f"unreadable DICOM header ({_safe_reason(exc)})") from None
    try:  # a DICOM file without the preamble: accept only if it looks like an image
        ds = pydicom.dcmread(path, defer_size=1024, specific_tags=_SCAN_TAGS, force=True)
    except Exception as exc:
        raise ValueError(f"unreadable DICOM header ({_safe_reason(exc)})") from None
    if _get(ds, "SOPClassUID") is None and _get(ds, "Rows") is None:
        raise ValueError("not a DICOM file (no 'DICM' marker)")
    return ds


def _has_pixel_data(ds: Any) -> bool:
    return isinstance(ds, _FastHeader) or any(kw in ds for kw in _PIXEL_KEYWORDS)


def _functional(ds: Any, frame: int, sequence: str, attribute: str) -> Any:
    """``attribute`` of functional-group ``sequence`` for ``frame``: per-frame first, then shared."""
    for groups_kw, index in (("PerFrameFunctionalGroupsSequence", frame), ("SharedFunctionalGroupsSequence", 0)):
        groups = _get(ds, groups_kw)
        try:
            if groups is None or len(groups) <= index:
                continue
            items = groups[index].get(sequence, None)
            if items:
                value = _get(items[0], attribute)
                if value is not None:
                    return value
        except Exception:
            continue
    return None


def _attribute(ds: Any, frame: int, multi: bool, sequence: str, attribute: str) -> Any:
    """A per-image attribute: top level first for single-frame files, functional groups first otherwise."""
    top = _get(ds, attribute)
    if not multi and top is not None:
        return top
    fg = _functional(ds, frame, sequence, attribute)
    return fg if fg is not None else top


#: Largest image side accepted (pixels): cine MRI is at most 512-1024; a header claiming more is corrupt.
MAX_IMAGE_SIDE = 4096
#: Most frames one multi-frame file may claim.
MAX_FRAMES_PER_FILE = 10_000


def _default(value: float | None, default: float) -> float:
    """``value``, or ``default`` when the header has none (0 stays 0: a blanking slope is refused later)."""
    return default if value is None else value


def _frames_present(ds: Any, rows: int, cols: int, n_frames: int) -> int:
    """The header's frame count, capped to what the pixel data present can hold (before any per-frame work).

    A header claiming more frames than its bytes hold (2^31 - 1 in a 130 kB
    file) gets records only for the frames that fit, at least one: decoding
    such a file then fails with its name if its series is the one read, and
    costs nothing otherwise.

    Raises:
        ValueError: with the skip reason, for more than :data:`MAX_FRAMES_PER_FILE` frames that cannot be checked
            against the data (compressed).
    """
    try:
        if isinstance(ds, _FastHeader):
            length = ds.raw.pixel_length
        else:
            elem = ds.get_item("PixelData")
            length = int(elem.length) if elem is not None and elem.length is not None else None
        bits = _int(_get(ds, "BitsAllocated")) or 16
    except Exception:
        length, bits = None, 16
    if length is None or length == 0xFFFFFFFF:  # encapsulated (compressed): each frame is a fragment
        if n_frames > MAX_FRAMES_PER_FILE:
            raise ValueError(f"NumberOfFrames {n_frames} (more than {MAX_FRAMES_PER_FILE})")
        return n_frames
    frame_bytes = max(1, rows * cols * max(bits, 1) // 8)
    return max(1, min(n_frames, (length + 1) // frame_bytes, MAX_FRAMES_PER_FILE))


def _images_of(ds: Any, path: Path) -> list[_Image]:
    """The 2-D images held by one dataset (one, or one per frame of a multi-frame file).

    Raises
    ------
    ValueError
        With the skip reason, when the dataset is not a usable greyscale image.
    """
    if not _has_pixel_data(ds):
        if _get(ds, "Rows") is not None:
            raise ValueError("image header without pixel data (truncated file?)")
        raise ValueError("no pixel data (not an image, e.g. a report or DICOMDIR)")
    rows, cols = _int(_get(ds, "Rows")), _int(_get(ds, "Columns"))
    if not rows or not cols or rows < 1 or cols < 1:
        raise ValueError("no valid Rows/Columns in header")
    samples = _int(_get(ds, "SamplesPerPixel")) or 1
    if samples != 1:
        raise ValueError(f"not a greyscale image (SamplesPerPixel={samples})")
    if rows > MAX_IMAGE_SIDE or cols > MAX_IMAGE_SIDE:
        raise ValueError(f"image of {rows} x {cols} pixels (more than {MAX_IMAGE_SIDE} a side)")
    n_frames = _int(_get(ds, "NumberOfFrames")) or 1
    if n_frames < 1:
        raise ValueError("invalid NumberOfFrames in header")
    claimed = n_frames
    n_frames = _frames_present(ds, rows, cols, n_frames)
    multi = claimed > 1
    common = dict(
        path=path,
        series_uid=_text(_get(ds, "SeriesInstanceUID")) or "",
        series_number=_int(_get(ds, "SeriesNumber")),
        modality=_text(_get(ds, "Modality")),
        manufacturer=_text(_get(ds, "Manufacturer")),
        sop_uid=_text(_get(ds, "SOPInstanceUID")),
        rows=rows,
        cols=cols,
        photometric=_text(_get(ds, "PhotometricInterpretation")),
        slice_location=_float(_get(ds, "SliceLocation")),
        instance_number=_int(_get(ds, "InstanceNumber")),
        header=ds,
    )
    images = []
    for k in range(n_frames):
        attr = lambda seq, kw: _attribute(ds, k, multi, seq, kw)  # noqa: E731
        trigger = None if multi else _get(ds, "TriggerTime")
        if trigger is None:
            trigger = _functional(ds, k, "CardiacSynchronizationSequence", "NominalCardiacTriggerDelayTime")
        if trigger is None:
            trigger = _get(ds, "TriggerTime")
        images.append(_Image(
            frame=k if multi else None,
            spacing=_spacing(attr("PixelMeasuresSequence", "PixelSpacing")),
            orientation=_orientation(attr("PlaneOrientationSequence", "ImageOrientationPatient")),
            position=_floats(attr("PlanePositionSequence", "ImagePositionPatient"), 3),  # type: ignore[arg-type]
            trigger_time=_float(trigger),
            slope=_default(_float(attr("PixelValueTransformationSequence", "RescaleSlope")), 1.0),
            intercept=_float(attr("PixelValueTransformationSequence", "RescaleIntercept")) or 0.0,
            slice_thickness=_float(attr("PixelMeasuresSequence", "SliceThickness")),
            **common,
        ))
    return images


def _scan(path_or_paths: Any) -> tuple[Path, list[_Image], list[tuple[str, str]]]:
    """Every image found under ``path_or_paths``, with the files skipped and why.

    Returns
    -------
    root : Path
        Folder the file names in records are relative to.
    images : list of _Image
        One entry per 2-D image, duplicates (same SOPInstanceUID) removed.
    skipped : list of (str, str)
        ``(file, reason)`` for each file not used.
    """
    root, files = _collect_files(path_or_paths)
    images: list[_Image] = []
    skipped: list[tuple[str, str]] = []
    seen: dict[str, Path] = {}
    for path in files:
        try:
            fast = _fast_header(path)
            if fast is not None:
                found = _images_of(fast, path)
            else:
                _check_dicom_file(path)  # most files that are not DICOM need no pydicom to say so
                with quiet_library("pydicom"):
                    found = _images_of(_read_header(path), path)
        except ValueError as exc:
            skipped.append((_rel(path, root), str(exc)))
            continue
        except Exception as exc:  # any other parser failure: skip, never crash
            skipped.append((_rel(path, root), f"unreadable DICOM header ({_safe_reason(exc)})"))
            continue
        uid = found[0].sop_uid
        if uid is not None and uid in seen:
            skipped.append((_rel(path, root), f"duplicate of {_rel(seen[uid], root)} (same SOPInstanceUID)"))
            continue
        if uid is not None:
            seen[uid] = path
        images.extend(found)
    return root, images, skipped


# --------------------------------------------------------------------------- series
def _group_series(images: list[_Image]) -> dict[str, list[_Image]]:
    """Images grouped by SeriesInstanceUID, in order of first appearance."""
    groups: dict[str, list[_Image]] = {}
    for im in images:
        groups.setdefault(im.series_uid, []).append(im)
    return groups


def _positions(images: list[_Image]) -> tuple[np.ndarray | None, str]:
    """Position of every image along the slice normal (mm) and where it came from.

    ``dot(ImagePositionPatient, cross(row, col))`` when every image has both
    tags; else ``SliceLocation`` when every image has it; else ``(None, "none")``.
    """
    if all(im.position is not None and im.orientation is not None for im in images):
        normal = _slice_normal(images[0].orientation)  # type: ignore[arg-type]
        pos = np.array([np.dot(im.position, normal) for im in images], dtype=np.float64)
        return pos, "ImagePositionPatient"
    if all(im.slice_location is not None for im in images):
        return np.array([im.slice_location for im in images], dtype=np.float64), "SliceLocation"
    return None, "none"


def _cluster(values: np.ndarray, tol: float) -> list[list[int]]:
    """Indices of ``values`` grouped where sorted neighbours differ by <= ``tol``; groups ascending."""
    order = np.argsort(values, kind="stable")
    groups: list[list[int]] = []
    last = None
    for i in order:
        if last is None or values[i] - last > tol:
            groups.append([])
        groups[-1].append(int(i))
        last = values[i]
    return groups


def _summarise(uid: str, images: list[_Image]) -> SeriesSummary:
    """The :class:`SeriesSummary` of one series (no validation)."""
    pos, _ = _positions(images)
    if pos is None:
        per_slice = [len(images)]
    else:
        per_slice = [len(g) for g in _cluster(pos, SLICE_TOLERANCE_MM)]
    triggers = {im.trigger_time for im in images if im.trigger_time is not None}
    size = Counter((im.rows, im.cols) for im in images).most_common(1)[0][0]
    first = images[0]
    return SeriesSummary(
        series_uid=uid,
        series_number=first.series_number,
        modality=first.modality,
        n_images=len(images),
        n_slices=len(per_slice),
        n_frames=max(per_slice),
        n_trigger_times=len(triggers),
        image_size=(int(size[0]), int(size[1])),
        spacing_mm=first.spacing,
        orientation=None if first.orientation is None else tuple(round(v, 6) for v in first.orientation),
        is_cine=len(triggers) >= 2,
    )


def _preference(summary: SeriesSummary) -> tuple:
    """Sort key: cine series first, then most images, most slices, then UID (deterministic)."""
    return (not summary.is_cine, -summary.n_images, -summary.n_slices, summary.series_uid)


def _summaries(groups: dict[str, list[_Image]]) -> list[SeriesSummary]:
    return sorted((_summarise(uid, ims) for uid, ims in groups.items()), key=_preference)


def _select_series(summaries: list[SeriesSummary], series_uid: str | None, where: str) -> tuple[SeriesSummary, str]:
    """The series to read and how it was chosen (``"only"``, ``"requested"`` or ``"automatic"``)."""
    if series_uid is not None:
        for s in summaries:
            if s.series_uid == series_uid.strip():
                return s, "requested"
        available = "; ".join(s.label() for s in summaries)
        raise DicomError(f"series {series_uid} is not in {where}; available series: {available}")
    if len(summaries) == 1:
        return summaries[0], "only"
    return summaries[0], "automatic"


def list_dicom_series(path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[SeriesSummary]:
    """Describe every DICOM image series found under ``path``.

    The list is in order of preference: the first entry is the series
    :func:`read_dicom` reads when no ``series_uid`` is given. The rule: series
    with at least two distinct ``TriggerTime`` values (cines) before others,
    then the one with the most images, then the most slice positions, then the
    smallest ``SeriesInstanceUID`` (so the choice is deterministic).

    Parameters
    ----------
    path : path or sequence of paths
        A folder (searched recursively), a file, or a list of files/folders.

    Returns
    -------
    list of SeriesSummary
        Nothing patient-identifying; empty when no DICOM image was found.

    Raises
    ------
    DicomError
        When a path does not exist.
    """
    _, images, _ = _scan(path)
    return _summaries(_group_series(images))


# --------------------------------------------------------------------------- arrange
def _check_orientation(images: list[_Image]) -> None:
    """Refuse a series whose images do not share one orientation (not a stack)."""
    ref = next((im.orientation for im in images if im.orientation is not None), None)
    if ref is None:
        return
    for im in images:
        if im.orientation is not None and np.max(np.abs(np.subtract(im.orientation, ref))) > _ORIENTATION_TOLERANCE:
            raise DicomError(
                f"the series mixes image orientations ({im.path.name} differs from the first image), so it is "
                "not one short-axis stack; pick the short-axis cine series with series_uid (lvquant info lists them)"
            )


def _frame_order(images: list[_Image]) -> str:
    """``"TriggerTime"`` when every image has one, else ``"InstanceNumber"``, else ``"file name"``."""
    if all(im.trigger_time is not None for im in images):
        return "TriggerTime"
    if all(im.instance_number is not None for im in images):
        return "InstanceNumber"
    return "file name"


def _order_key(im: _Image, how: str) -> tuple:
    frame = -1 if im.frame is None else im.frame
    if how == "TriggerTime":
        return (im.trigger_time, im.instance_number or 0, frame, str(im.path))
    if how == "InstanceNumber":
        return (im.instance_number, frame, str(im.path))
    return (str(im.path), frame)


def _sorted_slice(group: list[_Image], how: str, position: float) -> list[_Image]:
    """Images of one slice in time order; refuse two images at the same time point."""
    ordered = sorted(group, key=lambda im: _order_key(im, how))
    if how in ("TriggerTime", "InstanceNumber"):
        attr = "trigger_time" if how == "TriggerTime" else "instance_number"
        keys = [(getattr(im, attr), im.frame if how == "InstanceNumber" else None) for im in ordered]
        for a, b, im_a, im_b in zip(keys, keys[1:], ordered, ordered[1:]):
            if a == b:
                raise DicomError(
                    f"two images of the slice at {position:.2f} mm share {how} {a[0]} ({im_a.path.name}, "
                    f"{im_b.path.name}): the series holds repeated acquisitions; keep one acquisition's files and retry"
                )
    return ordered


def _check_sizes(slices: list[list[_Image]], positions: np.ndarray) -> None:
    """Refuse different image sizes within a slice or between slices."""
    ref = slices[0][0]
    for group, pos in zip(slices, positions):
        for im in group:
            if (im.rows, im.cols) != (group[0].rows, group[0].cols):
                raise DicomError(
                    f"mixed image sizes within the slice at {pos:.2f} mm: {group[0].rows}x{group[0].cols} "
                    f"({group[0].path.name}) and {im.rows}x{im.cols} ({im.path.name}); remove the odd files"
                )
        if (group[0].rows, group[0].cols) != (ref.rows, ref.cols):
            raise DicomError(
                f"mixed image sizes between slices: {ref.rows}x{ref.cols} ({ref.path.name}) and "
                f"{group[0].rows}x{group[0].cols} ({group[0].path.name}); read one slice size at a time"
            )


def _keep_complete_slices(slices: list[list[_Image]], positions: np.ndarray, warns: list[str]) -> tuple[list[list[_Image]], np.ndarray]:
    """Keep only slices with the most common frame count (ties: the larger count), with a warning.

    A slice with fewer (or more) frames than the others usually misses files;
    trimming frames instead would silently misalign the cardiac phases.
    """
    counts = Counter(len(g) for g in slices)
    if len(counts) == 1:
        return slices, positions
    keep_n = max(counts, key=lambda n: (counts[n], n))
    keep = [i for i, g in enumerate(slices) if len(g) == keep_n]
    dropped = [f"{positions[i]:.2f} mm ({len(slices[i])} frames)" for i in range(len(slices)) if len(slices[i]) != keep_n]
    warns.append(
        f"slices have different frame counts; kept the {len(keep)} slice(s) with {keep_n} frames and "
        f"dropped: {', '.join(dropped)}"
    )
    return [slices[i] for i in keep], positions[keep]


def _arrange(images: list[_Image]) -> _Layout:
    """Group the images of one series into slices (ascending along the normal) and frames (time order).

    Raises
    ------
    DicomError
        Mixed orientations, no way to tell slices apart, two images at one time
        point of a slice, or mixed image sizes.
    """
    warns: list[str] = []
    _check_orientation(images)
    pos, source = _positions(images)
    how = _frame_order(images)
    if pos is None:
        keys = [_order_key(im, how)[0] for im in images]
        if how == "file name" or len(set(keys)) != len(keys):
            raise DicomError(
                f"cannot tell the slices of the series apart: {images[0].path.name} and others have neither "
                "ImagePositionPatient/ImageOrientationPatient nor SliceLocation; export the series with full headers"
            )
        if how == "TriggerTime" and len(images) > 2:
            steps = np.diff(np.sort(np.array([im.trigger_time for im in images], dtype=np.float64)))
            typical = float(np.median(steps))
            if typical <= 0 or steps.min() < typical / 3 or steps.max() > 3 * typical:
                raise DicomError(
                    f"the series has no slice position in its headers and its {len(images)} trigger times are not "
                    "one evenly timed cycle (several slices interleaved?); slices are never merged without a "
                    "position: export the series with ImagePositionPatient or SliceLocation"
                )
        pos = np.zeros(len(images))
        warns.append("no slice position in the headers; all images are read as one slice at 0 mm")
    elif source == "SliceLocation":
        warns.append("slice positions from SliceLocation (no ImagePositionPatient/ImageOrientationPatient); "
                     "its sign convention is the scanner's, so the slice order may be reversed")
    groups = _cluster(pos, SLICE_TOLERANCE_MM)
    positions = np.array([float(np.mean(pos[g])) for g in groups])
    slices = [_sorted_slice([images[i] for i in g], how, p) for g, p in zip(groups, positions)]
    _check_sizes(slices, positions)
    slices, positions = _keep_complete_slices(slices, positions, warns)
    if how == "TriggerTime":
        times = np.array([[im.trigger_time for im in g] for g in slices], dtype=np.float64)
    else:
        times = np.broadcast_to(np.arange(len(slices[0]), dtype=np.float64), (len(slices), len(slices[0]))).copy()
    if any(im.photometric == "MONOCHROME1" for g in slices for im in g):
        warns.append("MONOCHROME1 images (low values displayed bright) were read as stored, not inverted")
    bad_slope = next((im for g in slices for im in g if not im.slope > 0), None)
    if bad_slope is not None:
        n_bad = sum(1 for g in slices for im in g if not im.slope > 0)
        raise DicomError(
            f"RescaleSlope is {bad_slope.slope:g} in {n_bad} image(s) of the series (e.g. {bad_slope.path.name}): "
            "a zero or negative slope blanks or inverts the intensities, which no cine MRI has; fix the header"
        )
    return _Layout(slices, positions, times, how == "TriggerTime", source, how, warns)


# --------------------------------------------------------------------------- spacing
def _series_spacing(layout: _Layout, spacing_mm: Any) -> tuple[tuple[float, float], str]:
    """Pixel spacing (row, column) in mm and its source (``"header"`` or ``"argument"``)."""
    if spacing_mm is not None:
        return check_pixel_spacing(spacing_mm, error=DicomError), "argument"
    flat = [im for g in layout.images for im in g]
    missing = next((im for im in flat if im.spacing is None), None)
    if missing is not None:
        raise DicomError(
            f"no pixel spacing in the DICOM header of {missing.path.name}; give it explicitly "
            "(spacing_mm, or --spacing on the command line)"
        )
    ref = flat[0].spacing
    for im in flat:
        if not np.allclose(im.spacing, ref, rtol=1e-4, atol=1e-6):  # type: ignore[arg-type]
            raise DicomError(
                f"mixed pixel spacing in the series: {ref} mm ({flat[0].path.name}) and {im.spacing} mm "
                f"({im.path.name}); read images of one spacing at a time"
            )
    return ref, "header"  # type: ignore[return-value]


# --------------------------------------------------------------------------- load pixels
def _ensure_transfer_syntax(ds: Any) -> None:
    """Give a file without file meta (no preamble) the transfer syntax it was read with."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    implicit, little = ds.original_encoding
    if meta is None:
        ds.file_meta = meta = FileMetaDataset()
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)


def _compression(ds: Any) -> str | None:
    """Name of the compressed transfer syntax of ``ds``, or None (uncompressed, unknown or malformed)."""
    try:
        ts = ds.file_meta.TransferSyntaxUID
        return str(ts.name) if ts.is_compressed else None
    except Exception:
        return None


def _native_pixels(ds: Any) -> np.ndarray | None:
    """The stored values of uncompressed little-endian 8/16-bit greyscale pixel data of a pydicom
    dataset, read directly (:func:`_native_array`); None where pydicom must decode or refuse them."""
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    try:
        if ds.file_meta.TransferSyntaxUID not in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
            return None
        if "PixelData" not in ds or int(ds.get("SamplesPerPixel", 1) or 1) != 1:
            return None
        return _native_array(lambda n: ds.PixelData, int(ds.Rows), int(ds.Columns),
                             int(ds.get("NumberOfFrames", 1) or 1), int(ds.BitsAllocated), int(ds.BitsStored),
                             int(ds.PixelRepresentation))
    except Exception:
        return None


def _fast_pixels(path: Path, header: _FastHeader) -> np.ndarray | None:
    """:func:`_native_pixels` for a file the lean reader scanned: one seek and one read."""
    g = header.values
    try:
        if (g["SamplesPerPixel"] or 1) != 1 or None in (g["BitsAllocated"], g["BitsStored"], g["PixelRepresentation"]):
            return None

        def read(n: int) -> bytes:
            if header.raw.pixel_length < n:
                return b""
            with open(path, "rb") as fh:
                fh.seek(header.raw.pixel_offset)
                return fh.read(n)

        return _native_array(read, int(g["Rows"]), int(g["Columns"]), int(g["NumberOfFrames"] or 1),
                             int(g["BitsAllocated"]), int(g["BitsStored"]), int(g["PixelRepresentation"]))
    except (OSError, TypeError, ValueError):
        return None


def _native_array(read: Any, rows: int, cols: int, frames: int, bits: int, stored: int, signed: int
                  ) -> np.ndarray | None:
    """Stored 8/16-bit values from the pixel data's bytes (``read(n)`` gives at least its first n bytes).

    The common case, about twice as fast as pydicom's general decoder, and the same values: only
    taken where no bit needs masking or sign extension (BitsStored = BitsAllocated, or unsigned
    values that all fit in BitsStored). None for everything else (float, signed with unused bits,
    short data), which pydicom then decodes or refuses with its own reason.
    """
    if bits not in (8, 16) or not 1 <= stored <= bits or (signed and stored != bits):
        return None
    if rows < 1 or cols < 1 or frames < 1:
        return None
    dtype = np.dtype(("<i" if signed else "<u") + str(bits // 8))
    n = rows * cols * frames
    data = read(n * dtype.itemsize)
    if len(data) < n * dtype.itemsize:
        return None
    arr = np.frombuffer(data, dtype=dtype, count=n)
    if stored < bits and int(arr.max()) >= 1 << stored:
        return None
    return arr.reshape((frames, rows, cols) if frames > 1 else (rows, cols))


def _decode_file(path: Path) -> np.ndarray:
    """The stored pixel values of one file: (rows, cols) or (frames, rows, cols).

    Raises
    ------
    DicomError
        When the pixel data is truncated, corrupt or compressed without a decoder.
    """
    import pydicom

    ds = None
    try:
        with quiet_library("pydicom"):
            ds = pydicom.dcmread(path, specific_tags=_PIXEL_TAGS, force=True)
            _ensure_transfer_syntax(ds)
            native = _native_pixels(ds)
            return native if native is not None else np.asarray(ds.pixel_array)
    except Exception as exc:
        compression = _compression(ds)
        if compression and "missing dependencies" in str(exc):
            raise DicomError(
                f"the pixel data of {path} is compressed ({compression}) and no decoder for it is installed; "
                "decompress the files (e.g. 'gdcmconv --raw') or install pylibjpeg"
            ) from None
        kind = f"compressed ({compression}) " if compression else ""
        raise DicomError(
            f"cannot decode the {kind}pixel data of {path} ({_safe_reason(exc)}); the file is truncated or corrupt: "
            "export it again from the scanner or PACS"
        ) from None


def _decode_image(im: _Image) -> np.ndarray:
    """The stored pixel values of ``im``'s file, from the scan's dataset when it can be read directly.

    The scan's dataset deferred the pixel data (or, read without pydicom, knows where it lies):
    reading it is one seek and one read; everything else goes through :func:`_decode_file`.
    """
    ds = im.header
    if isinstance(ds, _FastHeader):
        native = _fast_pixels(im.path, ds)
        if native is not None:
            return native
    elif ds is not None:
        with quiet_library("pydicom"):
            try:
                _ensure_transfer_syntax(ds)
                native = _native_pixels(ds)
            except Exception:
                native = None
            finally:
                with contextlib.suppress(Exception):  # the header is kept; its pixel data is not
                    del ds[0x7FE00010]
        if native is not None:
            return native
    return _decode_file(im.path)


def _pixels(im: _Image, cache: dict[Path, np.ndarray]) -> np.ndarray:
    """One image's rescaled pixels, float32 (rows, cols)."""
    if im.path not in cache:
        if len(cache) > 8:  # only multi-frame files are revisited; keep memory bounded
            cache.clear()
        cache[im.path] = _decode_image(im)
    arr = cache[im.path]
    if im.frame is not None:
        if arr.ndim != 3 or im.frame >= arr.shape[0]:
            raise DicomError(f"the pixel data of {im.path} holds fewer frames than its header says; the file is corrupt")
        arr = arr[im.frame]
    elif arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.shape != (im.rows, im.cols):
        raise DicomError(
            f"the pixel data of {im.path} has shape {arr.shape}, not the {im.rows}x{im.cols} of its header; "
            "the file is corrupt"
        )
    out = arr.astype(np.float32)
    if im.slope != 1.0 or im.intercept != 0.0:
        out = out * np.float32(im.slope) + np.float32(im.intercept)
    return out


#: Largest ratio between the intensity ranges of two frames of one slice: the frames of a cine
#: are acquired alike, so a larger one means a wrong RescaleSlope, not anatomy.
MAX_FRAME_SCALE_RATIO = 100.0


def _check_frame_scales(frames: np.ndarray, layout: _Layout) -> None:
    """Refuse a slice whose frames' rescaled intensity ranges (1st-99th percentile) differ by
    more than :data:`MAX_FRAME_SCALE_RATIO` (or where some frames are blank and others not)."""
    sub = frames[:, :, ::4, ::4].reshape(frames.shape[0], frames.shape[1], -1)
    lo, hi = np.percentile(sub, (1.0, 99.0), axis=2)
    span = hi - lo  # (S, T)
    for k in range(span.shape[0]):
        top, low = float(span[k].max()), float(span[k].min())
        if top > 0 and (low <= 0 or top / low > MAX_FRAME_SCALE_RATIO):
            t_hi, t_lo = int(np.argmax(span[k])), int(np.argmin(span[k]))
            names = layout.images[k]
            raise DicomError(
                f"the frames of one slice differ in intensity scale by more than {MAX_FRAME_SCALE_RATIO:g} times "
                f"({names[t_hi].path.name} against {names[t_lo].path.name}); check their RescaleSlope/"
                "RescaleIntercept or remove the odd files"
            )


def _load(layout: _Layout) -> np.ndarray:
    """All pixels of the layout as float32 (S, T, H, W)."""
    first = layout.images[0][0]
    s, t = len(layout.images), len(layout.images[0])
    if s * t * first.rows * first.cols > MAX_CINE_VOXELS:
        raise DicomError(f"the series is {s} slices x {t} frames of {first.rows} x {first.cols} pixels, more than "
                         f"the {MAX_CINE_VOXELS:,} voxels lvquant reads into memory; choose a series with --series")
    frames = np.empty((s, t, first.rows, first.cols), dtype=np.float32)
    cache: dict[Path, np.ndarray] = {}
    for i, group in enumerate(layout.images):
        for j, im in enumerate(group):
            frames[i, j] = _pixels(im, cache)
    if not np.all(np.isfinite(frames)):
        raise DicomError("the pixel values contain NaN or infinity after rescaling; check RescaleSlope/RescaleIntercept")
    _check_frame_scales(frames, layout)
    return frames


# --------------------------------------------------------------------------- public reader
def _no_images_message(where: str, skipped: list[tuple[str, str]]) -> str:
    if not skipped:
        return f"no DICOM images in {where}: the folder is empty; point to the folder holding the cine series"
    reasons = Counter(reason for _, reason in skipped)
    top = "; ".join(f"{n} x {reason}" for reason, n in reasons.most_common(3))
    return f"no DICOM images in {where} ({len(skipped)} file(s) skipped: {top}); point to the folder holding the cine series"


def _image_name(im: _Image, root: Path) -> str:
    name = _rel(im.path, root)
    return name if im.frame is None else f"{name}#{im.frame}"


def read_dicom(
    path_or_paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    series_uid: str | None = None,
    spacing_mm: float | Sequence[float] | None = None,
) -> Cine:
    """Read one DICOM cine series as a :class:`~lvquant.cine.Cine`.

    Parameters
    ----------
    path_or_paths : path or sequence of paths
        A folder (searched recursively), one file, or a list of files/folders.
        Files that are not DICOM images are skipped and listed in
        ``cine.source.skipped``.
    series_uid : str, optional
        ``SeriesInstanceUID`` of the series to read. Without it, the preferred
        series of :func:`list_dicom_series` is read and the others are listed
        in ``cine.source.extra["other_series"]``.
    spacing_mm : float or (float, float), optional
        Pixel spacing (row, column) in mm overriding the header (required when
        the header has no ``PixelSpacing``).

    Returns
    -------
    Cine
        ``frames`` float32 (S, T, H, W) with rescale slope/intercept applied;
        slices ascending along the normal ``cross(row, col)`` of
        ``ImageOrientationPatient`` (fallback ``SliceLocation``); frames in
        ``TriggerTime`` order (fallback ``InstanceNumber``); ``frame_times_ms``
        (S, T) from ``TriggerTime`` (frame numbers and ``timing_known=False``
        without it). ``source.extra`` holds ``warnings`` (list of str),
        ``other_series`` (list of dict), ``series_selection``,
        ``position_source``, ``frame_order``, ``spacing_source``,
        ``series_number`` and ``image_files`` (S x T file names relative to the
        folder read; ``name#k`` is frame k of a multi-frame file).

    Raises
    ------
    DicomError
        Path missing; no DICOM image; unknown ``series_uid``; mixed
        orientations, image sizes or spacings; no pixel spacing; repeated
        acquisitions at one slice position; truncated, corrupt or undecodable
        pixel data. Messages never contain patient-identifying values.
    """
    root, images, skipped = _scan(path_or_paths)
    where = str(path_or_paths) if isinstance(path_or_paths, (str, os.PathLike)) else str(root)
    if not images:
        raise DicomError(_no_images_message(where, skipped))
    groups = _group_series(images)
    summaries = _summaries(groups)
    chosen, how = _select_series(summaries, series_uid, where)
    layout = _arrange(groups[chosen.series_uid])
    spacing, spacing_source = _series_spacing(layout, spacing_mm)
    frames = _load(layout)
    first = layout.images[0][0]
    orientation = None if first.orientation is None else np.asarray(first.orientation, dtype=np.float64)
    used_files = {im.path for g in layout.images for im in g}
    extra = {
        "warnings": layout.warnings,
        "other_series": [s.to_dict() for s in summaries if s.series_uid != chosen.series_uid],
        "series_selection": how,
        "series_number": first.series_number,
        "position_source": layout.position_source,
        "frame_order": layout.frame_order,
        "spacing_source": spacing_source,
        "image_files": tuple(tuple(_image_name(im, root) for im in g) for g in layout.images),
    }
    source = SourceInfo(
        format="dicom",
        path=where,
        n_files=len(used_files),
        series_uid=chosen.series_uid or None,
        modality=first.modality,
        manufacturer=first.manufacturer,
        skipped=tuple(skipped),
        extra=extra,
    )
    return Cine(
        frames=frames,
        spacing_mm=spacing,
        frame_times_ms=layout.times,
        slice_positions_mm=layout.positions,
        orientation=orientation,
        slice_thickness_mm=first.slice_thickness,
        timing_known=layout.timing_known,
        source=source,
    )


def dicom_layout(
    path_or_paths: str | os.PathLike | Sequence[str | os.PathLike], *, series_uid: str | None = None
) -> tuple[tuple[str, ...], ...]:
    """File names of the chosen series arranged as :func:`read_dicom` would (S x T), without reading pixels.

    Parameters
    ----------
    path_or_paths, series_uid
        As for :func:`read_dicom`.

    Returns
    -------
    tuple of tuple of str
        ``names[s][t]`` is the file (relative to the folder read) of slice ``s``
        (ascending along the slice normal) and frame ``t`` (time order): the
        same as ``read_dicom(...).source.extra["image_files"]``.
    """
    root, images, skipped = _scan(path_or_paths)
    where = str(path_or_paths) if isinstance(path_or_paths, (str, os.PathLike)) else str(root)
    if not images:
        raise DicomError(_no_images_message(where, skipped))
    groups = _group_series(images)
    chosen, _ = _select_series(_summaries(groups), series_uid, where)
    layout = _arrange(groups[chosen.series_uid])
    return tuple(tuple(_image_name(im, root) for im in g) for g in layout.images)
