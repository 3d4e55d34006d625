"""The whole analysis of one cine: localise → extract → convert → predict → phase.

:func:`analyze_cine` takes a :class:`~lvquant.cine.Cine` (DICOM or NIfTI,
full field of view) and :func:`analyze_crops` takes LV-centred crops that are
already in the LVQuan layout (a subject of an LVQuan .mat file). Both return
an :class:`Analysis`; :mod:`lvquant.report` writes it out.

What the crops look like (side, scale rule, RV direction, intensity, frames
per cycle) is the ensemble's :class:`~lvquant.analysis.spec.InputSpec`, read
from its manifest: nothing here repeats those numbers.

Stages, in the order the code runs them (timed, see ``Analysis.timings_ms``):

1. **localise** (:mod:`lvquant.analysis.localise_learned` by default, or the hand-made
   :mod:`lvquant.analysis.localise`): the LV centre, its size
   and the RV direction in every slice of the stack, one consensus for the
   stack, and the mid-ventricular slice (the middle of the slices where the LV
   is found) unless the slice is given.
2. **extract** (:mod:`lvquant.analysis.extract`): that slice's cycle of M
   frames (resampled in time when the cine has another number of frames).
3. **convert** (:mod:`lvquant.analysis.convert`): crop centred on the LV,
   turned so that the RV lies where the spec says, its side by the spec's
   crop rule (``crop_scale`` × the end-diastolic epicardial diameter),
   resampled to the spec's pixels, intensity-normalised. The first crop uses
   the localiser's size estimate; the epicardial diameter is then taken from
   the first prediction (cavity + myocardium area at ED) and the crop is redone
   at that size when it differs by more than ``RECROP_TOLERANCE``.
4. **predict** (:mod:`lvquant.analysis.predict`): the ensemble's mean and
   spread of the 11 indices per frame, mm / mm² (ONNX Runtime).
5. **phase** (:mod:`lvquant.analysis.phase`): polynomial fit of the predicted
   cavity areas (degree 11 for 20 frames); its highest frame is ED, its lowest ES.

Results on an M-frame cycle are mapped back to the source frames when the
cine had another number of frames.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cine import Cine
from ..errors import InputError, LocalisationError
from ..geometry import phase_labels
from ..indices import SEGMENTS, Indices
from .convert import convert_frames, normalize_intensity
from .extract import Cycle, check_cycle_length, resample_cycle
from .localise import ClassicLocaliser, LVLocation
from .localise_learned import LearnedLocaliser, load_localiser
from .phase import PhaseResult, phase_from_curve
from .borders import AGREEMENT_TOLERANCE, BorderModel, Borders, check_same_spec, draw_borders
from .predict import Ensemble, predict_many
from .whole_heart import (MIN_LV_SLICES, SliceMeasure, WholeHeart, check_enough_slices, combine, drop_unmeasurable_ends,
                          lv_slices, measurable_frames, measure_slices)

#: Relative change of the crop side above which the crop is redone after the first prediction.
RECROP_TOLERANCE = 0.05


@dataclass
class Analysis:
    """The measurements of one cine slice over one cycle.

    Attributes:
        indices: :class:`Indices`, batch (T,): ensemble mean per source frame, mm / mm².
        spread: (T, 11) ensemble standard deviation per source frame, in the
            order of :data:`lvquant.indices.INDEX_NAMES`.
        phase: (T,) 1 systole, 0 diastole, per source frame.
        ed_frame, es_frame: source frame numbers (0-based) of end-diastole and end-systole.
        times_ms: (T,) trigger time of each source frame, ms.
        cycle_indices: :class:`Indices`, batch (M,): the prediction on the M-frame cycle.
        cycle_positions: (M,) position of each cycle frame in source-frame units.
        phase_result: the phase rule's result on the M-frame cycle (fitted curve included).
        crops: (M, S, S) normalised crops the networks saw (S: the spec's crop_pixels).
        slice: index (order of ``lvquant info``), position (mm) and number of slices, and how it was chosen.
        crop: the crop used: centre (row, col) in source pixels, side in mm, pixel
            size in mm, RV angle and whether it was estimated or given, rotation
            applied, passes, localiser score.
        derived: fractional area change (%), systolic wall thickening per
            segment (%), ED/ES values and means.
        model: identity of the ensemble (manifest).
        timings_ms: duration of each stage, ms.
        warnings: things the user should know (resampling, uncertain results...).
        source: non-identifying description of the input.
        whole_heart: every LV slice, volumes, EF, mass and AHA segments, when asked for
            (:class:`~lvquant.analysis.whole_heart.WholeHeart`), else None.
        borders: the border network's masks of the analysed slice's cycle, the indices measured
            on them and the agreement flags (:class:`~lvquant.analysis.borders.Borders`), or None.
    """

    indices: Indices
    spread: np.ndarray
    phase: np.ndarray
    ed_frame: int
    es_frame: int
    times_ms: np.ndarray
    cycle_indices: Indices
    cycle_positions: np.ndarray
    phase_result: PhaseResult
    crops: np.ndarray
    slice: dict[str, Any]
    crop: dict[str, Any]
    derived: dict[str, Any]
    model: dict[str, Any]
    timings_ms: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    whole_heart: WholeHeart | None = None
    borders: Borders | None = None

    @property
    def n_frames(self) -> int:
        return int(self.phase.shape[0])


class _Clock:
    """Wall time of consecutive stages, ms."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + (now - self._t) * 1000.0
        self._t = now


def derived_measures(ind: Indices, ed: int, es: int) -> dict[str, Any]:
    """What a cardiologist reads off the curves: FAC and wall thickening.

    Args:
        ind: indices per frame (batch (T,)), mm / mm².
        ed, es: frame numbers.

    Returns:
        ``fractional_area_change_percent`` = 100 (A1_ED − A1_ES) / A1_ED;
        ``wall_thickening_percent`` per segment = 100 (RWT_ES − RWT_ED) / RWT_ED;
        ED/ES cavity and myocardium areas, mean wall thickness at ED and ES.
    """
    a1, a2, rwt = ind.cavity_area_mm2, ind.myocardium_area_mm2, ind.rwt_mm
    thick = 100.0 * (rwt[es] - rwt[ed]) / np.maximum(rwt[ed], 1e-6)
    return {
        "fractional_area_change_percent": float(100.0 * (a1[ed] - a1[es]) / max(a1[ed], 1e-6)),
        "wall_thickening_percent": {name: float(v) for name, v in zip(SEGMENTS, thick)},
        "ed_cavity_area_mm2": float(a1[ed]),
        "es_cavity_area_mm2": float(a1[es]),
        "ed_myocardium_area_mm2": float(a2[ed]),
        "es_myocardium_area_mm2": float(a2[es]),
        "ed_mean_wall_thickness_mm": float(rwt[ed].mean()),
        "es_mean_wall_thickness_mm": float(rwt[es].mean()),
    }


def _uncertainty_warnings(mean: Indices, spread: Indices) -> list[str]:
    """Warn when the networks disagree much: the input may not look like what they were trained on."""
    a1 = np.maximum(mean.cavity_area_mm2, 1.0)
    rel = spread.cavity_area_mm2 / a1
    out = []
    if np.median(rel) > 0.15:
        out.append(
            f"the networks disagree on the cavity area (median spread {100 * np.median(rel):.0f} % of the value): "
            "the image may not be a mid-ventricular short-axis slice, or may look unlike the training data"
        )
    return out


def check_measurable(mean: Indices) -> None:
    """Refuse a prediction that is no measurement: a non-finite value, or an area, dimension or
    wall thickness that is not positive, in any frame (a wrong number must never be reported).

    Raises:
        LocalisationError: with the frames concerned.
    """
    bad = ~measurable_frames(mean)
    if np.any(bad):
        frames = ", ".join(str(int(t)) for t in np.flatnonzero(bad)[:6]) + ("..." if bad.sum() > 6 else "")
        raise LocalisationError(
            f"the networks' prediction is not a measurement in {int(bad.sum())} frame(s) ({frames}): a non-positive "
            "or non-finite area, dimension or wall thickness; the crop does not show a left ventricle as they know "
            "it (check the slice with --slice and the RV direction with --rv-angle)"
        )


def _phase_and_map(pred_mean: Indices, pred_spread: Indices, cycle: Cycle, phase_method: str
                   ) -> tuple[Indices, np.ndarray, np.ndarray, int, int, PhaseResult]:
    """Phase on the cycle, then everything per source frame."""
    ph = phase_from_curve(pred_mean.cavity_area_mm2, method=phase_method)
    if not cycle.resampled:
        return pred_mean, pred_spread.to_array(), ph.labels.copy(), ph.ed_frame, ph.es_frame, ph
    mean_src = Indices.from_array(cycle.values(pred_mean.to_array()))
    spread_src = cycle.values(pred_spread.to_array())
    # ED and ES: the source frames nearest to the cycle's ED and ES frames.
    ed, es = cycle.frame(ph.ed_frame), cycle.frame(ph.es_frame)
    return mean_src, spread_src, phase_labels(ed, es, cycle.n_source_frames), ed, es, ph


@dataclass(frozen=True)
class RuleCrop:
    """Crops cut by the spec's crop rule with the ensemble's own size estimate (:func:`crop_by_rule`).

    Attributes:
        crops: (T, S, S) normalised crops the networks read.
        pixel_mm: crop pixel size, mm.
        prediction: the ensemble's prediction on ``crops``.
        side_mm: the crop side used, mm.
        passes: 1 when the first guess of the side held, 2 when the crop was redone.
    """

    crops: np.ndarray
    pixel_mm: float
    prediction: Any
    side_mm: float
    passes: int


@dataclass(frozen=True)
class CropJob:
    """One slice to cut by the crop rule: (T, H, W) frames, centre (row, col) px, first side mm, RV angle deg."""

    frames: np.ndarray
    centre: tuple[float, float]
    first_side_mm: float
    rv_angle: float


def crop_by_rule_many(jobs: list[CropJob], spacing: tuple[float, float], ensemble: Ensemble) -> list[RuleCrop]:
    """:func:`crop_by_rule` for several slices, their crops predicted together (one ONNX call per pass)."""
    spec = ensemble.spec

    def cut(job: CropJob, side: float) -> tuple[np.ndarray, float]:
        return convert_frames(job.frames, spacing, job.centre, side, job.rv_angle, spec)

    sides = [float(j.first_side_mm) for j in jobs]
    first = [cut(j, side) for j, side in zip(jobs, sides)]
    preds = predict_many(ensemble, [c for c, _ in first], [p for _, p in first])
    out = [RuleCrop(c, p, pred, side, 1) for (c, p), pred, side in zip(first, preds, sides)]
    redo = []
    for i, r in enumerate(out):
        side2 = spec.crop_side_mm(_ed_epicardial_area(r.prediction.mean))
        if abs(side2 / r.side_mm - 1.0) > RECROP_TOLERANCE:
            redo.append((i, side2))
    second = [cut(jobs[i], side2) for i, side2 in redo]
    for (i, side2), (c, p), pred in zip(redo, second, predict_many(ensemble, [c for c, _ in second],
                                                                     [p for _, p in second])):
        out[i] = RuleCrop(c, p, pred, side2, 2)
    return out


def crop_by_rule(frames: np.ndarray, spacing: tuple[float, float], centre: tuple[float, float],
                 first_side_mm: float, rv_angle: float, ensemble: Ensemble) -> RuleCrop:
    """The spec's crop rule when the epicardium is not known: crop at a first guess of the side,
    predict, and cut again at ``crop_scale`` × the predicted ED epicardial diameter when that
    side differs from the guess by more than :data:`RECROP_TOLERANCE`.

    Used by the analysis (first guess: the localiser's radius) and by the dataset builder for
    labelled data without an epicardial label (first guess: cavity plus two default walls).

    Args:
        frames: (T, H, W) full field-of-view frames.
        spacing: (row, col) mm; centre: (row, col) pixels; rv_angle: degrees, as
            :func:`lvquant.analysis.convert.convert_frames`.
    """
    return crop_by_rule_many([CropJob(frames, centre, first_side_mm, rv_angle)], spacing, ensemble)[0]


def _ed_epicardial_area(mean: Indices) -> float:
    """Predicted epicardial area (cavity + myocardium), mm², at the frame of the largest cavity."""
    ed = int(np.argmax(mean.cavity_area_mm2))
    return float(mean.cavity_area_mm2[ed] + mean.myocardium_area_mm2[ed])


def analyze_cine(cine: Cine, *, slice_index: int | None = None, rv_angle_deg: float | None = None,
                 ensemble: Ensemble | None = None, phase_method: str = "poly",
                 localiser: LearnedLocaliser | ClassicLocaliser | None = None, whole_heart: bool = False,
                 bsa_m2: float | None = None, borders: BorderModel | None = None) -> Analysis:
    """Measure the LV on every frame of one slice of a full field-of-view cine (and, with
    ``whole_heart``, on every slice holding the LV: volumes, EF, mass, AHA segments).

    Args:
        cine: the cine (S slices × T frames).
        slice_index: slice to analyse, in the cine's order (the order ``lvquant
            info`` prints); default: chosen automatically (middle of the slices
            where the LV is found).
        rv_angle_deg: direction of the RV from the LV centre, degrees clockwise
            from 12 o'clock (270 = image left); default: estimated.
        ensemble: the networks (default: the shipped ensemble).
        phase_method: ``"poly"`` (the method) or ``"argmax"``.
        localiser: what finds the LV (default: the shipped learned localiser,
            :func:`~lvquant.analysis.localise_learned.load_localiser`).
        whole_heart: also measure every LV slice (:mod:`lvquant.analysis.whole_heart`).
        bsa_m2: body surface area for indexed volumes (:func:`~.whole_heart.body_surface_area_m2`).
        borders: the border network (:mod:`lvquant.analysis.borders`): draws the cavity and
            myocardium on the crops and flags frames where its masks and the regressed areas
            disagree; None: no borders.

    Raises:
        InputError: bad slice index, fewer than 10 frames, bad RV angle.
        LocalisationError: the LV was not found.
        ModelError: the model files cannot be loaded.
    """
    clock = _Clock()
    s_count, t_count = cine.frames.shape[:2]
    if slice_index is not None:
        if isinstance(slice_index, bool) or not isinstance(slice_index, (int, np.integer)) or \
                not 0 <= slice_index < s_count:
            raise InputError(f"slice {slice_index!r} does not exist: this cine has slices 0 to {s_count - 1}")
    check_cycle_length(t_count)
    if rv_angle_deg is not None and not np.isfinite(rv_angle_deg):
        raise InputError(f"the RV angle must be a number of degrees; got {rv_angle_deg!r}")
    spacing = tuple(float(v) for v in cine.spacing_mm)
    warnings: list[str] = []
    ensemble = ensemble if ensemble is not None else Ensemble.load()
    spec = ensemble.spec
    n_frames = spec.frames_per_cycle
    localiser = localiser if localiser is not None else load_localiser()
    if whole_heart and s_count < MIN_LV_SLICES:
        raise InputError(f"the whole heart needs a short-axis stack of at least {MIN_LV_SLICES} slices; this cine has "
                         f"{s_count}")
    if borders is not None:
        check_same_spec(borders, spec)
    clock.lap("load models")
    if s_count > 1:
        # The whole stack is searched even when the slice is given: its consensus
        # centre overrules a slice where a fused LV+RV pool or a neighbour organ won.
        k, found = localiser.locate_stack(cine.frames, spacing)
        how = "automatic: middle of the slices where the LV is found"
        if slice_index is not None:
            k, how = int(slice_index), "given"
        n_found = sum(f is not None for f in found)
        if n_found < s_count:
            warnings.append(f"the LV was found in {n_found} of {s_count} slices")
        location = found[k]
        if location is None:
            location = localiser.locate(cine.frames[k], spacing)
            warnings.append(f"the LV found in slice {k} lies away from the rest of the stack's: check the overlay")
    else:
        k, how = 0, "only slice" if slice_index is None else "given"
        location = localiser.locate(cine.frames[k], spacing)
    clock.lap("localise")

    cycle = resample_cycle(cine.frames[k], cine.frame_times_ms[k], n_frames)
    if cycle.resampled:
        warnings.append(f"the slice has {t_count} frames: the cycle was resampled to {n_frames} frames in time "
                        "and the results mapped back to the original frames")
    clock.lap("extract")

    rv_given = rv_angle_deg is not None
    rv = float(rv_angle_deg) % 360.0 if rv_given else float(location.rv_angle_deg)
    mean_spacing = float(np.sqrt(spacing[0] * spacing[1]))
    side = spec.crop_side_from_radius(location.epi_radius_px * mean_spacing)
    cut = crop_by_rule(cycle.frames, spacing, location.centre_px, side, rv, ensemble)
    clock.lap("convert+predict")

    mean, spread, labels, ed, es, ph = _phase_and_map(cut.prediction.mean, cut.prediction.spread, cycle,
                                                      phase_method)
    check_measurable(cut.prediction.mean)
    warnings += _uncertainty_warnings(cut.prediction.mean, cut.prediction.spread)
    derived = derived_measures(mean, ed, es)
    clock.lap("phase")
    crop = rule_crop_info(cut, location, spec, rv_source="given" if rv_given else "estimated", rv_angle_deg=rv)
    drawn = None
    if borders is not None:
        drawn = draw_borders(borders, cut.crops, cut.pixel_mm, cut.prediction.mean)
        warnings += _border_warnings(drawn, ph)
        clock.lap("borders")
    heart = None
    if whole_heart:
        heart = _whole_heart(cine, found, k, cycle, cut, crop, ensemble, n_frames, phase_method, bsa_m2, borders,
                             drawn)
        warnings += heart.warnings
        clock.lap("whole heart")
    sl = {"index": k, "position_mm": float(cine.slice_positions_mm[k]), "n_slices": s_count, "chosen": how}
    return Analysis(
        indices=mean, spread=np.asarray(spread), phase=labels, ed_frame=ed, es_frame=es,
        times_ms=np.asarray(cine.frame_times_ms[k], dtype=np.float64), cycle_indices=cut.prediction.mean,
        cycle_positions=cycle.positions, phase_result=ph, crops=cut.crops, slice=sl, crop=crop,
        derived=derived, model=ensemble.identity, timings_ms=clock.timings, warnings=warnings,
        source=_source(cine), whole_heart=heart, borders=drawn,
    )


def rule_crop_info(cut: RuleCrop, location: LVLocation, spec: Any, *, rv_source: str,
                   rv_angle_deg: float | None = None) -> dict[str, Any]:
    """The ``crop`` record of a slice cut by :func:`crop_by_rule` at ``location``."""
    rv = float(location.rv_angle_deg if rv_angle_deg is None else rv_angle_deg)
    return {
        "centre_px": [float(location.centre_px[0]), float(location.centre_px[1])],
        "side_mm": float(cut.side_mm),
        "pixel_mm": float(cut.pixel_mm),
        "size_px": spec.crop_pixels,
        "scale_of_ed_epicardial_diameter": spec.crop_scale,
        "rv_angle_deg": rv,
        "rv_angle_source": rv_source,
        "rotation_deg": float((spec.rv_angle_deg - rv) % 360.0),
        "passes": cut.passes,
        "localiser_score": float(location.score),
        "localiser": location.method,
    }


def _border_warnings(drawn: Borders, ph: PhaseResult) -> list[str]:
    """Say when the border network and the regression part at ED or ES, or in many frames."""
    flagged = drawn.agreement.flagged
    at = [name for name, t in (("ED", ph.ed_frame), ("ES", ph.es_frame)) if flagged[t]]
    out = []
    if at or flagged.mean() > 0.25:
        where = f" at {' and '.join(at)}" if at else ""
        out.append(f"the border network's masks and the regressed areas differ by more than "
                   f"{100 * AGREEMENT_TOLERANCE:.0f} %{where} ({int(flagged.sum())} of {flagged.size} frames): check the "
                   "borders on the overlay")
    return out


def _whole_heart(cine: Cine, locs: list[LVLocation | None], k: int, cycle: Cycle, cut: RuleCrop,
                 crop: dict[str, Any], ensemble: Ensemble, n_frames: int, phase_method: str,
                 bsa_m2: float | None, borders: BorderModel | None, drawn: Borders | None) -> WholeHeart:
    """Every LV slice's cycle measured as the analysed slice's was (that one reused), then volumes."""
    check_enough_slices(locs)
    slices, excluded, located = lv_slices(locs)
    cycles = {s: resample_cycle(cine.frames[s], cine.frame_times_ms[s], n_frames).frames for s in slices if s != k}
    done = {}
    if k in slices:
        done[k] = SliceMeasure(k, float(cine.slice_positions_mm[k]), cut.prediction.mean,
                               cut.prediction.spread.to_array(), crop, cut.crops)
    measured = measure_slices(cycles, cine.spacing_mm, cine.slice_positions_mm, slices, located, ensemble, done)
    measured, excluded = drop_unmeasurable_ends(measured, excluded, keep=k)
    return combine(measured, excluded, cine.slice_positions_mm, phase_method=phase_method,
                   to_source=cycle if cycle.resampled else None, bsa_m2=bsa_m2, borders=borders,
                   drawn={k: drawn.labels} if drawn is not None and k in slices else None)


def analyze_crops(raw_crops: np.ndarray, pixel_mm: float, *, ensemble: Ensemble | None = None,
                  phase_method: str = "poly", times_ms: np.ndarray | None = None,
                  source: dict[str, Any] | None = None, borders: BorderModel | None = None) -> Analysis:
    """Measure LV-centred crops already in the LVQuan layout (e.g. one subject of an LVQuan .mat file).

    Args:
        raw_crops: (T, S, S) crops cut as the ensemble's input spec says (LVQuan: 80 × 80,
            RV on the left), any intensity scale.
        pixel_mm: crop pixel size in mm (``pix_spa × ratio_resize_inverse``).
        ensemble, phase_method, borders: as :func:`analyze_cine`.
        times_ms: (T,) frame times (default: frame numbers).
        source: description of the input for the report.
    """
    clock = _Clock()
    ensemble = ensemble if ensemble is not None else Ensemble.load()
    spec = ensemble.spec
    x = np.asarray(raw_crops, dtype=np.float32)
    if x.ndim != 3 or x.shape[1:] != (spec.crop_pixels, spec.crop_pixels):
        raise InputError(f"these networks take crops of (frames, {spec.crop_pixels}, {spec.crop_pixels}); "
                         f"got shape {x.shape}")
    cycle = resample_cycle(x, times_ms, x.shape[0])
    clock.lap("extract")
    crops = normalize_intensity(cycle.frames, spec)
    pred = ensemble.predict(crops, pixel_mm)
    check_measurable(pred.mean)
    clock.lap("convert+predict")
    mean, spread, labels, ed, es, ph = _phase_and_map(pred.mean, pred.spread, cycle, phase_method)
    derived = derived_measures(mean, ed, es)
    clock.lap("phase")
    crop = {"pixel_mm": float(pixel_mm), "side_mm": float(pixel_mm * spec.crop_pixels), "size_px": spec.crop_pixels,
            "rv_angle_deg": spec.rv_angle_deg, "rv_angle_source": "given by the crop layout", "rotation_deg": 0.0,
            "passes": 1}
    warnings = _uncertainty_warnings(pred.mean, pred.spread)
    drawn = None
    if borders is not None:
        check_same_spec(borders, spec)
        drawn = draw_borders(borders, crops, float(pixel_mm), pred.mean)
        warnings += _border_warnings(drawn, ph)
        clock.lap("borders")
    return Analysis(
        indices=mean, spread=np.asarray(spread), phase=labels, ed_frame=ed, es_frame=es,
        times_ms=cycle.source_times_ms, cycle_indices=pred.mean, cycle_positions=cycle.positions,
        phase_result=ph, crops=crops, slice={"index": 0, "position_mm": None, "n_slices": 1, "chosen": "LVQuan crop"},
        crop=crop, derived=derived, model=ensemble.identity, timings_ms=clock.timings,
        warnings=warnings, source=source or {"format": "crops"}, borders=drawn,
    )


def _source(cine: Cine) -> dict[str, Any]:
    """The input's description, without anything patient-identifying.

    The series description is left out: it is free text typed at the scanner,
    and can hold a name or a date (the DICOM confidentiality profile removes it
    too). ``lvquant info`` shows it, when asked, to help choose a series.
    """
    src = cine.source
    return {
        "format": src.format,
        "n_files": src.n_files,
        "modality": src.modality,
        "manufacturer": src.manufacturer,
        "image_shape": [int(v) for v in cine.frames.shape[2:]],
        "spacing_mm": [float(v) for v in cine.spacing_mm],
        "n_slices": int(cine.frames.shape[0]),
        "n_frames": int(cine.frames.shape[1]),
        "timing_known": bool(cine.timing_known),
        "skipped_files": len(src.skipped),
    }


__all__ = ["Analysis", "LVLocation", "analyze_cine", "analyze_crops", "derived_measures"]
