"""The 11 LV indices of a frame, measured from masks or contours.

This module is the single source of truth for what each index means; it follows
``shared/DOMAIN.md`` ("Geometry convention") exactly:

* Pixel ``(row, col)`` sits at ``(y, x) = (row * dy, col * dx)`` mm, with row 0 at
  the image top and ``spacing_mm = (dy, dx)`` (row spacing, column spacing). All
  geometry is done in mm, so anisotropic pixels are handled exactly.
* Centre: the centroid of the cavity (endocardial region).
* Angle ``theta`` is measured **clockwise from 12 o'clock** as displayed (90 deg
  points to the image right), so the ray at ``theta`` has direction
  ``(dy, dx) = (-cos theta, +sin theta)``.
* ``r_endo(theta)``, ``r_epi(theta)``: distance from the centre to the *outermost*
  crossing of the ray with the border. Rays are cast against a sub-pixel polygon,
  never by counting whole pixels.
* Rays are sampled at ``theta_i = (i + 0.5) * 360 / n_rays`` deg; with ``n_rays`` a
  multiple of 12 no ray lies on a sector edge and every sector gets the same
  number of rays.
* Sectors (:data:`SECTORS_DEG`): A 330-30 (wraps), AL 30-90, IL 90-150, I 150-210,
  IS 210-270, AS 270-330, each the half-open interval ``[start, end)``.
* ``RWT_k`` = mean over the rays of sector ``k`` of ``r_epi - r_endo``, in the order
  IS, I, IL, AL, A, AS (:data:`lvquant.indices.SEGMENTS`).
* ``D1`` (IS-AL), ``D2`` (I-A), ``D3`` (IL-AS): twice the mean ``r_endo`` over the
  rays of both sectors (:data:`DIMENSION_SECTORS`).

Masks
-----
``endo`` is the region inside the endocardial border (papillary muscles included);
``epi`` the region inside the epicardial border (it contains the cavity). An
``epi`` that is only the myocardium ring (LVQuan style: it barely overlaps the
cavity, less than half of the cavity's pixels) is accepted: the epicardial region
is then ``epi | endo`` with its holes filled.

The sub-pixel border of a mask is its 0.5 iso-line (marching squares,
:func:`skimage.measure.find_contours`) on the zero-padded binary mask, with the
foreground 8-connected. A light Gaussian smoothing before contouring was
measured and did not make areas, diameters or thicknesses of digitised circles
any more accurate, so none is applied. The centre is the polygon centroid of
that sub-pixel cavity border (not the pixel centroid), so that a mask and its
contour give the same centre.

Areas from masks are region areas, pixel count x pixel area (DOMAIN.md), the
default ``area_method="pixels"``. ``area_method="contour"`` uses the polygon area
of the sub-pixel borders instead; on digitised circles of radius 8-30 px pixel
counting is unbiased (mean error < 0.01 %) while the marching-squares polygon is
about 0.07 % small, and neither beats the digitisation noise of a binary mask
(e.g. a disk of radius 8 px centred on a pixel has 193 pixels, 4 % under
pi * 64), so the DOMAIN definition is kept as the default.

Accuracy and speed (measured, see tests/test_geometry.py)
--------------------------------------------------------
On binary disks and rings of radius 8-30 px (widths 3-8 px, many sub-pixel
positions) the errors *averaged over positions* stay within the LVQuan-issue
figures (area bias < 0.5 %, mean D error < 0.2 px, mean RWT error < 0.2 px), but
single shapes carry the mask's own digitisation error: up to 4 % in A1 and 5 % in
thin-ring A2 at r = 8 px, 0.53 px in D, 0.28 px in RWT. A 60 px cavity with a
12 px wall is within 1 %, 0.25 px and 0.25 px shape by shape. Contours are exact
to polygon sampling. One frame takes about 1.5 ms at 80 x 80 and 2-7 ms at
320 x 320 (the work is on a crop around the heart); a pair of 400-point
contours about 1 ms.

Repairs and refusals (never a silent wrong number)
--------------------------------------------------
* NaN/inf, values other than 0/1, wrong dimensionality, shape mismatch, empty
  region: :class:`~lvquant.errors.MaskError`.
* Several pieces: the largest (8-connected) piece is kept, with a warning.
* Holes: filled, with a warning.
* Cavity pixels outside the epicardial region: up to 2 % of the cavity, the
  epicardial region is extended to contain the cavity, with a warning; more is a
  :class:`~lvquant.errors.MaskError`.
* Cavity centroid outside the cavity, or a ray that meets no border:
  :class:`~lvquant.errors.MaskError` (``ContourError`` for contours).
* No epicardium (``epi=None``): A2 and RWT are NaN, with a warning.

Contours
--------
Polygons are ``(N, 2)`` arrays of ``(x, y) = (column, row)`` pixel coordinates (the
Sunnybrook contour-file convention), closed implicitly. Areas are shoelace
polygon areas in mm²; ``A2 = area(epi) - area(endo)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ContourError, InputError, MaskError
from .image_ops import fill_holes, largest_piece
from .indices import SEGMENTS, Indices
from .spacing import check_pixel_spacing

__all__ = [
    "SECTORS_DEG",
    "DIMENSION_SECTORS",
    "ENCLOSURE_TOLERANCE",
    "CONTOUR_CROSSING_TOLERANCE",
    "PhaseLabels",
    "ray_angles",
    "ray_directions",
    "sector_of",
    "border_radii",
    "polygon_area",
    "polygon_centroid",
    "mask_border",
    "indices_from_radii",
    "measure",
    "measure_masks",
    "measure_contours",
    "phase_from_areas",
]

#: Sector of each segment, ``name -> (start, end)`` in degrees clockwise from 12
#: o'clock; half-open ``[start, end)``; A wraps through 0.
SECTORS_DEG: dict[str, tuple[float, float]] = {
    "A": (330.0, 30.0),
    "AL": (30.0, 90.0),
    "IL": (90.0, 150.0),
    "I": (150.0, 210.0),
    "IS": (210.0, 270.0),
    "AS": (270.0, 330.0),
}

#: The two sectors each cavity dimension averages over: D1 (IS-AL), D2 (I-A), D3 (IL-AS).
DIMENSION_SECTORS: dict[str, tuple[str, str]] = {
    "D1": ("IS", "AL"),
    "D2": ("I", "A"),
    "D3": ("IL", "AS"),
}

#: Largest fraction of the cavity that may lie outside the epicardial region and
#: still be repaired (by extending the epicardium) rather than refused.
ENCLOSURE_TOLERANCE: float = 0.02

#: Largest fraction of directions on which a hand-drawn epicardial contour may
#: dip inside the endocardial one (thin or scarred walls drawn by hand touch or
#: cross); the wall is taken as 0 there, with a warning. More means the
#: contours are swapped or of different frames: refused.
CONTOUR_CROSSING_TOLERANCE: float = 0.25

#: An ``epi`` mask covering less than this fraction of the cavity is read as the
#: myocardium ring only.
_RING_OVERLAP: float = 0.5


# --------------------------------------------------------------------------- rays


def _check_n_rays(n_rays: Any) -> int:
    if isinstance(n_rays, bool) or not isinstance(n_rays, (int, np.integer)) or n_rays < 12 or n_rays % 12:
        raise InputError(f"n_rays must be a positive multiple of 12 (got {n_rays!r}) so that sectors get equal rays")
    return int(n_rays)


def ray_angles(n_rays: int = 360) -> np.ndarray:
    """Ray angles ``theta_i = (i + 0.5) * 360 / n_rays``.

    Parameters
    ----------
    n_rays : int
        Number of rays, a positive multiple of 12 (so no ray lies on a sector
        edge and all six sectors get ``n_rays / 6`` rays).

    Returns
    -------
    ndarray, shape (n_rays,)
        Angles in degrees, clockwise from 12 o'clock as displayed.
    """
    n = _check_n_rays(n_rays)
    return (np.arange(n, dtype=np.float64) + 0.5) * (360.0 / n)


def ray_directions(angles_deg: np.ndarray) -> np.ndarray:
    """Unit ray directions in image ``(y, x)`` axes.

    Parameters
    ----------
    angles_deg : array_like, shape (R,)
        Degrees clockwise from 12 o'clock as displayed.

    Returns
    -------
    ndarray, shape (R, 2)
        ``(dy, dx) = (-cos theta, sin theta)``: y grows down the rows, x along the
        columns.
    """
    th = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    return np.stack([-np.cos(th), np.sin(th)], axis=-1)


def sector_of(angles_deg: np.ndarray) -> np.ndarray:
    """Segment index (into :data:`lvquant.indices.SEGMENTS`) of each angle.

    Parameters
    ----------
    angles_deg : array_like, shape (R,)
        Degrees clockwise from 12 o'clock; any real value (taken modulo 360).

    Returns
    -------
    ndarray of int, shape (R,)
        0..5 for IS, I, IL, AL, A, AS; sectors are half-open ``[start, end)``.
    """
    a = np.mod(np.asarray(angles_deg, dtype=np.float64), 360.0)
    out = np.empty(a.shape, dtype=np.intp)
    for k, name in enumerate(SEGMENTS):
        lo, hi = SECTORS_DEG[name]
        inside = (a >= lo) & (a < hi) if lo < hi else (a >= lo) | (a < hi)
        out[inside] = k
    return out


def border_radii(polygon_mm: np.ndarray, centre_mm: np.ndarray, angles_deg: np.ndarray) -> np.ndarray:
    """Distance from a centre to the outermost crossing of each ray with a polygon.

    Vectorised over rays and edges: the side of every vertex with respect to
    every ray's line is one ``(R, 2) @ (2, N)`` product; only edges whose
    endpoints lie on opposite sides are intersected.

    Parameters
    ----------
    polygon_mm : ndarray, shape (N, 2)
        Closed polygon (last vertex joins the first), ``(y, x)`` in mm with y
        growing down the image rows.
    centre_mm : array_like, shape (2,)
        Ray origin ``(y, x)`` in mm.
    angles_deg : array_like, shape (R,)
        Ray angles, degrees clockwise from 12 o'clock.

    Returns
    -------
    ndarray, shape (R,)
        Radius in mm of the farthest crossing along each ray; NaN where the ray
        never meets the polygon.
    """
    p = np.asarray(polygon_mm, dtype=np.float64) - np.asarray(centre_mm, dtype=np.float64)
    d = ray_directions(angles_deg)
    with np.errstate(all="ignore"):
        return _outermost(p, d)


def _outermost(p: np.ndarray, d: np.ndarray) -> np.ndarray:
    # Signed side of each vertex w.r.t. each ray's line: cross(d, p) = dy*px - dx*py.
    side = np.stack([-d[:, 1], d[:, 0]], axis=1) @ p.T  # (R, N)
    pos = side > 0.0
    crosses = pos != np.roll(pos, -1, axis=1)  # edge j: vertex j -> j+1
    rows, cols = np.nonzero(crosses)
    nxt = (cols + 1) % p.shape[0]
    c0 = side[rows, cols]
    c1 = side[rows, nxt]
    s = c0 / (c0 - c1)  # c0 != c1 since their signs differ
    pts = p[cols] + s[:, None] * (p[nxt] - p[cols])
    t = np.einsum("ij,ij->i", pts, d[rows])
    out = np.full(d.shape[0], -np.inf)
    fwd = t > 0.0
    np.maximum.at(out, rows[fwd], t[fwd])
    out[~np.isfinite(out)] = np.nan
    return out


def polygon_area(polygon: np.ndarray) -> float:
    """Unsigned shoelace area of a closed polygon, shape (N, 2), in its units squared."""
    y, x = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(y, np.roll(x, -1)) - np.dot(x, np.roll(y, -1))))


def polygon_centroid(polygon: np.ndarray) -> np.ndarray:
    """Area centroid of a closed, non-degenerate polygon, shape (N, 2) -> (2,), same axes and units."""
    p0 = polygon
    p1 = np.roll(polygon, -1, axis=0)
    cr = p0[:, 0] * p1[:, 1] - p1[:, 0] * p0[:, 1]
    a2 = cr.sum()  # twice the signed area
    with np.errstate(all="ignore"):
        return np.array([np.dot(p0[:, 0] + p1[:, 0], cr), np.dot(p0[:, 1] + p1[:, 1], cr)]) / (3.0 * a2)


def _inside(point: np.ndarray, polygon: np.ndarray) -> bool:
    from skimage import measure as skmeasure  # imported when needed: it takes longer than an analysis stage

    return bool(skmeasure.points_in_poly(point[None, :], polygon)[0])


# ---------------------------------------------------------------------- indices


def indices_from_radii(r_endo: np.ndarray, r_epi: np.ndarray | None, angles_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cavity dimensions and regional wall thickness from per-ray radii.

    Parameters
    ----------
    r_endo : ndarray, shape (R,)
        Endocardial radius per ray, mm.
    r_epi : ndarray, shape (R,) or None
        Epicardial radius per ray, mm; None gives NaN thicknesses.
    angles_deg : ndarray, shape (R,)
        The ray angles (degrees clockwise from 12 o'clock).

    Returns
    -------
    dims_mm : ndarray, shape (3,)
        D1 (IS-AL), D2 (I-A), D3 (IL-AS): twice the mean ``r_endo`` over both sectors.
    rwt_mm : ndarray, shape (6,)
        Mean ``r_epi - r_endo`` per segment IS, I, IL, AL, A, AS.
    """
    sec = sector_of(angles_deg)
    counts = np.bincount(sec, minlength=6).astype(np.float64)
    sums_endo = np.bincount(sec, weights=r_endo, minlength=6)
    seg = {name: k for k, name in enumerate(SEGMENTS)}
    dims = np.array(
        [
            2.0 * (sums_endo[seg[a]] + sums_endo[seg[b]]) / (counts[seg[a]] + counts[seg[b]])
            for a, b in DIMENSION_SECTORS.values()
        ]
    )
    if r_epi is None:
        rwt = np.full(6, np.nan)
    else:
        rwt = np.bincount(sec, weights=r_epi - r_endo, minlength=6) / counts
    return dims, rwt


