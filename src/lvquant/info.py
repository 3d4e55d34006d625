"""``lvquant info``: what a cine or an LVQuan file holds, as text or JSON.

Slices are listed in the order lvquant uses them (ascending position along the
slice normal), numbered from 0: the numbers ``--slice K`` refers to. Nothing
patient-identifying is ever included: the readers do not keep it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .cine import Cine

LVQUAN_SUFFIXES = (".mat", ".npz")


def _is_lvquan_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in LVQUAN_SUFFIXES


def cine_summary(cine: Cine) -> dict[str, Any]:
    """JSON-ready facts about a cine: slices, frames, size, spacing, timing."""
    times = cine.frame_times_ms
    intervals = np.diff(times, axis=1)
    src = cine.source
    summary: dict[str, Any] = {
        "format": src.format,
        "n_files": src.n_files,
        "n_skipped": len(src.skipped),
        "series_uid": src.series_uid,
        "n_slices": cine.n_slices,
        "n_frames": cine.n_frames,
        "image_size": list(cine.image_shape),
        "spacing_mm": list(cine.spacing_mm),
        "slice_thickness_mm": cine.slice_thickness_mm,
        "timing_known": cine.timing_known,
        "frame_interval_ms": float(np.median(intervals)) if intervals.size else None,
        "slices": [
            {"index": k, "position_mm": float(cine.slice_positions_mm[k]),
             "first_time_ms": float(times[k, 0]), "last_time_ms": float(times[k, -1])}
            for k in range(cine.n_slices)
        ],
    }
    warnings = src.extra.get("warnings") if isinstance(src.extra, dict) else None
    if warnings:
        summary["warnings"] = list(warnings)
    return summary


def dataset_summary(dataset: Any) -> dict[str, Any]:
    """JSON-ready facts about an LVQuan-layout dataset."""
    px = np.asarray(dataset.pixel_size_mm, dtype=np.float64)
    s, t, h, w = dataset.images.shape
    return {
        "format": "lvquan",
        "n_subjects": int(s),
        "n_frames": int(t),
        "image_size": [int(h), int(w)],
        "has_labels": bool(dataset.has_labels),
        "has_masks": dataset.endo is not None,
        "pixel_size_mm": {"min": float(px.min()), "median": float(np.median(px)), "max": float(px.max())},
    }


def _text_cine(s: dict[str, Any], others: list[dict[str, Any]]) -> str:
    lines = [f"format        {s['format']} ({s['n_files']} file(s), {s['n_skipped']} skipped)"]
    if s.get("series_uid"):
        lines.append(f"series        {s['series_uid']}")
    lines.append(f"slices        {s['n_slices']} x {s['n_frames']} frames, image {s['image_size'][0]}x{s['image_size'][1]}")
    thick = f", slice thickness {s['slice_thickness_mm']:g} mm" if s.get("slice_thickness_mm") else ""
    lines.append(f"spacing       {s['spacing_mm'][0]:.3f} x {s['spacing_mm'][1]:.3f} mm (row x column){thick}")
    if s["timing_known"] and s["frame_interval_ms"] is not None:
        lines.append(f"frame timing  every {s['frame_interval_ms']:.1f} ms (median), from trigger times")
    else:
        lines.append("frame timing  unknown (frames in file order)")
    lines.append("")
    lines.append("slice  position_mm  first_ms  last_ms")
    for sl in s["slices"]:
        lines.append(f"{sl['index']:>5}  {sl['position_mm']:>11.2f}  {sl['first_time_ms']:>8.1f}  {sl['last_time_ms']:>7.1f}")
    for w in s.get("warnings", []):
        lines.append(f"warning: {w}")
    if others:
        lines.append("")
        lines.append("other series in this input (choose one with --series UID):")
        for o in others:
            number = f"series {o['series_number']}, " if o.get("series_number") is not None else ""
            lines.append(f"  {o['series_uid']}  {number}{o['n_images']} images, "
                         f"{o['n_slices']} slice(s) x {o['n_frames']} frame(s)")
    return "\n".join(lines) + "\n"


def _text_dataset(s: dict[str, Any]) -> str:
    px = s["pixel_size_mm"]
    return (
        f"format        LVQuan layout ({'labelled' if s['has_labels'] else 'images only'}"
        f"{', with masks' if s['has_masks'] else ''})\n"
        f"subjects      {s['n_subjects']} x {s['n_frames']} frames, image {s['image_size'][0]}x{s['image_size'][1]}\n"
        f"pixel size    {px['min']:.3f} - {px['max']:.3f} mm (median {px['median']:.3f}), "
        f"pix_spa x ratio_resize_inverse\n"
    )


def describe(path: str | Path, *, series_uid: str | None = None, spacing_mm: tuple[float, float] | None = None,
             as_json: bool = False) -> str:
    """Describe a DICOM folder/file, NIfTI file or LVQuan .mat/.npz file.

    Returns:
        Text for a terminal, or a JSON document when ``as_json``.

    Raises:
        lvquant.errors.ReaderError (and subclasses) for unreadable input.
    """
    path = Path(path)
    if _is_lvquan_file(path):
        from .io.lvquan_mat import read_lvquan

        summary = dataset_summary(read_lvquan(path))
        return json.dumps(summary, indent=2) + "\n" if as_json else _text_dataset(summary)
    from .io import read_cine

    cine = read_cine(path, series_uid=series_uid, spacing_mm=spacing_mm)
    summary = cine_summary(cine)
    others: list[dict[str, Any]] = []
    if cine.source.format == "dicom":
        # the reader already listed the series it did not choose
        others = [dict(o) if isinstance(o, dict) else o.to_dict() for o in cine.source.extra.get("other_series", [])]
        summary["other_series"] = others
    return json.dumps(summary, indent=2) + "\n" if as_json else _text_cine(summary, others)
