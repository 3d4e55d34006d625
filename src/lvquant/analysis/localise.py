"""Localise: find the left ventricle in a full field-of-view short-axis cine, without training data.

A scanner exports the whole field of view (FOV): chest wall, lungs, liver,
fat, sometimes a circular zero-intensity border. The networks want an
LV-centred crop with the right ventricle (RV) where their input spec says
(:mod:`lvquant.analysis.convert` cuts it). This module finds the LV cavity in
one slice over the cardiac cycle, estimates its size and the direction of the
RV, and picks the mid-ventricular slice of a stack. It uses no
learned weights: only the facts that the LV blood pool is a bright, round
region ringed by dark myocardium, and that the heart is what moves over the
cycle (see ``docs/localize.md``).

Public API
----------
:class:`LVLocation`
    Where the LV is in one slice (pixel centre, radii, RV direction, score).
:func:`locate_lv`
    One slice ``(T, H, W)`` -> :class:`LVLocation`, or :class:`LocalisationError`.
:func:`locate_lv_in_stack`
    A stack ``(S, T, H, W)`` -> the chosen mid-ventricular slice and per-slice locations.

Conventions
-----------
Pixel coordinates are ``(row, col)`` with row 0 at the image top and the
centre of the top-left pixel at ``(0, 0)``. Angles are in degrees clockwise
from 12 o'clock as displayed: 0 = image up (decreasing row), 90 = image right
(increasing column), 180 = down, 270 = left; the unit vector of angle ``a`` in
``(row, col)`` is ``(-cos a, sin a)``. Spacings are ``(row, col)`` in mm;
directions are physical (in mm), so they are right with anisotropic pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import LocalisationError
from ..resample import sample_antialiased
from ..spacing import check_pixel_spacing

__all__ = [
    "ClassicLocaliser",
    "LVLocation",
    "LocaliserConfig",
    "locate_lv",
    "locate_lv_in_stack",
]


def _ndi() -> Any:
    """:mod:`scipy.ndimage`, imported on first use: only the hand-made localiser needs it, and an
    analysis with the learned localiser is spared its import (see :mod:`lvquant.image_ops`)."""
    from scipy import ndimage

    return ndimage


@dataclass(frozen=True)
class LocaliserConfig:
    """Parameters of the localiser. Defaults are the measured ones (docs/localize.md); lengths in mm.

    Attributes
    ----------
    work_pixel_mm : float
        The frames are resampled (anti-aliased) to square pixels of this size
        before anything else, so every length below means the same whatever
        the input spacing.
    n_levels, level_quantiles : int, (float, float)
        Grey-level thresholds applied to the temporal-mean image: ``n_levels``
        quantiles of the in-FOV pixels, evenly spaced between the two given.
    bridges_mm : tuple of float
        Radii of grey closings of the mean image that are thresholded as well
        (dark lines narrower than about twice the radius, such as bSSFP
        off-resonance bands or chordae, stop cutting a blood pool in two).
    cut_mm : float
        Radius of the opening applied to each thresholded image besides a
        1-pixel one (bright bridges narrower than about twice it, e.g. a pool
        touching the RV through a thin septum, are cut).
    max_hole_mm2 : float
        Holes of a bright component up to this area are filled (papillary
        muscles); larger holes are kept, so the bright annulus of RV blood and
        fat around the whole heart is not mistaken for a filled disc.
    cavity_radius_mm : (float, float)
        Plausible range of a candidate's equivalent radius on the mean image;
        outside it the size score falls off (Gaussian, 25 % of the lower bound
        below it, 15 % of the upper bound above it).
    ring_mm : (float, float)
        Distances outside a candidate's border where its ring (myocardium for
        the LV) is sampled.
    min_motion : float
        The heart must move: the temporal standard deviation along a
        candidate's border (third-lowest of 8 sectors), divided by the image's
        noise floor (median temporal standard deviation in the FOV), must reach
        this ratio for the candidate to be followed over the cycle.
    n_seeds : int
        At most this many distinct candidates (best first; intersection over
        union <= 0.5 with those already followed) are followed over the cycle,
        trying at most twice as many.
    bridge_mm : float
        Radius of the grey closing applied to each frame when the cavity is
        followed over the cycle.
    min_score : float
        Smallest final score (see :class:`LVLocation`) of a detection; below it
        the slice is declared LV-free.
    default_wall_mm : float
        Wall thickness assumed when the radial profiles find no epicardium.
    rv_annulus : (float, float)
        The RV is searched in the annulus from ``rv_annulus[0] * epi`` to
        ``epi + rv_annulus[1] * cavity`` radii around the LV centre.
    rv_motion_sigma_mm : float
        Gaussian smoothing of the temporal standard deviation that weighs the
        RV votes.
    rv_prior_deg, rv_prior_strength : float
        Soft prior on the RV direction: votes are multiplied by
        ``exp(strength * (cos(theta - rv_prior_deg) - 1))``: with the defaults 1
        at 270 deg, 0.37 at 180 and 360 deg, 0.14 at 90 deg. Standard short-axis
        display puts the RV on the image's left (shared DOMAIN.md); set the
        strength to 0 for images displayed otherwise.
    stack_radius_mm : float
        In a stack, LV centres farther than this from the consensus centre are
        searched again near it (see :func:`locate_lv_in_stack`).
    """

    work_pixel_mm: float = 1.5
    n_levels: int = 12
    level_quantiles: tuple[float, float] = (0.45, 0.985)
    bridges_mm: tuple[float, ...] = (2.5, 5.0)
    cut_mm: float = 3.0
    max_hole_mm2: float = 150.0
    cavity_radius_mm: tuple[float, float] = (12.0, 42.0)
    ring_mm: tuple[float, float] = (1.5, 7.5)
    min_motion: float = 2.0
    n_seeds: int = 3
    bridge_mm: float = 2.5
    min_score: float = 0.1
    default_wall_mm: float = 8.0
    rv_annulus: tuple[float, float] = (1.0, 1.3)
    rv_motion_sigma_mm: float = 3.0
    rv_prior_deg: float = 270.0
    rv_prior_strength: float = 1.0
    stack_radius_mm: float = 15.0


@dataclass(frozen=True)
class LVLocation:
    """The left ventricle in one short-axis slice.

    Radii are in input pixels of the geometric-mean size: ``mm / sqrt(spacing_row
    * spacing_col)`` (for square pixels simply mm / spacing).

    Attributes
    ----------
    centre_px : (float, float)
        ``(row, col)`` of the LV cavity centre in the input frames' pixel grid:
        the centre of the circle through the ridge of temporal variation around
        the cavity (where the endocardium sweeps over the cycle), or, when that
        ridge is not found, the centroid of the cavity on the frame where it is
        largest.
    cavity_radius_px : float
        Radius of the disc with the area of the largest (end-diastole-like)
        cavity over the cycle (convex hull of the blood pool, so papillary
        muscles count as cavity).
    epi_radius_px : float
        Estimated epicardial radius: cavity radius plus the median wall
        thickness found along 64 rays (clipped to 4-20 mm; 8 mm if too few rays
        find the epicardium).
    rv_angle_deg : float
        Direction from the LV centre to the RV, clockwise from 12 o'clock as
        displayed, in [0, 360): 270 = RV at 9 o'clock (image left).
    score : float
        Confidence in [0, 1]: the candidate's score (product of roundness, ring
        contrast, ring not black, size, motion, distance to the image centre and
        "single chamber" factors) times the square root of the end-diastolic
        cavity's roundness times an area-change factor, ``clip((FAC - 0.04) /
        0.1, 0, 1)``. Measured: 0.14-0.72 on hearts, at most 0.07 on the
        no-heart slices tested; detections below ``min_score`` (0.1) are never
        returned.
    method : str
        One sentence on how the location was found.
    """

    centre_px: tuple[float, float]
    cavity_radius_px: float
    epi_radius_px: float
    rv_angle_deg: float
    score: float
    method: str


# --------------------------------------------------------------------------------------------- helpers


def _check_frames(frames, ndim: int, what: str) -> np.ndarray:
    a = np.asarray(frames)
    if a.ndim != ndim:
        raise LocalisationError(f"{what} must have {ndim} dimensions, got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or np.iscomplexobj(a):
        raise LocalisationError(f"{what} must hold real numbers, got dtype {a.dtype}")
    a = a.astype(np.float32, copy=False)
    if a.shape[-3] < 2:
        raise LocalisationError(f"{what} needs at least 2 frames over the cycle, got {a.shape[-3]}")
    if a.shape[-2] < 16 or a.shape[-1] < 16:
        raise LocalisationError(f"{what} images are too small ({a.shape[-2]} x {a.shape[-1]} pixels) to hold a heart")
    if not np.all(np.isfinite(a)):
        raise LocalisationError(f"{what} contain NaN or infinity")
    return a


def _to_work(frames: np.ndarray, spacing: tuple[float, float], wp: float) -> tuple[np.ndarray, tuple[float, float]]:
    """Resample (T, H, W) frames to isotropic ``wp`` mm pixels; returns (work, (row step, col step)).

    Work pixel ``(i, j)`` lies at input pixel ``(i * step_r, j * step_c)`` with
    ``step = wp / spacing``. When down-sampling along an axis (step > 1) the
    frames are first blurred along it by a Gaussian of sigma
    ``0.45 * sqrt(step**2 - 1)`` input pixels (anti-aliasing, as in
    :mod:`lvquant.phantom`); then linear interpolation, edges replicated.
    """
    steps = (wp / spacing[0], wp / spacing[1])
    shape = tuple(int(np.floor((n - 1) / st)) + 1 for n, st in zip(frames.shape[1:], steps))
    work = sample_antialiased(frames, np.arange(shape[0]) * steps[0], np.arange(shape[1]) * steps[1], steps)
    return work, steps


def _disc(radius_px: float) -> np.ndarray:
    r = int(np.ceil(radius_px))
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    return (y * y + x * x) <= radius_px * radius_px + 1e-9


def _fill_small_holes(mask: np.ndarray, max_area_px: float) -> np.ndarray:
    """Fill the holes of ``mask`` smaller than ``max_area_px`` (papillary muscles), keep large ones."""
    holes = _ndi().binary_fill_holes(mask) & ~mask
    if not holes.any():
        return mask
    lab, n = _ndi().label(holes)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    small = sizes <= max_area_px
    small[0] = False
    return mask | small[lab]


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """Vertices (V, 2) of the convex hull of (N, 2) points, counter-clockwise in (row, col); Andrew's monotone chain.

    Collinear points on an edge are dropped; fewer than 3 vertices means a degenerate hull.
    """
    pts = sorted(set(map(tuple, np.asarray(points, dtype=np.float64).tolist())))
    if len(pts) < 3:
        return np.asarray(pts, dtype=np.float64).reshape(-1, 2)

    def cross(o, a, b) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.asarray(lower[:-1] + upper[:-1], dtype=np.float64)


def _row_extremes(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every row holding pixels of ``mask``: the row, its first and its last column."""
    rows = np.flatnonzero(mask.any(axis=1))
    sub = mask[rows]
    first = np.argmax(sub, axis=1)
    last = sub.shape[1] - 1 - np.argmax(sub[:, ::-1], axis=1)
    return rows.astype(np.float64), first.astype(np.float64), last.astype(np.float64)


