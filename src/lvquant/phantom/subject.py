"""One phantom subject: scene, LVQuan-layout crops and a full-field-of-view series.

Determinism: every random choice of subject ``i`` with seed ``S`` comes from
generators seeded with ``[S, i, stream]`` (numpy's ``SeedSequence``), one
stream per concern (heart, motion, body, scanner, crop, noise, DICOM
geometry), so a subject is identical whatever the number of subjects, the
order they are made in or the number of worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis.spec import InputSpec
from ..errors import InputError
from ..geometry import measure_contours, phase_from_areas, polygon_area, polygon_centroid
from ..indices import Indices
from ..resample import sample_antialiased
from .anatomy import Body, Heart, sample_body, sample_heart, sample_pathology
from .appearance import AffineGrid, Appearance, Textures, acquire, bias_field, sample_appearance, store
from .config import PhantomConfig
from .motion import HeartState, Motion, heart_state, sample_motion
from .render import Lattice, border_polygons, coverage, heart_masks, paint_body, paint_heart, pixel_box

# Random streams (third entry of the seed sequence).
_HEART, _MOTION, _BODY, _SCANNER, _CROP, _CROP_NOISE, _DICOM, _DICOM_NOISE = range(1, 9)

#: Native pixels of margin rendered around the crop box (k-space filtering wraps around).
CROP_PAD = 12


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(index), stream])


def check_seed_index(seed: Any, index: Any) -> tuple[int, int]:
    """Validate a seed and subject index (non-negative integers)."""
    for name, v in (("seed", seed), ("subject index", index)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InputError(f"the phantom {name} must be a non-negative integer; got {v!r}")
    return int(seed), int(index)


@dataclass(frozen=True)
class Scene:
    """Everything random about a subject except where the images are cut.

    Attributes
    ----------
    pathology : str
    heart : Heart
    motion : Motion
    alpha : float
        Heart rotation in the body frame (radians, clockwise as displayed):
        the RV lies at ``270 deg + alpha`` clockwise from 12 o'clock.
    body : Body
    appearance : Appearance
    spacing_mm : float
        Native pixel spacing, mm.
    apex_mm : float
        Distance from the mid-ventricular slice to the apex of the cavity, mm.
    """

    pathology: str
    heart: Heart
    motion: Motion
    alpha: float
    body: Body
    appearance: Appearance
    spacing_mm: float
    apex_mm: float

    def states(self, n_frames: int, z: float = 0.0) -> list[HeartState]:
        """Heart states of the ``n_frames`` frames on slice ``z`` (mm above the mid-ventricle)."""
        return [heart_state(self.heart, self.motion, self.alpha, tau, z, self.apex_mm) for tau in self.motion.frame_times(n_frames)]


def make_scene(index: int, seed: int, config: PhantomConfig) -> Scene:
    """Draw subject ``index``'s anatomy, motion and scanner (no rendering)."""
    seed, index = check_seed_index(seed, index)
    rng = _rng(seed, index, _HEART)
    pathology = sample_pathology(rng, config.pathology_probabilities())
    heart, fac = sample_heart(rng, pathology)
    apex = float(rng.uniform(35.0, 50.0))
    motion = sample_motion(_rng(seed, index, _MOTION), heart, fac)
    rb = _rng(seed, index, _BODY)
    alpha = float(np.deg2rad(rb.uniform(-config.heart_rotation_deg, config.heart_rotation_deg)))
    body = sample_body(rb, heart, alpha)
    rs = _rng(seed, index, _SCANNER)
    spacing = float(rs.uniform(*config.spacing_mm))
    app = sample_appearance(rs, config.snr)
    return Scene(pathology, heart, motion, alpha, body, app, spacing, apex)


