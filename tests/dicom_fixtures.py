"""Small synthetic DICOM cine series for the reader tests.

Every file carries a made-up patient (``Doe^Jane``) so tests can check that no
patient-identifying value ever reaches an output, an exception or a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, EnhancedMRImageStorage, generate_uid

PATIENT_NAME = "Doe^Jane"
PATIENT_ID = "PID-7734-QX"
PATIENT_BIRTH_DATE = "19710203"
#: Strings that must never appear in anything the library produces.
SECRETS = ("Doe", "Jane", PATIENT_ID, PATIENT_BIRTH_DATE)

#: An oblique short-axis-like orientation (row cosines, column cosines).
_ROW = np.array([0.8, 0.6, 0.0])
_COL = np.cross(np.array([0.3, -0.4, 0.866]) / np.linalg.norm([0.3, -0.4, 0.866]), _ROW)
OBLIQUE = tuple(np.concatenate([_ROW, _COL / np.linalg.norm(_COL)]).round(6))
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass
class Series:
    """What :func:`write_series` wrote, in the order the reader must return it."""

    folder: Path
    uid: str
    files: list[Path]
    expected: np.ndarray  # float32 (S, T, H, W): rescaled values, slices ascending along the normal
    positions: np.ndarray  # (S,) mm along the normal, ascending
    times: np.ndarray  # (S, T) ms
    normal: np.ndarray
    orientation: tuple[float, ...]
    spacing: tuple[float, float]
    ipp: np.ndarray  # (S, 3) ImagePositionPatient of each slice (ascending order)
    file_grid: list[list[Path]]  # file of slice s, frame t


def _normal(orientation: Sequence[float]) -> np.ndarray:
    n = np.cross(np.asarray(orientation[:3], float), np.asarray(orientation[3:], float))
    return n / np.linalg.norm(n)


def base_dataset(*, patient: bool = True) -> Dataset:
    """A dataset with file meta and the (fake) patient module."""
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    if patient:
        ds.PatientName = PATIENT_NAME
        ds.PatientID = PATIENT_ID
        ds.PatientBirthDate = PATIENT_BIRTH_DATE
        ds.PatientSex = "F"
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.Manufacturer = "Acme Imaging"
    ds.StudyInstanceUID = generate_uid()
    return ds


def set_pixels(ds: Dataset, stored: np.ndarray) -> None:
    """Attach int16 pixel data (rows, cols) or (frames, rows, cols)."""
    stored = np.asarray(stored, dtype=np.int16)
    ds.Rows, ds.Columns = int(stored.shape[-2]), int(stored.shape[-1])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.PixelData = stored.tobytes()


def save(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_series(
    folder: Path,
    *,
    n_slices: int = 3,
    n_frames: int = 20,
    rows: int = 32,
    cols: int = 32,
    orientation: Sequence[float] = OBLIQUE,
    spacing: tuple[float, float] = (1.5, 1.25),
    slice_gap_mm: float = 8.0,
    origin: Sequence[float] = (-40.0, 25.0, 110.0),
    series_uid: str | None = None,
    description: str = "SAX cine",
    series_number: int = 7,
    slope: float | Sequence[float] = 1.0,
    intercept: float = 0.0,
    trigger_times: bool = True,
    instance_order: str = "reverse",
    with_position: bool = True,
    with_slice_location: bool = True,
    with_spacing: bool = True,
    shuffle: bool = True,
    prefix: str = "",
    seed: int = 0,
) -> Series:
    """Write ``n_slices x n_frames`` single-frame MR images with shuffled file names.

    Slice k of the acquisition sits at ``origin + (n_slices - 1 - k) * gap * normal``,
    so acquisition order is *descending* along the normal (the reader must sort
    it ascending). ``instance_order="reverse"`` numbers instances against time
    (so ordering by InstanceNumber instead of TriggerTime would be caught);
    ``"time"`` numbers them in time order. ``slope`` may be one value per slice.
    """
    rng = np.random.default_rng(seed)
    uid = series_uid or generate_uid()
    normal = _normal(orientation)
    slopes = np.broadcast_to(np.asarray(slope, dtype=float), (n_slices,))
    n_img = n_slices * n_frames
    names = np.arange(n_img)
    if shuffle:
        names = rng.permutation(n_img)
    stored_all = rng.integers(0, 3000, size=(n_slices, n_frames, rows, cols)).astype(np.int16)
    expected = np.empty((n_slices, n_frames, rows, cols), dtype=np.float32)
    positions = np.empty(n_slices)
    ipps = np.empty((n_slices, 3))
    times = np.empty((n_slices, n_frames))
    grid: list[list[Path]] = [[None] * n_frames for _ in range(n_slices)]  # type: ignore[list-item]
    files = []
    for k in range(n_slices):  # acquisition order
        s = n_slices - 1 - k  # index in ascending order along the normal
        ipp = np.asarray(origin, float) + s * slice_gap_mm * normal
        positions[s], ipps[s] = float(ipp @ normal), ipp
        dt = 40.0 + 1.5 * k  # heart rate differs a little per slice, as in real data
        for t in range(n_frames):
            idx = k * n_frames + t
            ds = base_dataset()
            ds.SeriesInstanceUID = uid
            ds.SeriesDescription = description
            ds.SeriesNumber = series_number
            ds.InstanceNumber = (n_img - idx) if instance_order == "reverse" else idx + 1
            if trigger_times:
                ds.TriggerTime = f"{10.0 + t * dt:.3f}"
            if with_position:
                ds.ImagePositionPatient = [f"{v:.6f}" for v in ipp]
                ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
            if with_slice_location:
                ds.SliceLocation = f"{float(ipp @ normal):.4f}"
            if with_spacing:
                ds.PixelSpacing = [f"{spacing[0]:g}", f"{spacing[1]:g}"]
            ds.SliceThickness = "8"
            if slopes[k] != 1.0 or intercept != 0.0:
                ds.RescaleSlope = f"{slopes[k]:g}"
                ds.RescaleIntercept = f"{intercept:g}"
            set_pixels(ds, stored_all[k, t])
            expected[s, t] = stored_all[k, t].astype(np.float32) * np.float32(slopes[k]) + np.float32(intercept)
            times[s, t] = round(10.0 + t * dt, 3)
            path = save(ds, folder / f"{prefix}IM{names[idx]:04d}")
            grid[s][t] = path
            files.append(path)
    return Series(folder, uid, files, expected, positions, times, normal, tuple(orientation), spacing, ipps, grid)


def write_enhanced(
    path: Path,
    *,
    n_slices: int = 2,
    n_frames: int = 5,
    rows: int = 16,
    cols: int = 16,
    spacing: tuple[float, float] = (1.4, 1.4),
    seed: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """One enhanced (multi-frame) MR file; frames stored slice-descending, time-shuffled.

    Returns
    -------
    expected : float32 (S, T, H, W) in reader order; times : (S, T) ms.
    """
    rng = np.random.default_rng(seed)
    ds = base_dataset()
    ds.SOPClassUID = EnhancedMRImageStorage
    ds.file_meta.MediaStorageSOPClassUID = EnhancedMRImageStorage
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesDescription = "enhanced cine"
    ds.InstanceNumber = 1
    stored = rng.integers(0, 2000, size=(n_slices, n_frames, rows, cols)).astype(np.int16)
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = [str(spacing[0]), str(spacing[1])]
    pm.SliceThickness = "6"
    shared.PixelMeasuresSequence = [pm]
    po = Dataset()
    po.ImageOrientationPatient = list(AXIAL)
    shared.PlaneOrientationSequence = [po]
    pvt = Dataset()
    pvt.RescaleSlope = "2"
    pvt.RescaleIntercept = "-5"
    shared.PixelValueTransformationSequence = [pvt]
    ds.SharedFunctionalGroupsSequence = [shared]
    order = [(s, t) for s in reversed(range(n_slices)) for t in rng.permutation(n_frames)]
    per_frame, frames = [], []
    times = np.empty((n_slices, n_frames))
    for s, t in order:
        item = Dataset()
        pp = Dataset()
        pp.ImagePositionPatient = [0.0, 0.0, float(6 * s)]
        item.PlanePositionSequence = [pp]
        cs = Dataset()
        cs.NominalCardiacTriggerDelayTime = float(30 * t + s)
        item.CardiacSynchronizationSequence = [cs]
        per_frame.append(item)
        frames.append(stored[s, t])
        times[s, t] = 30 * t + s
    ds.PerFrameFunctionalGroupsSequence = per_frame
    ds.NumberOfFrames = len(frames)
    set_pixels(ds, np.stack(frames))
    save(ds, path)
    return stored.astype(np.float32) * 2 - 5, times


def no_pixel_dataset() -> Dataset:
    """A DICOM file without pixel data (like a structured report)."""
    ds = base_dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.Modality = "SR"
    ds.SeriesInstanceUID = generate_uid()
    return ds


def rewrite(path: Path, **changes) -> None:
    """Change header attributes of an existing file (value None deletes the attribute)."""
    ds = pydicom.dcmread(path)
    for key, value in changes.items():
        if value is None:
            if key in ds:
                delattr(ds, key)
        else:
            setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)
