"""Labelled full field-of-view stacks → training crops cut by an :class:`~lvquant.analysis.spec.InputSpec`.

The crop of a slice is cut as the analysis cuts it (:func:`lvquant.analysis.convert.crop_rotated`
with the spec's side, scale rule and RV direction), but from the labels instead of the
localiser and the networks' first guess:

* centre: the centroid of the epicardial region (cavity + myocardium) at ED;
* RV direction: from that centre to the centroid of the RV label at ED (degrees clockwise
  from 12 o'clock), turned to the spec's ``rv_angle_deg``; a slice without RV label (near
  the apex) takes the mid slice's direction;
* side: the spec's rule on the ED epicardial area of that slice
  (:meth:`InputSpec.crop_side_mm`). Without an epicardial label (Sunnybrook) the side is what
  the analysis would cut: given an ensemble, :func:`lvquant.analysis.pipeline.crop_by_rule`
  (a first crop at the cavity's diameter plus two walls of :data:`DEFAULT_WALL_MM`, then
  ``crop_scale`` × the ensemble's predicted ED epicardial diameter); without one, that first
  guess alone.

The same crop is used for every frame of the slice (as the analysis uses one crop for the
cycle). The indices are measured by :func:`lvquant.geometry.measure_masks` on the labels
turned the same way, sampled :data:`LABEL_SUPERSAMPLE` times finer than the crop so that the
truth is not rounded to the crop's coarse pixels. A missing label is NaN, never 0:
without a myocardium label A2 and the six RWT are NaN; without any RV label the direction
is unknown: the stack is refused unless ``rv_angle_deg`` is given, and then the three
dimensions (measured along directions set by the RV) are NaN too.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np
from scipy import ndimage as ndi

from ..analysis.convert import crop_rotated
from ..analysis.spec import InputSpec
from ..errors import InputError
from ..geometry import measure_masks
from ..spacing import check_pixel_spacing

#: Wall thickness (mm) assumed for the crop side when a slice has no epicardial label.
DEFAULT_WALL_MM = 9.0
#: The labels are turned and measured on a grid this many times finer than the crop.
LABEL_SUPERSAMPLE = 4


@dataclass(frozen=True)
class LabelledStack:
    """One patient's labelled short-axis stack at a few frames (e.g. ED and ES), full field of view.

    Attributes:
        subject: patient name (from the data set, never from a DICOM header).
        source: where it comes from (``"acdc"``, ``"sunnybrook"``...).
        group: pathology group, or ``""``.
        images: (F, S, H, W) float32 frames × slices, any intensity scale.
        cavity: (F, S, H, W) bool LV cavity (papillary muscles and trabeculations included).
        myocardium: (F, S, H, W) bool LV myocardium, or None when not labelled.
        rv: (F, S, H, W) bool RV cavity, or None when not labelled.
        spacing_mm: in-plane pixel spacing (row, column), mm.
        frame_names: a name per frame, e.g. ``("ED", "ES")``; the first must be ED.
        phase: (F,) 1 systole, 0 diastole of each frame.
        cavity_edge_px: how far (input pixels) the cavity mask reaches beyond the contour the
            expert drew, when the mask was filled from a contour with every pixel it touches
            (0 for label maps, the usual case); the builder takes it back before measuring.
    """

    subject: str
    source: str
    group: str
    images: np.ndarray
    cavity: np.ndarray
    myocardium: np.ndarray | None
    rv: np.ndarray | None
    spacing_mm: tuple[float, float]
    frame_names: tuple[str, ...]
    phase: np.ndarray
    cavity_edge_px: float = 0.0

    def __post_init__(self) -> None:
        where = f"{self.source} {self.subject}"
        images = np.asarray(self.images)
        if images.ndim != 4 or 0 in images.shape:
            raise InputError(f"{where}: images must be (frames, slices, rows, columns); got shape {images.shape}")
        if not np.all(np.isfinite(images)):
            raise InputError(f"{where}: the images contain NaN or infinite values")
        for name in ("cavity", "myocardium", "rv"):
            m = getattr(self, name)
            if m is None:
                if name == "cavity":
                    raise InputError(f"{where}: an LV cavity label is needed")
                continue
            if np.shape(m) != images.shape:
                raise InputError(f"{where}: the {name} label has shape {np.shape(m)}, the images {images.shape}")
            object.__setattr__(self, name, np.asarray(m, dtype=bool))
        if len(self.frame_names) != images.shape[0] or np.shape(self.phase) != (images.shape[0],):
            raise InputError(f"{where}: one frame name and one phase per frame are needed")
        object.__setattr__(self, "images", images.astype(np.float32, copy=False))
        object.__setattr__(self, "spacing_mm", check_pixel_spacing(self.spacing_mm, what=f"{where}: pixel spacing"))
        object.__setattr__(self, "phase", np.asarray(self.phase, dtype=np.int64))
        if not (isinstance(self.cavity_edge_px, (int, float)) and 0.0 <= float(self.cavity_edge_px) <= 2.0):
            raise InputError(f"{where}: cavity_edge_px must be between 0 and 2 pixels")

    @property
    def n_slices(self) -> int:
        return int(self.images.shape[1])


@dataclass(frozen=True)
class CropSet:
    """Labelled crops, one row per (patient, slice), every frame of the slice.

    Attributes:
        images: (N, F, P, P) float32 raw crops (intensity not normalised: training
            augments them first, then normalises as the spec says).
        indices: (N, F, 11) true indices in mm / mm², NaN where a label is missing.
        pixel_mm: (N,) crop pixel size, mm (crop side = P × pixel_mm).
        phase: (N, F) 1 systole, 0 diastole.
        subjects, sources, groups: per row.
        slices: (N,) slice number in the patient's stack.
        mid: (N,) whether the row is the patient's mid-ventricular slice.
        spec: the input spec the crops were cut with.
    """

    images: np.ndarray
    indices: np.ndarray
    pixel_mm: np.ndarray
    phase: np.ndarray
    subjects: tuple[str, ...]
    sources: tuple[str, ...]
    groups: tuple[str, ...]
    slices: np.ndarray
    mid: np.ndarray
    spec: InputSpec

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @classmethod
    def concatenate(cls, parts: Sequence["CropSet"]) -> "CropSet":
        """One set of several (cut with the same spec and frame count)."""
        return join_rows(cls, parts)


def join_rows(cls: type, parts: Sequence) -> Any:
    """One row set of several of the dataclass ``cls`` (:class:`CropSet`, ``MaskSet``): every array field
    concatenated, every tuple field joined, ``spec`` kept (all parts must share it and the frame count).

    Raises:
        InputError: no rows, or parts cut with other specs or frame counts.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        raise InputError("no crops to join")
    if any(p.spec != parts[0].spec or p.images.shape[1:] != parts[0].images.shape[1:] for p in parts):
        raise InputError("crop sets cut with other specs or frame counts cannot be joined")
    return cls(**{f.name: _rows(f.name, [getattr(p, f.name) for p in parts]) for f in fields(cls)})