# ------------------------------------------------------------------------ input


def _as_binary(a: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a)
    except Exception:  # ragged lists and the like
        raise MaskError(f"the {name} mask is not an array of 0/1 values; export it as a binary mask") from None
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind not in "iuf":
        raise MaskError(f"the {name} mask has values of type {arr.dtype}; give a binary mask of 0/1 values")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise MaskError(f"the {name} mask contains NaN or infinite values; give a binary mask of 0/1 values")
    is1 = arr == 1
    if not np.all(is1 | (arr == 0)):
        raise MaskError(
            f"the {name} mask has values other than 0 and 1 (e.g. {arr[~(is1 | (arr == 0))].flat[0]!r}); "
            "give a binary mask (label maps must be split into one mask per structure)"
        )
    return is1


def mask_border(mask: np.ndarray) -> np.ndarray:
    """Sub-pixel border of a binary region: its 0.5 iso-line.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        One 8-connected region without holes (see :func:`measure_masks` for the
        repairs that make it so).

    Returns
    -------
    ndarray, shape (N, 2)
        Closed polygon ``(row, col)`` in pixel coordinates (pixel ``(i, j)`` has its
        centre at ``(i, j)``), the longest contour found.
    """
    padded = np.pad(mask, 1).astype(np.float64)
    from skimage import measure as skmeasure

    contours = skmeasure.find_contours(padded, 0.5, fully_connected="high")
    c = max(contours, key=len)
    if len(c) > 1 and np.array_equal(c[0], c[-1]):
        c = c[:-1]
    return c - 1.0


