"""A cohort's tables, built from what is in its output folder(s): ``cohort.csv``, ``failed.csv``, ``qc.html``.

They are rebuilt from the study folders at the end of every run (and by
``--merge`` from several shard outputs), so they always describe exactly the
complete studies on disk, whatever run or shard wrote them.

QC flags (a study with any is an outlier, listed first in ``qc.html``):

* ``spread``: the ensemble's networks disagree: the mean relative spread
  (standard deviation over the networks / value) of the cavity or myocardium
  area at ED and ES is above :data:`SPREAD_FLAG_PERCENT`;
* ``z:<column>``: a robust z-score (median and MAD over the cohort's complete
  studies, at least :data:`MIN_STUDIES_FOR_Z` of them) of one of
  :data:`Z_COLUMNS` is beyond ±:data:`Z_FLAG`;
* ``warnings``: the analysis itself warned (see the study's report).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..indices import SEGMENTS
from ..outputs import write_text_atomic
from ..tables import INDEX_COLUMNS, to_csv
from .work import FAILED_DIR, STUDIES_DIR

#: Relative ensemble spread above which a study is flagged (percent).
SPREAD_FLAG_PERCENT = 10.0
#: |robust z| beyond which a study is flagged.
Z_FLAG = 3.0
#: Fewest complete studies for z-scores to mean anything.
MIN_STUDIES_FOR_Z = 8
#: The columns whose z-scores are checked.
Z_COLUMNS = ("ed_cavity_area_mm2", "es_cavity_area_mm2", "ed_myocardium_area_mm2", "fac_percent",
             "ed_mean_wall_mm")


def _frame_values(frame: dict[str, Any]) -> list[float]:
    return [frame["cavity_area_mm2"], frame["myocardium_area_mm2"], *frame["dims_mm"], *frame["rwt_mm"]]


def _frame_spreads(frame: dict[str, Any]) -> list[float]:
    sp = frame["spread"]
    return [sp["cavity_area_mm2"], sp["myocardium_area_mm2"], *sp["dims_mm"], *sp["rwt_mm"]]


def study_row(subject_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """One ``cohort.csv`` row from a study's result.json content (flags are added by :func:`add_flags`)."""
    ed, es = result["frames"][result["ed_frame"]], result["frames"][result["es_frame"]]
    d = result["derived"]
    row: dict[str, Any] = {"subject_id": subject_id, "ed_frame": result["ed_frame"], "es_frame": result["es_frame"],
                           "n_frames": len(result["frames"]), "slice_index": result["slice"]["index"],
                           "rv_angle_deg": float(result["crop"]["rv_angle_deg"])}
    for point, frame in (("ed", ed), ("es", es)):
        for name, v in zip(INDEX_COLUMNS, _frame_values(frame)):
            row[f"{point}_{name}"] = float(v)
    row["ed_mean_wall_mm"] = float(d["ed_mean_wall_thickness_mm"])
    row["es_mean_wall_mm"] = float(d["es_mean_wall_thickness_mm"])
    row["fac_percent"] = float(d["fractional_area_change_percent"])
    for seg in SEGMENTS:
        row[f"thickening_{seg}_percent"] = float(d["wall_thickening_percent"][seg])
    rel = []
    for frame in (ed, es):
        v, s = _frame_values(frame), _frame_spreads(frame)
        rel.append([100.0 * s[k] / v[k] if v[k] > 0 else math.inf for k in (0, 1)])
    rel_arr = np.asarray(rel)
    row["spread_cavity_percent"] = float(rel_arr[:, 0].mean())
    row["spread_myocardium_percent"] = float(rel_arr[:, 1].mean())
    heart = result.get("whole_heart")
    if heart is not None:
        f = heart["function"]
        for key in ("edv_ml", "esv_ml", "sv_ml", "ef_percent", "lv_mass_g"):
            row[key] = float(f[key])
        row["n_lv_slices"] = len(heart["lv_slices"])
        for seg in heart["aha"]["segments"]:
            row[f"aha{seg['number']}_ed_thickness_mm"] = float(seg["ed_thickness_mm"])
            row[f"aha{seg['number']}_thickening_percent"] = float(seg["thickening_percent"])
    borders = result.get("borders")
    if borders is not None:
        row["border_flagged_frames"] = int(borders["n_flagged"])
    row["n_warnings"] = len(result.get("warnings", []))
    row["qc_flags"] = ""
    row["model"] = result.get("model", {}).get("name", "")
    row["software_version"] = result.get("software", {}).get("version", "")
    return row


