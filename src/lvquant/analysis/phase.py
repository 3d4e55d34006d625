"""Systole/diastole from the predicted cavity-area curve: the method's rule.

The method uses no recurrent network (so no flickering 0-1-0-1 labels). It fits
a polynomial to the predicted cavity areas of the M frames of one cycle; the
fitted curve's highest frame is end-diastole (ED), its lowest end-systole (ES);
frames after ED up to and including ES (going forward cyclically) are systole
(1), the others diastole (0) — the rule of :func:`lvquant.geometry.phase_from_areas`
applied to the fitted curve.

Degree: 11 for M = 20 frames (the method). For other M the degree keeps the
same ratio to the number of frames, ``round(11 * M / 20)``, capped at ``M - 2``
so the fit still smooths (never interpolates) and at least 2. The fit is done
on frame numbers mapped to [-1, 1] (numerically well conditioned).

``method="argmax"`` skips the fit and takes the raw maximum and minimum, as an
option and for comparison (docs/RESULTS.md reports both).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import Polynomial

from ..errors import InputError
from ..geometry import phase_from_areas

#: Degree of the method for 20 frames.
DEGREE_FOR_20 = 11
METHODS = ("poly", "argmax")


def polynomial_degree(n_frames: int) -> int:
    """Degree used for ``n_frames`` frames: 11 for 20, same ratio otherwise, in [2, M-2]."""
    if n_frames < 4:
        raise InputError(f"a phase curve needs at least 4 frames; got {n_frames}")
    return int(min(max(round(DEGREE_FOR_20 * n_frames / 20), 2), n_frames - 2))


@dataclass(frozen=True)
class PhaseResult:
    """Phase of every frame of one cycle.

    Attributes:
        labels: (T,) int, 1 systole, 0 diastole.
        ed_frame, es_frame: frame numbers (0-based) of end-diastole and end-systole.
        fitted_areas: (T,) the curve the decision was taken on (the polynomial
            fit, or the input areas for ``method="argmax"``), same unit as input.
        method: ``"poly"`` or ``"argmax"``.
        degree: polynomial degree (None for argmax).
    """

    labels: np.ndarray
    ed_frame: int
    es_frame: int
    fitted_areas: np.ndarray
    method: str
    degree: int | None


def fit_area_curve(areas: np.ndarray, degree: int | None = None) -> np.ndarray:
    """Least-squares polynomial fit of an area curve, evaluated at the frames.

    Args:
        areas: (T,) cavity areas (mm²), finite.
        degree: polynomial degree; default :func:`polynomial_degree` (11 for T = 20).

    Returns:
        (T,) fitted areas.
    """
    a = np.asarray(areas, dtype=np.float64)
    if a.ndim != 1 or not np.all(np.isfinite(a)):
        raise InputError("the cavity-area curve must be one finite value per frame")
    n = a.shape[0]
    deg = polynomial_degree(n) if degree is None else int(degree)
    if not 1 <= deg < n:
        raise InputError(f"polynomial degree must be between 1 and {n - 1} for {n} frames; got {deg}")
    x = np.linspace(-1.0, 1.0, n)
    return Polynomial.fit(x, a, deg, domain=[-1, 1])(x)


def phase_from_curve(areas: np.ndarray, method: str = "poly", degree: int | None = None) -> PhaseResult:
    """ED, ES and systole/diastole labels from a predicted cavity-area curve.

    Args:
        areas: (T,) predicted cavity areas over one cycle.
        method: ``"poly"`` (the method: polynomial fit first) or ``"argmax"``.
        degree: polynomial degree for ``"poly"`` (default: 11 for 20 frames).
    """
    if method not in METHODS:
        raise InputError(f"phase method must be one of {', '.join(METHODS)}; got {method!r}")
    a = np.asarray(areas, dtype=np.float64)
    if method == "poly":
        fitted = fit_area_curve(a, degree)
        deg = polynomial_degree(a.shape[0]) if degree is None else int(degree)
    else:
        if a.ndim != 1 or not np.all(np.isfinite(a)):
            raise InputError("the cavity-area curve must be one finite value per frame")
        fitted, deg = a.copy(), None
    labels = phase_from_areas(fitted)
    return PhaseResult(labels.labels, labels.ed_frame, labels.es_frame, fitted, method, deg)