def _polygon_area(v: np.ndarray) -> float:
    if len(v) < 3:
        return 0.0
    y, x = v[:, 0], v[:, 1]
    return 0.5 * abs(float(np.dot(y, np.roll(x, -1)) - np.dot(x, np.roll(y, -1))))


def _solidity(mask: np.ndarray, n_pixels: int) -> float:
    """Pixel count over the area of the convex hull of the pixels' squares (1 for a convex blob)."""
    rows, first, last = _row_extremes(mask)
    if rows.size == 0:
        return 0.0
    # The hull of all the squares is the hull of the outer corners of each row's end pixels.
    pts = np.concatenate([np.stack([rows + dy, first - 0.5], 1) for dy in (-0.5, 0.5)]
                         + [np.stack([rows + dy, last + 0.5], 1) for dy in (-0.5, 0.5)])
    area = _polygon_area(_convex_hull(pts))
    return float(min(n_pixels / area, 1.0)) if area > 0 else 0.0


def convex_hull_mask(mask: np.ndarray) -> np.ndarray:
    """The pixels whose centres lie in the convex hull (borders included) of the midpoints of ``mask``'s pixel edges.

    The same pixels as ``skimage.morphology.convex_hull_image`` (tested), without
    importing scikit-image or scipy.spatial at analysis time. A mask whose hull
    is degenerate is returned as it is.

    Args:
        mask: (H, W) bool.

    Returns:
        (H, W) bool.
    """
    mask = np.asarray(mask, dtype=bool)
    rows, first, last = _row_extremes(mask)
    if rows.size == 0:
        return mask.copy()
    # Edge midpoints of each row's end pixels (the inner ones of a row lie between them).
    pts = np.concatenate([np.stack([rows + dy, c + dx], 1) for c in (first, last)
                          for dy, dx in ((-0.5, 0), (0.5, 0), (0, -0.5), (0, 0.5))])
    v = _convex_hull(pts)
    if len(v) < 3:
        return mask.copy()
    r0, r1 = int(rows.min()), int(rows.max())
    c0, c1 = int(first.min()), int(last.max())
    rr = np.arange(r0, r1 + 1, dtype=np.float64)[:, None, None]
    cc = np.arange(c0, c1 + 1, dtype=np.float64)[None, :, None]
    a, b = v, np.roll(v, -1, axis=0)  # counter-clockwise edges a -> b: inside is to the left
    cross = (b[:, 0] - a[:, 0]) * (cc - a[:, 1]) - (b[:, 1] - a[:, 1]) * (rr - a[:, 0])
    inside = np.all(cross >= -1e-10, axis=-1)
    out = mask.copy()
    out[r0:r1 + 1, c0:c1 + 1] |= inside
    return out


