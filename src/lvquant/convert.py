"""Conversion to the network's target parameters.

The method brings every image to the same target parameters before the
network sees it: an LV-centred crop at a fixed relative scale, resized to
80×80, then histogram equalisation to a fixed grey-level range so that the
differing contrast and brightness of scanners stop mattering.

This module holds the parts shared by training and inference. The same
function must be used in both, so it lives here and nowhere else.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

#: Number of grey levels of the equalised output (values k / (N_LEVELS - 1)).
N_LEVELS = 256


def equalize_histogram(frames: np.ndarray, n_levels: int = N_LEVELS) -> np.ndarray:
    """Histogram-equalise a cine crop to the fixed grey-level range [0, 1].

    The mapping is computed once from the pooled pixels of *all* frames given
    (one subject's crop stack), so brightness changes over the cycle (blood
    entering and leaving the slice) are preserved while the scanner's overall
    contrast, brightness and storage scale are removed. Each pixel is replaced
    by its mid-rank quantile within the pooled histogram, then quantised to
    ``n_levels`` evenly spaced levels.

    Args:
        frames: array of shape (H, W) or (T, H, W), any real dtype, finite.
        n_levels: number of output grey levels (>= 2).

    Returns:
        float32 array of the same shape, values in {0, 1/(n-1), ..., 1}.
        A constant input maps to 0.5 everywhere.

    Raises:
        InputError: empty, non-finite, or not 2-D/3-D input.
    """
    x = np.asarray(frames)
    if x.ndim not in (2, 3) or x.size == 0:
        raise InputError(f"histogram equalisation expects a (H, W) or (T, H, W) array; got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise InputError("histogram equalisation got NaN, infinite or non-numeric pixel values")
    if n_levels < 2:
        raise InputError(f"n_levels must be at least 2; got {n_levels}")
    flat = x.astype(np.float64).ravel()
    values, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    if values.size == 1:
        return np.full(x.shape, 0.5, dtype=np.float32)
    # Mid-rank of every distinct value: ties share one level, the result is
    # invariant to any strictly increasing transform of the input.
    cum = np.cumsum(counts)
    mid_rank = (cum - 0.5 * counts) / flat.size
    lo, hi = mid_rank[0], mid_rank[-1]
    quantile = (mid_rank - lo) / (hi - lo)
    levels = np.round(quantile * (n_levels - 1)) / (n_levels - 1)
    return levels[inverse].reshape(x.shape).astype(np.float32)


#: Intensity normalisations the networks can be trained with (the method: "equalize").
INTENSITY_METHODS = ("equalize", "percentile")


def normalize_intensity(frames: np.ndarray, method: str = "equalize") -> np.ndarray:
    """Bring a subject's crop stack to the network's fixed grey-level range.

    Args:
        frames: (T, H, W) crops of one subject.
        method: ``"equalize"`` (the method: :func:`equalize_histogram`) or
            ``"percentile"`` (ablation: linear scaling of the 1st–99th
            percentiles to [0, 1], clipped to [0, 1.5]).

    Returns:
        float32 array of the same shape.
    """
    if method == "equalize":
        return equalize_histogram(frames)
    if method == "percentile":
        x = np.asarray(frames, dtype=np.float64)
        if x.size == 0 or not np.all(np.isfinite(x)):
            raise InputError("intensity normalisation got an empty array or NaN/infinite pixel values")
        lo, hi = np.percentile(x, [1, 99])
        return np.clip((x - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.5).astype(np.float32)
    raise InputError(f"intensity method must be one of {', '.join(INTENSITY_METHODS)}; got {method!r}")
