"""Full field-of-view cine series of a phantom subject (what a scanner exports).

The same subject as in the LVQuan layout (same heart, motion, body and
scanner), rendered over the whole field of view on the scanner's axes: the
heart lies off-centre and turned in-plane by ``alpha`` (up to
``config.heart_rotation_deg``), so the RV is at ``270 deg + alpha`` clockwise from
12 o'clock rather than exactly at 9 o'clock. Several slices from apex to base
can be rendered; the mid-ventricular one carries the ground truth.

Ground truth (:attr:`DicomSeries.truth`) is measured on the exact border
polygons of the mid slice **in the heart frame**, i.e. on the heart turned back
by ``alpha`` (plus its small systolic twist) so that the RV lies exactly at 9
o'clock, at the series' pixel spacing. The regional indices (dims, RWT) are
therefore those of the heart's anatomical segments, whatever the rotation in
the image; areas do not depend on the rotation. ``lv_centre_px`` gives where
the cavity centroid lies in the image (row, column).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..geometry import phase_from_areas, polygon_centroid
from .config import PhantomConfig
from .render import Lattice, border_polygons
from .subject import _DICOM, _DICOM_NOISE, _Renderer, _rng, _truth, check_seed_index, make_scene

#: Version of the truth.json layout.
TRUTH_VERSION = 1


@dataclass(frozen=True)
class DicomSeries:
    """A rendered multi-slice cine series with its geometry and ground truth.

    Attributes
    ----------
    pixels : ndarray of int16 or uint16, shape (S, T, H, W)
        Stored pixel values, slices in the order of :attr:`z_mm` (apex to base).
    spacing_mm : float
        Pixel spacing (rows and columns), mm.
    z_mm : ndarray (S,)
        Offset of each slice from the mid-ventricular slice along the long
        axis, mm (positive toward the base), ascending.
    slice_locations : ndarray (S,)
        DICOM SliceLocation of each slice (the position along the slice normal).
    positions : ndarray (S, 3)
        DICOM ImagePositionPatient of each slice (centre of the first pixel), mm.
    orientation : ndarray (6,)
        DICOM ImageOrientationPatient (direction of a row, then of a column).
    trigger_times_ms : ndarray (T,)
    slice_thickness_mm, slice_spacing_mm : float
    rescale_slope : float
        The real value of a pixel is ``stored * rescale_slope`` (intercept 0).
    heart_rate_bpm : float
    truth : dict
        The truth.json content (see :func:`render_series`).
    """

    pixels: np.ndarray
    spacing_mm: float
    z_mm: np.ndarray
    slice_locations: np.ndarray
    positions: np.ndarray
    orientation: np.ndarray
    trigger_times_ms: np.ndarray
    slice_thickness_mm: float
    slice_spacing_mm: float
    rescale_slope: float
    heart_rate_bpm: float
    truth: dict[str, Any]


def _orientation(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random oblique short-axis orientation: row direction, column direction, slice normal."""
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    row, col = q[:, 0], q[:, 1]
    return row, col, np.cross(row, col)