class _Renderer:
    """Renders frames of a scene on one lattice (static anatomy computed once)."""

    def __init__(self, scene: Scene, lattice: Lattice, ss: int):
        self.scene, self.lattice, self.ss = scene, lattice, ss
        self.labels = paint_body(scene.body, lattice, ss)
        self.cov = coverage(self.labels, ss)
        grid = AffineGrid(lattice.origin, lattice.spacing * lattice.u_row, lattice.spacing * lattice.u_col, lattice.shape)
        self.textures = Textures(scene.appearance, grid)
        self.bias = bias_field(scene.appearance, grid)

    def frame(self, state: HeartState, tau: float, rng: np.random.Generator) -> np.ndarray:
        """Stored (integer) image of one frame, shape ``lattice.shape``."""
        labels = self.labels.copy()
        h = self.scene.heart
        box = paint_heart(labels, state, self.lattice, self.ss, (self.scene.appearance.slice_thickness, h.tilt, h.taper))
        cov = self.cov
        if box is not None:
            cov = cov.copy()
            rows, cols = pixel_box(box, self.ss)
            cov[rows, cols] = coverage(labels, self.ss, box)
        ideal = self.textures.image(cov, state.offset, state.rotation, tau) * self.bias
        return store(acquire(ideal, self.scene.appearance, rng), self.scene.appearance)


# ---------------------------------------------------------------- LVQuan layout


@dataclass(frozen=True)
class PhantomSubject:
    """One subject in the LVQuan layout: LV-centred crops with exact labels.

    Attributes
    ----------
    index, seed : int
    images : ndarray of float32, shape (T, C, C)
        Crops (C = ``config.crop_size``, 80), RV on the left; values are the
        scanner's stored integers after resizing (arbitrary scale).
    endo, epi : ndarray of bool, shape (T, C, C)
        Cavity (papillary muscles and trabeculae included) and the region
        inside the epicardium, sampled at the crop's pixel centres.
    indices : Indices
        Batch (T,), mm / mm², measured by :func:`lvquant.geometry.measure_contours`
        on the exact border polygons in the crop's pixel frame.
    phase : ndarray of int64, shape (T,)
        1 systole, 0 diastole (:func:`lvquant.geometry.phase_from_areas` on the
        true cavity areas).
    ed_frame, es_frame : int
    pix_spa : float
        Native pixel spacing, mm.
    ratio_resize_inverse : float
        Crop side in native pixels / C; the crop's pixel size is
        ``pix_spa * ratio_resize_inverse`` mm.
    info : dict
        Non-image facts: pathology, crop scale k, residual rotation, SNR, ...
    """

    index: int
    seed: int
    images: np.ndarray
    endo: np.ndarray
    epi: np.ndarray
    indices: Indices
    phase: np.ndarray
    ed_frame: int
    es_frame: int
    pix_spa: float
    ratio_resize_inverse: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def crop_spacing_mm(self) -> float:
        """Pixel size of the crops, mm."""
        return self.pix_spa * self.ratio_resize_inverse


def _ed_geometry(states: list[HeartState]) -> tuple[int, np.ndarray, float]:
    """ED frame (largest cavity), its body-frame cavity centroid and epicardial area."""
    ed = phase_from_areas([s.cavity_area() for s in states]).ed_frame
    endo, epi = border_polygons(states[ed], "body")
    return ed, polygon_centroid(endo), polygon_area(epi)


def _truth(states: list[HeartState], to_pixel, spacing: float, frame: str) -> Indices:
    """Per frame, the indices measured on the exact border polygons mapped by ``to_pixel`` to pixels of
    ``spacing`` mm. In a frame at or beyond the apex, where the cavity has closed, the cavity area and
    dimensions are 0, the myocardium area is the solid cap's (0 past it) and the wall thicknesses are
    NaN (undefined)."""
    out = []
    for s in states:
        endo, epi = border_polygons(s, frame)
        pr, pc = to_pixel(epi[:, 0], epi[:, 1])
        if np.max(s.r_endo) <= 1e-3:
            cap = polygon_area(np.stack([pr, pc], 1)) * spacing**2 if np.max(s.r_epi) > 1e-3 else 0.0
            out.append(Indices(np.float64(0.0), np.float64(cap), np.zeros(3), np.full(6, np.nan)))
            continue
        er, ec = to_pixel(endo[:, 0], endo[:, 1])
        out.append(measure_contours(np.stack([ec, er], 1), np.stack([pc, pr], 1), spacing))
    return Indices.stack(out)


