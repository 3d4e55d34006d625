"""The one anti-aliased resampler: images sampled at arbitrary points, blurred first where they shrink.

Used by the localiser's working grid, the model's crops and the phantom's
LVQuan crops, so that all three see images prepared the same way.
"""

from __future__ import annotations

import math

import numpy as np

from .image_ops import gaussian_filter1d, map_linear


def antialias_sigma(step: float) -> float:
    """Gaussian sigma (input pixels) before sampling every ``step`` input pixels: ``0.45 √(step² − 1)``, 0 when not shrinking."""
    return 0.45 * math.sqrt(max(step * step - 1.0, 0.0))


def sample_antialiased(images: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                       steps: tuple[float, float]) -> np.ndarray:
    """Sample a stack of images at the same points, anti-aliased.

    Each image is blurred along each axis by :func:`antialias_sigma` of that
    axis's step (Gaussian, edges replicated), then sampled by linear
    interpolation; points beyond the image take the nearest edge pixel. Only
    the block of input that the points (plus the blur's reach) need is
    processed.

    Args:
        images: (T, H, W) real array (any dtype).
        rows, cols: arrays of one shape (h, w): where each output pixel lies, in
            input pixel coordinates (row, column; fractional); or two 1-D arrays
            (h,) and (w,): the grid of every row with every column (an
            axis-aligned resampling, computed axis by axis, several times
            faster).
        steps: (row, column) distance between neighbouring output pixels, in
            input pixels (the shrink factor along each input axis).

    Returns:
        float32 (T, h, w).
    """
    a = np.asarray(images)
    rows = np.asarray(rows, dtype=np.float64)
    cols = np.asarray(cols, dtype=np.float64)
    grid = rows.ndim == 1 and cols.ndim == 1
    sigmas = [antialias_sigma(float(s)) for s in steps]
    h, w = a.shape[1:]
    reach = [int(math.ceil(4.0 * sg)) + 2 for sg in sigmas]
    r0 = int(np.clip(np.floor(rows.min()) - reach[0], 0, h - 1))
    r1 = int(np.clip(np.ceil(rows.max()) + reach[0] + 1, r0 + 1, h))
    c0 = int(np.clip(np.floor(cols.min()) - reach[1], 0, w - 1))
    c1 = int(np.clip(np.ceil(cols.max()) + reach[1] + 1, c0 + 1, w))
    block = a[:, r0:r1, c0:c1].astype(np.float32)
    for axis, sg in ((1, sigmas[0]), (2, sigmas[1])):
        if sg > 0:
            block = gaussian_filter1d(block, sg, axis)
    if grid:
        out = _linear_along(block, rows - r0, axis=1)
        return _linear_along(out, cols - c0, axis=2)
    return map_linear(block, np.stack([rows - r0, cols - c0]), mode="nearest")


def _linear_along(x: np.ndarray, q: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of float32 ``x`` at positions ``q`` (1-D, pixels) along ``axis``; edges replicated."""
    n = x.shape[axis]
    q = np.clip(q, 0.0, n - 1.0)
    lo = np.minimum(np.floor(q).astype(np.intp), max(n - 2, 0))
    hi = np.minimum(lo + 1, n - 1)
    shape = [1] * x.ndim
    shape[axis] = q.size
    w = (q - lo).astype(np.float32).reshape(shape)
    a, b = np.take(x, lo, axis=axis), np.take(x, hi, axis=axis)
    return a + (b - a) * w
