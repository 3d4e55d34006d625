"""Static anatomy of a phantom subject at end-diastole: heart and body.

Coordinates
-----------
Everything is in millimetres.

* **Body frame** ``(y, x)``: the scanner image plane, y growing down the image
  rows, x along the columns; origin at the LV centre at rest (the heart's
  polar origin). A DICOM image's axes are the body frame's axes.
* **Heart frame**: the body frame rotated so that the RV lies at 9 o'clock.
  A heart-frame point ``q`` sits at ``p = centre + R(alpha) q`` in the body
  frame, ``R`` rotating *clockwise as displayed* (:func:`rotate`).
* **Heart polar angle** ``theta``: radians clockwise from 12 o'clock in the
  heart frame (the lvquant geometry convention), so the septum faces
  ``theta = 3 pi / 2`` (9 o'clock), the anterior wall ``0`` and the inferior wall
  ``pi``. Radial functions of the heart are tabulated on :data:`PHI`.

The heart is described by radial functions around its polar origin: the
endocardial and epicardial radii, the RV crescent height, fat thicknesses and
trabecular depth (:class:`Heart`). The body around it (chest wall, lungs,
liver, spine, aorta, stomach, lung and liver vessels) is a handful of smooth
blobs and capsules (:class:`Body`) placed so that nothing overlaps the heart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import PATHOLOGIES

# ----------------------------------------------------------------- tissues

#: Tissue classes, the labels of the high-resolution rendering.
TISSUES: tuple[str, ...] = (
    "air", "lung", "lung_vessel", "skin", "subcutaneous_fat", "muscle", "liver", "liver_vessel",
    "lv_blood", "lv_myocardium", "trabeculae", "rv_blood", "rv_myocardium", "epicardial_fat",
    "pericardium", "aorta", "vessel_wall", "bone", "csf", "stomach",
)
T = {name: i for i, name in enumerate(TISSUES)}
N_TISSUES = len(TISSUES)

# ------------------------------------------------------------ angular tables

#: Number of samples of every radial function over one turn.
N_PHI = 720
#: Heart polar angles of the tabulated radial functions, radians clockwise from 12 o'clock.
PHI = np.arange(N_PHI) * (2.0 * np.pi / N_PHI)


def periodic_interp(table: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Linear interpolation of periodic tables at arbitrary angles.

    Parameters
    ----------
    table : ndarray, shape (K, N_PHI) or (N_PHI,)
        Values at :data:`PHI`.
    theta : ndarray, any shape
        Angles in radians (any real value, taken modulo 2 pi).

    Returns
    -------
    ndarray, shape (K,) + theta.shape or theta.shape
    """
    u = np.mod(theta, 2.0 * np.pi) * (N_PHI / (2.0 * np.pi))
    i0 = u.astype(np.intp)
    f = (u - i0).astype(table.dtype)
    i0 %= N_PHI
    i1 = i0 + 1
    i1[i1 == N_PHI] = 0
    if table.ndim == 1:
        g0 = table[i0]
        return g0 + (table[i1] - g0) * f
    rows = np.ascontiguousarray(table.reshape(-1, N_PHI).T)  # gather whole rows: much faster than columns
    g0 = rows[i0]
    out = g0 + (rows[i1] - g0) * f[..., None]
    return np.moveaxis(out, -1, 0).reshape(table.shape[:-1] + np.shape(theta))


def wrap(angle: np.ndarray | float) -> np.ndarray:
    """Angle difference wrapped to [-pi, pi)."""
    return np.mod(np.asarray(angle) + np.pi, 2.0 * np.pi) - np.pi


def bump(centre: float, width: float) -> np.ndarray:
    """Periodic Gaussian bump on :data:`PHI` (centre, width in radians), peak 1."""
    d = wrap(PHI - centre)
    return np.exp(-0.5 * (d / width) ** 2)


def arc(start: float, stop: float, edge: float) -> np.ndarray:
    """Smooth indicator on :data:`PHI` of the arc from ``start`` clockwise to ``stop``.

    ``edge`` is the width (radians) of the logistic transitions.
    """
    mid = start + 0.5 * np.mod(stop - start, 2.0 * np.pi)
    half = 0.5 * np.mod(stop - start, 2.0 * np.pi)
    d = np.abs(wrap(PHI - mid))
    return 1.0 / (1.0 + np.exp((d - half) / edge))