def generate_subject(index: int, seed: int = 0, config: PhantomConfig | None = None, z_mm: float = 0.0) -> PhantomSubject:
    """Generate subject ``index`` of the phantom population ``seed`` in the LVQuan layout.

    The subject is rendered at its native pixel spacing, on a native grid
    whose axes are turned so that the RV lies at 9 o'clock up to a small
    residual rotation, only over the crop box plus a margin; the crop box (side
    ``k x`` the ED epicardial diameter, centred on the ED cavity centroid plus a
    small jitter, fixed over the frames) is then resized to C x C.

    Parameters
    ----------
    index : int
        Subject number, >= 0.
    seed : int
        Population seed, >= 0.
    config : PhantomConfig, optional
    z_mm : float
        The slice, mm above the mid-ventricular one (negative toward the apex; 0, the
        LVQuan mid slice, by default). Its crop follows the same rule on that slice's own
        ED cavity centroid and epicardial area, as the whole-heart analysis crops each slice.

    Returns
    -------
    PhantomSubject

    Raises
    ------
    InputError
        ``z_mm`` is past the apex (no epicardium on that slice at ED).

    Off the mid slice, the phase, ED and ES are the mid slice's (the stack's), and ``indices``
    are that slice's own (cavity 0 in the solid apical cap).
    """
    config = config or PhantomConfig()
    seed, index = check_seed_index(seed, index)
    scene = make_scene(index, seed, config)
    m, c = config.n_frames, config.crop_size
    states = scene.states(m, float(z_mm))
    mid_states = states if z_mm == 0.0 else scene.states(m)
    if z_mm == 0.0:
        ed, centroid, epi_area = _ed_geometry(states)
    else:  # the stack's ED (the mid slice's); the crop on this slice's own borders at ED
        ed = phase_from_areas([st.cavity_area() for st in mid_states]).ed_frame
        endo_poly, epi_poly = border_polygons(states[ed], "body")
        epi_area = polygon_area(epi_poly)
        if not epi_area > 1.0:
            raise InputError(f"the slice {z_mm:g} mm from the mid-ventricle is past the apex of phantom subject {index}")
        centroid = polygon_centroid(endo_poly) if polygon_area(endo_poly) > 1.0 else polygon_centroid(epi_poly)

    rc = _rng(seed, index, _CROP)
    k = float(rc.uniform(*config.crop_scale))
    jitter = np.clip(rc.normal(0.0, config.crop_jitter_mm, 2), -2.5 * config.crop_jitter_mm, 2.5 * config.crop_jitter_mm)
    residual = float(np.deg2rad(rc.uniform(-config.crop_rotation_deg, config.crop_rotation_deg)))
    s = scene.spacing_mm
    side_px = max(int(round(k * 2.0 * np.sqrt(epi_area / np.pi) / s)), 16)
    centre = centroid + jitter
    beta = scene.alpha + residual
    n_reg = side_px + 2 * CROP_PAD
    region = Lattice.rotated(centre, beta, s, (n_reg, n_reg), ((n_reg - 1) / 2.0, (n_reg - 1) / 2.0))
    out_spacing = s * side_px / c
    out = Lattice.rotated(centre, beta, out_spacing, (c, c), ((c - 1) / 2.0, (c - 1) / 2.0))
    yo, xo = out.points(1)
    rows, cols = region.to_pixel(yo, xo)
    ratio = side_px / c

    renderer = _Renderer(scene, region, config.supersample)
    noise = _rng(seed, index, _CROP_NOISE)
    taus = scene.motion.frame_times(m)
    images = np.empty((m, c, c), dtype=np.float32)
    endo = np.empty((m, c, c), dtype=bool)
    epi = np.empty((m, c, c), dtype=bool)
    for t, (state, tau) in enumerate(zip(states, taus)):
        native = renderer.frame(state, float(tau), noise).astype(np.float32)
        images[t] = sample_antialiased(native[None], rows, cols, (ratio, ratio))[0]
        endo[t], epi[t] = heart_masks(state, yo, xo)
    indices = _truth(states, out.to_pixel, out_spacing, "body")
    phase = phase_from_areas(indices.cavity_area_mm2 if z_mm == 0.0 else [st.cavity_area() for st in mid_states])
    app = scene.appearance
    info = {
        "pathology": scene.pathology,
        "crop_scale_k": k,
        "crop_side_native_px": side_px,
        "crop_residual_rotation_deg": float(np.rad2deg(residual)),
        "heart_rotation_deg": float(np.rad2deg(scene.alpha)),
        "fac_target": scene.motion.fac,
        "t_es": scene.motion.cycle.t_es,
        "snr": app.snr,
        "myocardium_to_blood": float(app.intensity[9]),
        "dtype": app.dtype,
    }
    return PhantomSubject(
        index=index, seed=seed, images=images, endo=endo, epi=epi, indices=indices, phase=phase.labels,
        ed_frame=phase.ed_frame, es_frame=phase.es_frame, pix_spa=s, ratio_resize_inverse=float(ratio), info=info,
    )


