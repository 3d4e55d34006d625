"""The whole heart: every slice of the short-axis stack measured, volumes, EF, LV mass, AHA segments.

The method measures one mid-ventricular slice. This module runs the same networks, crop rule and
input spec on every slice that holds the LV and adds what a cardiologist reads off a whole stack:

1. **Which slices hold the LV** (:func:`lv_slices`): the localiser's decision per slice (its peak
   probability above the manifest's threshold), kept as the longest run of consecutive slices
   (:func:`~lvquant.analysis.localise.longest_lv_run`, gaps of one slice bridged). Beyond the apex,
   above the base (the atrium, the outflow tract) and in an isolated slice far from the run the
   LV is not measured. A bridged gap is measured at the mean location of its two neighbours.
2. **One LV model for the stack**: each slice is cropped at its own centre (the stack consensus
   overrules a slice whose centre lies far from the others) with the RV direction of the stack's
   trend (:func:`~lvquant.analysis.localise.stack_rv_trend`), its side by the spec's crop rule;
   the analysed (mid) slice keeps its own measurement, the method's, with its own RV estimate
   (where the trend does not help).
3. **Volumes** (:func:`disc_volumes_ml`): disc summation (Simpson's rule as CMR uses it): every
   slice is a disc of its cavity area and of thickness the slice spacing, the median distance
   between adjacent slice positions (from the positions, never from ``SliceThickness``):
   ``V(t) = Σ_k A1_k(t) × Δ``. The volume curve over the cycle gives ED (its highest frame) and
   ES (its lowest) by the method's polynomial rule; EDV, ESV, SV = EDV − ESV, EF = SV / EDV.
   LV mass = the myocardial volume at ED (``Σ_k A2_k(ED) × Δ``) × 1.05 g/mL.
4. **AHA 16 segments** (:func:`aha_segments`): the LV slices are split into thirds from base to
   apex (``numpy.array_split``: with 10 slices 4 basal, 3 mid, 3 apical); the base is the end with
   the larger ED cavity (the sign of a straight-line fit of ED cavity area against slice number).
   Basal and mid rings take the six sectors as they are (the crops put the RV at 9 o'clock, so
   the septum's two segments lie between the RV insertions, ±60° of the RV direction); the
   apical ring's four 90° segments are the six 60° sectors weighted by their overlap
   (:data:`APICAL_WEIGHTS`). Wall thickness at ED and ES per segment is the mean over the level's
   slices; thickening = 100 (WT_ES − WT_ED) / WT_ED.
5. **Body surface area** (Mosteller: ``sqrt(height_cm × weight_kg / 3600)`` m²) when height and
   weight are given: volumes and mass indexed by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InputError, LocalisationError
from ..indices import Indices
from .localise import LVLocation, longest_lv_run, stack_rv_trend
from .phase import PhaseResult, phase_from_curve
from .predict import Ensemble

#: Where EDV, ESV, SV, EF and mass come from when the border network is there: its masks. Chosen on the
#: 12 ACDC training patients neither it nor the localiser's recipe 2 trained on (each measured by the
#: regression network whose folds did not hold it), see docs/RESULTS.md, "The whole heart".
FUNCTION_SOURCE = "border network's masks"
#: Myocardial density, g/mL.
MYOCARDIUM_DENSITY_G_PER_ML = 1.05
#: AHA segment numbers, names and the sector of RWT1..RWT6 (IS, I, IL, AL, A, AS) each basal or
#: mid segment takes (AHA order: anterior, anteroseptal, inferoseptal, inferior, inferolateral,
#: anterolateral).
RING_NAMES: tuple[str, ...] = ("anterior", "anteroseptal", "inferoseptal", "inferior", "inferolateral",
                               "anterolateral")
RING_SECTORS: tuple[int, ...] = (4, 5, 0, 1, 2, 3)
#: Apical segments 13-16 (anterior 315-45°, septal 225-315°, inferior 135-225°, lateral 45-135°,
#: clockwise from 12 o'clock with the RV at 270°) as overlap weights of the six 60° sectors
#: IS 210-270, I 150-210, IL 90-150, AL 30-90, A 330-30, AS 270-330.
APICAL_NAMES: tuple[str, ...] = ("anterior", "septal", "inferior", "lateral")
APICAL_WEIGHTS: np.ndarray = np.array([
    [0, 0, 0, 1 / 6, 2 / 3, 1 / 6],
    [1 / 2, 0, 0, 0, 0, 1 / 2],
    [1 / 6, 2 / 3, 1 / 6, 0, 0, 0],
    [0, 0, 1 / 2, 1 / 2, 0, 0],
])
#: Levels of the AHA model, base to apex.
LEVELS: tuple[str, ...] = ("basal", "mid", "apical")
#: Fewest LV slices for volumes (and for the three AHA levels).
MIN_LV_SLICES = 3
#: The timing check: ED or ES of the regressed volume curve more than this fraction of the cycle
#: (2 frames of 20) from those of the analysed slice's border masks gets a warning.
TIMING_TOLERANCE_CYCLE = 0.1
#: ... unless the masks' cavity changes by at most this fraction of its largest area over the cycle.
TIMING_FLAT_FRACTION = 0.02
#: Slice spacings accepted, mm.
SLICE_SPACING_RANGE_MM = (0.5, 30.0)
#: Accepted body height (cm) and weight (kg).
HEIGHT_RANGE_CM = (30.0, 272.0)
WEIGHT_RANGE_KG = (1.0, 650.0)


@dataclass(frozen=True)
class SliceMeasure:
    """The networks' prediction on one slice of the stack.

    Attributes:
        index: slice number in the stack's order.
        position_mm: position along the slice normal, mm.
        indices: :class:`Indices`, batch (T,): per frame of the frames measured (the M-frame
            cycle in an analysis), mm / mm².
        spread: (T, 11) ensemble standard deviation.
        crop: centre (row, col) px, side mm, pixel mm, RV angle, passes, how it was located.
        crops: (T, P, P) the normalised crops the networks read.
        labels: (2, P, P) the border network's label maps at the stack's ED and ES (set by
            :func:`add_borders`), or None.
        mask_indices: :class:`Indices` batch (2,): the indices measured on those maps, or None.
    """

    index: int
    position_mm: float
    indices: Indices
    spread: np.ndarray
    crop: dict[str, Any]
    crops: np.ndarray
    labels: np.ndarray | None = None
    mask_indices: Indices | None = None


@dataclass
class WholeHeart:
    """The whole stack's measurements.

    Attributes:
        slices: the measured LV slices, base and apex in stack order.
        lv_slices: their indices; ``excluded``: slice -> why it was not measured.
        slice_spacing_mm: Δ of the disc summation, mm.
        volume_ml, myocardial_volume_ml: (T,) per source frame.
        ed_frame, es_frame: source frames of the volume curve's ED and ES.
        phase_result: the phase rule on the M-frame volume curve.
        function: EDV, ESV, SV (mL), EF (%), LV mass (g), indexed values when BSA is known, and
            their ``source``: the border network's masks when it ran (with ``regressed``: the same
            from the regressed areas), else the regressed areas.
        aha: the 16 segments (number, level, name, ED/ES wall thickness mm, thickening %),
            with the slices of each level.
        method: how each figure was computed, one sentence each.
        warnings: what the reader should know.
    """

    slices: list[SliceMeasure]
    lv_slices: list[int]
    excluded: dict[int, str]
    slice_spacing_mm: float
    volume_ml: np.ndarray
    myocardial_volume_ml: np.ndarray
    ed_frame: int
    es_frame: int
    phase_result: PhaseResult | None
    function: dict[str, Any]
    aha: dict[str, Any]
    method: dict[str, str]
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ slices


def lv_slices(locs: list[LVLocation | None], trend: bool = True
              ) -> tuple[list[int], dict[int, str], list[LVLocation]]:
    """The slices to measure and where: the longest run of LV slices, gaps filled, the RV direction of
    each from the stack's trend.

    Args:
        locs: the localiser's per-slice locations (None: no LV found), in stack order.
        trend: replace each slice's RV direction by the stack's robust linear trend
            (:func:`~lvquant.analysis.localise.stack_rv_trend`, over the run's slices).

    Returns:
        (slices, excluded, locations): the run's slices; slice -> reason for the others;
        one location per measured slice (a bridged gap gets the mean of its neighbours'
        centres, radii and RV directions).

    Raises:
        LocalisationError: no slice holds the LV.
    """
    run = longest_lv_run(locs)
    excluded = {}
    for s, loc in enumerate(locs):
        if s in run:
            continue
        excluded[s] = ("the localiser found no LV" if loc is None else
                       "the LV found here is separated from the stack's LV by two or more slices without it")
    located = []
    for s in run:
        loc = locs[s]
        if loc is None:  # a bridged gap: both neighbours hold the LV
            a, b = locs[s - 1], locs[s + 1]
            ang = np.radians([a.rv_angle_deg, b.rv_angle_deg])
            loc = replace(
                a, centre_px=tuple((np.asarray(a.centre_px) + np.asarray(b.centre_px)) / 2.0),
                epi_radius_px=(a.epi_radius_px + b.epi_radius_px) / 2.0,
                cavity_radius_px=(a.cavity_radius_px + b.cavity_radius_px) / 2.0,
                rv_angle_deg=float(np.degrees(np.arctan2(np.sin(ang).sum(), np.cos(ang).sum())) % 360.0),
                score=0.0, method="between two slices holding the LV: their mean location")
        located.append(loc)
    if trend:
        located = stack_rv_trend(located)
    return run, excluded, located


def measure_slices(frames: np.ndarray, spacing: tuple[float, float], positions_mm: np.ndarray,
                   slices: list[int], locations: list[LVLocation], ensemble: Ensemble,
                   done: dict[int, SliceMeasure] | None = None) -> list[SliceMeasure]:
    """The networks on each listed slice, cropped by the spec's rule at its location.

    The rule's first guess of each slice's crop side is the localiser's radius, scaled by how far
    the localiser's radius was from the rule's final side on an anchor slice: the slices in
    ``done`` (the analysis's mid slice), else the run's middle slice, measured first. The
    localiser's radii are then used for the slices' relative sizes only, and fewer slices need the
    rule's second pass.

    Args:
        frames: (S, T, H, W) the frames to measure per slice (the resampled cycles in an
            analysis; ED and ES for ACDC).
        spacing: (row, col) pixel spacing, mm.
        positions_mm: (S,) slice positions, mm.
        slices, locations: from :func:`lv_slices`.
        done: slices already measured (the analysis's mid slice), reused as they are.
    """
    done = dict(done or {})
    loc_of = dict(zip(slices, locations))
    if not any(s in loc_of for s in done):
        anchor = slices[len(slices) // 2]
        done.update(_cut_slices(frames, spacing, positions_mm, [(anchor, loc_of[anchor])], ensemble, 1.0))
    ratios = [done[s].crop["side_mm"] / _localiser_side(loc_of[s], spacing, ensemble) for s in done if s in loc_of]
    todo = [(s, loc) for s, loc in zip(slices, locations) if s not in done]
    done.update(_cut_slices(frames, spacing, positions_mm, todo, ensemble, float(np.median(ratios))))
    return [done[s] for s in slices]


def measurable_frames(indices: Indices) -> np.ndarray:
    """(T,) whether each frame's prediction is a measurement: all 11 values finite and positive."""
    values = indices.to_array().reshape(-1, 11)
    return np.all(np.isfinite(values) & (values > 0), axis=1)


def measurable(indices: Indices) -> bool:
    """Whether a slice's prediction is a measurement in every frame (:func:`measurable_frames`)."""
    return bool(measurable_frames(indices).all())


def interior_gaps(held: np.ndarray) -> np.ndarray:
    """Which slice-frames lie between two slices that hold a measurable LV but hold none themselves.

    Args:
        held: (S, F) bool, the slices in stack order, whether each slice holds a measurable LV at
            each of F frames (by its border masks, or by the networks' prediction).

    Returns:
        (S, F) bool: True where a slice holds none while a slice on each side of it (at the same
        frame) does. A cavity can vanish at the apex (the cap, an ES cavity obliterated) or above
        the base, never between two slices that hold one, so these are misses of the measurement.
    """
    held = np.asarray(held, dtype=bool)
    out = np.zeros_like(held)
    for f in range(held.shape[1]):
        rows = np.flatnonzero(held[:, f])
        if rows.size:
            out[rows[0]:rows[-1] + 1, f] = ~held[rows[0]:rows[-1] + 1, f]
    return out


def raise_ed_below_es(cavity_mm2: np.ndarray, base_is_first: bool) -> tuple[np.ndarray, np.ndarray]:
    """Raise the ED cavity of slices measured smaller at ED than at ES, where that cannot be.

    ED is the frame of the largest cavity, and every slice between the apex and the base holds
    more cavity at ED than at ES. The basal slice does too: at ES the base has moved toward the
    apex, so the plane cuts the contracted ventricle nearer the valve, or the atrium above it,
    where the LV holds none. Only the apical end can hold less at ED than at ES (a small cap
    that the apex's motion moves into and out of the plane). So a slice other than the apical
    end whose ED cavity is below its ES one was drawn wrong at ED (the border network painting
    cavity as wall, seen on phantom hearts whose wall is nearly as bright as the blood); its ED
    cavity becomes its ES cavity × the median ED/ES ratio of the other slices looked at (1 when
    there are none). On the 12 ACDC validation patients no slice qualified.

    Args:
        cavity_mm2: (S, 2) cavity areas at ED and ES, mm², the slices in stack order; 0 where a
            slice holds no LV.
        base_is_first: whether the first slice is the basal end (:func:`base_first`).

    Returns:
        (cavity, raised): the (S, 2) areas with those ED cavities raised, and (S,) bool which
        were. Only slices holding LV at both frames are looked at, and none when fewer than
        three do.
    """
    cav = np.array(cavity_mm2, dtype=np.float64)
    both = np.flatnonzero((cav[:, 0] > 0) & (cav[:, 1] > 0))
    raised = np.zeros(len(cav), dtype=bool)
    if both.size < 3:
        return cav, raised
    apex = both[-1] if base_is_first else both[0]
    looked = np.zeros(len(cav), dtype=bool)
    looked[both] = True
    looked[apex] = False
    raised = looked & (cav[:, 0] < cav[:, 1])
    fine = looked & ~raised
    ratio = float(np.median(cav[fine, 0] / cav[fine, 1])) if fine.any() else 1.0
    cav[raised, 0] = cav[raised, 1] * ratio
    return cav, raised


def drop_unmeasurable_ends(measured: list[SliceMeasure], excluded: dict[int, str], keep: int | None = None
                           ) -> tuple[list[SliceMeasure], dict[int, str]]:
    """Leave out the slices at either end of the run (toward the apex or the base) whose prediction is
    no measurement (:func:`measurable`: a closed apical cavity predicted at or below 0, say), each with
    its reason in ``excluded``.

    Args:
        measured: :func:`measure_slices`' result, in stack order.
        excluded: slice -> reason, as :func:`lv_slices` gives it (a copy is returned).
        keep: a slice never to leave out (the analysed one, checked on its own).

    Raises:
        LocalisationError: a slice inside the run is no measurement (the volumes would have a hole).
    """
    ok = np.array([measurable(m.indices) or m.index == keep for m in measured], dtype=bool)
    inner = [m.index for m, gap in zip(measured, interior_gaps(ok[:, None])[:, 0]) if gap]
    if inner:
        raise LocalisationError(
            f"the networks' prediction is not a measurement on slice(s) {', '.join(map(str, inner))} inside the stack's "
            "LV slices (a non-positive or non-finite area, dimension or wall thickness), so the volumes cannot be "
            "summed; check those slices with --slice")
    out, kept = dict(excluded), []
    for m, good in zip(measured, ok):
        if good:
            kept.append(m)
        else:  # none inside the run, so these are its ends
            out[m.index] = ("at the end of the LV slices, the networks' prediction is not a measurement here (a "
                            "non-positive or non-finite area, dimension or wall thickness): a cavity closing at the "
                            "apex or a slice beyond the LV")
    return kept, out


def _localiser_side(loc: LVLocation, spacing: tuple[float, float], ensemble: Ensemble) -> float:
    """The crop side (mm) the spec's rule would cut around the localiser's epicardial radius."""
    return ensemble.spec.crop_side_from_radius(loc.epi_radius_px * float(np.sqrt(spacing[0] * spacing[1])))


def _cut_slices(frames: np.ndarray, spacing: tuple[float, float], positions_mm: np.ndarray,
                todo: list[tuple[int, LVLocation]], ensemble: Ensemble, side_scale: float) -> dict[int, SliceMeasure]:
    """:func:`measure_slices` of the listed (slice, location) pairs, the first guesses × ``side_scale``."""
    from .pipeline import CropJob, crop_by_rule_many, rule_crop_info

    jobs = [CropJob(frames[s], loc.centre_px, side_scale * _localiser_side(loc, spacing, ensemble), loc.rv_angle_deg)
            for s, loc in todo]
    return {s: SliceMeasure(s, float(positions_mm[s]), c.prediction.mean, c.prediction.spread.to_array(),
                            rule_crop_info(c, loc, ensemble.spec, rv_source="estimated"), c.crops)
            for (s, loc), c in zip(todo, crop_by_rule_many(jobs, spacing, ensemble))}


# ------------------------------------------------------------------------------------------ volumes


def slice_spacing_mm(positions_mm: np.ndarray, slices: list[int]) -> float:
    """Δ: the median distance between adjacent measured slices' positions, mm.

    Raises:
        InputError: fewer than two slices, or a spacing outside :data:`SLICE_SPACING_RANGE_MM`
            (slices at one position, positions unknown).
    """
    if len(slices) < 2:
        raise InputError("volumes need at least two slices")
    pos = np.asarray(positions_mm, dtype=np.float64)[list(slices)]
    gap = float(np.median(np.abs(np.diff(pos))))
    lo, hi = SLICE_SPACING_RANGE_MM
    if not (np.isfinite(gap) and lo <= gap <= hi):
        raise InputError(f"the slices' positions are {gap:g} mm apart; volumes need a slice spacing of {lo:g} to "
                         f"{hi:g} mm (are the slice positions known?)")
    return gap


def disc_volumes_ml(areas_mm2: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Disc summation: (S, T) areas, mm², and the slice spacing, mm -> (T,) volumes, mL."""
    a = np.asarray(areas_mm2, dtype=np.float64)
    return a.sum(axis=0) * float(spacing_mm) / 1000.0


def body_surface_area_m2(height_cm: float, weight_kg: float) -> float:
    """Mosteller's body surface area, m².

    Raises:
        InputError: a height or weight outside :data:`HEIGHT_RANGE_CM` / :data:`WEIGHT_RANGE_KG`.
    """
    for value, (lo, hi), what, unit in ((height_cm, HEIGHT_RANGE_CM, "height", "cm"),
                                        (weight_kg, WEIGHT_RANGE_KG, "weight", "kg")):
        if not (isinstance(value, (int, float)) and np.isfinite(value) and lo <= value <= hi):
            raise InputError(f"the {what} must be between {lo:g} and {hi:g} {unit}; got {value!r}")
    return float(np.sqrt(float(height_cm) * float(weight_kg) / 3600.0))


def function_figures(volume_ml: np.ndarray, myo_volume_ml: np.ndarray, ed: int, es: int,
                     bsa_m2: float | None = None) -> dict[str, Any]:
    """EDV, ESV, SV (mL), EF (%), LV mass (g) at the given ED / ES frames, indexed by BSA if known."""
    edv, esv = float(volume_ml[ed]), float(volume_ml[es])
    out: dict[str, Any] = {
        "edv_ml": edv, "esv_ml": esv, "sv_ml": edv - esv,
        "ef_percent": float(100.0 * (edv - esv) / edv) if edv > 0 else float("nan"),
        "lv_mass_g": float(myo_volume_ml[ed] * MYOCARDIUM_DENSITY_G_PER_ML),
        "bsa_m2": bsa_m2,
    }
    if bsa_m2:
        for key in ("edv_ml", "esv_ml", "sv_ml"):
            out[key.replace("_ml", "i_ml_per_m2")] = out[key] / bsa_m2
        out["lv_mass_index_g_per_m2"] = out["lv_mass_g"] / bsa_m2
    return out


# ------------------------------------------------------------------------------------------ AHA


def base_first(ed_cavity_mm2: np.ndarray) -> bool:
    """Whether the first of the LV slices (stack order) is the base: the ED cavity shrinks toward
    the apex, so a straight-line fit of it against slice number falls from the base."""
    a = np.asarray(ed_cavity_mm2, dtype=np.float64)
    if a.size < 2:
        return True
    slope = np.polyfit(np.arange(a.size, dtype=np.float64), a, 1)[0]
    return bool(slope <= 0)


def aha_segments(rwt_ed: np.ndarray, rwt_es: np.ndarray, slices: list[int], ed_cavity_mm2: np.ndarray
                 ) -> dict[str, Any]:
    """The AHA 16-segment wall thickness and thickening.

    Args:
        rwt_ed, rwt_es: (S, 6) wall thickness of the six sectors (IS, I, IL, AL, A, AS) of each LV
            slice at ED and ES, mm, in stack order.
        slices: the slices' numbers in the stack.
        ed_cavity_mm2: (S,) their ED cavity areas (to tell base from apex).

    Returns:
        ``segments``: 16 dicts (``number`` 1-16, ``level``, ``name``, ``ed_thickness_mm``,
        ``es_thickness_mm``, ``thickening_percent``); ``levels``: level -> slice numbers;
        ``base_first_in_stack``.

    Raises:
        InputError: fewer than :data:`MIN_LV_SLICES` slices.
    """
    ed, es = np.asarray(rwt_ed, dtype=np.float64), np.asarray(rwt_es, dtype=np.float64)
    if ed.shape[0] < MIN_LV_SLICES:
        raise InputError(f"the AHA segments need at least {MIN_LV_SLICES} slices holding the LV; got {ed.shape[0]}")
    order = np.arange(ed.shape[0])
    first_is_base = base_first(ed_cavity_mm2)
    if not first_is_base:
        order = order[::-1]
    thirds = np.array_split(order, 3)
    segments = []
    number = 1
    for level, rows in zip(LEVELS, thirds):
        wt_ed, wt_es = ed[rows].mean(0), es[rows].mean(0)
        if level == "apical":
            wt_ed, wt_es, names = APICAL_WEIGHTS @ wt_ed, APICAL_WEIGHTS @ wt_es, APICAL_NAMES
        else:
            wt_ed, wt_es, names = wt_ed[list(RING_SECTORS)], wt_es[list(RING_SECTORS)], RING_NAMES
        for name, a, b in zip(names, wt_ed, wt_es):
            segments.append({"number": number, "level": level, "name": name, "ed_thickness_mm": float(a),
                             "es_thickness_mm": float(b),
                             "thickening_percent": float(100.0 * (b - a) / a) if a > 0 else float("nan")})
            number += 1
    levels = {level: [int(slices[i]) for i in rows] for level, rows in zip(LEVELS, thirds)}
    return {"segments": segments, "levels": levels, "base_first_in_stack": first_is_base}


# ------------------------------------------------------------------------------------------ together


def add_borders(measured: list[SliceMeasure], borders: Any, ed: int, es: int,
                drawn: dict[int, np.ndarray] | None = None) -> list[SliceMeasure]:
    """Each slice with the border network's label maps and mask-measured indices at frames ``ed``, ``es``
    (of the frames measured). ``drawn``: slice -> label maps of every measured frame already drawn
    (the analysed slice's), taken as they are."""
    from .borders import mask_indices

    drawn = drawn or {}
    todo = [m for m in measured if m.index not in drawn]
    new = borders.labels(np.concatenate([m.crops[[ed, es]] for m in todo])) if todo else None  # one ONNX call
    labels = {m.index: new[2 * i:2 * i + 2] for i, m in enumerate(todo)}
    labels.update({s: maps[[ed, es]] for s, maps in drawn.items()})
    return [replace(m, labels=labels[m.index], mask_indices=mask_indices(labels[m.index], float(m.crop["pixel_mm"])))
            for m in measured]


def mask_function(measured: list[SliceMeasure], gap_mm: float, bsa_m2: float | None, ed: int, es: int,
                  base_is_first: bool) -> dict[str, Any]:
    """EDV, ESV, SV, EF and mass from the border network's masks (disc summation), how many slices'
    ED or ES masks hold no LV, and (``regressed_where_masks_hold_lv``) the regressed figures with
    those slice-frames counted 0.

    A slice whose masks hold no LV counts 0 at the ends of the stack (the apical cap, a cavity
    obliterated at ES, above the base); between two slices whose masks hold LV it takes its
    regressed areas instead (:func:`interior_gaps`; ``slices_filled_from_regression`` lists those slices'
    numbers at ED and ES). A slice whose masks hold LV at both frames, other than the apical end of
    those, whose ED cavity is below its ES one has its ED cavity raised (:func:`raise_ed_below_es`;
    ``slices_ed_cavity_raised``); ``base_is_first``: whether the first slice is the base, the AHA
    levels' decision (:func:`aha_segments`' ``base_first_in_stack``).
    """
    a1 = np.stack([np.nan_to_num(np.asarray(m.mask_indices.cavity_area_mm2)) for m in measured])  # (S, 2)
    a2 = np.stack([np.nan_to_num(np.asarray(m.mask_indices.myocardium_area_mm2)) for m in measured])
    held = a1 > 0
    r1 = np.stack([np.asarray(m.indices.cavity_area_mm2)[[ed, es]] for m in measured])
    r2 = np.stack([np.asarray(m.indices.myocardium_area_mm2)[[ed, es]] for m in measured])
    gaps = interior_gaps(held)
    cavity, raised = raise_ed_below_es(a1, base_is_first)  # the masks' areas: a filled gap is no reference
    out = function_figures(disc_volumes_ml(np.where(gaps, r1, cavity), gap_mm),
                           disc_volumes_ml(np.where(gaps, r2, a2), gap_mm), 0, 1, bsa_m2)
    out["slices_without_lv_mask"] = {"ed": int((~held[:, 0]).sum()), "es": int((~held[:, 1]).sum())}
    numbers = np.array([m.index for m in measured])
    out["slices_filled_from_regression"] = {"ed": numbers[gaps[:, 0]].tolist(), "es": numbers[gaps[:, 1]].tolist()}
    out["slices_ed_cavity_raised"] = numbers[raised].tolist()
    out["regressed_where_masks_hold_lv"] = function_figures(disc_volumes_ml(r1 * held, gap_mm),
                                                            disc_volumes_ml(r2 * held, gap_mm), 0, 1, bsa_m2)
    return out


def combine(measured: list[SliceMeasure], excluded: dict[int, str], positions_mm: np.ndarray, *,
            ed: int | None = None, es: int | None = None, phase_method: str = "poly",
            to_source: Any = None, bsa_m2: float | None = None, borders: Any = None,
            drawn: dict[int, np.ndarray] | None = None) -> WholeHeart:
    """Volumes, function and AHA segments from the measured slices.

    Args:
        measured: :func:`measure_slices`' result (at least :data:`MIN_LV_SLICES`).
        excluded: slice -> reason it was not measured.
        positions_mm: (S,) every slice's position, mm.
        ed, es: the frames of ED and ES when known (ACDC); default: from the volume curve by
            the phase rule (``phase_method``).
        to_source: maps (M, ...) cycle values to the source frames and cycle frames to source
            frames (the analysis's resampling); None when the frames are the source frames.
        bsa_m2: body surface area, for indexed values.
        borders: a :class:`~lvquant.analysis.borders.BorderModel`: every slice's ED and ES
            crops are also drawn by it, and the function figures are measured on its masks
            (``function["regressed"]`` keeps those of the regressed areas).
        drawn: slice -> its label maps of every measured frame, already drawn by ``borders``.

    Raises:
        InputError: fewer than :data:`MIN_LV_SLICES` LV slices, or no usable slice spacing.
    """
    slices = [m.index for m in measured]
    if len(slices) < MIN_LV_SLICES:
        raise InputError(f"volumes need at least {MIN_LV_SLICES} slices holding the LV; the localiser found it in "
                         f"{len(slices)}")
    gap = slice_spacing_mm(positions_mm, slices)
    a1 = np.stack([m.indices.cavity_area_mm2 for m in measured])
    a2 = np.stack([m.indices.myocardium_area_mm2 for m in measured])
    vol, myo = disc_volumes_ml(a1, gap), disc_volumes_ml(a2, gap)
    ph = None
    if ed is None or es is None:
        ph = phase_from_curve(vol, method=phase_method)
        ed_c, es_c = ph.ed_frame, ph.es_frame
    else:
        ed_c, es_c = int(ed), int(es)
    if borders is not None:
        measured = add_borders(measured, borders, ed_c, es_c, drawn)
    rwt = np.stack([m.indices.rwt_mm for m in measured])  # (S, T, 6)
    aha = aha_segments(rwt[:, ed_c], rwt[:, es_c], slices, a1[:, ed_c])
    at_source = to_source.frame if to_source is not None else int  # cycle frame -> source frame
    if to_source is not None:
        vol, myo = to_source.values(vol), to_source.values(myo)
    ed_s, es_s = at_source(ed_c), at_source(es_c)
    regressed = function_figures(vol, myo, ed_s, es_s, bsa_m2)
    if borders is not None:  # chosen on validation patients: see FUNCTION_SOURCE
        func = {**mask_function(measured, gap, bsa_m2, ed_c, es_c, aha["base_first_in_stack"]),
                "source": FUNCTION_SOURCE, "regressed": regressed}
    else:
        func = {**regressed, "source": "regressed areas"}
    method = {
        "lv_slices": "the localiser's decision per slice (peak probability above its threshold), the longest run of "
                     "consecutive slices (gaps of one slice bridged and measured at their neighbours' mean location)",
        "volumes": f"disc summation (Simpson's rule): V = sum of the slices' cavity areas x {gap:.2f} mm, the median "
                   "distance between adjacent slice positions; "
                   + ("EDV, ESV and mass from the border network's masks at ED and ES (a slice whose masks hold no LV "
                      "counts 0 at the ends of the stack and takes its regressed areas between two slices whose masks "
                      "hold LV; a slice other than the apical one drawn with less cavity at ED than at ES has its ED "
                      "cavity raised to its ES cavity x the other slices' median ED/ES ratio), the volume curve from "
                      "the regressed areas" if borders is not None else
                      "from the regressed areas"),
        "ed_es": ("the volume curve's highest and lowest frame, by the method's polynomial rule" if ph is not None
                  else "given"),
        "lv_mass": f"myocardial volume at ED x {MYOCARDIUM_DENSITY_G_PER_ML} g/mL",
        "aha": "LV slices in thirds from base to apex (numpy.array_split; the base is the end with the larger ED "
               "cavity); six sectors per basal and mid slice, the apical four by overlap of the six; oriented by the "
               "RV direction, its insertions taken at +-60 degrees",
        "bsa": "Mosteller: sqrt(height cm x weight kg / 3600)" if bsa_m2 else "not given (--height, --weight)",
    }
    warnings = []
    if func.get("slices_ed_cavity_raised"):
        warnings.append(f"the border network drew slice(s) {', '.join(map(str, func['slices_ed_cavity_raised']))} "
                        "with less cavity at ED than at ES, which only the apical slice can hold: their ED cavity was "
                        "taken as their ES cavity x the other slices' median ED/ES ratio; check their borders")
    filled = func.get("slices_filled_from_regression", {})
    for phase in ("ed", "es"):
        if filled.get(phase):
            warnings.append(f"the border network drew no LV on slice(s) {', '.join(map(str, filled[phase]))} at "
                            f"{phase.upper()}, between slices where it did: their regressed areas were used there; "
                            "check their borders")
    if len(slices) < 6:
        warnings.append(f"only {len(slices)} slices hold the LV: a base-to-apex stack usually has 8 or more, so the "
                        "volumes may miss part of the ventricle")
    if ph is not None and drawn:
        check = timing_check(ed_c, es_c, drawn, phase_method)
        func["timing_check"] = {"masks_ed_frame": int(at_source(check["ed"])),
                                "masks_es_frame": int(at_source(check["es"])), "agrees": check["agrees"]}
        if not check["agrees"]:
            warnings.append(
                f"the regressed volume curve puts ED and ES at frames {ed_s} and {es_s}, the analysed slice's border "
                f"masks at {func['timing_check']['masks_ed_frame']} and {func['timing_check']['masks_es_frame']}: the "
                "timing, and so EDV, ESV and EF, may be wrong; check volume.png")
    return WholeHeart(slices=measured, lv_slices=slices, excluded=dict(excluded), slice_spacing_mm=gap,
                      volume_ml=np.asarray(vol), myocardial_volume_ml=np.asarray(myo), ed_frame=int(ed_s),
                      es_frame=int(es_s), phase_result=ph, function=func, aha=aha, method=method, warnings=warnings)


def timing_check(ed: int, es: int, drawn: dict[int, np.ndarray], phase_method: str = "poly") -> dict[str, Any]:
    """ED and ES by the phase rule on the analysed slice's mask cavity areas against the volume curve's.

    Args:
        ed, es: the volume curve's ED and ES (cycle frames).
        drawn: slice -> (T, P, P) label maps of every cycle frame (the analysed slice's).

    Returns:
        ``ed``, ``es``: the masks' frames; ``agrees``: both within :data:`TIMING_TOLERANCE_CYCLE` of
        the cycle (cyclically) of the volume curve's, or the masks too flat to time
        (:data:`TIMING_FLAT_FRACTION`; then True).
    """
    from .borders import CAVITY

    labels = next(iter(drawn.values()))
    n = labels.shape[0]
    cavity = (labels == CAVITY).sum(axis=(1, 2)).astype(np.float64)
    if cavity.max() - cavity.min() <= TIMING_FLAT_FRACTION * cavity.max():  # too flat to time: nothing to say
        return {"ed": ed, "es": es, "agrees": True}
    ph = phase_from_curve(cavity, method=phase_method)

    def apart(a: int, b: int) -> int:
        d = abs(int(a) - int(b)) % n
        return min(d, n - d)

    tol = TIMING_TOLERANCE_CYCLE * n
    return {"ed": ph.ed_frame, "es": ph.es_frame,
            "agrees": apart(ph.ed_frame, ed) <= tol and apart(ph.es_frame, es) <= tol}


def check_enough_slices(locs: list[LVLocation | None]) -> None:
    """Refuse a stack with fewer than :data:`MIN_LV_SLICES` LV slices before any measurement.

    Raises:
        LocalisationError: with the count.
    """
    run = longest_lv_run(locs)
    if len(run) < MIN_LV_SLICES:
        raise LocalisationError(f"the whole heart needs at least {MIN_LV_SLICES} slices holding the LV; the "
                                f"localiser found it in {len(run)} consecutive slice(s)")


__all__ = [
    "WholeHeart", "SliceMeasure", "lv_slices", "measure_slices", "combine", "disc_volumes_ml", "timing_check",
    "measurable", "measurable_frames", "drop_unmeasurable_ends", "interior_gaps", "raise_ed_below_es",
    "slice_spacing_mm", "aha_segments", "body_surface_area_m2", "function_figures", "base_first",
    "check_enough_slices", "APICAL_WEIGHTS", "MYOCARDIUM_DENSITY_G_PER_ML",
]