def take_rows(rows: Any, keep: np.ndarray) -> Any:
    """The rows of a row set (:func:`join_rows`) where the boolean ``keep`` (N,) is True."""
    keep = np.asarray(keep, dtype=bool)
    return type(rows)(**{f.name: _rows(f.name, [getattr(rows, f.name)], keep) for f in fields(rows)})


def _rows(name: str, values: list, keep: np.ndarray | None = None) -> Any:
    if name == "spec":
        return values[0]
    if isinstance(values[0], tuple):
        joined = tuple(v for part in values for v in part)
        return joined if keep is None else tuple(v for v, k in zip(joined, keep) if k)
    joined = np.concatenate(values)
    return joined if keep is None else joined[keep]


def ring_slices(stack: LabelledStack) -> list[int]:
    """Slices whose myocardium is a closed ring around the cavity in every frame.

    A ring is closed when filling the myocardium's holes covers the whole cavity (no cavity
    pixel touches the outside: not a basal slice open to the outflow tract, not beyond the
    apex). Without a myocardium label: the slices with a cavity in every frame.
    """
    out = []
    for s in range(stack.n_slices):
        ok = True
        for f in range(stack.images.shape[0]):
            cav = stack.cavity[f, s]
            if cav.sum() < 4:
                ok = False
                break
            if stack.myocardium is not None:
                filled = ndi.binary_fill_holes(stack.myocardium[f, s])
                if not np.all(filled[cav]):
                    ok = False
                    break
        if ok:
            out.append(s)
    return out


