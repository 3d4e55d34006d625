"""Many patients of the shared packs → one :class:`~lvquant.datasets.CropSet` (what ``lvquant dataset`` runs)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Callable

from ..analysis.spec import InputSpec
from ..errors import InputError, ReaderError
from .acdc import read_acdc_pack, read_patients_csv
from .builder import CropSet, build_crops
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
                  progress: Callable[[int], Any] | None = None) -> CropSet:
    """Crops of the listed patients of each source, cut by ``spec``.

    Args:
        patients: source (``"acdc"``, ``"sunnybrook"``) -> patient names.
        spec: the model's input spec.
        acdc_dir, sunnybrook_dir: the pack folders (a source with patients needs its folder).
        slices: ``"mid"`` or ``"rings"`` (see :func:`~lvquant.datasets.build_crops`).
        sunnybrook_spacing_mm: the spacing assumed for Sunnybrook (the packs have none).
        progress: called with 1 after each patient.

    Raises:
        InputError: a source's folder missing, a patient unreadable or without a labelled LV.
    """
    parts = []
    if patients.get("acdc"):
        if acdc_dir is None:
            raise InputError("ACDC patients are listed: give the ACDC folder (--acdc)")
        table = read_patients_csv(acdc_dir)
        for name in patients["acdc"]:
            parts.append(build_crops(read_acdc_pack(acdc_dir, name, table), spec, slices=slices))
            if progress:
                progress(1)
    if patients.get("sunnybrook"):
        if sunnybrook_dir is None:
            raise InputError("Sunnybrook patients are listed: give the Sunnybrook folder (--sunnybrook)")
        groups = _sunnybrook_groups(sunnybrook_dir)
        for name in patients["sunnybrook"]:
            stack = read_sunnybrook_pack(sunnybrook_dir, name, spacing_mm=sunnybrook_spacing_mm,
                                         group=groups.get(name, ""))
            parts.append(build_crops(stack, spec, slices=slices, rv_angle_deg=SUNNYBROOK_RV_DEG))
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