def _fail(reason: str) -> LocalisationError:
    return LocalisationError(f"the left ventricle could not be found in this slice: {reason}")


@dataclass
class _Candidate:
    """A bright connected component of the work grid, with its raw features and score.

    ``mask`` and ``ring`` are crops of the work grid whose top-left pixel is ``origin``.
    """

    mask: np.ndarray
    ring: np.ndarray  # in-FOV ring sampled around the component
    origin: tuple[int, int]
    area_mm2: float
    fill: float  # area / area of the ellipse with the same second moments (1 = filled ellipse)
    elongation: float  # minor / major axis
    solidity: float  # area / convex hull area
    ring_ratio: float  # median of the ring / median inside
    dark_ratio: float  # 10th percentile of the ring / median inside
    motion: float  # border temporal std (third-lowest of 8 sectors) / noise floor
    centre_dist: float  # distance from the image centre / half diagonal
    centre: tuple[float, float]  # work pixels
    inside: float  # median of the mean image inside
    internal_wall: float = 0.0
    score: float = 0.0
    parts: dict | None = None

    @property
    def box(self) -> tuple[slice, slice]:
        return (slice(self.origin[0], self.origin[0] + self.mask.shape[0]),
                slice(self.origin[1], self.origin[1] + self.mask.shape[1]))

    def full(self, shape: tuple[int, int], which: str = "mask") -> np.ndarray:
        out = np.zeros(shape, dtype=bool)
        out[self.box] = getattr(self, which)
        return out


def _internal_walls(cands: list[_Candidate], mean: np.ndarray) -> None:
    """Set ``internal_wall`` of every candidate: the darkest wall of a smaller candidate nested in it.

    A blob made of several chambers (LV, myocardium, RV and fat fused at a low
    threshold) contains a smaller candidate (the LV pool) whose ring (its
    myocardium) lies inside the blob and is much darker than the small
    candidate. A single blood pool cut by a thin dark line does not: the ring
    of its half-pool inside it is mostly the other, bright half.
    """
    order = sorted(cands, key=lambda c: c.area_mm2)
    for i, b in enumerate(order):
        n_ring = int(b.ring.sum())
        n_b = int(b.mask.sum())
        if n_ring == 0:
            continue
        for a in order[i + 1 :]:
            if b.area_mm2 > 0.6 * a.area_mm2:
                continue
            (ar, ac), (br, bc) = a.origin, b.origin
            ah, aw = a.mask.shape
            bh, bw = b.mask.shape
            # Rows/cols of b's crop inside a's crop.
            r0, r1 = max(ar, br), min(ar + ah, br + bh)
            c0, c1 = max(ac, bc), min(ac + aw, bc + bw)
            if r1 <= r0 or c1 <= c0:
                continue
            a_part = a.mask[r0 - ar : r1 - ar, c0 - ac : c1 - ac]
            b_part = b.mask[r0 - br : r1 - br, c0 - bc : c1 - bc]
            if n_b - int((b_part & a_part).sum()) > 0.05 * n_b:
                continue
            inner = b.ring[r0 - br : r1 - br, c0 - bc : c1 - bc] & a_part
            if inner.sum() < 0.6 * n_ring:
                continue
            wall = 1.0 - float(np.median(mean[r0:r1, c0:c1][inner])) / b.inside
            a.internal_wall = max(a.internal_wall, wall)


def _score(cands: list[_Candidate], cfg: LocaliserConfig) -> None:
    """Fill ``score`` (in [0, 1]) and ``parts`` of every candidate (see docs/localize.md)."""
    if not cands:
        return
    rmin, rmax = cfg.cavity_radius_mm
    top_motion = max(c.motion for c in cands)
    for c in cands:
        req = np.sqrt(c.area_mm2 / np.pi)
        roundness = min(c.fill, 1.0) * c.elongation * c.solidity**2
        contrast = float(np.clip((1.0 - c.ring_ratio) / 0.6, 0.0, 1.0))
        dark = float(np.clip((c.dark_ratio - 0.04) / 0.16, 0.1, 1.0))
        if req < rmin:
            size = float(np.exp(-0.5 * ((req - rmin) / (0.25 * rmin)) ** 2))
        elif req > rmax:
            size = float(np.exp(-0.5 * ((req - rmax) / (0.15 * rmax)) ** 2))
        else:
            size = 1.0
        motion_abs = float(np.clip((c.motion - 1.0) / 3.0, 0.0, 1.0))
        motion_rel = float(np.sqrt(c.motion / top_motion))
        centre = 1.0 - 0.3 * c.centre_dist**2
        single = float(np.clip(1.0 - (c.internal_wall - 0.2) / 0.25, 0.1, 1.0))
        c.parts = dict(roundness=roundness, contrast=contrast, dark=dark, size=size, motion_abs=motion_abs,
                       motion_rel=motion_rel, centre=centre, single=single)
        c.score = float(np.prod(list(c.parts.values())))


def _fov_mask(mean: np.ndarray, scale: float, wp: float) -> np.ndarray:
    """In-FOV pixels: everything except (near-)zero regions connected to the image border."""
    dark = mean <= 0.005 * scale
    lab, n = _ndi().label(dark)
    if n:
        border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
        outside = np.isin(lab, border[border > 0])
        outside = _ndi().binary_dilation(outside, _disc(3.0 / wp))
    else:
        outside = np.zeros_like(dark)
    return ~outside


def _shape(comp: np.ndarray) -> tuple[float, float, float, float]:
    """Centroid (row, col), fill ratio and elongation of a binary mask, from its second moments.

    fill = area / area of the ellipse with the same second moments (1 for a filled
    ellipse, less for crescents and rings); elongation = minor / major axis.
    """
    yy, xx = np.nonzero(comp)
    n = yy.size
    cy, cx = yy.mean(), xx.mean()
    vyy = ((yy - cy) ** 2).mean() + 1.0 / 12.0
    vxx = ((xx - cx) ** 2).mean() + 1.0 / 12.0
    vxy = ((yy - cy) * (xx - cx)).mean()
    det = max(vyy * vxx - vxy * vxy, 1e-12)
    half_tr = 0.5 * (vyy + vxx)
    disc = np.sqrt(max(half_tr * half_tr - det, 0.0))
    fill = n / (4.0 * np.pi * np.sqrt(det))
    elong = np.sqrt(max(half_tr - disc, 1e-12) / (half_tr + disc))
    return float(cy), float(cx), float(fill), float(elong)


