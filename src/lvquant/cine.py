"""The in-memory cine: frames with their geometry and timing, no patient data.

Every reader in :mod:`lvquant.io` returns a :class:`Cine`. Pixels always travel
with their spacing, frames with their times (TorchIO's ``Subject`` is the model:
one object that carries images and metadata together).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError


@dataclass(frozen=True)
class SourceInfo:
    """Where a cine came from, with nothing that identifies the patient.

    Attributes:
        format: ``"dicom"``, ``"nifti"``, ``"lvquan-mat"``, ``"phantom"``...
        path: the file or folder that was read (as given by the user).
        n_files: number of files that made up the cine (1 for single-file formats).
        series_uid: DICOM SeriesInstanceUID when known (not patient-identifying on
            its own; needed to pick a series with ``--series``).
        modality: e.g. ``"MR"``.
        manufacturer: scanner manufacturer, when known.
        skipped: ``(file, reason)`` for files that were ignored while reading.
        extra: any other non-identifying facts a reader wants to keep.
    """

    format: str
    path: str = ""
    n_files: int = 1
    series_uid: str | None = None
    modality: str | None = None
    manufacturer: str | None = None
    skipped: tuple[tuple[str, str], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


#: Most voxels (slices x frames x rows x columns) a reader builds into one cine: 2^28, 1 GiB of
#: float32 (a 14-slice x 30-frame stack of 512 x 512 is 110 M). A header claiming more is refused
#: before anything is allocated.
MAX_CINE_VOXELS = 2**28


@dataclass(frozen=True)
class Cine:
    """A short-axis cine: S slices x T frames of H x W pixels.

    Attributes:
        frames: float32 array, shape (S, T, H, W); row 0 is the image top.
            Rescale slope/intercept already applied.
        spacing_mm: pixel spacing (row spacing, column spacing) in mm, i.e. the
            distance between the centres of adjacent rows and adjacent columns.
        frame_times_ms: float64 array (S, T): trigger time of every frame in ms
            from the R wave. Readers without timing fill ``arange(T) * dt``
            with ``dt`` from the header when known, else 1 frame = 1 unit and
            ``timing_known`` False.
        slice_positions_mm: float64 array (S,): position of each slice along the
            slice normal in mm, sorted ascending (slices are in this order).
        orientation: float64 array (6,) DICOM ImageOrientationPatient
            (row direction cosines, then column direction cosines), or None.
        slice_thickness_mm: nominal slice thickness, or None.
        timing_known: whether ``frame_times_ms`` come from the data.
        source: :class:`SourceInfo` describing the origin (no patient data).
    """

    frames: np.ndarray
    spacing_mm: tuple[float, float]
    frame_times_ms: np.ndarray
    slice_positions_mm: np.ndarray
    orientation: np.ndarray | None = None
    slice_thickness_mm: float | None = None
    timing_known: bool = True
    source: SourceInfo = field(default_factory=lambda: SourceInfo(format="array"))

    def __post_init__(self) -> None:
        frames = np.asarray(self.frames)
        if frames.ndim != 4:
            raise InputError(f"cine frames must be 4-D (slices, frames, rows, cols); got shape {frames.shape}")
        if 0 in frames.shape:
            raise InputError(f"cine has an empty axis: shape {frames.shape}")
        if frames.dtype != np.float32:
            frames = frames.astype(np.float32)
        if not np.all(np.isfinite(frames)):
            raise InputError("cine frames contain NaN or infinite values")
        s, t = frames.shape[:2]
        spacing = tuple(float(v) for v in self.spacing_mm)
        if len(spacing) != 2 or not all(np.isfinite(v) and v > 0 for v in spacing):
            raise InputError(f"pixel spacing must be two positive numbers in mm; got {self.spacing_mm!r}")
        times = np.asarray(self.frame_times_ms, dtype=np.float64)
        if times.shape == (t,):
            times = np.broadcast_to(times, (s, t)).copy()
        if times.shape != (s, t):
            raise InputError(f"frame_times_ms must have shape ({s}, {t}); got {times.shape}")
        positions = np.asarray(self.slice_positions_mm, dtype=np.float64).reshape(-1)
        if positions.shape != (s,):
            raise InputError(f"slice_positions_mm must have {s} values; got {positions.shape[0]}")
        orientation = None if self.orientation is None else np.asarray(self.orientation, dtype=np.float64).reshape(6)
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "spacing_mm", spacing)
        object.__setattr__(self, "frame_times_ms", times)
        object.__setattr__(self, "slice_positions_mm", positions)
        object.__setattr__(self, "orientation", orientation)

    @property
    def n_slices(self) -> int:
        return int(self.frames.shape[0])

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[1])

    @property
    def image_shape(self) -> tuple[int, int]:
        return int(self.frames.shape[2]), int(self.frames.shape[3])

    def slice(self, k: int) -> "Cine":
        """The cine restricted to slice ``k`` (shape (1, T, H, W))."""
        if not -self.n_slices <= k < self.n_slices:
            raise InputError(f"slice {k} does not exist: the cine has {self.n_slices} slice(s), numbered 0..{self.n_slices - 1}")
        k = k % self.n_slices
        return Cine(
            frames=self.frames[k : k + 1],
            spacing_mm=self.spacing_mm,
            frame_times_ms=self.frame_times_ms[k : k + 1],
            slice_positions_mm=self.slice_positions_mm[k : k + 1],
            orientation=self.orientation,
            slice_thickness_mm=self.slice_thickness_mm,
            timing_known=self.timing_known,
            source=self.source,
        )
