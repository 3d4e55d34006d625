"""Rasterising the scene: tissue labels at high resolution, coverage, masks, borders.

A :class:`Lattice` is a grid of image pixels placed in the body frame (any
in-plane rotation, isotropic spacing). The scene is labelled at ``ss x ss``
sub-pixels per image pixel (:func:`paint_body` once per subject,
:func:`paint_heart` per frame on the heart's bounding box only) and reduced
to per-pixel tissue fractions (:func:`coverage`): the partial-volume effect of
a real voxel, computed by averaging the sub-pixels.

Masks (:func:`heart_masks`) are sampled at pixel centres from the exact
borders; the border polygons (:func:`border_polygons`) are what the ground
truth is measured on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anatomy import N_TISSUES, PHI, Body, Capsule, T, periodic_interp, polar, rotate
from .motion import HeartState


@dataclass(frozen=True)
class Lattice:
    """Image pixels placed in the body frame.

    Attributes
    ----------
    origin : ndarray (2,)
        Body-frame ``(y, x)`` of the centre of pixel (0, 0), mm.
    u_row, u_col : ndarray (2,)
        Unit body-frame directions ``(dy, dx)`` of increasing row and column.
    spacing : float
        Pixel spacing, mm (isotropic).
    shape : (int, int)
        Rows, columns.
    """

    origin: np.ndarray
    u_row: np.ndarray
    u_col: np.ndarray
    spacing: float
    shape: tuple[int, int]

    @staticmethod
    def rotated(centre: np.ndarray, angle: float, spacing: float, shape: tuple[int, int], centre_px: tuple[float, float]) -> "Lattice":
        """A lattice whose axes are the body axes rotated clockwise by ``angle`` radians.

        ``centre_px`` (row, col) (fractional) is placed at body point ``centre``.
        """
        u_row = np.array(rotate(np.array(1.0), np.array(0.0), angle), dtype=np.float64)
        u_col = np.array(rotate(np.array(0.0), np.array(1.0), angle), dtype=np.float64)
        origin = np.asarray(centre, dtype=np.float64) - spacing * (centre_px[0] * u_row + centre_px[1] * u_col)
        return Lattice(origin, u_row, u_col, float(spacing), (int(shape[0]), int(shape[1])))

    def points(self, ss: int = 1, rows: tuple[int, int] | None = None, cols: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Body coordinates of the sub-pixel centres.

        Parameters
        ----------
        ss : int
            Sub-pixels per pixel along each axis.
        rows, cols : (start, stop) in sub-pixel units, optional
            Restrict to a box (default: the whole lattice, ``shape * ss``).

        Returns
        -------
        y, x : ndarray, shape (n_rows, n_cols)
        """
        r0, r1 = rows if rows is not None else (0, self.shape[0] * ss)
        c0, c1 = cols if cols is not None else (0, self.shape[1] * ss)
        a = ((np.arange(r0, r1) + 0.5) / ss - 0.5) * self.spacing
        b = ((np.arange(c0, c1) + 0.5) / ss - 0.5) * self.spacing
        y = self.origin[0] + a[:, None] * self.u_row[0] + b[None, :] * self.u_col[0]
        x = self.origin[1] + a[:, None] * self.u_row[1] + b[None, :] * self.u_col[1]
        return y, x

    def to_pixel(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fractional (row, col) of body points (pixel centres at integers)."""
        dy, dx = np.asarray(y) - self.origin[0], np.asarray(x) - self.origin[1]
        return (dy * self.u_row[0] + dx * self.u_row[1]) / self.spacing, (dy * self.u_col[0] + dx * self.u_col[1]) / self.spacing


# ------------------------------------------------------------------- labels


def _capsule_distance(c: Capsule, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    p0 = np.array(c.p0)
    d = np.array(c.p1) - p0
    ll = float(d @ d)
    py, px = y - p0[0], x - p0[1]
    if ll == 0:
        t = 0.0
    else:
        t = np.clip((py * d[0] + px * d[1]) / ll, 0.0, 1.0)
    return np.hypot(py - t * d[0], px - t * d[1])


def _paint_capsules(labels: np.ndarray, lattice: Lattice, ss: int, y: np.ndarray, x: np.ndarray,
                    capsules: tuple[Capsule, ...], where: int, value: int) -> None:
    h, w = labels.shape
    for c in capsules:
        ends_r, ends_c = lattice.to_pixel(np.array([c.p0[0], c.p1[0]]), np.array([c.p0[1], c.p1[1]]))
        pad = c.radius / lattice.spacing + 1.0
        r0 = max(int(np.floor((ends_r.min() - pad + 0.5) * ss)), 0)
        r1 = min(int(np.ceil((ends_r.max() + pad + 0.5) * ss)), h)
        c0 = max(int(np.floor((ends_c.min() - pad + 0.5) * ss)), 0)
        c1 = min(int(np.ceil((ends_c.max() + pad + 0.5) * ss)), w)
        if r0 >= r1 or c0 >= c1:
            continue
        sub = labels[r0:r1, c0:c1]
        hit = (_capsule_distance(c, y[r0:r1, c0:c1], x[r0:r1, c0:c1]) < c.radius) & (sub == where)
        sub[hit] = value


def paint_body(body: Body, lattice: Lattice, ss: int) -> np.ndarray:
    """Tissue labels of the static anatomy at ``ss x ss`` sub-pixels per pixel.

    Returns
    -------
    ndarray of uint8, shape (H * ss, W * ss)
        Indices into :data:`~lvquant.phantom.anatomy.TISSUES`.
    """
    y, x = lattice.points(ss)
    lab = np.full(y.shape, T["air"], dtype=np.uint8)
    d, th = body.outline.distance(y, x)
    fat = periodic_interp(body.fat_table, th)
    muscle = periodic_interp(body.muscle_table, th)
    lab[d < 0] = T["skin"]
    lab[d < -1.5] = T["subcutaneous_fat"]
    lab[d < -1.5 - fat] = T["muscle"]
    thorax = d < -1.5 - fat - muscle
    lab[thorax] = T["lung"]
    dl, _ = body.liver.distance(y, x)
    lab[thorax & (dl < body.diaphragm)] = T["muscle"]
    lab[thorax & (dl < 0)] = T["liver"]
    if body.stomach is not None:
        ds, _ = body.stomach.distance(y, x)
        inside = thorax & (dl >= body.diaphragm)
        lab[inside & (ds < 3.0)] = T["muscle"]
        lab[inside & (ds < 0)] = T["stomach"]
    inside_body = d < -1.5
    for blob, tissue, rim in [(p, "muscle", 0.0) for p in body.paraspinal] + [
        (body.vertebra, "bone", 1.5), (body.canal, "csf", 1.0), (body.aorta, "aorta", 1.3)
    ]:
        db, _ = blob.distance(y, x)
        if rim:
            lab[inside_body & (db < rim)] = T["vessel_wall"]
        lab[inside_body & (db < 0)] = T[tissue]
    _paint_capsules(lab, lattice, ss, y, x, body.lung_vessels, T["lung"], T["lung_vessel"])
    _paint_capsules(lab, lattice, ss, y, x, body.liver_vessels, T["liver"], T["liver_vessel"])
    return lab


def heart_box(state: HeartState, lattice: Lattice, ss: int) -> tuple[int, int, int, int] | None:
    """Sub-pixel box ``(r0, r1, c0, c1)`` of the lattice that holds the heart region, or None."""
    radius = float(state.outer.max())
    if radius <= 0:
        return None
    rc, cc = lattice.to_pixel(state.offset[0], state.offset[1])
    pad = radius / lattice.spacing + 1.0
    h, w = lattice.shape[0] * ss, lattice.shape[1] * ss
    r0 = max(int(np.floor((rc - pad) * ss)), 0)
    r1 = min(int(np.ceil((rc + pad + 1) * ss)), h)
    c0 = max(int(np.floor((cc - pad) * ss)), 0)
    c1 = min(int(np.ceil((cc + pad + 1) * ss)), w)
    if r0 >= r1 or c0 >= c1:
        return None
    return r0, r1, c0, c1


def heart_polar(state: HeartState, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Heart-frame coordinates of body points: ``qy, qx, r, theta``."""
    qy, qx = rotate(y - state.offset[0], x - state.offset[1], -state.rotation)
    r, th = polar(qy, qx)
    return qy, qx, r, th


def _tables(state: HeartState) -> np.ndarray:
    return np.stack([
        state.r_endo, state.r_epi, state.trabeculae, state.rv_out, state.rv_wall_out,
        state.envelope, state.pericardium_out, state.outer, state.lvot.astype(np.float64),
    ]).astype(np.float32)


def _dither(n: int) -> np.ndarray:
    """Ordered-dither matrix (n x n) with values 0 .. n*n - 1 spread evenly over every sub-block."""
    m = np.zeros((1, 1), dtype=np.int64)
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    if m.shape[0] != n:  # n not a power of 2: a plain permutation
        m = np.arange(n * n).reshape(n, n)[:, ::-1].T
    return m


def paint_heart(labels: np.ndarray, state: HeartState, lattice: Lattice, ss: int,
                through_plane: tuple[float, tuple[float, float], float] | None = None) -> tuple[int, int, int, int] | None:
    """Overwrite ``labels`` (sub-pixel labels) with the heart at one time point, in place.

    Parameters
    ----------
    labels : ndarray of uint8 (H * ss, W * ss)
    state : HeartState
    lattice : Lattice
    ss : int
    through_plane : (thickness_mm, (tilt_y, tilt_x), taper) or None
        Through-plane partial volume: the ``ss * ss`` sub-pixels of a pixel are
        spread (ordered dither) over the slice thickness; at depth ``z`` the
        heart is shifted by ``tilt * z`` and scaled by ``1 + taper * z``, so
        borders that cross the slice obliquely blur as in a real slice.

    Returns
    -------
    The sub-pixel box that was painted ``(r0, r1, c0, c1)``, or None.
    """
    box = heart_box(state, lattice, ss)
    if box is None:
        return None
    r0, r1, c0, c1 = box
    y, x = lattice.points(ss, (r0, r1), (c0, c1))
    qy, qx = rotate(y - state.offset[0], x - state.offset[1], -state.rotation)
    if through_plane is not None and through_plane[0] > 0:
        thick, tilt, taper = through_plane
        d = _dither(ss)
        z = ((d[np.arange(r0, r1)[:, None] % ss, np.arange(c0, c1)[None, :] % ss] + 0.5) / (ss * ss) - 0.5) * thick
        scale = 1.0 / (1.0 + taper * z)
        qy = (qy - tilt[0] * z) * scale
        qx = (qx - tilt[1] * z) * scale
    r = np.hypot(qy, qx).ravel()
    sel = np.flatnonzero(r < state.outer.max())
    qy, qx, r = qy.ravel()[sel], qx.ravel()[sel], r[sel].astype(np.float32)
    th = np.arctan2(qx, -qy)
    tables = _tables(state)
    has_lvot = bool(state.lvot.any())
    vals = periodic_interp(tables if has_lvot else tables[:-1], th)
    endo, epi, trab, rv_out, rv_wall, env, peri, outer = vals[:8]
    new = np.full(sel.shape, 255, dtype=np.uint8)
    new[r < outer] = T["epicardial_fat"]
    new[r < peri] = T["pericardium"]
    new[r < env] = T["epicardial_fat"]
    new[r < rv_wall] = T["rv_myocardium"]
    rv = r < rv_out
    new[rv] = T["rv_blood"]
    for sy, sx, rad in state.rv_specks:
        new[rv & ((qy - sy) ** 2 + (qx - sx) ** 2 < rad * rad)] = T["rv_myocardium"]
    new[r < epi] = T["lv_myocardium"]
    cav = r < endo
    depth = endo - r
    new[cav & (depth < trab)] = T["trabeculae"]
    if has_lvot:
        new[(vals[8] > 0.5) & (r < env) & (r >= endo)] = T["lv_blood"]
    new[cav & (depth >= trab)] = T["lv_blood"]
    for py, px, rad in state.papillary:
        new[cav & ((qy - py) ** 2 + (qx - px) ** 2 < rad * rad)] = T["lv_myocardium"]
    sub = labels[r0:r1, c0:c1]
    full = np.full(sub.size, 255, dtype=np.uint8)
    full[sel] = new
    full = full.reshape(sub.shape)
    np.copyto(sub, full, where=full != 255)
    return box


def coverage(labels: np.ndarray, ss: int, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Fraction of each tissue in each pixel.

    Parameters
    ----------
    labels : ndarray of uint8, shape (H * ss, W * ss)
    ss : int
    box : (r0, r1, c0, c1) in sub-pixels, optional
        Restrict to the pixels touching this box (rounded out to whole pixels).

    Returns
    -------
    ndarray of float32, shape (h, w, N_TISSUES)
        For the whole lattice or the pixel box ``(r0 // ss .. ceil(r1 / ss))``.
    """
    if box is not None:
        r0, r1, c0, c1 = box
        labels = labels[(r0 // ss) * ss : -(-r1 // ss) * ss, (c0 // ss) * ss : -(-c1 // ss) * ss]
    h, w = labels.shape[0] // ss, labels.shape[1] // ss
    pix = (np.arange(h)[:, None, None, None] * w + np.arange(w)[None, None, :, None]) * N_TISSUES
    flat = (labels.reshape(h, ss, w, ss).astype(np.int64) + pix).ravel()
    counts = np.bincount(flat, minlength=h * w * N_TISSUES)
    return (counts.reshape(h, w, N_TISSUES) / float(ss * ss)).astype(np.float32)


def pixel_box(box: tuple[int, int, int, int], ss: int) -> tuple[slice, slice]:
    """Pixel slices covered by a sub-pixel box (as :func:`coverage` rounds it)."""
    r0, r1, c0, c1 = box
    return slice(r0 // ss, -(-r1 // ss)), slice(c0 // ss, -(-c1 // ss))


# -------------------------------------------------------------- masks, borders


def heart_masks(state: HeartState, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cavity and epicardial-region masks sampled at body points.

    Returns
    -------
    endo, epi : ndarray of bool, shape of ``y``
        ``endo``: inside the endocardial border (papillary muscles and
        trabeculae included); ``epi``: inside the epicardial border.
    """
    _, _, r, th = heart_polar(state, y, x)
    endo, epi = periodic_interp(np.stack([state.r_endo, state.r_epi]), th)
    return r < endo, r < epi


def border_polygons(state: HeartState, frame: str = "body") -> tuple[np.ndarray, np.ndarray]:
    """Endo- and epicardial borders as polygons with :data:`N_PHI` vertices.

    Parameters
    ----------
    frame : {"body", "heart"}
        ``"body"``: body-frame coordinates (heart rotated and translated);
        ``"heart"``: heart-frame coordinates (RV at 9 o'clock, origin at the
        heart's polar origin).

    Returns
    -------
    endo, epi : ndarray, shape (N_PHI, 2)
        ``(y, x)`` points in mm, clockwise as displayed.
    """
    out = []
    for r in (state.r_endo, state.r_epi):
        qy, qx = -np.cos(PHI) * r, np.sin(PHI) * r
        if frame == "body":
            by, bx = rotate(qy, qx, state.rotation)
            qy, qx = by + state.offset[0], bx + state.offset[1]
        out.append(np.stack([qy, qx], axis=1))
    return out[0], out[1]