# ------------------------------------------------------------------ one frame


def _frame_masks(
    endo: np.ndarray, epi: np.ndarray | None, dy: float, dx: float, n_rays: int, area_method: str
) -> Indices:
    warnings: list[str] = []
    if not endo.any():
        raise MaskError("the endocardial (cavity) mask is empty; check that the right label was exported")
    if epi is not None and not epi.any():
        raise MaskError("the epicardial mask is empty; check that the right label was exported")

    # Work on a crop around the structures: fast on large images.
    both = endo if epi is None else (endo | epi)
    rr = np.flatnonzero(both.any(axis=1))
    cc = np.flatnonzero(both.any(axis=0))
    r0, c0 = rr[0], cc[0]
    endo = endo[r0 : rr[-1] + 1, c0 : cc[-1] + 1]
    if epi is not None:
        epi = epi[r0 : rr[-1] + 1, c0 : cc[-1] + 1]

    endo, n = largest_piece(endo)
    if n > 1:
        warnings.append(f"the cavity mask had {n} separate pieces; only the largest was measured")
    filled = fill_holes(endo)
    n_holes = int(filled.sum() - endo.sum())
    if n_holes:
        warnings.append(f"filled {n_holes} pixel(s) of holes in the cavity mask (papillary muscles count as cavity)")
        endo = filled
    n_endo = int(endo.sum())

    epi_f = None
    if epi is not None:
        epi, n = largest_piece(epi)
        if n > 1:
            warnings.append(f"the epicardial mask had {n} separate pieces; only the largest was measured")
        epi_filled = fill_holes(epi)
        overlap = int((epi & endo).sum())
        if overlap < _RING_OVERLAP * n_endo:
            # Myocardium ring (LVQuan style): the cavity must sit in the ring's hole.
            outside = int((endo & ~epi_filled).sum())
            if outside > ENCLOSURE_TOLERANCE * n_endo:
                raise MaskError(
                    f"{100.0 * outside / n_endo:.0f}% of the cavity lies outside the epicardial border; "
                    "check that the endocardial and epicardial masks belong to the same frame and slice"
                )
            union = epi | endo
            epi_f = fill_holes(union)
            gap = int(epi_f.sum() - union.sum())
            if gap:
                warnings.append(
                    f"{gap} pixel(s) between the myocardium ring and the cavity belonged to neither mask; "
                    "they were counted as myocardium"
                )
            if outside:
                warnings.append(
                    f"{outside} cavity pixel(s) stuck out of the epicardial ring; the epicardium was extended to enclose them"
                )
        else:
            n_holes = int(epi_filled.sum() - epi.sum())
            if n_holes:
                warnings.append(f"filled {n_holes} pixel(s) of holes in the epicardial mask")
            outside = int((endo & ~epi_filled).sum())
            if outside > ENCLOSURE_TOLERANCE * n_endo:
                raise MaskError(
                    f"{100.0 * outside / n_endo:.0f}% of the cavity lies outside the epicardial border; "
                    "check that the endocardial and epicardial masks belong to the same frame and slice"
                )
            if outside:
                warnings.append(
                    f"{outside} cavity pixel(s) lay outside the epicardial region; the epicardium was extended to enclose them"
                )
                epi_f = epi_filled | endo
            else:
                epi_f = epi_filled

    scale = np.array([dy, dx])
    endo_poly = (mask_border(endo) + (r0, c0)) * scale
    centre = polygon_centroid(endo_poly)
    if not _inside(centre, endo_poly):
        raise MaskError(
            "the cavity's centre lies outside the cavity (crescent-shaped mask?); "
            "check the endocardial mask, which should be a filled region"
        )
    angles = ray_angles(n_rays)
    r_endo = border_radii(endo_poly, centre, angles)
    if np.isnan(r_endo).any():
        raise MaskError("some rays from the cavity centre never meet the endocardial border; check the cavity mask")
    pixel_area = dy * dx
    if area_method == "pixels":
        a1 = n_endo * pixel_area
    else:
        a1 = polygon_area(endo_poly)

    if epi_f is None:
        warnings.append("no epicardial mask was given, so myocardium area and wall thickness are not measured")
        a2 = np.nan
        r_epi = None
    else:
        epi_poly = (mask_border(epi_f) + (r0, c0)) * scale
        r_epi = border_radii(epi_poly, centre, angles)
        if np.isnan(r_epi).any():
            raise MaskError("some rays from the cavity centre never meet the epicardial border; check the epicardial mask")
        # Nested regions give nested iso-lines (checked by fuzzing); this only removes round-off.
        r_epi = np.maximum(r_epi, r_endo)
        if area_method == "pixels":
            a2 = (int(epi_f.sum()) - n_endo) * pixel_area
        else:
            a2 = polygon_area(epi_poly) - a1
    dims, rwt = indices_from_radii(r_endo, r_epi, angles)
    return Indices(np.float64(a1), np.float64(a2), dims, rwt, tuple(warnings))


