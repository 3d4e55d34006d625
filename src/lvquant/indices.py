"""The 11 LV indices of a frame (or a stack of frames), with their units.

Field names are the ones used everywhere in the product (Python, JSON, CSV):

========================  =========  ==========================================
field                     unit       meaning (see shared/DOMAIN.md)
========================  =========  ==========================================
``cavity_area_mm2``       mm²        A1, LV cavity area (papillary muscles in)
``myocardium_area_mm2``   mm²        A2, myocardium area
``dims_mm``               mm         D1, D2, D3: cavity dimensions IS-AL, I-A, IL-AS
``rwt_mm``                mm         RWT1..RWT6 of segments IS, I, IL, AL, A, AS
========================  =========  ==========================================

The flat 11-vector order (``to_array``) is A1, A2, D1, D2, D3, RWT1..RWT6, the
order of the LVQuan challenge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError

#: Segment names of RWT1..RWT6, in order.
SEGMENTS: tuple[str, ...] = ("IS", "I", "IL", "AL", "A", "AS")
#: Short names of the 11 indices in the flat-vector order.
INDEX_NAMES: tuple[str, ...] = ("A1", "A2", "D1", "D2", "D3", "RWT1", "RWT2", "RWT3", "RWT4", "RWT5", "RWT6")
#: Unit of each entry of the flat vector.
INDEX_UNITS: tuple[str, ...] = ("mm2", "mm2") + ("mm",) * 9
#: Power of the length scale of each entry (2 for areas, 1 for lengths).
INDEX_POWERS: np.ndarray = np.array([2, 2] + [1] * 9, dtype=np.float64)
#: Index groups used by the LVQuan evaluation.
GROUPS: dict[str, tuple[int, ...]] = {"areas": (0, 1), "dims": (2, 3, 4), "rwt": (5, 6, 7, 8, 9, 10)}


@dataclass(frozen=True)
class Indices:
    """Indices of one frame (scalar fields) or of T frames (leading axis T).

    Attributes:
        cavity_area_mm2: shape ``batch`` (``()`` for one frame, ``(T,)`` for a stack).
        myocardium_area_mm2: shape ``batch``; NaN when no epicardium was given.
        dims_mm: shape ``batch + (3,)``: D1 (IS-AL), D2 (I-A), D3 (IL-AS).
        rwt_mm: shape ``batch + (6,)``: segments IS, I, IL, AL, A, AS; NaN when no
            epicardium was given.
        warnings: what was repaired or could not be measured, one sentence each.
    """

    cavity_area_mm2: np.ndarray
    myocardium_area_mm2: np.ndarray
    dims_mm: np.ndarray
    rwt_mm: np.ndarray
    warnings: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        a1 = np.asarray(self.cavity_area_mm2, dtype=np.float64)
        a2 = np.asarray(self.myocardium_area_mm2, dtype=np.float64)
        dims = np.asarray(self.dims_mm, dtype=np.float64)
        rwt = np.asarray(self.rwt_mm, dtype=np.float64)
        batch = a1.shape
        if a2.shape != batch or dims.shape != batch + (3,) or rwt.shape != batch + (6,):
            raise InputError(
                f"inconsistent index shapes: areas {a1.shape}/{a2.shape}, dims {dims.shape}, rwt {rwt.shape}"
            )
        object.__setattr__(self, "cavity_area_mm2", a1)
        object.__setattr__(self, "myocardium_area_mm2", a2)
        object.__setattr__(self, "dims_mm", dims)
        object.__setattr__(self, "rwt_mm", rwt)
        object.__setattr__(self, "warnings", tuple(self.warnings))

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.cavity_area_mm2.shape)

    def __len__(self) -> int:
        if not self.batch_shape:
            raise TypeError("indices of a single frame have no length")
        return self.batch_shape[0]

    def to_array(self) -> np.ndarray:
        """Flat form, shape ``batch + (11,)``: A1, A2, D1-D3, RWT1-RWT6 (mm², mm)."""
        return np.concatenate(
            [self.cavity_area_mm2[..., None], self.myocardium_area_mm2[..., None], self.dims_mm, self.rwt_mm], axis=-1
        )

    @classmethod
    def from_array(cls, values: np.ndarray, warnings: tuple[str, ...] = ()) -> "Indices":
        """Inverse of :meth:`to_array`; ``values`` has shape ``batch + (11,)``."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim < 1 or values.shape[-1] != 11:
            raise InputError(f"expected a last axis of 11 indices; got shape {values.shape}")
        return cls(values[..., 0], values[..., 1], values[..., 2:5], values[..., 5:11], warnings)

    @classmethod
    def stack(cls, frames: list["Indices"]) -> "Indices":
        """Stack single-frame indices into a (T,) batch; warnings are prefixed by frame number."""
        if not frames:
            raise InputError("cannot stack an empty list of indices")
        values = np.stack([f.to_array() for f in frames])
        warnings = tuple(f"frame {i}: {w}" for i, f in enumerate(frames) for w in f.warnings)
        return cls.from_array(values, warnings)

    def frame(self, i: int) -> "Indices":
        """Indices of frame ``i`` of a stack (warnings are not carried)."""
        return Indices.from_array(self.to_array()[i])

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready list of per-frame dicts (a one-element list for a single frame)."""
        values = np.atleast_2d(self.to_array())
        def clean(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)
        return [
            {
                "cavity_area_mm2": clean(v[0]),
                "myocardium_area_mm2": clean(v[1]),
                "dims_mm": [clean(x) for x in v[2:5]],
                "rwt_mm": [clean(x) for x in v[5:11]],
            }
            for v in values
        ]


def normalised_to_mm(values: np.ndarray, length_scale_mm: np.ndarray | float) -> np.ndarray:
    """Convert LVQuan normalised indices to mm / mm².

    Args:
        values: shape ``(..., 11)`` in the flat order (areas normalised by the
            squared crop side, lengths by the crop side).
        length_scale_mm: the crop side in mm, ``80 * pix_spa * ratio_resize_inverse``;
            a scalar or an array broadcastable to ``values.shape[:-1]``.

    Returns:
        Array like ``values`` in mm² (areas) and mm (lengths).
    """
    scale = np.asarray(length_scale_mm, dtype=np.float64)[..., None]
    return np.asarray(values, dtype=np.float64) * scale**INDEX_POWERS


def mm_to_normalised(values: np.ndarray, length_scale_mm: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`normalised_to_mm`."""
    scale = np.asarray(length_scale_mm, dtype=np.float64)[..., None]
    return np.asarray(values, dtype=np.float64) / scale**INDEX_POWERS
