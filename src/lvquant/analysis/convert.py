"""Convert: bring every image to the network's target parameters, as the model's input spec says.

The method brings every image to the same target parameters before the
network sees it: an LV-centred square crop at a fixed relative scale, turned
so that the RV lies where the spec puts it (9 o'clock), resampled to the
spec's side in pixels (:func:`crop_rotated`), then histogram equalisation to
a fixed grey-level range so that the differing contrast and brightness of
scanners stop mattering (:func:`normalize_intensity`).
:func:`convert_frames` does both from an :class:`~lvquant.analysis.spec.InputSpec`.

Training (the dataset builder and the intensity normalisation of training
crops) uses these same functions: they live here and nowhere else.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, LocalisationError
from ..resample import sample_antialiased
from ..spacing import check_pixel_spacing
from .spec import InputSpec


def equalize_histogram(frames: np.ndarray, n_levels: int = 256) -> np.ndarray:
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
    # float32 crops are ranked as they are (the same order and ties as in float64, a quarter faster)
    flat = (x if x.dtype == np.float32 else x.astype(np.float64)).ravel()
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


def normalize_intensity(frames: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Bring a subject's crop stack to the network's fixed grey-level range, by ``spec.intensity``.

    Args:
        frames: (T, H, W) crops of one subject.
        spec: the model's input spec: ``"equalize"`` (the method:
            :func:`equalize_histogram` to ``spec.grey_levels`` levels) or
            ``"percentile"`` (ablation: linear scaling of the 1st–99th
            percentiles to [0, 1], clipped to [0, 1.5]).

    Returns:
        float32 array of the same shape.
    """
    if not isinstance(spec, InputSpec):
        raise InputError(f"normalize_intensity needs the model's InputSpec; got {type(spec).__name__}")
    method = spec.intensity
    if method == "equalize":
        return equalize_histogram(frames, spec.grey_levels)
    if method == "percentile":
        x = np.asarray(frames, dtype=np.float64)
        if x.size == 0 or not np.all(np.isfinite(x)):
            raise InputError("intensity normalisation got an empty array or NaN/infinite pixel values")
        lo, hi = np.percentile(x, [1, 99])
        return np.clip((x - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.5).astype(np.float32)
    raise InputError(f"unknown intensity method {method!r}")  # InputSpec refuses it first


def crop_rotated(frames: np.ndarray, centre_px, spacing_mm, side_mm: float, angle_deg: float,
                 size: int, target_deg: float = 270.0) -> tuple[np.ndarray, float]:
    """Square crop of ``side_mm`` centred on ``centre_px``, turned so that ``angle_deg`` ends up at ``target_deg``.

    Parameters
    ----------
    frames : array (T, H, W)
        One slice over the cycle (any real dtype); row 0 at the image top.
    centre_px : (float, float)
        ``(row, col)`` of the crop centre in input pixels (e.g. ``LVLocation.centre_px``).
    spacing_mm : float or (float, float)
        Input pixel spacing (row, col) in mm; may be anisotropic.
    side_mm : float
        Side of the square in mm.
    angle_deg : float
        Direction in the input image, clockwise from 12 o'clock (e.g.
        ``LVLocation.rv_angle_deg``), that must point to ``target_deg`` in the crop.
    size : int
        Output side in pixels.
    target_deg : float
        Where that direction lies in the crop, clockwise from 12 o'clock
        (default 270: 9 o'clock, the image's left).

    Returns
    -------
    (crops, crop_pixel_mm)
        ``crops`` float32 (T, size, size); ``crop_pixel_mm = side_mm / size``.

    Notes
    -----
    Sign convention (for ``target_deg = 270``; otherwise read ``270`` as
    ``target_deg``). Let ``beta = angle_deg - 270``. The crop is the input
    image turned counter-clockwise (as displayed) by ``beta``: the crop
    direction at angle ``phi`` (clockwise from 12 o'clock) looks along the
    input direction ``phi + beta``, so ``phi = 270`` looks along
    ``angle_deg``. With ``angle_deg = 270`` the crop is not turned at all;
    with ``angle_deg = 180`` (RV below the LV) the input is turned a quarter
    turn clockwise. Crop pixel ``(i, j)`` sits at the physical offset
    ``u = (i - (size - 1) / 2) * p`` (down), ``v = (j - (size - 1) / 2) * p``
    (right) from the centre in the crop's frame, ``p = crop_pixel_mm``, and is
    sampled at input pixel
    ``row = centre_row + (u cos(beta) + v sin(beta)) / spacing_row``,
    ``col = centre_col + (v cos(beta) - u sin(beta)) / spacing_col``.
    When the crop pixel is larger than an input pixel along an axis
    (``r = p / spacing > 1``) the input is first blurred along that axis by a
    Gaussian of sigma ``0.45 * sqrt(r**2 - 1)`` input pixels (anti-aliasing, as
    the phantom's LVQuan crops: :func:`lvquant.resample.sample_antialiased`);
    sampling is linear, and samples beyond the image take the nearest edge pixel.
    """
    spacing = check_pixel_spacing(spacing_mm, error=LocalisationError)
    a = np.asarray(frames)
    if a.ndim != 3:
        raise LocalisationError(f"frames must have 3 dimensions (T, H, W), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise LocalisationError(f"frames must hold real numbers, got dtype {a.dtype}")
    size = int(size)
    if size < 2:
        raise LocalisationError(f"the crop size must be at least 2 pixels, got {size}")
    if not (np.isfinite(side_mm) and side_mm > 0):
        raise LocalisationError(f"the crop side must be a positive length in mm, got {side_mm!r}")
    centre = np.asarray(centre_px, dtype=np.float64).ravel()
    if centre.size != 2 or not np.all(np.isfinite(centre)) or not np.isfinite(angle_deg):
        raise LocalisationError(f"the crop centre must be two finite pixel coordinates, got {centre_px!r}")
    p = float(side_mm) / size
    if not np.isfinite(target_deg):
        raise LocalisationError(f"the crop's target direction must be finite, got {target_deg!r}")
    beta = np.deg2rad(float(angle_deg) - float(target_deg))
    cb, sb = np.cos(beta), np.sin(beta)
    off = (np.arange(size) - (size - 1) / 2.0) * p
    u, v = np.meshgrid(off, off, indexing="ij")
    rows = centre[0] + (u * cb + v * sb) / spacing[0]
    cols = centre[1] + (v * cb - u * sb) / spacing[1]
    return sample_antialiased(a, rows, cols, (p / spacing[0], p / spacing[1])), p


def crop_to_image_px(points: np.ndarray, centre_px, spacing_mm, side_mm: float, angle_deg: float, size: int,
                     target_deg: float = 270.0) -> np.ndarray:
    """Crop pixel coordinates (N, 2) ``(row, col)`` -> the input image's pixel coordinates: the mapping
    :func:`crop_rotated` samples with (its Notes), for drawing crop-space borders on the source image."""
    spacing = check_pixel_spacing(spacing_mm, error=LocalisationError)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p = float(side_mm) / int(size)
    beta = np.deg2rad(float(angle_deg) - float(target_deg))
    cb, sb = np.cos(beta), np.sin(beta)
    u, v = (pts[:, 0] - (size - 1) / 2.0) * p, (pts[:, 1] - (size - 1) / 2.0) * p
    centre = np.asarray(centre_px, dtype=np.float64).ravel()
    return np.stack([centre[0] + (u * cb + v * sb) / spacing[0], centre[1] + (v * cb - u * sb) / spacing[1]], axis=1)


def convert_frames(frames: np.ndarray, spacing_mm, centre_px, side_mm: float, rv_angle_deg: float,
                   spec: InputSpec) -> tuple[np.ndarray, float]:
    """The model's input: crops cut, turned and normalised as ``spec`` says.

    Args:
        frames: (T, H, W) one slice over the cycle, full field of view.
        spacing_mm: its pixel spacing (row, column), mm.
        centre_px: (row, col) of the LV centre in input pixels.
        side_mm: crop side in mm (by the spec's crop rule, e.g.
            :meth:`InputSpec.crop_side_mm`).
        rv_angle_deg: direction of the RV from the LV centre in the input,
            degrees clockwise from 12 o'clock; it ends up at ``spec.rv_angle_deg``.
        spec: the model's input spec.

    Returns:
        (crops, pixel_mm): float32 (T, S, S) normalised crops with
        S = ``spec.crop_pixels``, and their pixel size in mm (``side_mm / S``).
    """
    raw, pixel_mm = crop_rotated(frames, centre_px, spacing_mm, side_mm, rv_angle_deg, spec.crop_pixels,
                                 spec.rv_angle_deg)
    return normalize_intensity(raw, spec), float(pixel_mm)