def mid_ring_slice(stack: LabelledStack) -> int:
    """The mid-ventricular slice: the middle of the longest run of ring slices, ``(first + last) // 2``
    (the analysis's rule on the slices where the LV is found).

    Raises:
        InputError: no slice has the LV labelled as a closed ring.
    """
    rings = ring_slices(stack)
    if not rings:
        raise InputError(f"{stack.source} {stack.subject}: no slice has a labelled LV (a cavity ringed by myocardium)")
    runs: list[list[int]] = [[rings[0]]]
    for s in rings[1:]:
        if s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    run = max(runs, key=len)
    return (run[0] + run[-1]) // 2


def _centroid(mask: np.ndarray) -> tuple[float, float]:
    rr, cc = np.nonzero(mask)
    return float(rr.mean()), float(cc.mean())


def _rv_angle(lv_centre: tuple[float, float], rv: np.ndarray, spacing: tuple[float, float]) -> float:
    """Direction (degrees clockwise from 12 o'clock, physical) from the LV centre to the RV label's centroid."""
    ry, rx = _centroid(rv)
    d_row, d_col = (ry - lv_centre[0]) * spacing[0], (rx - lv_centre[1]) * spacing[1]
    return float(np.degrees(np.arctan2(d_col, -d_row)) % 360.0)


def stack_rv_angle(stack: LabelledStack, mid: int, rv_angle_deg: float | None = None) -> float:
    """The RV direction of the mid slice at ED (from the labels), or ``rv_angle_deg`` without an RV label.

    Raises:
        InputError: no RV label on the mid slice and no ``rv_angle_deg``.
    """
    if stack.rv is not None and stack.rv[0, mid].any():
        mid_epi = stack.cavity[0, mid] | (stack.myocardium[0, mid] if stack.myocardium is not None else False)
        return _rv_angle(_centroid(mid_epi), stack.rv[0, mid], stack.spacing_mm)
    if rv_angle_deg is not None:
        return float(rv_angle_deg) % 360.0
    raise InputError(f"{stack.source} {stack.subject}: no RV label on the mid slice, so the RV direction "
                     "must be given")


def slice_crop_geometry(stack: LabelledStack, s: int, spec: InputSpec, stack_angle: float
                        ) -> tuple[tuple[float, float], float, float]:
    """Where slice ``s`` is cut from its labels: (centre (row, col) px, side mm, RV angle degrees).

    Centre: the centroid of the epicardial region at ED (at the first frame with an LV label
    when ED has none); side: the spec's rule on that area (without an epicardial label: the
    cavity's diameter plus two :data:`DEFAULT_WALL_MM` walls); RV direction: the slice's RV
    label at ED, else ``stack_angle``.
    """
    sp = stack.spacing_mm
    epi = stack.cavity[:, s] | (stack.myocardium[:, s] if stack.myocardium is not None else False)
    f = 0 if epi[0].any() else int(np.argmax(epi.reshape(epi.shape[0], -1).any(1)))
    cav = stack.cavity[f, s]
    centre = _centroid(epi[f])
    px_area = sp[0] * sp[1]
    if stack.myocardium is not None:
        side = spec.crop_side_mm(epi[f].sum() * px_area)
    else:
        d = 2.0 * np.sqrt(cav.sum() * px_area / np.pi) + 2.0 * DEFAULT_WALL_MM
        side = spec.crop_side_mm(np.pi * d * d / 4.0)
    labelled_rv = stack.rv is not None and stack.rv[f, s].any()
    angle = _rv_angle(centre, stack.rv[f, s], sp) if labelled_rv else stack_angle
    return centre, side, angle