# -------------------------------------------------------------------- public


def measure_masks(
    endo: Any,
    epi: Any,
    spacing_mm: Any = 1.0,
    *,
    n_rays: int = 360,
    area_method: str = "pixels",
) -> Indices:
    """Indices of one frame or a stack of frames from binary masks.

    Parameters
    ----------
    endo : array_like, shape (H, W) or (T, H, W)
        Cavity region (inside the endocardial border, papillary muscles
        included): bool, or numbers that are only 0 and 1.
    epi : array_like, same shape as ``endo``, or None
        Region inside the epicardial border (contains the cavity), or the
        myocardium ring only (read as ``epi | endo``). None: A2 and RWT are NaN
        and a warning is added.
    spacing_mm : float or (float, float)
        Pixel spacing in mm, one value or ``(row spacing, column spacing)``.
    n_rays : int
        Rays per frame, a positive multiple of 12.
    area_method : {"pixels", "contour"}
        ``"pixels"`` (default, DOMAIN.md): pixel count x pixel area;
        ``"contour"``: polygon area of the sub-pixel borders.

    Returns
    -------
    Indices
        Scalar fields for (H, W) input, a leading axis T for (T, H, W) input;
        repairs are listed in ``warnings`` (prefixed ``frame t:`` for stacks).

    Raises
    ------
    MaskError
        Non-binary, NaN, mismatched or empty masks; a cavity mostly outside the
        epicardium; a cavity whose centre lies outside it.
    InputError
        Bad ``spacing_mm``, ``n_rays`` or ``area_method``.
    """
    dy, dx = check_pixel_spacing(spacing_mm)
    n_rays = _check_n_rays(n_rays)
    if area_method not in ("pixels", "contour"):
        raise InputError(f"area_method must be 'pixels' or 'contour'; got {area_method!r}")
    endo_b = _as_binary(endo, "endocardial")
    epi_b = None if epi is None else _as_binary(epi, "epicardial")
    if endo_b.ndim not in (2, 3) or 0 in endo_b.shape:
        raise MaskError(f"masks must be H x W or T x H x W arrays; got shape {endo_b.shape}")
    if epi_b is not None and epi_b.shape != endo_b.shape:
        raise MaskError(
            f"the endocardial mask has shape {endo_b.shape} but the epicardial mask {epi_b.shape}; they must match"
        )
    if endo_b.ndim == 2:
        return _frame_masks(endo_b, epi_b, dy, dx, n_rays, area_method)
    frames = []
    for t in range(endo_b.shape[0]):
        try:
            frames.append(_frame_masks(endo_b[t], None if epi_b is None else epi_b[t], dy, dx, n_rays, area_method))
        except MaskError as exc:
            raise MaskError(f"frame {t}: {exc}") from None
    return Indices.stack(frames)


