"""Motion of the heart over one cardiac cycle.

The cycle is described by ``v(tau)``, the fraction of the stroke that has been
ejected at cycle time ``tau`` in [0, 1) (0 at end-diastole, 1 at end-systole):
ejection up to ES, rapid filling, diastasis (slow filling) and the atrial kick
that completes filling at the next ED (:class:`Cycle`). The cavity area is
``A(tau) = A_ED (1 - FAC v(tau))``.

Per angle, the endocardium moves inward in proportion to the regional
contractility, ``r_endo(theta) = r_endo_ED(theta) (1 - g c(theta))``, with the
global factor ``g`` solved so that the cavity area follows the curve exactly.
The epicardium follows from myocardial incompressibility:
``r_epi^2 - r_endo^2`` is preserved per angle up to a slow factor
``1 + eps v`` (|eps| <= 6 %, through-plane motion), so the wall thickens where
the endocardium moves in, stays thin where it does not (akinetic scar) and
thins where it bulges out (dyskinesia), and the myocardial area stays within a
few per cent of its ED value. The whole heart translates by a few mm and
twists by a few degrees; the RV crescent empties with its own fraction.

Slices away from the mid-ventricle (for DICOM stacks) scale the LV toward the
apex and open the outflow tract toward the base (:func:`heart_state`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anatomy import N_PHI, Heart, arc


def _ease(x: np.ndarray) -> np.ndarray:
    """Smooth step 0 -> 1 on [0, 1] (cosine)."""
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


@dataclass(frozen=True)
class Cycle:
    """Timing of the cycle, as fractions of the RR interval.

    Attributes
    ----------
    t_es : float
        End-systole (0.30-0.45).
    skew : float
        Exponent < 1 makes ejection faster early, as in real hearts.
    t_fill : float
        End of rapid filling.
    v_fill : float
        Stroke fraction still to be filled after rapid filling (0.15-0.45).
    t_atrial : float
        Start of the atrial kick.
    v_atrial : float
        Stroke fraction filled by the atrial kick.
    """

    t_es: float
    skew: float
    t_fill: float
    v_fill: float
    t_atrial: float
    v_atrial: float

    def v(self, tau: np.ndarray | float) -> np.ndarray:
        """Ejected stroke fraction at cycle time(s) ``tau`` (any real value, periodic)."""
        tau = np.mod(np.asarray(tau, dtype=np.float64), 1.0)
        sys = np.sin(0.5 * np.pi * np.clip(tau / self.t_es, 0, 1) ** self.skew) ** 2
        fill = 1.0 - (1.0 - self.v_fill) * _ease((tau - self.t_es) / (self.t_fill - self.t_es))
        dias = self.v_fill - (self.v_fill - self.v_atrial) * (tau - self.t_fill) / (self.t_atrial - self.t_fill)
        kick = self.v_atrial * (1.0 - _ease((tau - self.t_atrial) / (1.0 - self.t_atrial)))
        return np.select([tau <= self.t_es, tau <= self.t_fill, tau <= self.t_atrial], [sys, fill, dias], kick)


def sample_cycle(rng: np.random.Generator, failing: bool) -> Cycle:
    """Draw cycle timing; failing hearts fill more slowly and rely more on the atrial kick."""
    u = rng.uniform
    t_es = u(0.30, 0.45)
    t_fill = min(t_es + u(0.13, 0.22), 0.72)
    v_fill = u(0.25, 0.45) if failing else u(0.12, 0.32)
    t_atrial = u(max(t_fill + 0.08, 0.76), 0.90)
    v_atrial = v_fill * u(0.7, 0.92)
    return Cycle(t_es=t_es, skew=u(0.75, 1.0), t_fill=t_fill, v_fill=v_fill, t_atrial=t_atrial, v_atrial=v_atrial)


@dataclass(frozen=True)
class Motion:
    """How one heart moves over its cycle.

    Attributes
    ----------
    cycle : Cycle
    fac : float
        Fractional area change of the cavity, (ED - ES) / ED.
    myo_change : float
        Relative change of ``r_epi^2 - r_endo^2`` at ES (myocardial area change).
    rv_fraction : float
        Fraction of the RV crescent height lost at ES.
    shift : ndarray, shape (2,)
        Whole-heart displacement ``(dy, dx)`` in the body frame at ES, mm.
    wobble : ndarray, shape (2,)
        Amplitude ``(dy, dx)`` of a once-per-cycle sway, mm.
    twist : float
        In-plane rotation at ES, radians (clockwise positive).
    tau_offset : float
        Cycle time of the first frame (frame k is at ``k / M + tau_offset``):
        the cavity is largest slightly before or after the R wave.
    rr_ms : float
        RR interval, ms.
    trigger_delay_ms : float
        Trigger time of the first frame, ms after the R wave.
    """

    cycle: Cycle
    fac: float
    myo_change: float
    rv_fraction: float
    shift: np.ndarray
    wobble: np.ndarray
    twist: float
    tau_offset: float
    rr_ms: float
    trigger_delay_ms: float = 0.0

    def frame_times(self, n_frames: int) -> np.ndarray:
        """Cycle time ``tau`` of each of ``n_frames`` frames, shape (n_frames,)."""
        return np.arange(n_frames) / n_frames + self.tau_offset

    def trigger_times_ms(self, n_frames: int) -> np.ndarray:
        """Trigger time (ms after the R wave) of each frame, increasing, shape (n_frames,)."""
        return np.arange(n_frames) / n_frames * self.rr_ms + self.trigger_delay_ms


def sample_motion(rng: np.random.Generator, heart: Heart, fac: float) -> Motion:
    """Draw the motion of a heart with target fractional area change ``fac``."""
    u = rng.uniform
    failing = heart.pathology in ("dilated", "infarct")
    ang = u(0, 2 * np.pi)
    mag = u(0.5, 4.0)
    return Motion(
        cycle=sample_cycle(rng, failing),
        fac=float(fac),
        myo_change=float(u(-0.03, 0.06)),
        rv_fraction=float(u(0.15, 0.35) if failing else u(0.25, 0.5)),
        shift=mag * np.array([np.sin(ang), np.cos(ang)]),
        wobble=u(0.0, 1.0, 2),
        twist=float(np.deg2rad(u(-3.0, 3.0))),
        tau_offset=float(u(-0.05, 0.03)),
        rr_ms=float(u(650.0, 1250.0)),
        trigger_delay_ms=float(u(3.0, 25.0)),
    )


@dataclass(frozen=True)
class HeartState:
    """The heart at one cycle time on one slice (heart frame; tables at PHI, mm).

    Attributes
    ----------
    r_endo, r_epi : ndarray (N_PHI,)
        Endo-/epicardial radii; ``r_endo`` is 0 where the slice passes below the
        apical cavity (solid myocardial cap) and ``r_epi`` 0 beyond the apex.
    trabeculae : ndarray (N_PHI,)
        Depth of the trabecular fingers into the cavity.
    rv_out, rv_wall_out : ndarray (N_PHI,)
        Outer radius of the RV cavity and of the RV free wall (equal to
        ``r_epi`` where there is no RV).
    envelope, pericardium_out, outer : ndarray (N_PHI,)
        Outer radius of the epicardial fat, the pericardial line and the
        pericardial fat (the heart region's boundary).
    lvot : ndarray (N_PHI,) of bool
        Angles where the LV wall is open to the outflow tract (basal slices).
    papillary : ndarray (n, 3)
        Papillary heads: centre ``(qy, qx)`` in the heart frame and radius, mm.
    rv_specks : ndarray (n, 3)
        RV trabeculae: centre ``(qy, qx)`` and radius, mm.
    offset : ndarray (2,)
        Body-frame position of the heart's polar origin (the rest centre is 0).
    rotation : float
        Heart-frame -> body-frame rotation, radians clockwise (alpha + twist).
    v : float
        Ejected stroke fraction at this time.
    """

    r_endo: np.ndarray
    r_epi: np.ndarray
    trabeculae: np.ndarray
    rv_out: np.ndarray
    rv_wall_out: np.ndarray
    envelope: np.ndarray
    pericardium_out: np.ndarray
    outer: np.ndarray
    lvot: np.ndarray
    papillary: np.ndarray
    rv_specks: np.ndarray
    offset: np.ndarray
    rotation: float
    v: float

    def cavity_area(self) -> float:
        """Cavity area of the polar curve, mm²."""
        return float(0.5 * np.sum(self.r_endo**2) * (2 * np.pi / N_PHI))

    def myocardium_area(self) -> float:
        """Myocardium area of the polar curves, mm²."""
        return float(0.5 * np.sum(self.r_epi**2 - self.r_endo**2) * (2 * np.pi / N_PHI))


def _solve_g(r_ed: np.ndarray, c: np.ndarray, target: float) -> float:
    """Global inward factor g with (1/2) sum r^2 (1 - g c)^2 dphi = target (smallest root)."""
    dphi = 2 * np.pi / N_PHI
    a0 = 0.5 * np.sum(r_ed**2) * dphi
    b = np.sum(r_ed**2 * c) * dphi
    cc = 0.5 * np.sum(r_ed**2 * c**2) * dphi
    disc = b * b - 4 * cc * (a0 - target)
    if cc <= 0:
        return 0.0
    return float((b - np.sqrt(max(disc, 0.0))) / (2 * cc))


#: Toward the base the cavity radius grows by up to BASAL_CAVITY_GAIN and the wall by up to
#: BASAL_WALL_GAIN, each approaching its plateau over the length (mm) that follows it. Fitted to
#: the ED label maps of the ACDC training patients (``python scripts/acdc_long_axis_profile.py``:
#: cavity area 1.12 × the mid slice's 10-20 mm above it and 1.15 × at 20-40 mm; wall 1.08 × and
#: 1.15-1.18 ×). Before 2026-12-01 the cavity grew without end (×2 the area at +36 mm) and the
#: wall thinned, which no real heart does.
BASAL_CAVITY_GAIN, BASAL_CAVITY_MM = 0.075, 8.0
BASAL_WALL_GAIN, BASAL_WALL_MM = 0.18, 15.0


def slice_scales(z: float, apex_mm: float) -> tuple[float, float, float]:
    """Cavity scale, wall scale and RV scale of a slice ``z`` mm from the mid-ventricle (+ toward the base)."""
    if z >= 0:
        return (1.0 + BASAL_CAVITY_GAIN * (1.0 - np.exp(-z / BASAL_CAVITY_MM)),
                1.0 + BASAL_WALL_GAIN * (1.0 - np.exp(-z / BASAL_WALL_MM)), 1.0 + 0.03 * z)
    f = max(0.0, 1.0 - (z / apex_mm) ** 2)
    return np.sqrt(f), 1.0 + 0.15 * min(1.0, -z / apex_mm), max(0.0, 1.0 + 1.3 * z / apex_mm)


def heart_state(heart: Heart, motion: Motion, alpha: float, tau: float, z: float = 0.0, apex_mm: float = 45.0) -> HeartState:
    """The heart's borders at cycle time ``tau`` on the slice ``z`` mm above the mid-ventricle.

    Parameters
    ----------
    heart : Heart
    motion : Motion
    alpha : float
        Heart rotation in the body frame, radians clockwise.
    tau : float
        Cycle time (fraction of RR; 0 = ED).
    z : float
        Slice offset along the long axis, mm (positive toward the base).
    apex_mm : float
        Distance from the mid-ventricular slice to the apex of the cavity, mm.
    """
    v = float(motion.cycle.v(tau))
    target = heart.r_endo.dot(heart.r_endo) * 0.5 * (2 * np.pi / N_PHI) * (1.0 - motion.fac * v)
    g = _solve_g(heart.r_endo, heart.contractility, target)
    r_endo = heart.r_endo * np.clip(1.0 - g * heart.contractility, 0.25, 1.6)
    ring = (heart.r_epi**2 - heart.r_endo**2) * (1.0 + motion.myo_change * v)
    r_epi = np.sqrt(r_endo**2 + ring)
    trab = heart.trabeculae * (1.0 + 0.6 * v)
    rv_h = heart.rv_height * (1.0 - motion.rv_fraction * v)
    pap = []
    for p in heart.papillary:
        rad = p.radius * (1.0 + 0.25 * v)
        idx = int(round(p.angle / (2 * np.pi) * N_PHI)) % N_PHI
        rc = max(r_endo[idx] - p.gap - rad, 0.0)
        pap.append((-np.cos(p.angle) * rc, np.sin(p.angle) * rc, rad))
    papillary = np.array(pap, dtype=np.float64).reshape(-1, 3)
    lvot = np.zeros(N_PHI, dtype=bool)

    if z != 0.0:
        s_cav, s_wall, s_rv = slice_scales(z, apex_mm)
        wall = r_epi - r_endo
        r_endo = r_endo * s_cav
        r_epi = r_endo + wall * s_wall
        if s_cav < 0.15:  # below the cavity: a solid myocardial cap that shrinks to the apex
            cap = max(0.0, 1.0 - ((-z - apex_mm) / (wall.mean() + 2.0)) ** 2) if -z > apex_mm else 1.0
            r_epi = (r_epi - r_endo) * np.sqrt(cap)
            r_endo = np.zeros(N_PHI)
            papillary = papillary[:0]
        else:
            papillary = papillary * np.array([s_cav, s_cav, 1.0])
        rv_h = rv_h * s_rv
        trab = trab * min(s_cav, 1.0) * (1.0 + (0.5 if z < 0 else -0.8) * min(1.0, abs(z) / 20.0))
        if z > 12.0:
            papillary = papillary[:0]
            width = np.deg2rad(min(70.0, 4.0 * (z - 12.0) + 25.0))
            lvot = arc(np.deg2rad(300.0) - width / 2, np.deg2rad(300.0) + width / 2, 0.02) > 0.5

    rv_specks = np.array(
        [
            (-np.cos(a) * r, np.sin(a) * r, rad)
            for a, depth, rad in heart.rv_specks
            for idx in [int(round(np.mod(a, 2 * np.pi) / (2 * np.pi) * N_PHI)) % N_PHI]
            if rv_h[idx] > 2.5 * rad
            for r in [r_epi[idx] + depth * rv_h[idx]]
        ],
        dtype=np.float64,
    ).reshape(-1, 3)
    has_rv = rv_h > 0
    rv_out = r_epi + rv_h
    taper = np.clip(rv_h / 3.0, 0.0, 1.0)
    rv_wall_out = np.where(has_rv, rv_out + heart.rv_wall * (1.0 + 0.3 * v) * taper, r_epi)
    envelope = np.maximum(r_epi + heart.fat_lv, np.where(has_rv, rv_wall_out + heart.fat_rv, 0.0))
    envelope = np.where(r_epi > 0, envelope, 0.0)
    pericardium_out = np.where(envelope > 0, envelope + heart.pericardium, 0.0)
    outer = np.where(envelope > 0, pericardium_out + heart.fat_outer, 0.0)

    sway = np.sin(2 * np.pi * (tau + 0.1))
    offset = motion.shift * v + motion.wobble * sway
    return HeartState(
        r_endo=r_endo, r_epi=r_epi, trabeculae=trab, rv_out=rv_out, rv_wall_out=rv_wall_out,
        envelope=envelope, pericardium_out=pericardium_out, outer=outer, lvot=lvot,
        papillary=papillary, rv_specks=rv_specks, offset=offset, rotation=float(alpha + motion.twist * v), v=v,
    )
