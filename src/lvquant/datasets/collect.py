"""Many patients of the shared packs → one :class:`~lvquant.datasets.CropSet` (what ``lvquant dataset`` runs)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..analysis.spec import InputSpec
from ..errors import InputError, ReaderError
from .acdc import read_acdc_pack, read_patients_csv
from .builder import CropSet, build_crops
from .nifti_labels import read_acdc_patient
from .sunnybrook import read_sunnybrook_pack

#: RV direction assumed for Sunnybrook slices (no RV label): 9 o'clock, where it mostly is.
SUNNYBROOK_RV_DEG = 270.0


def read_split(path: str | os.PathLike, part: str) -> dict[str, list[str]]:
    """The patients of ``part`` (``"train"`` or ``"test"``) per source from a split file (splits/real_v1.json).

    Raises:
        InputError: unreadable file, unknown part.
    """
    if part not in ("train", "test"):
        raise InputError(f"--part must be 'train' or 'test'; got {part!r}")
    try:
        split = json.loads(Path(path).read_text())
        return {source: list(split[source][part]) for source in ("acdc", "sunnybrook")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a split file with acdc/sunnybrook train and test lists ({exc})") from None


def collect_crops(patients: dict[str, list[str]], spec: InputSpec, *, acdc_dir: str | os.PathLike | None,
                  sunnybrook_dir: str | os.PathLike | None, slices: str = "mid", sunnybrook_spacing_mm: float = 1.4,
                  ensemble: Any = None, progress: Callable[[int], Any] | None = None) -> CropSet:
    """Crops of the listed patients of each source, cut by ``spec``.

    Args:
        patients: source (``"acdc"``, ``"sunnybrook"``) -> patient names.
        spec: the model's input spec.
        acdc_dir, sunnybrook_dir: the pack folders (a source with patients needs its folder).
        slices: ``"mid"`` or ``"rings"`` (see :func:`~lvquant.datasets.build_crops`).
        sunnybrook_spacing_mm: the spacing assumed for Sunnybrook (the packs have none).
        ensemble: sizes the crops of slices without an epicardial label as the analysis does
            (see :func:`~lvquant.datasets.build_crops`); None: cavity plus two default walls.
        progress: called with 1 after each patient.

    Raises:
        InputError: a source's folder missing, a patient unreadable or without a labelled LV.
    """
    parts = []
    if patients.get("acdc"):
        if acdc_dir is None:
            raise InputError("ACDC patients are listed: give the ACDC folder (--acdc)")
        table = None
        for name in patients["acdc"]:
            if (Path(acdc_dir) / name).is_dir():  # ACDC's public layout: patientNNN/Info.cfg + NIfTI
                stack = read_acdc_patient(Path(acdc_dir) / name)
            else:  # the packs: patientNNN.npz + patients.csv
                table = table if table is not None else read_patients_csv(acdc_dir)
                stack = read_acdc_pack(acdc_dir, name, table)
            parts.append(build_crops(stack, spec, slices=slices))
            if progress:
                progress(1)
    if patients.get("sunnybrook"):
        if sunnybrook_dir is None:
            raise InputError("Sunnybrook patients are listed: give the Sunnybrook folder (--sunnybrook)")
        groups = _sunnybrook_groups(sunnybrook_dir)
        for name in patients["sunnybrook"]:
            stack = read_sunnybrook_pack(sunnybrook_dir, name, spacing_mm=sunnybrook_spacing_mm,
                                         group=groups.get(name, ""))
            parts.append(build_crops(stack, spec, slices=slices, rv_angle_deg=SUNNYBROOK_RV_DEG,
                                     ensemble=ensemble))
            if progress:
                progress(1)
    if not parts:
        raise InputError("no patients to cut crops from")
    return CropSet.concatenate(parts)


def _sunnybrook_groups(folder: str | os.PathLike) -> dict[str, str]:
    path = Path(folder) / "patients.csv"
    try:
        with open(path, newline="") as f:
            return {r["case"]: r["group"] for r in csv.DictReader(f)}
    except (OSError, KeyError) as exc:
        raise ReaderError(f"cannot read {path} ({exc})") from None


def phantom_stack_pairs(n_subjects: int, seed: int, spec: InputSpec, stack_slices: int, *,
                        name: str = "phantom-stack") -> CropSet:
    """Slices between the apex and the base of phantom subjects, ED and ES frames, as a :class:`CropSet`.

    Subject i of population ``seed`` gives ``stack_slices`` slices off its mid slice (drawn by
    :func:`lvquant.datasets.masks.phantom_slices`, as the border network's stack slices are),
    each cut on its own ED borders (:func:`lvquant.phantom.generate_subject` with ``z_mm``), at the
    stack's ED and ES. The rows of one subject share its patient name (``NAME-i``), so the training
    folds keep a heart's slices together; ``slices`` holds each slice's offset rounded to whole mm,
    and none is a mid slice. A slice in the solid apical cap has cavity 0 and its wall thicknesses
    missing (NaN).

    Raises:
        InputError: crops of another side or RV direction than the phantom's.
    """
    from .masks import phantom_slices

    images, indices, pixel, subjects, slices = [], [], [], [], []
    for i, z, sub in phantom_slices(n_subjects, seed, spec, stack_slices, mid=False):
        frames = [sub.ed_frame, sub.es_frame]
        images.append(sub.images[frames])
        indices.append(sub.indices.to_array()[frames])
        pixel.append(sub.crop_spacing_mm)
        subjects.append(f"{name}-{i}")
        slices.append(int(round(z)))
    n = len(images)
    return CropSet(images=np.stack(images).astype(np.float32), indices=np.stack(indices),
                   pixel_mm=np.asarray(pixel, dtype=np.float64), phase=np.tile([0, 1], (n, 1)), subjects=tuple(subjects),
                   sources=("phantom",) * n, groups=("",) * n, slices=np.asarray(slices, dtype=np.int64),
                   mid=np.zeros(n, bool), spec=spec)


def phantom_pairs(dataset: Any, spec: InputSpec, *, name: str = "phantom") -> CropSet:
    """The ED and ES frames of every subject of a labelled phantom LVQuan dataset, as a :class:`CropSet`.

    Real labels exist at ED and ES only; these rows let a training set that mixes the
    phantom (exact truth, rare shapes) with real patients keep one frame count. The
    phantom's crops are already cut by the method's spec (:mod:`lvquant.phantom`).

    Raises:
        InputError: an unlabelled dataset, or crops of another side than the spec's.
    """
    from ..geometry import phase_from_areas

    if not dataset.has_labels:
        raise InputError("the phantom file has no labels")
    if dataset.images.shape[-1] != spec.crop_pixels:
        raise InputError(f"the phantom crops are {dataset.images.shape[-1]} pixels wide; the spec says {spec.crop_pixels}")
    ind = dataset.indices.to_array()
    rows = []
    for s in range(dataset.n_subjects):
        labels = phase_from_areas(ind[s, :, 0])
        rows.append((labels.ed_frame, labels.es_frame))
    idx = np.asarray(rows)
    sel = np.arange(dataset.n_subjects)[:, None]
    n = dataset.n_subjects
    return CropSet(images=np.asarray(dataset.images[sel, idx], dtype=np.float32), indices=ind[sel, idx],
                   pixel_mm=np.asarray(dataset.pixel_size_mm, dtype=np.float64), phase=np.tile([0, 1], (n, 1)),
                   subjects=tuple(f"{name}-{i}" for i in range(n)), sources=("phantom",) * n, groups=("",) * n,
                   slices=np.zeros(n, np.int64), mid=np.ones(n, bool), spec=spec)