def _as_polygon(a: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ContourError(f"the {name} contour is not a list of (x, y) points") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ContourError(f"the {name} contour must be N x 2 (x, y) points; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ContourError(f"the {name} contour has NaN or infinite coordinates; re-export the contour")
    # Drop repeated consecutive points (and a repeated closing point).
    keep = np.any(arr != np.roll(arr, 1, axis=0), axis=1)
    if arr.shape[0] and not keep.any():
        keep[0] = True
    arr = arr[keep]
    if arr.shape[0] < 3:
        raise ContourError(f"the {name} contour has fewer than 3 distinct points; it cannot enclose an area")
    return arr


def measure_contours(
    endo_xy: Any,
    epi_xy: Any = None,
    spacing_mm: Any = 1.0,
    *,
    n_rays: int = 360,
) -> Indices:
    """Indices of one frame from border polygons.

    Parameters
    ----------
    endo_xy : array_like, shape (N, 2)
        Endocardial border, ``(x, y) = (column, row)`` pixel coordinates, closed
        implicitly (a repeated first point is fine).
    epi_xy : array_like, shape (M, 2), or None
        Epicardial border in the same convention; None: A2 and RWT are NaN and
        a warning is added.
    spacing_mm : float or (float, float)
        Pixel spacing in mm, one value or ``(row spacing, column spacing)``.
    n_rays : int
        Rays, a positive multiple of 12.

    Returns
    -------
    Indices
        Single-frame indices; A1 and A2 are shoelace areas in mm².

    Raises
    ------
    ContourError
        Fewer than 3 points, NaN, zero area, a centroid outside the cavity, or
        an epicardium that does not enclose the endocardium.
    """
    dy, dx = check_pixel_spacing(spacing_mm)
    n_rays = _check_n_rays(n_rays)
    warnings: list[str] = []
    scale = np.array([dy, dx])
    endo_poly = _as_polygon(endo_xy, "endocardial")[:, ::-1] * scale
    a1 = polygon_area(endo_poly)
    if not a1 > 0.0:
        raise ContourError("the endocardial contour encloses no area (all points on a line); re-draw the contour")
    centre = polygon_centroid(endo_poly)
    if not _inside(centre, endo_poly):
        raise ContourError("the cavity's centre lies outside the endocardial contour; check that the contour is not crossed")
    angles = ray_angles(n_rays)
    r_endo = border_radii(endo_poly, centre, angles)
    if np.isnan(r_endo).any():
        raise ContourError("some rays from the cavity centre never meet the endocardial contour; re-draw the contour")
    if epi_xy is None:
        warnings.append("no epicardial contour was given, so myocardium area and wall thickness are not measured")
        a2 = np.nan
        r_epi = None
    else:
        epi_poly = _as_polygon(epi_xy, "epicardial")[:, ::-1] * scale
        a_epi = polygon_area(epi_poly)
        if not a_epi > 0.0:
            raise ContourError("the epicardial contour encloses no area (all points on a line); re-draw the contour")
        if not _inside(centre, epi_poly):
            raise ContourError("the epicardial contour does not enclose the cavity; check that both contours are of the same frame")
        r_epi = border_radii(epi_poly, centre, angles)
        if np.isnan(r_epi).any():
            raise ContourError("some rays from the cavity centre never meet the epicardial contour; re-draw the contour")
        bad = r_epi < r_endo
        if bad.mean() > CONTOUR_CROSSING_TOLERANCE:
            raise ContourError(
                f"the epicardial contour lies inside the endocardial one on {100.0 * bad.mean():.0f}% of directions; "
                "check that the two contours are not swapped and belong to the same frame"
            )
        if bad.any():
            warnings.append(
                f"the epicardial contour dips inside the endocardial one on {int(bad.sum())} of {n_rays} rays; "
                "wall thickness there was taken as 0"
            )
            r_epi = np.maximum(r_epi, r_endo)
        a2 = a_epi - a1
    dims, rwt = indices_from_radii(r_endo, r_epi, angles)
    return Indices(np.float64(a1), np.float64(a2), dims, rwt, tuple(warnings))


def _looks_like_contour(a: Any) -> bool:
    arr = np.asarray(a)
    return arr.dtype.kind == "f" and arr.ndim == 2 and arr.shape[1] == 2 and arr.shape[0] >= 3


def measure(
    endo: Any,
    epi: Any,
    spacing_mm: Any = 1.0,
    *,
    kind: str = "auto",
    n_rays: int = 360,
) -> Indices:
    """Indices from masks or contours.

    Parameters
    ----------
    endo, epi : array_like
        Masks (see :func:`measure_masks`) or ``(N, 2)`` ``(x, y)`` polygons (see
        :func:`measure_contours`); ``epi`` may be None.
    spacing_mm : float or (float, float)
        Pixel spacing in mm, one value or ``(row spacing, column spacing)``.
    kind : {"auto", "mask", "contour"}
        ``"auto"`` reads ``endo`` as a contour when it is a float array of shape
        ``(N, 2)`` with ``N >= 3``, and as a mask otherwise.
    n_rays : int
        Rays, a positive multiple of 12.

    Returns
    -------
    Indices
    """
    if kind not in ("auto", "mask", "contour"):
        raise InputError(f"kind must be 'auto', 'mask' or 'contour'; got {kind!r}")
    if kind == "auto":
        try:
            kind = "contour" if _looks_like_contour(endo) else "mask"
        except Exception:
            kind = "mask"
    if kind == "contour":
        return measure_contours(endo, epi, spacing_mm, n_rays=n_rays)
    return measure_masks(endo, epi, spacing_mm, n_rays=n_rays)


# --------------------------------------------------------------------- phase


@dataclass(frozen=True)
class PhaseLabels:
    """Cardiac phase of each frame, from the cavity-area curve.

    Attributes
    ----------
    labels : ndarray of int, shape (T,)
        1 = systole (after ED up to and including ES, going forward
        cyclically), 0 = diastole (after ES up to and including ED).
    ed_frame : int
        End-diastole: the frame of largest area (first one on ties).
    es_frame : int
        End-systole: the frame of smallest area (first one on ties).
    """

    labels: np.ndarray
    ed_frame: int
    es_frame: int


def phase_from_areas(areas: Any) -> PhaseLabels:
    """Systole/diastole labels from a cavity-area curve over one cycle.

    Parameters
    ----------
    areas : array_like, shape (T,)
        Cavity area per frame (any unit). NaN frames are allowed; they take
        no part in choosing ED and ES and are labelled by their position.

    Returns
    -------
    PhaseLabels

    Raises
    ------
    InputError
        Not 1-D, fewer than 2 finite values, or a flat curve (ED = ES).
    """
    try:
        a = np.asarray(areas, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("cavity areas must be a sequence of numbers, one per frame") from None
    if a.ndim != 1:
        raise InputError(f"cavity areas must be one value per frame (1-D); got shape {a.shape}")
    finite = np.isfinite(a)
    if finite.sum() < 2:
        raise InputError("at least 2 frames with a finite cavity area are needed to find end-diastole and end-systole")
    ed = int(np.argmax(np.where(finite, a, -np.inf)))
    es = int(np.argmin(np.where(finite, a, np.inf)))
    if a[ed] == a[es]:
        raise InputError("the cavity area is the same in every frame, so end-diastole and end-systole cannot be told apart")
    return PhaseLabels(labels=phase_labels(ed, es, a.shape[0]), ed_frame=ed, es_frame=es)


def phase_labels(ed: int, es: int, n_frames: int) -> np.ndarray:
    """(T,) 1 (systole) for the frames after ED up to and including ES, going forward cyclically,
    0 (diastole) for the others."""
    since_ed = (np.arange(n_frames) - ed) % n_frames
    return ((since_ed > 0) & (since_ed <= (es - ed) % n_frames)).astype(np.int64)