def _candidates(mean: np.ndarray, std: np.ndarray, fov: np.ndarray, noise: float, wp: float,
                cfg: LocaliserConfig) -> list[_Candidate]:
    """Bright, roughly round components of the thresholded temporal mean, with their features."""
    h, w = mean.shape
    vals = mean[fov]
    levels = np.unique(np.quantile(vals, np.linspace(cfg.level_quantiles[0], cfg.level_quantiles[1], cfg.n_levels)))
    rmin, rmax = cfg.cavity_radius_mm
    amin, amax = np.pi * (0.6 * rmin) ** 2 / (wp * wp), np.pi * (1.4 * rmax) ** 2 / (wp * wp)
    pad = int(np.ceil(cfg.ring_mm[1] / wp)) + 2
    centre_img = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    half_diag = 0.5 * np.hypot(h, w)
    # Thresholds are applied to the mean image and to its grey closing, which bridges thin dark
    # lines (bSSFP off-resonance bands, chordae) that can cut a blood pool in two; bright
    # components are cut from their neighbours by a small and a larger opening. Every
    # candidate is scored on the mean image itself.
    # Binary opening commutes with thresholding for flat structuring elements, so the openings
    # are done once per source in grey levels (outside the FOV set to the minimum).
    low = float(mean.min())
    sources = [mean] + [_ndi().grey_closing(mean, footprint=_disc(b / wp)) for b in cfg.bridges_mm]
    opened = [_ndi().grey_opening(np.where(fov, src, low), footprint=st)
              for src in sources for st in (_disc(1.0), _disc(cfg.cut_mm / wp))]
    max_hole = cfg.max_hole_mm2 / (wp * wp)
    out: list[_Candidate] = []
    seen: set[tuple[int, int, int]] = set()
    for img in opened:
        for level in levels:
            lab, n = _ndi().label(img > level)
            if n == 0:
                continue
            cnt = np.bincount(lab.ravel(), minlength=n + 1)
            ks = np.flatnonzero((cnt >= amin) & (cnt <= amax))
            if ks.size == 0:
                continue
            objs = _ndi().find_objects(lab)
            for k in ks:
                if k == 0:
                    continue
                sl = objs[k - 1]
                if sl[0].start == 0 or sl[1].start == 0 or sl[0].stop == h or sl[1].stop == w:
                    continue  # touches the image edge: not a whole cavity
                cy, cx, fill, elong = _shape(lab[sl] == k)
                if min(fill, 1.0) * elong < 0.45:
                    continue
                key = (int((cy + sl[0].start) // 2), int((cx + sl[1].start) // 2), int(np.log(cnt[k]) / 0.08))
                if key in seen:
                    continue
                seen.add(key)
                cand = _describe(lab, k, sl, mean, std, fov, noise, wp, pad, max_hole, cfg)
                if cand is None:
                    continue
                cand.centre_dist = float(np.hypot(cand.centre[0] - centre_img[0], cand.centre[1] - centre_img[1])
                                         / half_diag)
                out.append(cand)
    _internal_walls(out, mean)
    _score(out, cfg)
    return out


def _describe(lab, k, sl, mean, std, fov, noise, wp, pad, max_hole, cfg) -> _Candidate | None:
    """Features of component ``k`` of ``lab`` (bounding box ``sl``), or None when unusable."""
    h, w = lab.shape
    r0, r1 = max(sl[0].start - pad, 0), min(sl[0].stop + pad, h)
    c0, c1 = max(sl[1].start - pad, 0), min(sl[1].stop + pad, w)
    comp = _fill_small_holes(lab[r0:r1, c0:c1] == k, max_hole)
    n = int(comp.sum())
    cy, cx, fill, elong = _shape(comp)
    dist = _ndi().distance_transform_edt(~comp) * wp
    ring = (dist > cfg.ring_mm[0]) & (dist <= cfg.ring_mm[1])
    ring_in = ring & fov[r0:r1, c0:c1]
    if ring_in.sum() < 0.7 * ring.sum():
        return None  # lies against the FOV edge
    m_c = mean[r0:r1, c0:c1]
    inside = max(float(np.median(m_c[comp])), 1e-12)
    ring_vals = m_c[ring_in]
    ring_ratio = float(np.median(ring_vals)) / inside
    dark_ratio = float(np.quantile(ring_vals, 0.1)) / inside
    dist_in = _ndi().distance_transform_edt(comp) * wp
    band = ((dist > 0) & (dist <= 6.0)) | ((dist_in > 0) & (dist_in <= 4.0))
    by, bx = np.nonzero(band)
    sector = (np.floor((np.arctan2(bx - cx, -(by - cy)) + np.pi) / (2 * np.pi) * 8).astype(int)) % 8
    per = np.bincount(sector, std[r0:r1, c0:c1][by, bx], minlength=8) / np.maximum(np.bincount(sector, minlength=8), 1)
    motion = float(np.sort(per)[2] / noise)  # third-lowest of 8 sectors: the border moves all round
    return _Candidate(comp, ring_in, (r0, c0), n * wp * wp, float(fill), elong, _solidity(comp, n), ring_ratio,
                      dark_ratio, motion, 0.0, (float(cy + r0), float(cx + c0)), inside)


@dataclass
class _Cavity:
    """Per-frame segmentation of a candidate's blood pool (work grid)."""

    areas_mm2: np.ndarray  # (T,), NaN where the frame failed
    centres: np.ndarray  # (T, 2) work pixels
    ed_frame: int
    ed_mask: np.ndarray  # bool, work grid
    roundness: float  # of the ED mask
    fac: float  # 1 - min/max area over the valid frames
    valid_fraction: float


def _segment_cavity(work: np.ndarray, seed: _Candidate, wp: float, cfg: LocaliserConfig) -> _Cavity | None:
    """Segment the blood pool around ``seed`` in every frame.

    Each frame is thresholded halfway between the blood level (median over the
    seed's core) and the myocardium level (30th percentile over the seed's
    ring), after a grey closing that bridges thin dark lines; the component
    overlapping the core, cut from neighbours by an opening and confined to a
    disc around the seed, is the cavity (holes filled: papillary muscles count
    as cavity).
    """
    t_n, h, w = work.shape
    req = np.sqrt(seed.area_mm2 / np.pi)
    lim = max(1.6 * req, req + 15.0) / wp
    pad = int(np.ceil(lim)) + 2
    cy, cx = seed.centre
    r0, r1 = max(int(cy) - pad, 0), min(int(cy) + pad + 1, h)
    c0, c1 = max(int(cx) - pad, 0), min(int(cx) + pad + 1, w)
    sub = work[:, r0:r1, c0:c1]
    shape = (h, w)
    mask = seed.full(shape)[r0:r1, c0:c1]
    core = _ndi().binary_erosion(mask, _disc(2.0))
    if core.sum() < 5:
        core = mask
    ring = seed.full(shape, "ring")[r0:r1, c0:c1]
    yy, xx = np.mgrid[r0:r1, c0:c1]
    within = (yy - cy) ** 2 + (xx - cx) ** 2 <= lim * lim
    bridge = _disc(cfg.bridge_mm / wp)
    cut = _disc(cfg.cut_mm / wp)
    areas = np.full(t_n, np.nan)
    cents = np.full((t_n, 2), np.nan)
    masks: list[np.ndarray | None] = [None] * t_n
    for t in range(t_n):
        f = sub[t]
        blood = float(np.median(f[core]))
        myo = float(np.quantile(f[ring], 0.3))
        if not blood > myo:
            continue
        closed = _ndi().grey_closing(f, footprint=bridge)
        reg = _ndi().binary_opening((closed > 0.5 * (blood + myo)) & within, cut)
        lab, n = _ndi().label(reg)
        if n == 0:
            continue
        overlap = np.bincount(lab[core], minlength=n + 1)
        overlap[0] = 0
        if overlap.sum() < 0.3 * core.sum():
            continue
        # Every piece lying mostly on the seed's core belongs to the pool (a dark band wider
        # than the closing can cut the pool in two).
        sizes = np.bincount(lab.ravel(), minlength=n + 1)
        keep = (overlap >= 0.25 * sizes) & (overlap > 0)
        keep[int(np.argmax(overlap))] = True
        keep[0] = False
        m = _ndi().binary_fill_holes(keep[lab])
        area = m.sum() * wp * wp
        if area > 2.5 * seed.area_mm2:
            continue  # leaked into a neighbour
        my, mx = np.nonzero(m)
        areas[t] = area
        cents[t] = (my.mean() + r0, mx.mean() + c0)
        masks[t] = m
    ok = np.isfinite(areas)
    if ok.sum() < max(2, 0.5 * t_n):
        return None
    # Frames whose cavity jumped away from the others' (a leak through a gap) are dropped.
    med = np.median(cents[ok], axis=0)
    jump = np.hypot(cents[:, 0] - med[0], cents[:, 1] - med[1])
    ok &= jump <= max(0.2 * req, 3.0) / wp
    if ok.sum() < max(2, 0.5 * t_n):
        return None
    areas[~ok] = np.nan
    ed = int(np.nanargmax(areas))
    # The endocardial border runs outside papillary muscles and trabeculations: take the
    # convex hull of the end-diastolic blood pool.
    m = convex_hull_mask(masks[ed])
    areas = areas * (m.sum() / masks[ed].sum())
    my, mx, fill, elong = _shape(m)
    cents[ed] = (my + r0, mx + c0)
    roundness = min(fill, 1.0) * elong * _solidity(m, int(m.sum())) ** 2
    full = np.zeros((h, w), dtype=bool)
    full[r0:r1, c0:c1] = m
    fac = 1.0 - float(np.nanmin(areas) / np.nanmax(areas))
    return _Cavity(areas, cents, ed, full, float(roundness), fac, float(ok.mean()))


@dataclass
class _Search:
    """What one slice's search computed on the work grid."""

    work: np.ndarray  # (T, h, w) frames on the work grid
    steps: tuple[float, float]  # input pixels per work pixel (row, col)
    mean: np.ndarray
    std: np.ndarray
    noise: float
    cands: list[_Candidate]


def _search(frames: np.ndarray, spacing: tuple[float, float], cfg: LocaliserConfig) -> _Search:
    """Resample to the work grid, compute the temporal mean and std, FOV, noise floor and candidates."""
    wp = cfg.work_pixel_mm
    work, steps = _to_work(frames, spacing, wp)
    mean = work.mean(axis=0)
    std = work.std(axis=0)
    scale = float(np.quantile(mean, 0.99))
    spread = float(mean.max() - mean.min())
    if not np.isfinite(scale) or scale <= 0 or spread <= 1e-6 * max(abs(float(mean.max())), 1e-30):
        raise _fail("the image is constant (no contrast)")
    fov = _fov_mask(mean, scale, wp)
    if fov.sum() < 100:
        raise _fail("the field of view is empty")
    noise = max(float(np.median(std[fov])), 1e-3 * scale)
    return _Search(work, steps, mean, std, noise, _candidates(mean, std, fov, noise, wp, cfg))


def _overlap(a: _Candidate, b: _Candidate) -> float:
    """Intersection over union of two candidates' masks."""
    (ar, ac), (br, bc) = a.origin, b.origin
    r0, r1 = max(ar, br), min(ar + a.mask.shape[0], br + b.mask.shape[0])
    c0, c1 = max(ac, bc), min(ac + a.mask.shape[1], bc + b.mask.shape[1])
    if r1 <= r0 or c1 <= c0:
        return 0.0
    inter = int((a.mask[r0 - ar : r1 - ar, c0 - ac : c1 - ac] & b.mask[r0 - br : r1 - br, c0 - bc : c1 - bc]).sum())
    return inter / float(a.mask.sum() + b.mask.sum() - inter)


def _radial_borders(img: np.ndarray, cav: np.ndarray, centre: tuple[float, float], blood: float, myo: float,
                    wp: float, n_rays: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Endocardial and epicardial border points along rays from ``centre`` (work pixels).

    The endocardium is where the ray leaves ``cav``; the epicardium is the first
    sample at least 2 mm further out that is bright (above the blood/myocardium
    midpoint: RV blood, fat) or black (below half the myocardium level: lung,
    air), within 22 mm. Returns ``(angles_rad, r_endo, r_epi)`` in work pixels,
    NaN where a ray found no epicardium (e.g. liver against the wall).
    """
    ang = np.arange(n_rays) * (2 * np.pi / n_rays)
    dr, dc = -np.cos(ang), np.sin(ang)
    step = 0.5
    radii = np.arange(0.0, 90.0 / wp, step)
    rr = centre[0] + radii[None, :] * dr[:, None]
    cc = centre[1] + radii[None, :] * dc[:, None]
    inside = _ndi().map_coordinates(cav.astype(np.float32), [rr, cc], order=0, mode="constant") > 0.5
    vals = _ndi().map_coordinates(img, [rr, cc], order=1, mode="nearest")
    hi, lo = 0.5 * (blood + myo), 0.5 * myo
    r_endo = np.full(n_rays, np.nan)
    r_epi = np.full(n_rays, np.nan)
    n_max = int(round(22.0 / wp / step))
    n_min = int(np.ceil(2.0 / wp / step))
    for i in range(n_rays):
        idx = np.flatnonzero(inside[i])
        if idx.size == 0:
            continue
        e = idx[-1] + 1
        r_endo[i] = radii[min(e, radii.size - 1)]
        seg = vals[i, e : e + n_max]
        past = np.flatnonzero((seg > hi) | (seg < lo))
        past = past[past >= n_min]
        if past.size:
            r_epi[i] = radii[min(e + past[0], radii.size - 1)]
    return ang, r_endo, r_epi


def _circle_centre(ang: np.ndarray, r: np.ndarray, centre: tuple[float, float]) -> tuple[float, float] | None:
    """Least-squares circle through the border points (outliers removed); None if too few."""
    ok = np.isfinite(r)
    if ok.sum() < 12:
        return None
    med = np.median(r[ok])
    ok &= np.abs(r - med) <= 0.3 * med
    if ok.sum() < 12 or np.ptp(np.unwrap(ang[ok])) < np.pi:
        return None
    y = centre[0] - r[ok] * np.cos(ang[ok])
    x = centre[1] + r[ok] * np.sin(ang[ok])
    a = np.stack([2 * y, 2 * x, np.ones_like(y)], 1)
    sol, *_ = np.linalg.lstsq(a, y * y + x * x, rcond=None)
    return float(sol[0]), float(sol[1])


def _rv_direction(std_smooth: np.ndarray, noise: float, centre: tuple[float, float], r_cav: float, r_epi: float,
                  cfg: LocaliserConfig) -> tuple[float, float]:
    """Direction (deg, clockwise from 12 o'clock) of the moving tissue next to the LV: the RV.

    Every pixel of the annulus ``rv_annulus[0] * r_epi <= r <= r_epi +
    rv_annulus[1] * r_cav`` (work pixels) votes for its own direction with weight ``motion * prior``:
    motion = smoothed temporal std / noise floor - 1, clipped at 0 (the RV
    cavity and its free wall sweep over the cycle; fat, liver and lung barely
    move); prior = ``exp(k * (cos(theta - rv_prior_deg) - 1))``. The answer is
    the direction of the weighted vector sum; the second value is its length
    over the total weight (1 = all votes in one direction, 0 = balanced all round).
    Weighting by brightness as well (RV blood is bright) was tried and was less
    accurate on the phantoms: the RV blood pool is often darker than the LV's.
    """
    h, w = std_smooth.shape
    r_in = cfg.rv_annulus[0] * r_epi
    r_out = r_epi + cfg.rv_annulus[1] * r_cav
    pad = int(np.ceil(r_out)) + 1
    cy, cx = centre
    r0, r1 = max(int(cy) - pad, 0), min(int(cy) + pad + 1, h)
    c0, c1 = max(int(cx) - pad, 0), min(int(cx) + pad + 1, w)
    yy, xx = np.mgrid[r0:r1, c0:c1]
    dy, dx = yy - cy, xx - cx
    rad = np.hypot(dy, dx)
    ann = (rad >= r_in) & (rad <= r_out)
    moving = np.clip(std_smooth[r0:r1, c0:c1][ann] / noise - 1.0, 0.0, None)
    theta = np.arctan2(dx[ann], -dy[ann])
    prior = np.exp(cfg.rv_prior_strength * (np.cos(theta - np.deg2rad(cfg.rv_prior_deg)) - 1.0))
    weight = moving * prior
    total = float(weight.sum())
    if not total > 0:
        return float("nan"), 0.0
    vs, vc = float((weight * np.sin(theta)).sum()), float((weight * np.cos(theta)).sum())
    return float(np.rad2deg(np.arctan2(vs, vc)) % 360.0), float(np.hypot(vs, vc) / total)


def locate_lv(frames: np.ndarray, spacing_mm, config: LocaliserConfig | None = None) -> LVLocation:
    """Find the LV cavity in one full field-of-view short-axis slice over the cycle.

    Parameters
    ----------
    frames : array (T, H, W)
        One slice at ``T >= 2`` time points, any real dtype and intensity scale;
        row 0 at the image top.
    spacing_mm : float or (float, float)
        Pixel spacing (row, col) in mm.
    config : LocaliserConfig, optional

    Returns
    -------
    LVLocation
        Centre in input pixels, radii in input pixels (mm divided by
        ``sqrt(spacing_row * spacing_col)``), RV direction in degrees clockwise
        from 12 o'clock, and a score in [0, 1].

    Raises
    ------
    LocalisationError
        When no bright, round, moving blood pool ringed by myocardium is found
        (noise, a constant image, a slice without a heart), or the input is
        unusable (wrong shape, NaN, bad spacing).
    """
    cfg = config or LocaliserConfig()
    spacing = check_pixel_spacing(spacing_mm, error=LocalisationError)
    a = _check_frames(frames, 3, "frames")
    return _locate(a, spacing, cfg)


def _motion_centre(std: np.ndarray, centre: tuple[float, float], r_cav: float) -> tuple[float, float] | None:
    """Centre of the circle through the ridge of temporal std around the cavity (work pixels).

    Along 64 rays, the radius in [0.5, 1.5] x ``r_cav`` where the (lightly
    smoothed) temporal std peaks is where the endocardial border sweeps over
    the cycle, trabeculations and papillary muscles included.
    """
    ang = np.arange(64) * (2 * np.pi / 64)
    radii = np.arange(0.5 * r_cav, 1.5 * r_cav, 0.5)
    rr = centre[0] - radii[None, :] * np.cos(ang)[:, None]
    cc = centre[1] + radii[None, :] * np.sin(ang)[:, None]
    sv = _ndi().map_coordinates(_ndi().gaussian_filter(std, 1.0), [rr, cc], order=1, mode="nearest")
    return _circle_centre(ang, radii[np.argmax(sv, axis=1)], centre)


def _locate(frames: np.ndarray, spacing: tuple[float, float], cfg: LocaliserConfig) -> LVLocation:
    return _finish(_search(frames, spacing, cfg), spacing, cfg)


def _finish(sr: _Search, spacing: tuple[float, float], cfg: LocaliserConfig,
            near: tuple[float, float] | None = None, near_mm: float = 0.0) -> LVLocation:
    """Pick the LV among the candidates (only those within ``near_mm`` of ``near``, input
    pixels, when given), follow it over the cycle and measure it."""
    wp = cfg.work_pixel_mm
    work, steps, std = sr.work, sr.steps, sr.std
    cands = sr.cands
    if near is not None:
        ny, nx = near[0] / steps[0], near[1] / steps[1]
        cands = [c for c in cands if np.hypot(c.centre[0] - ny, c.centre[1] - nx) * wp <= near_mm]
    if not cands:
        raise _fail("no bright, round blood pool ringed by darker tissue")
    best = None
    followed: list[_Candidate] = []
    tries = 0
    for seed in sorted(cands, key=lambda c: -c.score):
        if len(followed) >= cfg.n_seeds or tries >= 2 * cfg.n_seeds:
            break
        if best is not None and seed.score <= best[0]:
            break  # the final score never exceeds the seed's: no later seed can win
        if seed.motion < cfg.min_motion or any(_overlap(seed, o) > 0.5 for o in followed):
            continue  # static, or nearly the same region as a candidate already followed
        tries += 1
        cav = _segment_cavity(work, seed, wp, cfg)
        if cav is None:
            continue
        followed.append(seed)
        # The LV cavity changes area over the cycle (FAC >= ~0.1 even in heart failure);
        # a vessel or organ shifted by breathing does not.
        fac_factor = float(np.clip((cav.fac - 0.04) / 0.1, 0.0, 1.0))
        total = seed.score * float(np.sqrt(cav.roundness)) * fac_factor
        if best is None or total > best[0]:
            best = (total, seed, cav)
    if best is None:
        if max(c.motion for c in cands) < cfg.min_motion:
            raise _fail("nothing in the image moves over the cycle like a beating heart")
        raise _fail("no blood pool could be followed over the cycle")
    total, seed, cav = best
    if total < cfg.min_score:
        raise _fail(f"the best candidate is too weak (score {total:.2f} < {cfg.min_score})")

    ed = cav.ed_frame
    cy, cx = cav.centres[ed]
    r_cav_mm = float(np.sqrt(cav.areas_mm2[ed] / np.pi))
    f_ed = work[ed]
    core = _ndi().binary_erosion(cav.ed_mask, _disc(2.0))
    if core.sum() < 5:
        core = cav.ed_mask
    ring = (_ndi().distance_transform_edt(~cav.ed_mask) * wp <= cfg.ring_mm[1]) & ~cav.ed_mask
    blood, myo = float(np.median(f_ed[core])), float(np.quantile(f_ed[ring], 0.3))
    ang, r_endo, r_epi = _radial_borders(f_ed, cav.ed_mask, (cy, cx), blood, myo, wp)
    found = np.isfinite(r_epi)
    wall = float(np.median((r_epi - r_endo)[found]) * wp) if found.sum() >= len(ang) // 4 else cfg.default_wall_mm
    r_epi_mm = r_cav_mm + float(np.clip(wall, 4.0, 20.0))
    # Centre: the centre of the moving endocardial ring when it is found and close to the
    # bright pool's centroid (the pool's centroid is pulled away from a trabeculated wall).
    mc = _motion_centre(std, (cy, cx), r_cav_mm / wp)
    how = "blood-pool centroid"
    if mc is not None and np.hypot(mc[0] - cy, mc[1] - cx) * wp <= 0.3 * r_cav_mm:
        cy, cx = mc
        how = "motion-ring centre"
    std_smooth = _ndi().gaussian_filter(std, cfg.rv_motion_sigma_mm / wp)
    rv, share = _rv_direction(std_smooth, sr.noise, (cy, cx), r_cav_mm / wp, r_epi_mm / wp, cfg)
    if not np.isfinite(rv):
        rv, how_rv = cfg.rv_prior_deg, "RV assumed at the prior (no moving blood around the LV)"
    else:
        how_rv = f"RV from moving blood around the LV (one-sidedness {share:.2f})"
    px = float(np.sqrt(spacing[0] * spacing[1]))
    return LVLocation(
        centre_px=(float(cy * steps[0]), float(cx * steps[1])),
        cavity_radius_px=r_cav_mm / px,
        epi_radius_px=r_epi_mm / px,
        rv_angle_deg=float(rv % 360.0),
        score=float(np.clip(total, 0.0, 1.0)),
        method=(f"bright round moving blood pool on the temporal mean (candidate score {seed.score:.2f}, "
                f"cavity followed in {cav.valid_fraction:.0%} of frames, FAC {cav.fac:.2f}); centre: {how}; {how_rv}"),
    )


def locate_lv_in_stack(cine_frames: np.ndarray, spacing_mm,
                       config: LocaliserConfig | None = None) -> tuple[int, list[LVLocation | None]]:
    """Find the LV in every slice of a short-axis stack and choose the mid-ventricular slice.

    Parameters
    ----------
    cine_frames : array (S, T, H, W)
        S slices (in order along the long axis, either direction), T >= 2 frames each.
    spacing_mm : float or (float, float)
        Pixel spacing (row, col) in mm, the same for all slices.
    config : LocaliserConfig, optional

    Returns
    -------
    (mid_index, locations)
        ``locations[s]`` is the :class:`LVLocation` of slice ``s`` or None where
        the LV was not found. ``mid_index`` is the middle of the LV's extent:
        ``(first + last) // 2`` over the longest run of slices where the LV was
        found (gaps of one slice are bridged; if the middle falls on such a gap,
        the nearest slice with the LV, the lower index on a tie), so
        ``locations[mid_index]`` is never None.

    Notes
    -----
    Slices are first searched independently. The LV's axis is nearly
    perpendicular to short-axis slices, so its centre moves little from slice
    to slice: the consensus centre is the score-weighted mean of the centres
    within ``config.stack_radius_mm`` of the best-supported one, and slices
    whose LV was not found, or was found farther than that from the consensus
    (an atrium, the aorta), are searched again among candidates near the
    consensus only (None if none qualifies).

    Raises
    ------
    LocalisationError
        When no slice has the LV, or the input is unusable.
    """
    cfg = config or LocaliserConfig()
    spacing = check_pixel_spacing(spacing_mm, error=LocalisationError)
    stack = _check_frames(cine_frames, 4, "cine frames")
    locs: list[LVLocation | None] = []
    for s in range(stack.shape[0]):
        try:
            locs.append(_locate(stack[s], spacing, cfg))
        except LocalisationError:
            locs.append(None)
    found = [s for s, loc in enumerate(locs) if loc is not None]
    if not found:
        raise LocalisationError("the left ventricle could not be found in any slice of the stack")
    mm = {s: np.array(locs[s].centre_px) * spacing for s in found}
    d = cfg.stack_radius_mm
    consensus_mm = stack_consensus_mm(locs, spacing, d)
    near = (float(consensus_mm[0] / spacing[0]), float(consensus_mm[1] / spacing[1]))
    for s in range(stack.shape[0]):
        if locs[s] is not None and np.linalg.norm(mm[s] - consensus_mm) <= d:
            continue
        locs[s] = None
        try:  # searched again (not kept from the first pass, to keep memory low)
            locs[s] = _finish(_search(stack[s], spacing, cfg), spacing, cfg, near=near, near_mm=d)
        except LocalisationError:
            pass
    return mid_ventricular_slice(locs), locs


def stack_consensus_mm(locs: list[LVLocation | None], spacing: tuple[float, float], radius_mm: float) -> np.ndarray:
    """The stack's LV centre, (row, col) mm: the score-weighted mean of the centres within
    ``radius_mm`` of the best-supported one (support: the summed scores of the centres within
    ``radius_mm`` of a centre). ``locs`` must hold at least one location."""
    found = [s for s, loc in enumerate(locs) if loc is not None]
    mm = {s: np.array(locs[s].centre_px) * spacing for s in found}
    support = {s: sum(locs[o].score for o in found if np.linalg.norm(mm[o] - mm[s]) <= radius_mm) for s in found}
    anchor = max(found, key=lambda s: support[s])
    members = [o for o in found if np.linalg.norm(mm[o] - mm[anchor]) <= radius_mm]
    w = np.array([locs[o].score for o in members])
    return (w[:, None] * np.array([mm[o] for o in members])).sum(0) / w.sum()


#: Residual (degrees) beyond which a slice's RV direction is down-weighted in the stack's trend.
RV_TREND_SCALE_DEG = 15.0


def stack_rv_trend(locs: list[LVLocation | None], iterations: int = 5) -> list[LVLocation | None]:
    """One RV direction model for the stack: a robust straight line of the RV angle against the
    slice number, replacing each slice's own estimate.

    The RV turns slowly and steadily from base to apex (30-50° over an ACDC stack), so a line
    fits it; a slice whose own estimate is off (a fused pool, a thin apical RV) is outvoted by
    its neighbours. The angles are unwrapped around their score-weighted circular mean; the
    line is fitted by weighted least squares (weights: the localiser scores), then refitted
    with the weights of slices whose residual exceeds :data:`RV_TREND_SCALE_DEG` scaled down
    by ``RV_TREND_SCALE_DEG / |residual|`` (Huber), ``iterations`` times.

    Measured (learned localiser recipe 2 on its 12 validation ACDC training patients, 96
    slices with an RV label): per-slice estimates median error 9.7°, 7 slices beyond 30°;
    the trend 7.6°, 4 beyond 30° (one direction for the whole stack: 12.5°, 7). The gain is in
    the basal and apical slices: on the 12 mid-ventricular slices alone the slices' own
    estimates are as good (median 6.2°, worst 19.1°; the trend 6.9°, 19.9°), so the analysed
    slice keeps its own and the whole heart's other slices take the trend
    (:func:`lvquant.analysis.whole_heart.lv_slices`).

    Args:
        locs: per-slice locations (None where the LV was not found), in stack order.

    Returns:
        The same list with ``rv_angle_deg`` replaced (unchanged when fewer than 3 slices hold
        the LV).
    """
    found = [s for s, loc in enumerate(locs) if loc is not None]
    if len(found) < 3:
        return list(locs)
    ang = np.radians([locs[s].rv_angle_deg for s in found])
    w = np.array([max(locs[s].score, 1e-6) for s in found])
    mean = np.arctan2((w * np.sin(ang)).sum(), (w * np.cos(ang)).sum())
    rel = np.degrees((ang - mean + np.pi) % (2 * np.pi) - np.pi)
    a = np.stack([np.ones(len(found)), np.asarray(found, dtype=np.float64)], axis=1)
    weights = w.copy()
    for _ in range(iterations):
        sw = np.sqrt(weights)
        coef = np.linalg.lstsq(a * sw[:, None], rel * sw, rcond=None)[0]
        weights = w / np.maximum(1.0, np.abs(rel - a @ coef) / RV_TREND_SCALE_DEG)
    out = list(locs)
    for s in found:
        angle = float((np.degrees(mean) + coef[0] + coef[1] * s) % 360.0)
        out[s] = replace(locs[s], rv_angle_deg=angle, method=locs[s].method + "; RV direction from the stack's trend")
    return out


def longest_lv_run(locs: list[LVLocation | None]) -> list[int]:
    """The slices from the first to the last of the longest run of slices with the LV (gaps of one
    slice bridged, so the list may hold a slice whose location is None; on a tie the run with the
    larger summed score): the LV's extent from base to apex, in stack order.

    Raises:
        LocalisationError: no slice has the LV.
    """
    found = [s for s, loc in enumerate(locs) if loc is not None]
    if not found:
        raise LocalisationError("the left ventricle could not be found in any slice of the stack")
    runs: list[list[int]] = [[found[0]]]
    for s in found[1:]:
        if s - runs[-1][-1] <= 2:
            runs[-1].append(s)
        else:
            runs.append([s])
    run = max(runs, key=lambda r: (r[-1] - r[0], sum(locs[i].score for i in r)))
    return list(range(run[0], run[-1] + 1))


def mid_ventricular_slice(locs: list[LVLocation | None]) -> int:
    """The middle, ``(first + last) // 2``, of :func:`longest_lv_run`; if it falls on a gap, the
    nearest slice with the LV (the lower index on a tie).

    Raises:
        LocalisationError: no slice has the LV.
    """
    run = longest_lv_run(locs)
    mid = (run[0] + run[-1]) // 2
    if locs[mid] is None:  # the middle fell on a bridged gap: the nearest slice with the LV
        mid = min((i for i in run if locs[i] is not None), key=lambda i: (abs(i - mid), i))
    return mid


class ClassicLocaliser:
    """The hand-made localiser behind the two methods the pipeline calls (as
    :class:`~lvquant.analysis.localise_learned.LearnedLocaliser` has them)."""

    name = "classic"

    def __init__(self, config: LocaliserConfig | None = None) -> None:
        self.config = config

    def locate_stack(self, stack: np.ndarray, spacing_mm) -> tuple[int, list[LVLocation | None]]:
        """:func:`locate_lv_in_stack`."""
        return locate_lv_in_stack(stack, spacing_mm, self.config)

    def locate(self, frames: np.ndarray, spacing_mm) -> LVLocation:
        """:func:`locate_lv`."""
        return locate_lv(frames, spacing_mm, self.config)