def sample_truth(index: int, seed: int = 0, config: PhantomConfig | None = None) -> tuple[str, Indices, np.ndarray]:
    """Indices of subject ``index`` in its heart frame, without rendering (fast population statistics).

    Returns
    -------
    pathology : str
    indices : Indices
        Batch (T,), mm / mm², RV exactly at 9 o'clock.
    phase : ndarray (T,)
    """
    config = config or PhantomConfig()
    scene = make_scene(index, seed, config)
    states = scene.states(config.n_frames)
    ind = _truth(states, lambda y, x: (y, x), 1.0, "heart")
    return scene.pathology, ind, phase_from_areas(ind.cavity_area_mm2).labels


def example_masks(seed: int = 0) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Exact cavity and epicardial masks of one phantom heart over a cycle (no image rendering).

    Subject 0 of population ``seed`` (the heart :func:`generate_subject` and
    :func:`sample_truth` draw for ``(0, seed)``, default configuration), sampled
    at pixel centres on a grid at the subject's native (scanner) pixel spacing:
    square, side 2.5 x the ED epicardial diameter (the method's input spec), centred on the ED cavity
    centroid, with the RV exactly on the left (9 o'clock) at ED. Intensities
    are not rendered, so this takes a few milliseconds. What ``lvquant measure
    --example`` measures.

    Parameters
    ----------
    seed : int
        Population seed, >= 0.

    Returns
    -------
    endo, epi : ndarray of bool, shape (T, H, W)
        Cavity (papillary muscles and trabeculae included) and the region inside
        the epicardium, T = 20 frames from ED.
    spacing_mm : (float, float)
        (row, column) pixel spacing, mm.
    """
    config = PhantomConfig()
    seed, _ = check_seed_index(seed, 0)
    scene = make_scene(0, seed, config)
    states = scene.states(config.n_frames)
    _, centroid, epi_area = _ed_geometry(states)
    s = scene.spacing_mm
    side = max(int(round(InputSpec().crop_side_mm(epi_area) / s)), 16)
    lattice = Lattice.rotated(centroid, scene.alpha, s, (side, side), ((side - 1) / 2.0, (side - 1) / 2.0))
    y, x = lattice.points(1)
    endo = np.empty((len(states), side, side), dtype=bool)
    epi = np.empty_like(endo)
    for t, state in enumerate(states):
        endo[t], epi[t] = heart_masks(state, y, x)
    return endo, epi, (s, s)