def build_crops(stack: LabelledStack, spec: InputSpec, *, slices: str = "mid",
                rv_angle_deg: float | None = None, ensemble=None) -> CropSet:
    """Crops and true indices of a labelled stack, cut by ``spec``.

    Args:
        stack: the patient's labelled stack.
        spec: the input spec (the model's; default crops: ``InputSpec()``).
        slices: ``"mid"`` (the mid-ventricular slice, the LVQuan protocol) or ``"rings"``
            (every slice whose myocardium is a closed ring; see :func:`ring_slices`).
        rv_angle_deg: the RV direction to use when the mid slice has no RV label.
        ensemble: an :class:`~lvquant.analysis.predict.Ensemble` whose prediction sets the crop
            side of slices without an epicardial label, as the analysis does (its spec must be
            ``spec``); None: the cavity-plus-two-walls guess.

    Returns:
        A :class:`CropSet` of one row per slice.

    Raises:
        InputError: no labelled LV, no RV label on the mid slice and no ``rv_angle_deg``, bad ``slices``.
    """
    if slices not in ("mid", "rings"):
        raise InputError(f"slices must be 'mid' or 'rings'; got {slices!r}")
    if ensemble is not None and ensemble.spec != spec:
        raise InputError("the ensemble that sizes the crops must have the spec the crops are cut by")
    mid = mid_ring_slice(stack)
    stack_angle = stack_rv_angle(stack, mid, rv_angle_deg)
    chosen = [mid] if slices == "mid" else ring_slices(stack)
    p, k = spec.crop_pixels, LABEL_SUPERSAMPLE
    images, indices, pixel = [], [], []
    for s in chosen:
        sp = stack.spacing_mm
        centre, side, angle = slice_crop_geometry(stack, s, spec, stack_angle)
        if stack.myocardium is None and ensemble is not None:
            from ..analysis.pipeline import crop_by_rule

            side = crop_by_rule(stack.images[:, s], sp, centre, side, angle, ensemble).side_mm
        crop, pixel_mm = crop_rotated(stack.images[:, s], centre, sp, side, angle, p, spec.rv_angle_deg)

        def turned(mask: np.ndarray) -> np.ndarray:
            fine, _ = crop_rotated(mask.astype(np.float32), centre, sp, side, angle, p * k, spec.rv_angle_deg)
            return fine >= 0.5

        cav = turned(stack.cavity[:, s])
        if stack.cavity_edge_px > 0:  # the mask's edge back onto the drawn contour (sub-pixel, fine grid)
            inset = stack.cavity_edge_px * float(np.sqrt(sp[0] * sp[1])) / (pixel_mm / k)
            cav = np.stack([ndi.distance_transform_edt(c) > inset for c in cav])
        epi = turned(stack.cavity[:, s] | stack.myocardium[:, s]) if stack.myocardium is not None else None
        ind = measure_masks(cav, epi, pixel_mm / k).to_array()
        if stack.rv is None:  # the direction was assumed: the three directed dimensions are not known
            ind[:, 2:5] = np.nan
        images.append(crop)
        indices.append(ind)
        pixel.append(pixel_mm)
    n = len(chosen)
    return CropSet(
        images=np.stack(images).astype(np.float32), indices=np.stack(indices), pixel_mm=np.asarray(pixel),
        phase=np.repeat(stack.phase[None], n, axis=0), subjects=(stack.subject,) * n, sources=(stack.source,) * n,
        groups=(stack.group,) * n, slices=np.asarray(chosen), mid=np.asarray([s == mid for s in chosen]), spec=spec,
    )
