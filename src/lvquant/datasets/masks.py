"""Crops with label maps, for the border network: every slice that holds the LV, cut by the spec.

:func:`lvquant.datasets.builder.build_crops` gives the regression networks their truth (the 11
indices of the ring slices). The border network (:mod:`lvquant.nets.segnet`) learns the label
maps themselves, on every slice where the LV is labelled in some frame (basal slices open to the
outflow tract, apical ones, and the basal slice at ES when the base has moved past it, which then
holds no LV: the network learns to say so). Each slice is cut exactly as the builder cuts it
(:func:`~lvquant.datasets.builder.slice_crop_geometry`: centre, spec's side, RV direction), and the
labels turned the same way.

Label maps per crop pixel: 0 background, 1 LV cavity (papillary muscles and trabeculations
included), 2 LV myocardium: the class covering most of the pixel, from the labels sampled
:data:`~lvquant.datasets.builder.LABEL_SUPERSAMPLE` times finer. Only label sets with a
myocardium label are used (ACDC and label-map pairs).

The file (``save_mask_crops``) is an ``.npz`` of ``images`` (N, F, P, P) float32 raw crops,
``labels`` (N, F, P, P) uint8, ``pixel_mm`` (N,), ``subjects``, ``groups``, ``slices`` (N,), the
spec and the sources' licences. ACDC crops are derived images: keep them outside the repository.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..analysis.convert import crop_rotated
from ..analysis.spec import InputSpec
from ..errors import InputError, ModelError, ReaderError
from ..outputs import write_npz_atomic
from .files import read_npz
from .builder import (LABEL_SUPERSAMPLE, LabelledStack, join_rows, mid_ring_slice, slice_crop_geometry,
                      stack_rv_angle, take_rows)

FORMAT = "lvquant-mask-crops/1"
#: Label values of the maps.
BACKGROUND, CAVITY, MYOCARDIUM = 0, 1, 2


@dataclass(frozen=True)
class MaskSet:
    """Crops and their label maps, one row per (patient, slice).

    Attributes:
        images: (N, F, P, P) float32 raw crops (intensity not normalised).
        labels: (N, F, P, P) uint8: 0 background, 1 cavity, 2 myocardium.
        pixel_mm: (N,) crop pixel size, mm.
        subjects, sources, groups: per row.
        slices: (N,) slice number in the patient's stack.
        spec: the input spec the crops were cut with.
    """

    images: np.ndarray
    labels: np.ndarray
    pixel_mm: np.ndarray
    subjects: tuple[str, ...]
    sources: tuple[str, ...]
    groups: tuple[str, ...]
    slices: np.ndarray
    spec: InputSpec

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @classmethod
    def concatenate(cls, parts: Sequence["MaskSet"]) -> "MaskSet":
        """One set of several (cut with the same spec and frame count)."""
        return join_rows(cls, parts)

    def take(self, keep: np.ndarray) -> "MaskSet":
        """The rows where the boolean ``keep`` (N,) is True."""
        return take_rows(self, keep)


def lv_label_slices(stack: LabelledStack) -> list[int]:
    """Slices with an LV label (cavity or myocardium) in at least one frame."""
    lv = stack.cavity | (stack.myocardium if stack.myocardium is not None else False)
    return [int(s) for s in np.flatnonzero(lv.reshape(lv.shape[0], lv.shape[1], -1).any(-1).any(0))]


def label_map(cavity: np.ndarray, myocardium: np.ndarray, k: int) -> np.ndarray:
    """(F, P·k, P·k) fine bool masks -> (F, P, P) uint8 maps: the class covering most of each pixel."""
    f, n = cavity.shape[0], cavity.shape[1] // k
    def cover(m: np.ndarray) -> np.ndarray:
        return m.reshape(f, n, k, n, k).mean(axis=(2, 4))
    cav, myo = cover(cavity), cover(myocardium & ~cavity)
    fractions = np.stack([1.0 - cav - myo, cav, myo])
    return np.argmax(fractions, axis=0).astype(np.uint8)


def crop_label_maps(cavity: np.ndarray, myocardium: np.ndarray, centre_px, spacing_mm, side_mm: float,
                    angle_deg: float, spec: InputSpec) -> np.ndarray:
    """(F, H, W) cavity and myocardium labels of one slice -> (F, P, P) label maps of its crop, cut as
    :func:`lvquant.analysis.convert.crop_rotated` cuts the image (sampled
    :data:`~lvquant.datasets.builder.LABEL_SUPERSAMPLE` times finer, then :func:`label_map`)."""
    p, k = spec.crop_pixels, LABEL_SUPERSAMPLE

    def turned(mask: np.ndarray) -> np.ndarray:
        fine, _ = crop_rotated(mask.astype(np.float32), centre_px, spacing_mm, side_mm, angle_deg, p * k,
                               spec.rv_angle_deg)
        return fine >= 0.5

    return label_map(turned(cavity), turned(myocardium), k)


def build_mask_crops(stack: LabelledStack, spec: InputSpec) -> MaskSet:
    """Crops and label maps of every LV slice of a labelled stack (see the module's docstring).

    Raises:
        InputError: no myocardium label, no labelled LV ring, or no RV direction.
    """
    if stack.myocardium is None:
        raise InputError(f"{stack.source} {stack.subject}: the border network needs a myocardium label")
    stack_angle = stack_rv_angle(stack, mid_ring_slice(stack))
    chosen = lv_label_slices(stack)
    images, labels, pixel = [], [], []
    for s in chosen:
        centre, side, angle = slice_crop_geometry(stack, s, spec, stack_angle)
        sp = stack.spacing_mm
        crop, pixel_mm = crop_rotated(stack.images[:, s], centre, sp, side, angle, spec.crop_pixels,
                                      spec.rv_angle_deg)
        labels.append(crop_label_maps(stack.cavity[:, s], stack.myocardium[:, s], centre, sp, side, angle, spec))
        images.append(crop)
        pixel.append(pixel_mm)
    n = len(chosen)
    return MaskSet(np.stack(images).astype(np.float32), np.stack(labels), np.asarray(pixel, dtype=np.float64),
                   (stack.subject,) * n, (stack.source,) * n, (stack.group,) * n, np.asarray(chosen), spec)


#: Where the stack slices of :func:`phantom_mask_crops` are drawn: mm from the mid slice, from
#: this far below the apex of the cavity up to this far above the mid slice (a full stack's
#: extent in the phantom's DICOM series).
PHANTOM_STACK_Z_MM = (-5.0, 40.0)
#: Slices closer than this to the mid slice are not drawn as stack slices (the mid slice is always there).
PHANTOM_STACK_MIN_OFFSET_MM = 4.0


def phantom_stack_offsets(n_subjects: int, seed: int, per_subject: int, config: Any = None) -> list[list[float]]:
    """The stack slices of :func:`phantom_mask_crops`: ``per_subject`` offsets (mm from the mid slice) per subject
    (of :class:`~lvquant.phantom.config.PhantomConfig` ``config``, default the default one).

    Drawn uniformly between :data:`PHANTOM_STACK_Z_MM` (the lower end below the subject's apex of the
    cavity) at least :data:`PHANTOM_STACK_MIN_OFFSET_MM` from the mid slice, from a generator of their
    own per subject (``[seed, subject, 99]``): subject i's slices do not depend on how many subjects
    are drawn.
    """
    from ..phantom.config import PhantomConfig
    from ..phantom.subject import make_scene

    cfg = config if config is not None else PhantomConfig()
    out = []
    for i in range(int(n_subjects)):
        apex = make_scene(i, seed, cfg).apex_mm
        rng = np.random.default_rng([int(seed), i, 99])
        zs: list[float] = []
        while len(zs) < per_subject:
            z = float(rng.uniform(-apex + PHANTOM_STACK_Z_MM[0], PHANTOM_STACK_Z_MM[1]))
            if abs(z) >= PHANTOM_STACK_MIN_OFFSET_MM:
                zs.append(round(z, 2))
        out.append(zs)
    return out


def phantom_slices(n_subjects: int, seed: int, spec: InputSpec, stack_slices: int, *, mid: bool = True,
                   config: Any = None) -> Iterator[tuple[int, float, Any]]:
    """(subject, offset mm, :class:`~lvquant.phantom.subject.PhantomSubject`) of each phantom subject's mid
    slice (when ``mid``) and its ``stack_slices`` slices between apex and base (:func:`phantom_stack_offsets`),
    each cut on its own ED borders with the stack's ED and ES; a slice drawn past a subject's apex is skipped.
    ``config``: the :class:`~lvquant.phantom.config.PhantomConfig` (e.g. another ``pathology_mix``); default
    the default one.

    Raises:
        InputError: ``spec`` is not the phantom's crop layout.
    """
    from ..phantom.config import PhantomConfig
    from ..phantom.subject import generate_subject

    cfg = config if config is not None else PhantomConfig()
    if spec.crop_pixels != cfg.crop_size or spec.rv_angle_deg != 270.0:
        raise InputError("phantom crops exist for 80-pixel crops with the RV at 9 o'clock only")
    offsets = phantom_stack_offsets(n_subjects, seed, stack_slices, cfg) if stack_slices else [[]] * int(n_subjects)
    for i in range(int(n_subjects)):
        for z in ([0.0] if mid else []) + offsets[i]:
            try:
                sub = generate_subject(i, seed, cfg, z_mm=z)
            except InputError:  # past this subject's apex: no LV on that slice
                continue
            yield i, z, sub


def phantom_mask_crops(n_subjects: int, seed: int, spec: InputSpec, stack_slices: int = 0, config: Any = None
                       ) -> MaskSet:
    """Phantom subjects in the LVQuan layout as mask crops: their ED and ES crops and exact label maps
    (the masks the phantom renders at the crop's pixel centres; the phantom's crops follow the method's
    spec: 80 pixels, RV on the left, side 2.2-2.8 × the ED epicardial diameter).

    Each subject gives its mid slice and, with ``stack_slices`` > 0, that many more slices between
    the apex and the base (:func:`phantom_stack_offsets`), each cut on its own ED borders as the
    whole-heart analysis cuts a stack's slices. Rows are named ``phantom:SEED:I`` (mid slice) or
    ``phantom:SEED:I@Zmm``; ``slices`` holds the slice's offset rounded to whole mm. ``config``: the
    phantom's settings (:func:`phantom_slices`), e.g. a ``pathology_mix`` weighted toward rare hearts.

    Raises:
        InputError: ``spec`` is not the phantom's crop layout.
    """
    images, labels, pixel, names, slices = [], [], [], [], []
    for i, z, sub in phantom_slices(n_subjects, seed, spec, stack_slices, config=config):
        frames = [sub.ed_frame, sub.es_frame]
        images.append(sub.images[frames])
        labels.append(np.where(sub.endo[frames], CAVITY, np.where(sub.epi[frames], MYOCARDIUM, BACKGROUND))
                      .astype(np.uint8))
        pixel.append(sub.crop_spacing_mm)
        names.append(f"phantom:{seed}:{i}" if z == 0.0 else f"phantom:{seed}:{i}@{z:+.2f}mm")
        slices.append(int(round(z)))
    n = len(images)
    return MaskSet(np.stack(images).astype(np.float32), np.stack(labels), np.asarray(pixel, dtype=np.float64),
                   tuple(names), ("phantom",) * n, ("phantom",) * n, np.asarray(slices, dtype=np.int64), spec)


def save_mask_crops(crops: MaskSet, path: str | os.PathLike, licences: dict[str, str]) -> Path:
    """Write ``crops`` to ``path`` (all or nothing)."""
    path = Path(path)
    arrays = {"format": np.array(FORMAT), "images": crops.images, "labels": crops.labels, "pixel_mm": crops.pixel_mm,
              "subjects": np.array(crops.subjects), "sources": np.array(crops.sources),
              "groups": np.array(crops.groups), "slices": crops.slices,
              "spec": np.array(json.dumps(crops.spec.to_dict())), "licences": np.array(json.dumps(licences))}
    return write_npz_atomic(path, arrays)


def read_mask_crops(path: str | os.PathLike) -> MaskSet:
    """Read a file written by :func:`save_mask_crops`.

    Raises:
        ReaderError: not such a file, or its arrays do not fit together.
    """
    path = Path(path)
    a = read_npz(path, "format", FORMAT, "a mask crop file")
    try:
        crops = MaskSet(a["images"].astype(np.float32), a["labels"].astype(np.uint8), a["pixel_mm"].astype(np.float64),
                        tuple(a["subjects"].tolist()), tuple(a["sources"].tolist()), tuple(a["groups"].tolist()),
                        a["slices"].astype(np.int64), InputSpec.from_dict(json.loads(str(a["spec"]))))
    except (KeyError, ValueError, ModelError) as exc:
        raise ReaderError(f"{path}: not a complete mask crop file ({exc})") from None
    n = len(crops.subjects)
    if crops.images.shape != crops.labels.shape or crops.images.shape[0] != n or crops.pixel_mm.shape != (n,):
        raise ReaderError(f"{path}: its arrays do not describe the same {n} rows")
    return crops


def read_mask_licences(path: str | os.PathLike) -> dict[str, str]:
    """The sources' licences a file of :func:`save_mask_crops` records (source -> licence text).

    Raises:
        ReaderError: not such a file, or its licences are not a JSON object.
    """
    path = Path(path)
    a = read_npz(path, "format", FORMAT, "a mask crop file")
    try:
        licences = json.loads(str(a["licences"]))
    except (KeyError, ValueError) as exc:
        raise ReaderError(f"{path}: not a complete mask crop file ({exc})") from None
    if not isinstance(licences, dict):
        raise ReaderError(f"{path}: its licences are not a table of source -> licence")
    return licences


__all__ = ["MaskSet", "build_mask_crops", "crop_label_maps", "phantom_mask_crops", "phantom_slices", "phantom_stack_offsets", "save_mask_crops", "read_mask_crops", "read_mask_licences", "lv_label_slices", "label_map",
           "BACKGROUND", "CAVITY", "MYOCARDIUM", "FORMAT"]
