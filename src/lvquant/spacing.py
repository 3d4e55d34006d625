"""The one pixel-spacing validator: every path that takes a spacing from a user or a caller uses it."""

from __future__ import annotations

import math
from typing import Any

from .errors import InputError

#: Largest pixel spacing accepted, mm (a cine pixel of 100 mm holds no heart).
MAX_SPACING_MM = 100.0
#: Smallest pixel spacing accepted, mm.
MIN_SPACING_MM = 1e-3


def check_pixel_spacing(spacing_mm: Any, *, error: type[InputError] = InputError,
                        what: str = "pixel spacing") -> tuple[float, float]:
    """``spacing_mm`` as (row, column) in mm; one number means square pixels.

    Args:
        spacing_mm: a number or a pair of numbers (row, column), mm.
        error: the exception raised (a reader's own, e.g. ``DicomError``).
        what: how the message names the value (e.g. ``"--spacing"``).

    Returns:
        (row, column) spacing in mm, both in [:data:`MIN_SPACING_MM`, :data:`MAX_SPACING_MM`].

    Raises:
        error: not one or two finite numbers in that range.
    """
    try:
        if isinstance(spacing_mm, (str, bytes)):
            raise TypeError
        values = [float(spacing_mm)] * 2 if not hasattr(spacing_mm, "__len__") else [float(v) for v in spacing_mm]
    except (TypeError, ValueError):
        values = []
    if len(values) != 2 or not all(math.isfinite(v) and MIN_SPACING_MM <= v <= MAX_SPACING_MM for v in values):
        raise error(f"{what} must be one or two numbers of mm from {MIN_SPACING_MM:g} to {MAX_SPACING_MM:g} "
                    f"(row, column); got {_short(spacing_mm)}")
    return values[0], values[1]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