def fourier(rng: np.random.Generator, amplitudes: list[float], theta: np.ndarray = PHI) -> np.ndarray:
    """Random smooth periodic function: sum over orders k = 1.. of a_k (n1 cos k theta + n2 sin k theta).

    ``amplitudes[k-1]`` is the standard deviation of order k's coefficients.
    """
    out = np.zeros_like(theta, dtype=np.float64)
    for k, a in enumerate(amplitudes, start=1):
        c, s = rng.normal(0.0, a, size=2)
        out += c * np.cos(k * theta) + s * np.sin(k * theta)
    return out


def rotate(y: np.ndarray, x: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate points clockwise as displayed (y down) by ``angle`` radians."""
    c, s = np.cos(angle), np.sin(angle)
    return x * s + y * c, x * c - y * s


def polar(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radius and angle (clockwise from 12 o'clock, y down) of points."""
    return np.hypot(y, x), np.arctan2(x, -y)


def unit(theta: float) -> np.ndarray:
    """Direction ``(dy, dx)`` of the polar angle ``theta``."""
    return np.array([-np.cos(theta), np.sin(theta)])


# -------------------------------------------------------------------- heart


@dataclass(frozen=True)
class Papillary:
    """One papillary muscle head at end-diastole (heart frame).

    Attributes
    ----------
    angle : float
        Polar angle of its centre, radians.
    radius : float
        Radius of its cross-section, mm.
    gap : float
        Distance from its edge to the endocardial border, mm (negative: it
        merges into the wall).
    """

    angle: float
    radius: float
    gap: float


@dataclass(frozen=True)
class Heart:
    """The heart at end-diastole, mid-ventricular level (heart frame, mm).

    Attributes
    ----------
    pathology : str
        One of :data:`~lvquant.phantom.config.PATHOLOGIES`.
    r_endo, r_epi : ndarray, shape (N_PHI,)
        Endo- and epicardial radii at :data:`PHI`, mm.
    contractility : ndarray, shape (N_PHI,)
        Relative inward systolic motion of the endocardium per angle (1 normal,
        about 0 akinetic, negative dyskinetic).
    trabeculae : ndarray, shape (N_PHI,)
        Depth of the trabecular fingers into the cavity, mm.
    papillary : tuple of Papillary
    rv_height : ndarray, shape (N_PHI,)
        Radial height of the RV cavity outside the LV epicardium, mm (0 where
        there is no RV).
    rv_wall : float
        RV free-wall thickness, mm.
    rv_specks : ndarray, shape (n, 3)
        RV trabeculae: (angle, relative depth 0-1 in the RV cavity, radius mm).
    fat_lv, fat_rv : ndarray, shape (N_PHI,)
        Epicardial fat thickness outside the LV epicardium / the RV free wall, mm.
    pericardium : float
        Thickness of the dark pericardial line, mm.
    fat_outer : ndarray, shape (N_PHI,)
        Pericardial fat outside the pericardium, mm.
    wall_mm : float
        Nominal (remote) ED wall thickness, mm.
    infarct : tuple or None
        (start, stop) polar angles of the infarct arc, radians, or None.
    tilt : (float, float)
        Obliqueness of the long axis to the slice: in-plane shift ``(dy, dx)``
        of the heart frame per mm through the slice (heart frame).
    taper : float
        Relative growth of the heart's radii per mm toward the base.
    """

    pathology: str
    r_endo: np.ndarray
    r_epi: np.ndarray
    contractility: np.ndarray
    trabeculae: np.ndarray
    papillary: tuple[Papillary, ...]
    rv_height: np.ndarray
    rv_wall: float
    rv_specks: np.ndarray
    fat_lv: np.ndarray
    fat_rv: np.ndarray
    pericardium: float
    fat_outer: np.ndarray
    wall_mm: float
    infarct: tuple[float, float] | None
    tilt: tuple[float, float] = (0.0, 0.0)
    taper: float = 0.0

    def outer_radius(self) -> np.ndarray:
        """Radius of the heart's outer boundary (pericardial fat included), shape (N_PHI,)."""
        rv = np.where(self.rv_height > 0, self.r_epi + self.rv_height + self.rv_wall + self.fat_rv, 0.0)
        env = np.maximum(self.r_epi + self.fat_lv, rv)
        return env + self.pericardium + self.fat_outer


def _deg(a: float) -> float:
    return np.deg2rad(a)


def sample_pathology(rng: np.random.Generator, probabilities: list[float]) -> str:
    """Draw a heart type with the given shares of :data:`PATHOLOGIES`."""
    return PATHOLOGIES[int(rng.choice(len(PATHOLOGIES), p=probabilities))]


def sample_heart(rng: np.random.Generator, pathology: str) -> tuple[Heart, float]:
    """Draw an ED heart of a given type.

    Parameters
    ----------
    rng : numpy Generator
    pathology : str

    Returns
    -------
    heart : Heart
    fac : float
        Target fractional area change of the cavity, (ED - ES) / ED.
    """
    u = rng.uniform
    infarct = None
    septal_extra = 0.0
    if pathology == "healthy":
        diameter, wall, fac = u(41.0, 57.0), u(6.5, 10.0), u(0.45, 0.65)
    elif pathology == "hypertrophic":
        diameter, wall, fac = u(38.0, 50.0), u(11.5, 16.5), u(0.48, 0.65)
        if u() < 0.5:
            septal_extra = u(1.0, 4.0)
    elif pathology == "dilated":
        diameter, wall, fac = u(58.0, 68.0), u(5.0, 8.5), u(0.10, 0.32)
    else:
        diameter, wall, fac = u(44.0, 64.0), u(7.0, 10.5), u(0.18, 0.42)

    # Endocardium: an irregular closed curve (low-order Fourier radius perturbation).
    r0 = 0.5 * diameter
    shape = fourier(rng, [0.0, u(0.01, 0.06), 0.02, 0.012, 0.008, 0.005])
    r_endo = r0 * (1.0 + shape)

    # Wall thickness: smooth regional pattern, then hypertrophy / infarct.
    w = wall * (1.0 + fourier(rng, [0.07, 0.05, 0.03, 0.02]))
    if septal_extra:
        w = w + septal_extra * bump(_deg(u(245.0, 285.0)), _deg(u(30.0, 50.0)))
    contract = 1.0 + fourier(rng, [0.08, 0.05, 0.03]) * (2.0 if pathology == "dilated" else 1.0)
    if pathology == "infarct":
        centre = _deg(rng.choice([u(-40.0, 40.0), u(150.0, 240.0), u(60.0, 140.0)], p=[0.5, 0.3, 0.2]))
        width = _deg(u(50.0, 130.0))
        infarct = (float(np.mod(centre - width / 2, 2 * np.pi)), float(np.mod(centre + width / 2, 2 * np.pi)))
        s = arc(infarct[0], infarct[1], _deg(u(4.0, 10.0)))
        scar = u(3.0, 6.0)
        w = w * (1.0 - s) + scar * (1.0 + fourier(rng, [0.05, 0.03])) * s
        contract = contract * (1.0 - s) + u(-0.35, 0.08) * s
    w = np.clip(w, 2.5, 21.0)
    r_epi = r_endo + w

    # Papillary muscles (inside the cavity, counted as cavity) and trabeculae.
    scale_pm = 1.3 if pathology == "hypertrophic" else 1.0
    heads = []
    for centre in (u(45.0, 85.0), u(145.0, 205.0)):
        radius, gap = u(2.5, 5.5) * scale_pm, u(-3.0, 2.0)
        heads.append(Papillary(_deg(centre), radius, gap))
        for _ in range(int(u(0, 3))):  # further heads beside the first make an irregular muscle
            heads.append(Papillary(_deg(centre + u(-15.0, 15.0)), radius * u(0.5, 0.9), gap + u(-1.0, 2.5)))
    prominence = u(0.15, 1.0) * (1.4 if pathology == "dilated" else 1.0)
    trab = np.zeros(N_PHI)
    for _ in range(int(u(15, 45))):
        trab = np.maximum(trab, u(0.4, 4.0) * prominence * bump(u(0.0, 2 * np.pi), _deg(u(1.0, 3.5))))

    # RV crescent on the septal side (9 o'clock), thin free wall.
    rv_c = _deg(u(255.0, 285.0))
    half_ant, half_inf = _deg(u(60.0, 100.0)), _deg(u(45.0, 80.0))
    d = wrap(PHI - rv_c)
    uu = np.where(d >= 0, d / half_ant, -d / half_inf)
    h_max = u(8.0, 24.0) * (1.2 if pathology == "dilated" else 1.0)
    rv_height = np.where(np.abs(uu) < 1, h_max * np.clip(1 - uu**2, 0, None) ** u(0.4, 0.9), 0.0)
    rv_height *= 1.0 + fourier(rng, [0.03, 0.06, 0.04, 0.02])
    rv_height[rv_height < 0.3] = 0.0
    rv_wall = u(2.0, 4.0) * (1.3 if pathology == "hypertrophic" else 1.0)
    n_sp = int(u(3, 16))
    rv_specks = np.stack([rv_c + wrap(u(-0.7, 0.7, n_sp) * np.where(u(size=n_sp) < 0.5, half_inf, half_ant)),
                          u(0.1, 0.9, n_sp), u(0.8, 3.0, n_sp)], axis=1)

    # Fat: epicardial (patchy, thicker at the RV insertions), pericardium, pericardial fat pads.
    fat_scale = u(0.1, 1.0)
    fat_lv = np.clip(u(0.0, 1.0) * (1.0 + fourier(rng, [0.4, 0.5, 0.5, 0.4, 0.3])), 0.0, None)
    for _ in range(int(u(1, 6))):
        fat_lv = fat_lv + u(1.0, 6.0) * bump(u(0.0, 2 * np.pi), _deg(u(12.0, 45.0)))
    for ins in (rv_c + half_ant, rv_c - half_inf):
        fat_lv = fat_lv + u(1.5, 7.0) * bump(ins, _deg(u(12.0, 30.0)))
    fat_lv = np.clip(fat_scale * fat_lv, 0.0, None)
    fat_rv = np.clip(fat_scale * u(0.3, 3.0) * (1.0 + fourier(rng, [0.5, 0.4, 0.3])), 0.0, None)
    fat_outer = np.zeros(N_PHI)
    if u() < 0.8:
        for _ in range(int(u(1, 5))):
            where = _deg(rng.choice([u(250.0, 360.0), u(150.0, 220.0), u(0.0, 360.0)]))
            fat_outer += fat_scale * u(2.0, 12.0) * bump(where, _deg(u(15.0, 50.0)))
    heart = Heart(
        pathology=pathology, r_endo=r_endo, r_epi=r_epi, contractility=contract, trabeculae=trab,
        papillary=tuple(heads), rv_height=rv_height, rv_wall=float(rv_wall), rv_specks=rv_specks,
        fat_lv=fat_lv, fat_rv=fat_rv, pericardium=float(u(0.6, 1.8)), fat_outer=fat_outer,
        wall_mm=float(wall), infarct=infarct,
        tilt=tuple(u(0.0, 0.35) * np.array([np.cos(t), np.sin(t)]) for t in [u(0, 2 * np.pi)])[0],
        taper=float(u(0.005, 0.02)),
    )
    return heart, float(fac)


# --------------------------------------------------------------------- body


@dataclass(frozen=True)
class Blob:
    """A smooth closed region: a rotated ellipse with a Fourier-perturbed radius.

    Attributes
    ----------
    centre : (float, float)
        ``(y, x)`` body frame, mm.
    radii : (float, float)
        Semi-axes ``(ry, rx)`` along the blob's own axes, mm.
    angle : float
        Clockwise rotation of the blob's axes, radians.
    perturb : tuple of float
        Relative radius perturbation: cosine/sine coefficient pairs of orders 2, 3...
    """

    centre: tuple[float, float]
    radii: tuple[float, float]
    angle: float = 0.0
    perturb: tuple[float, ...] = ()

    def distance(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Approximate signed distance (mm, negative inside) and the blob polar angle of points.

        The distance is measured along the ray from the blob's centre (radial,
        not normal: exact for circles, a slight overestimate for ellipses).
        """
        yy, xx = rotate(np.asarray(y) - self.centre[0], np.asarray(x) - self.centre[1], -self.angle)
        r, th = polar(yy, xx)
        ry, rx = self.radii
        c, s = -np.cos(th), np.sin(th)
        big_r = 1.0 / np.sqrt((c / ry) ** 2 + (s / rx) ** 2)
        if self.perturb:
            p = np.zeros_like(th)
            for k in range(len(self.perturb) // 2):
                p += self.perturb[2 * k] * np.cos((k + 2) * th) + self.perturb[2 * k + 1] * np.sin((k + 2) * th)
            big_r = big_r * (1.0 + p)
        return r - big_r, th


@dataclass(frozen=True)
class Capsule:
    """A line segment with a radius (a vessel running through the slice), body frame mm."""

    p0: tuple[float, float]
    p1: tuple[float, float]
    radius: float


@dataclass(frozen=True)
class Body:
    """The static anatomy around the heart (body frame, mm).

    Attributes
    ----------
    outline : Blob
        Skin surface.
    fat_table, muscle_table : ndarray, shape (N_PHI,)
        Subcutaneous fat and chest-wall muscle thickness against the outline's
        own polar angle, mm.
    liver, stomach, aorta, vertebra, canal : Blob or None
    paraspinal : tuple of Blob
    diaphragm : float
        Thickness of the muscle band over the liver dome, mm.
    lung_vessels, liver_vessels : tuple of Capsule
    """

    outline: Blob
    fat_table: np.ndarray
    muscle_table: np.ndarray
    liver: Blob
    diaphragm: float
    stomach: Blob | None
    aorta: Blob
    vertebra: Blob
    canal: Blob
    paraspinal: tuple[Blob, ...]
    lung_vessels: tuple[Capsule, ...]
    liver_vessels: tuple[Capsule, ...]


def heart_extent_points(heart: Heart, alpha: float, margin: float) -> np.ndarray:
    """Body-frame points ``(N_PHI, 2)`` (y, x) of the heart's outer boundary plus ``margin`` mm."""
    r = heart.outer_radius() + margin
    y, x = -np.cos(PHI) * r, np.sin(PHI) * r
    y, x = rotate(y, x, alpha)
    return np.stack([y, x], axis=1)


def _place(blob_at, lo: float, hi: float, ok) -> float:
    """Largest distance in [lo, hi] for which ``ok(blob_at(d))`` holds (bisection; ok(lo) assumed)."""
    if ok(blob_at(hi)):
        return hi
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if ok(blob_at(mid)):
            lo = mid
        else:
            hi = mid
    return lo


def sample_body(rng: np.random.Generator, heart: Heart, alpha: float) -> Body:
    """Draw the anatomy around a heart rotated by ``alpha`` (radians, clockwise) in the body frame.

    The chest wall is pushed as close to the heart as a random gap allows
    (the RV lies behind the sternum), the liver dome sits under the heart's
    inferior side, the spine and descending aorta behind it, lungs fill the
    rest of the thorax.
    """
    u = rng.uniform
    ext = heart_extent_points(heart, alpha, 4.0)  # room for translation
    body_angle = _deg(u(-15.0, 15.0))
    radii = (u(115.0, 160.0), u(165.0, 240.0))
    perturb = tuple(rng.normal(0.0, 0.025, 4))
    fat_table = np.clip(u(4.0, 24.0) * (1.0 + fourier(rng, [0.25, 0.3, 0.15])), 2.0, None)
    muscle_table = np.clip(u(6.0, 14.0) * (1.0 + fourier(rng, [0.2, 0.2, 0.1])), 3.0, None)
    gap_wall = u(0.5, 8.0)
    direction = unit(_deg(u(200.0, 245.0)))

    def outline_at(d: float) -> Blob:
        return Blob((direction[0] * d, direction[1] * d), radii, body_angle, perturb)

    def fits(blob: Blob) -> bool:
        dist, th = blob.distance(ext[:, 0], ext[:, 1])
        inner = 1.5 + periodic_interp(fat_table, th) + periodic_interp(muscle_table, th) + gap_wall
        return bool(np.all(dist <= -inner))

    outline = outline_at(_place(outline_at, 0.0, 150.0, fits))

    # Liver: a big blob under the heart, its dome a few mm below the inferior side.
    l_dir = unit(_deg(u(165.0, 230.0)))
    l_radii = (u(60.0, 100.0), u(90.0, 140.0))
    l_angle, l_pert = _deg(u(-30.0, 30.0)), tuple(rng.normal(0.0, 0.03, 4))
    gap_liver = u(2.0, 15.0)
    diaphragm = u(2.0, 4.5)

    def liver_at(d: float) -> Blob:
        return Blob((l_dir[0] * d, l_dir[1] * d), l_radii, l_angle, l_pert)

    def liver_clear(blob: Blob) -> bool:
        return bool(np.all(blob.distance(ext[:, 0], ext[:, 1])[0] >= gap_liver + diaphragm))

    # Bring the liver as close as the gap allows (search the distance from far to near).
    far = 400.0
    lo, hi = 0.0, far
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if liver_clear(liver_at(mid)):
            hi = mid
        else:
            lo = mid
    liver = liver_at(hi)

    # Spine and paraspinal muscles at the back of the body; aorta in front-left of the spine.
    by, bx = outline.centre
    down = rotate(np.array(1.0), np.array(0.0), body_angle)
    right = rotate(np.array(0.0), np.array(1.0), body_angle)
    down, right = np.array(down, dtype=float), np.array(right, dtype=float)
    v_c = np.array([by, bx]) + down * (radii[0] - u(45.0, 60.0)) + right * u(-10.0, 10.0)
    v_r = u(13.0, 19.0)
    vertebra = Blob(tuple(v_c), (v_r * u(0.85, 1.0), v_r), body_angle)
    canal_c = v_c + down * (v_r + u(5.0, 9.0))
    canal = Blob(tuple(canal_c), (u(5.0, 7.0), u(6.0, 9.0)), body_angle)
    paraspinal = tuple(
        Blob(tuple(canal_c + down * u(2.0, 8.0) + side * right * u(22.0, 32.0)), (u(15.0, 22.0), u(18.0, 28.0)), body_angle)
        for side in (-1.0, 1.0)
    )
    a_r = u(9.0, 14.0)
    a_c = v_c - down * (v_r + a_r + u(0.0, 10.0)) + right * u(12.0, 30.0)
    # Keep the aorta clear of the heart: push it away from the LV centre if needed.
    dist_ext = np.linalg.norm(ext - a_c, axis=1)
    deficit = a_r + u(30.0, 80.0) - dist_ext.min()
    if deficit > 0:
        a_c = a_c + a_c / max(np.linalg.norm(a_c), 1e-6) * (deficit + 2.0)
    aorta = Blob(tuple(a_c), (a_r, a_r * u(0.95, 1.1)))

    stomach = None
    if u() < 0.45:
        s_r = (u(20.0, 35.0), u(25.0, 45.0))
        s_dir = unit(_deg(u(115.0, 165.0)))
        reach = np.max(ext @ s_dir)
        s_c = s_dir * (reach + max(s_r) + u(3.0, 20.0))
        stomach = Blob(tuple(s_c), s_r, _deg(u(0.0, 180.0)), tuple(rng.normal(0.0, 0.04, 4)))

    def capsules(n: int, centre: np.ndarray, spread: float, rmin: float, rmax: float, lmax: float) -> tuple[Capsule, ...]:
        out = []
        for _ in range(n):
            p0 = centre + rng.uniform(-spread, spread, 2)
            ang = u(0.0, 2 * np.pi)
            length = u(0.0, lmax) * u()
            p1 = p0 + length * np.array([np.cos(ang), np.sin(ang)])
            radius = rmin + (rmax - rmin) * u() ** 2
            out.append(Capsule(tuple(p0), tuple(p1), float(radius)))
        return tuple(out)

    lung_vessels = capsules(int(u(150, 600)), np.zeros(2), 200.0, 0.5, 1.8, 6.0)
    liver_vessels = capsules(int(u(4, 14)), np.array(liver.centre), 0.7 * min(l_radii), 1.2, 5.5, 30.0)
    return Body(
        outline=outline, fat_table=fat_table, muscle_table=muscle_table, liver=liver, diaphragm=float(diaphragm),
        stomach=stomach, aorta=aorta, vertebra=vertebra, canal=canal, paraspinal=paraspinal,
        lung_vessels=lung_vessels, liver_vessels=liver_vessels,
    )
