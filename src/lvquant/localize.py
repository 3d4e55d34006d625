"""Finding the left ventricle in a full field-of-view short-axis cine, without training data.

A scanner exports the whole field of view (FOV): chest wall, lungs, liver,
fat, sometimes a circular zero-intensity border. The network of
:mod:`lvquant.predict` wants an LV-centred crop with the right ventricle (RV)
on the image's left. This module finds the LV cavity in one slice over the
cardiac cycle, estimates its size and the direction of the RV, picks the
mid-ventricular slice of a stack, and cuts the rotated crop. It uses no
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
:func:`crop_rotated`
    An LV-centred square crop turned so that the RV lies at 9 o'clock.

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

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import ConvexHull
from skimage.morphology import convex_hull_image

from .errors import LocalisationError

__all__ = [
    "LVLocation",
    "LocaliserConfig",
    "crop_rotated",
    "locate_lv",
    "locate_lv_in_stack",
]


@dataclass(frozen=True)
class LocaliserConfig:
    """Parameters of the localiser (defaults are the tested ones; lengths in mm).

    Attributes
    ----------
    work_pixel_mm : float
        Frames are resampled to this isotropic pixel size (anti-aliased) before
        the search.
    cavity_radius_mm : (float, float)
        Plausible range of the equivalent radius of the bright blood-pool
        component on the temporal-mean image (outside it a candidate's size
        score falls off).
    n_levels : int
        Number of grey-level thresholds tried (quantiles of the FOV's pixels).
    level_quantiles : (float, float)
        Lowest and highest threshold, as quantiles of the in-FOV mean image.
    ring_mm : (float, float)
        Distances outside a candidate's border where its myocardial ring is
        sampled.
    min_score : float
        Below this best score the slice is declared LV-free.
    min_motion : float
        The heart must move: the temporal standard deviation around the best
        candidate's border, divided by the image's noise floor (median temporal
        standard deviation in the FOV), must reach this ratio.
    rv_motion_sigma_mm : float
        Gaussian smoothing of the temporal standard deviation before it weighs
        the RV votes.
    rv_prior_deg, rv_prior_strength : float
        Soft prior on the RV direction: votes are multiplied by
        ``exp(strength * (cos(theta - rv_prior_deg) - 1))`` (1 at 270 deg, 0.37 at
        180 and 360 deg, 0.14 opposite with the default strength 1). Standard
        short-axis display puts the RV on the image's left (DOMAIN.md); set the
        strength to 0 for images displayed otherwise.
    max_hole_mm2 : float
        Holes of a bright component up to this area are filled (papillary
        muscles, trabeculations); larger ones are kept, so the bright annulus of
        RV blood and fat around the whole heart is not taken for a filled disc.
    bridge_mm : float
        Radius of the grey closing that bridges dark lines narrower than about
        twice this (candidates come from both the closed and the plain image).
    cut_mm : float
        Radius of a binary opening that cuts bright bridges narrower than about
        twice this (a blood pool touching the RV through a thin septum); candidates
        come from both this and a 1-pixel opening.
    n_seeds : int
        Number of best distinct candidates followed over the cycle; the final
        choice multiplies the candidate score by the end-diastolic cavity's
        roundness and a factor for its area change over the cycle.
    default_wall_mm : float
        Wall thickness assumed when the radial profiles find no epicardium.
    rv_annulus : (float, float)
        Inner and outer radius of the annulus searched for RV blood, in units of
        the estimated epicardial radius (inner) and of the cavity radius (outer
        is ``epi + rv_annulus[1] * cavity``).
    """

    work_pixel_mm: float = 1.5
    cavity_radius_mm: tuple[float, float] = (12.0, 42.0)
    n_levels: int = 12
    level_quantiles: tuple[float, float] = (0.45, 0.985)
    ring_mm: tuple[float, float] = (1.5, 7.5)
    min_score: float = 0.05
    min_motion: float = 2.0
    rv_annulus: tuple[float, float] = (1.0, 1.3)
    rv_motion_sigma_mm: float = 3.0
    rv_prior_deg: float = 270.0
    rv_prior_strength: float = 1.0
    max_hole_mm2: float = 150.0
    bridge_mm: float = 2.5
    bridges_mm: tuple[float, ...] = (2.5, 5.0)
    n_seeds: int = 3
    default_wall_mm: float = 8.0
    cut_mm: float = 3.0


@dataclass(frozen=True)
class LVLocation:
    """The left ventricle in one short-axis slice.

    Attributes
    ----------
    centre_px : (float, float)
        ``(row, col)`` of the LV cavity centre in the input frames' pixel grid
        (centroid of the cavity segmented on the frame where it is largest).
    cavity_radius_px : float
        Radius of the disc with the largest (end-diastole-like) cavity area over
        the cycle, in input pixels along the row axis (``* spacing_mm[0]`` gives mm).
    epi_radius_px : float
        Estimated epicardial radius (cavity plus median wall thickness), same unit.
    rv_angle_deg : float
        Direction from the LV centre to the RV blood pool, clockwise from 12
        o'clock as displayed, in [0, 360): 270 = RV at 9 o'clock (image left).
    score : float
        Confidence in [0, 1]: product of the candidate's roundness, ring
        contrast, motion and size scores (see ``docs/localize.md``); detections
        below ``LocaliserConfig.min_score`` (0.2) are never returned.
    method : str
        Short description of how the location was found.
    """

    centre_px: tuple[float, float]
    cavity_radius_px: float
    epi_radius_px: float
    rv_angle_deg: float
    score: float
    method: str


# --------------------------------------------------------------------------------------------- helpers


def _check_spacing(spacing_mm) -> tuple[float, float]:
    try:
        arr = np.asarray(spacing_mm, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise LocalisationError(f"pixel spacing must be one or two positive numbers in mm, got {spacing_mm!r}") from exc
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.size != 2 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise LocalisationError(f"pixel spacing must be one or two positive numbers in mm, got {spacing_mm!r}")
    return float(arr[0]), float(arr[1])


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


def _resample_matrix(n_in: int, step: float) -> np.ndarray:
    """Dense (n_out, n_in) matrix: anti-alias Gaussian blur then linear interpolation.

    Output sample ``k`` sits at input coordinate ``k * step`` (``step`` = output
    pixel / input pixel); edges are replicated (``mode="nearest"``).
    """
    n_out = int(np.floor((n_in - 1) / step)) + 1
    x = np.arange(n_out) * step
    i0 = np.clip(np.floor(x).astype(int), 0, n_in - 1)
    i1 = np.clip(i0 + 1, 0, n_in - 1)
    w1 = x - np.floor(x)
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), i0), 1.0 - w1)
    np.add.at(m, (np.arange(n_out), i1), w1)
    sigma = 0.45 * np.sqrt(max(step * step - 1.0, 0.0))
    if sigma > 0:
        m = ndi.gaussian_filter1d(m, sigma, axis=1, mode="nearest")
    return m


def _to_work(frames: np.ndarray, spacing: tuple[float, float], wp: float) -> tuple[np.ndarray, tuple[float, float]]:
    """Resample (T, H, W) frames to isotropic ``wp`` mm pixels; returns (work, (row step, col step)).

    Work pixel ``(i, j)`` lies at input pixel ``(i * step_r, j * step_c)``.
    """
    sr, sc = wp / spacing[0], wp / spacing[1]
    mr = _resample_matrix(frames.shape[1], sr).astype(np.float32)
    mc = _resample_matrix(frames.shape[2], sc).astype(np.float32)
    work = np.matmul(np.matmul(mr, frames), mc.T)
    return work, (sr, sc)


def _disc(radius_px: float) -> np.ndarray:
    r = int(np.ceil(radius_px))
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    return (y * y + x * x) <= radius_px * radius_px + 1e-9


def _fill_small_holes(mask: np.ndarray, max_area_px: float) -> np.ndarray:
    """Fill the holes of ``mask`` smaller than ``max_area_px`` (papillary muscles), keep large ones."""
    holes = ndi.binary_fill_holes(mask) & ~mask
    if not holes.any():
        return mask
    lab, n = ndi.label(holes)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    small = sizes <= max_area_px
    small[0] = False
    return mask | small[lab]


def _solidity(mask: np.ndarray, n_pixels: int) -> float:
    """Pixel count over the area of the convex hull of the pixels' squares (1 for a convex blob)."""
    edge = mask & ~ndi.binary_erosion(mask)
    yy, xx = np.nonzero(edge)
    pts = np.concatenate([np.stack([yy + dy, xx + dx], 1) for dy in (-0.5, 0.5) for dx in (-0.5, 0.5)])
    try:
        hull = ConvexHull(pts)
    except Exception:  # degenerate (a line of pixels)
        return 0.0
    return float(min(n_pixels / hull.volume, 1.0))


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
    lab, n = ndi.label(dark)
    if n:
        border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
        outside = np.isin(lab, border[border > 0])
        outside = ndi.binary_dilation(outside, _disc(3.0 / wp))
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
    sources = [mean] + [ndi.grey_closing(mean, footprint=_disc(b / wp)) for b in cfg.bridges_mm]
    opened = [ndi.grey_opening(np.where(fov, src, low), footprint=st)
              for src in sources for st in (_disc(1.0), _disc(cfg.cut_mm / wp))]
    max_hole = cfg.max_hole_mm2 / (wp * wp)
    out: list[_Candidate] = []
    seen: set[tuple[int, int, int]] = set()
    for img in opened:
        for level in levels:
            lab, n = ndi.label(img > level)
            if n == 0:
                continue
            cnt = np.bincount(lab.ravel(), minlength=n + 1)
            ks = np.flatnonzero((cnt >= amin) & (cnt <= amax))
            if ks.size == 0:
                continue
            objs = ndi.find_objects(lab)
            for k in ks:
                if k == 0:
                    continue
                sl = objs[k - 1]
                if sl[0].start == 0 or sl[1].start == 0 or sl[0].stop == h or sl[1].stop == w:
                    continue  # touches the image edge: not a whole cavity
                cy, cx, fill, elong = _shape(lab[sl] == k)
                if min(fill, 1.0) * elong < 0.45:
                    continue
                key = (int((cy + sl[0].start) // 3), int((cx + sl[1].start) // 3), int(np.log(cnt[k]) / 0.1))
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
    dist = ndi.distance_transform_edt(~comp) * wp
    ring = (dist > cfg.ring_mm[0]) & (dist <= cfg.ring_mm[1])
    ring_in = ring & fov[r0:r1, c0:c1]
    if ring_in.sum() < 0.7 * ring.sum():
        return None  # lies against the FOV edge
    m_c = mean[r0:r1, c0:c1]
    inside = max(float(np.median(m_c[comp])), 1e-12)
    ring_vals = m_c[ring_in]
    ring_ratio = float(np.median(ring_vals)) / inside
    dark_ratio = float(np.quantile(ring_vals, 0.1)) / inside
    dist_in = ndi.distance_transform_edt(comp) * wp
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
    core = ndi.binary_erosion(mask, _disc(2.0))
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
        closed = ndi.grey_closing(f, footprint=bridge)
        reg = ndi.binary_opening((closed > 0.5 * (blood + myo)) & within, cut)
        lab, n = ndi.label(reg)
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
        m = ndi.binary_fill_holes(keep[lab])
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
    m = convex_hull_image(masks[ed])
    areas = areas * (m.sum() / masks[ed].sum())
    my, mx = np.nonzero(m)
    cents[ed] = (my.mean() + r0, mx.mean() + c0)
    my, mx = np.nonzero(m)
    cov = np.cov(np.stack([my, mx]).astype(float)) + np.eye(2) / 12.0
    ev = np.linalg.eigvalsh(cov)
    fill = my.size / (4.0 * np.pi * np.sqrt(max(ev[0] * ev[1], 1e-12)))
    roundness = min(fill, 1.0) * np.sqrt(max(ev[0], 1e-12) / ev[1]) * _solidity(m, my.size) ** 2
    full = np.zeros((h, w), dtype=bool)
    full[r0:r1, c0:c1] = m
    fac = 1.0 - float(np.nanmin(areas) / np.nanmax(areas))
    return _Cavity(areas, cents, ed, full, float(roundness), fac, float(ok.mean()))


def _search(frames: np.ndarray, spacing: tuple[float, float], cfg: LocaliserConfig):
    """Work grid, its temporal mean and std, FOV mask, noise floor and scored candidates."""
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
    cands = _candidates(mean, std, fov, noise, wp, cfg)
    return work, steps, mean, std, fov, noise, scale, cands


def _distinct(cands: list[_Candidate], k: int) -> list[_Candidate]:
    """The ``k`` best candidates whose centres are not inside a better one's pool."""
    chosen: list[_Candidate] = []
    for c in sorted(cands, key=lambda c: -c.score):
        if all(np.hypot(c.centre[0] - o.centre[0], c.centre[1] - o.centre[1]) * 1.0
               > 0.5 * np.sqrt(o.mask.sum() / np.pi) for o in chosen):
            chosen.append(c)
        if len(chosen) == k:
            break
    return chosen


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
    inside = ndi.map_coordinates(cav.astype(np.float32), [rr, cc], order=0, mode="constant") > 0.5
    vals = ndi.map_coordinates(img, [rr, cc], order=1, mode="nearest")
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


def _rv_direction(mean: np.ndarray, std_smooth: np.ndarray, noise: float, centre: tuple[float, float], r_cav: float,
                  r_epi: float, blood: float, myo: float, cfg: LocaliserConfig) -> tuple[float, float]:
    """Direction (deg, clockwise from 12 o'clock) of the moving blood next to the LV.

    Every pixel of the annulus ``r_epi <= r <= r_epi + rv_annulus[1] * r_cav``
    (work pixels) votes for its own direction with weight
    ``brightness**0.5 * motion * prior``: brightness = (mean - myo) / (blood - myo)
    clipped to [0, 1]; motion = smoothed temporal std / noise - 1, clipped at 0
    (the RV cavity and free wall move, fat and liver barely); prior =
    ``exp(k * (cos(theta - rv_prior_deg) - 1))``. The answer is the direction of
    the weighted vector sum; the second value is its length over the total
    weight (1 = all votes in one direction, 0 = balanced all round).
    """
    h, w = mean.shape
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
    bright = np.clip((mean[r0:r1, c0:c1][ann] - myo) / max(blood - myo, 1e-12), 0.0, 1.0)
    moving = np.clip(std_smooth[r0:r1, c0:c1][ann] / noise - 1.0, 0.0, None)
    theta = np.arctan2(dx[ann], -dy[ann])
    prior = np.exp(cfg.rv_prior_strength * (np.cos(theta - np.deg2rad(cfg.rv_prior_deg)) - 1.0))
    weight = np.sqrt(bright) * moving * prior
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
    spacing = _check_spacing(spacing_mm)
    a = _check_frames(frames, 3, "frames")
    return _locate(a, spacing, cfg)


def _locate(frames: np.ndarray, spacing: tuple[float, float], cfg: LocaliserConfig) -> LVLocation:
    wp = cfg.work_pixel_mm
    work, steps, mean, std, fov, noise, scale, cands = _search(frames, spacing, cfg)
    if not cands:
        raise _fail("no bright, round blood pool ringed by darker tissue")
    best = None
    for seed in _distinct(cands, cfg.n_seeds):
        if seed.motion < cfg.min_motion:
            continue
        if best is not None and seed.score <= best[0]:
            break  # the final score never exceeds the seed's: no later seed can win
        cav = _segment_cavity(work, seed, wp, cfg)
        if cav is None:
            continue
        fac_factor = float(np.clip((cav.fac - 0.04) / 0.1, 0.0, 1.0))
        total = seed.score * float(np.sqrt(cav.roundness)) * fac_factor
        if best is None or total > best[0]:
            best = (total, seed, cav)
    if best is None:
        top = max(cands, key=lambda c: c.score)
        if top.motion < cfg.min_motion:
            raise _fail("nothing in the image moves over the cycle like a beating heart")
        raise _fail("no blood pool could be followed over the cycle")
    total, seed, cav = best
    if total < cfg.min_score:
        raise _fail(f"the best candidate is too weak (score {total:.2f} < {cfg.min_score})")

    ed = cav.ed_frame
    cy, cx = cav.centres[ed]
    r_cav_mm = float(np.sqrt(cav.areas_mm2[ed] / np.pi))
    f_ed = work[ed]
    core = ndi.binary_erosion(cav.ed_mask, _disc(2.0))
    if core.sum() < 5:
        core = cav.ed_mask
    ring = (ndi.distance_transform_edt(~cav.ed_mask) * wp <= cfg.ring_mm[1]) & ~cav.ed_mask
    blood, myo = float(np.median(f_ed[core])), float(np.quantile(f_ed[ring], 0.3))
    ang, r_endo, r_epi = _radial_borders(f_ed, cav.ed_mask, (cy, cx), blood, myo, wp)
    found = np.isfinite(r_epi)
    wall = float(np.median((r_epi - r_endo)[found]) * wp) if found.sum() >= len(ang) // 4 else cfg.default_wall_mm
    r_epi_mm = r_cav_mm + float(np.clip(wall, 4.0, 20.0))
    if True:
        ang = np.arange(64) * (2 * np.pi / 64)
        radii = np.arange(0.5 * r_cav_mm / wp, 1.5 * r_cav_mm / wp, 0.5)
        rr = cy - radii[None, :] * np.cos(ang)[:, None]
        cc = cx + radii[None, :] * np.sin(ang)[:, None]
        sv = ndi.map_coordinates(ndi.gaussian_filter(std, 1.0), [rr, cc], order=1, mode="nearest")
        rmax = radii[np.argmax(sv, axis=1)]
        sc = _circle_centre(ang, rmax, (cy, cx))
        if sc is not None and np.hypot(sc[0] - cy, sc[1] - cx) * wp <= 0.3 * r_cav_mm:
            cy, cx = sc
    blood_m = float(np.median(mean[core]))
    myo_m = float(np.quantile(mean[ring], 0.3))
    std_smooth = ndi.gaussian_filter(std, cfg.rv_motion_sigma_mm / wp)
    rv, share = _rv_direction(mean, std_smooth, noise, (cy, cx), r_cav_mm / wp, r_epi_mm / wp, blood_m, myo_m, cfg)
    if not np.isfinite(rv):
        rv = 270.0
    px = float(np.sqrt(spacing[0] * spacing[1]))
    return LVLocation(
        centre_px=(float(cy * steps[0]), float(cx * steps[1])),
        cavity_radius_px=r_cav_mm / px,
        epi_radius_px=r_epi_mm / px,
        rv_angle_deg=float(rv % 360.0),
        score=float(np.clip(total, 0.0, 1.0)),
        method=f"temporal-mean blood pool + motion (seed score {seed.score:.2f}, FAC {cav.fac:.2f}, RV share {share:.2f})",
    )