def render_series(index: int, seed: int = 0, config: PhantomConfig | None = None) -> DicomSeries:
    """Render subject ``index`` of population ``seed`` as a full field-of-view cine series.

    Parameters
    ----------
    index, seed : int
        As in :func:`~lvquant.phantom.generate_subject` (the same subject).
    config : PhantomConfig, optional

    Returns
    -------
    DicomSeries
        ``truth`` holds: ``frames`` (per frame ``frame``, ``time_ms``,
        ``cavity_area_mm2``, ``myocardium_area_mm2``, ``dims_mm`` [3],
        ``rwt_mm`` [6], ``phase``, ``lv_centre_px`` [row, col],
        ``heart_rotation_deg``), ``ed_frame``, ``es_frame``, ``mid_slice``
        (index in ascending slice-location order), ``slice_locations_mm``,
        ``heart_rotation_deg`` (clockwise, as displayed, of the heart relative to
        the RV-at-9-o'clock orientation), ``rv_angle_deg`` (direction of the RV
        from the LV centre, clockwise from 12 o'clock), ``lv_centre_px`` (at ED),
        ``pixel_spacing_mm``, ``image_shape``, ``pathology`` and provenance.
    """
    config = config or PhantomConfig()
    seed, index = check_seed_index(seed, index)
    scene = make_scene(index, seed, config)
    rng = _rng(seed, index, _DICOM)
    u = rng.uniform
    s = scene.spacing_mm
    m = config.n_frames

    width = int(np.clip(round(u(300.0, 400.0) / s / 16.0) * 16, 128, 320))
    height = width if u() < 0.5 else int(np.clip(round(width * u(0.75, 1.0) / 16.0) * 16, 112, width))
    off = u(-0.12, 0.12, 2) * np.array([height, width])
    centre_px = ((height - 1) / 2.0 + off[0], (width - 1) / 2.0 + off[1])
    lattice = Lattice.rotated(np.zeros(2), 0.0, s, (height, width), centre_px)

    n_ap = int(rng.integers(config.dicom_slices_apical[0], config.dicom_slices_apical[1] + 1))
    n_ba = int(rng.integers(config.dicom_slices_basal[0], config.dicom_slices_basal[1] + 1))
    thickness = scene.appearance.slice_thickness
    gap = thickness + u(0.0, 2.0)
    z = np.arange(-n_ap, n_ba + 1) * gap
    sign = 1.0 if u() < 0.5 else -1.0
    loc0 = u(-80.0, 80.0)
    locations = loc0 + sign * z
    row, col, normal = _orientation(rng)
    in_plane = u(-30.0, 30.0, 2)
    corner = in_plane[0] * row + in_plane[1] * col - (width - 1) / 2.0 * s * row - (height - 1) / 2.0 * s * col
    positions = np.array([corner + loc * normal for loc in locations])
    slope = 1.0 if u() < 0.7 else float(np.round(u(0.5, 3.0), 4))

    renderer = _Renderer(scene, lattice, config.supersample)
    noise = _rng(seed, index, _DICOM_NOISE)
    taus = scene.motion.frame_times(m)
    dtype = np.dtype(scene.appearance.dtype)
    pixels = np.empty((len(z), m, height, width), dtype=dtype)
    mid_states, indices = None, None
    slice_truth = []
    for k, zk in enumerate(z):
        states = scene.states(m, float(zk))
        for t, (state, tau) in enumerate(zip(states, taus)):
            pixels[k, t] = renderer.frame(state, float(tau), noise)
        slice_indices = _truth(states, lambda y, x: (y / s, x / s), s, "heart")  # a closed cavity measures 0
        if zk == 0:
            mid_states, indices = states, slice_indices
        slice_truth.append({"location_mm": float(locations[k]), "z_mm": float(zk),
                            "frames": [{key: r[key] for key in ("cavity_area_mm2", "myocardium_area_mm2", "dims_mm",
                                                                "rwt_mm")} for r in slice_indices.to_records()]})

    assert mid_states is not None and indices is not None
    phase = phase_from_areas(indices.cavity_area_mm2)
    times = scene.motion.trigger_times_ms(m)
    frames = []
    for t, (rec, st) in enumerate(zip(indices.to_records(), mid_states)):
        endo_body, _ = border_polygons(st, "body")
        cy, cx = polygon_centroid(endo_body)
        r, c = lattice.to_pixel(cy, cx)
        frames.append({
            "frame": t, "time_ms": float(times[t]), **rec, "phase": int(phase.labels[t]),
            "lv_centre_px": [float(r), float(c)], "heart_rotation_deg": float(np.rad2deg(st.rotation)),
        })
    order = np.argsort(locations, kind="stable")
    mid_index = int(np.flatnonzero(order == int(np.flatnonzero(z == 0)[0]))[0])
    alpha = float(np.rad2deg(scene.alpha))
    truth = {
        "format": "lvquant-phantom-truth",
        "version": TRUTH_VERSION,
        "subject": index,
        "seed": seed,
        "pathology": scene.pathology,
        "n_frames": m,
        "n_slices": int(len(z)),
        "mid_slice": mid_index,
        "slice_locations_mm": [float(v) for v in np.sort(locations)],
        "pixel_spacing_mm": [s, s],
        "image_shape": [height, width],
        "heart_rotation_deg": alpha,
        "rv_angle_deg": float(np.mod(270.0 + alpha, 360.0)),
        "lv_centre_px": frames[phase.ed_frame]["lv_centre_px"],
        "ed_frame": phase.ed_frame,
        "es_frame": phase.es_frame,
        "truth_frame": (
            "indices of the mid slice, measured with lvquant.geometry on the exact border polygons of the heart "
            "turned back so that the RV is at 9 o'clock (segments are anatomical), at the series' pixel spacing; "
            "heart_rotation_deg is the clockwise rotation (as displayed) of the heart in the image, rv_angle_deg "
            "the direction of the RV from the LV centre, clockwise from 12 o'clock"
        ),
        "units": {"cavity_area_mm2": "mm2", "myocardium_area_mm2": "mm2", "dims_mm": "mm", "rwt_mm": "mm",
                  "time_ms": "ms", "lv_centre_px": "pixel (row, column)"},
        "frames": frames,
        "slices": [slice_truth[i] for i in order],
    }
    return DicomSeries(
        pixels=pixels, spacing_mm=s, z_mm=z, slice_locations=locations, positions=positions,
        orientation=np.concatenate([row, col]), trigger_times_ms=times, slice_thickness_mm=float(thickness),
        slice_spacing_mm=float(gap), rescale_slope=slope, heart_rate_bpm=float(60000.0 / scene.motion.rr_ms),
        truth=truth,
    )