def robust_z(values: np.ndarray) -> np.ndarray:
    """(x - median) / (1.4826 MAD); zeros where the MAD is 0 or too few values."""
    values = np.asarray(values, dtype=float)
    if values.size < MIN_STUDIES_FOR_Z:
        return np.zeros_like(values)
    med = np.median(values)
    mad = 1.4826 * np.median(np.abs(values - med))
    if not mad > 0:
        return np.zeros_like(values)
    return (values - med) / mad


def add_flags(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set each row's ``qc_flags`` and ``max_abs_z``; return the rows outliers first (more flags, larger |z|)."""
    zs = {c: robust_z(np.array([r[c] for r in rows])) for c in Z_COLUMNS}
    for i, row in enumerate(rows):
        flags = []
        if max(row["spread_cavity_percent"], row["spread_myocardium_percent"]) > SPREAD_FLAG_PERCENT:
            flags.append("spread")
        flags += [f"z:{c}" for c in Z_COLUMNS if abs(zs[c][i]) > Z_FLAG]
        if row["n_warnings"]:
            flags.append("warnings")
        row["qc_flags"] = ";".join(flags)
        row["max_abs_z"] = float(max((abs(zs[c][i]) for c in Z_COLUMNS), default=0.0))
    return sorted(rows, key=lambda r: (-len(r["qc_flags"].split(";")) if r["qc_flags"] else 0,
                                       -r["max_abs_z"], r["subject_id"]))


def _studies_in(folder: Path) -> Iterable[tuple[str, Path]]:
    studies = folder / STUDIES_DIR
    if not studies.is_dir():
        return
    for entry in sorted(os.scandir(studies), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        result = Path(entry.path) / "result.json"
        if result.is_file():
            yield entry.name, Path(entry.path)


def collect(folders: list[Path]) -> tuple[list[dict[str, Any]], dict[str, Path], list[dict[str, str]]]:
    """The rows of every complete study, where each study's folder is, and the failures still open.

    A subject complete in several folders (two shards that both did it) is
    taken from the first. A failure is open when the subject is complete nowhere.
    """
    rows, where = [], {}
    for folder in folders:
        for sid, path in _studies_in(folder):
            if sid in where:
                continue
            try:
                result = json.loads((path / "result.json").read_text(encoding="utf-8"))
                rows.append(study_row(sid, result))
            except (OSError, ValueError, KeyError, TypeError, IndexError):
                continue  # not a result this version can read; it stays out of the tables
            where[sid] = path
    failed: dict[str, str] = {}
    for folder in folders:
        fdir = folder / FAILED_DIR
        if not fdir.is_dir():
            continue
        for entry in sorted(os.scandir(fdir), key=lambda e: e.name):
            sid = entry.name[:-4] if entry.name.endswith(".txt") else None
            if not sid or sid.startswith(".") or sid in where or sid in failed:
                continue
            try:
                failed[sid] = Path(entry.path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                failed[sid] = "unknown (its failure record cannot be read)"
    return rows, where, [{"subject_id": k, "reason": v} for k, v in sorted(failed.items())]


def write_tables(folders: list[Path], out: Path) -> tuple[int, int]:
    """Write ``cohort.csv``, ``failed.csv`` and ``qc.html`` into ``out`` from the studies in ``folders``.

    Returns:
        (complete studies, open failures).
    """
    from .qc import qc_html

    rows, where, failed = collect([Path(f) for f in folders])
    rows = add_flags(rows) if rows else []
    header = "subject_id\n"
    write_text_atomic(out / "cohort.csv", to_csv(rows) if rows else header)
    write_text_atomic(out / "failed.csv", to_csv(failed) if failed else "subject_id,reason\n")
    write_text_atomic(out / "qc.html", qc_html(rows, where, failed, out))
    return len(rows), len(failed)


__all__ = ["study_row", "add_flags", "robust_z", "collect", "write_tables", "SPREAD_FLAG_PERCENT", "Z_FLAG"]
