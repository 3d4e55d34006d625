"""``lvquant measure``: indices from hand-drawn borders or masks.

Three sources, each returning ``(rows, payload)``: flat rows for a table or CSV
(see :mod:`lvquant.tables`) and a JSON-ready payload.

* :func:`measure_sunnybrook` — a Sunnybrook contour folder on its DICOM cine;
* :func:`measure_files` — one endocardial (and optional epicardial) border given
  as a contour text file, a mask ``.npy`` or a mask NIfTI;
* :func:`measure_example` — masks of a built-in synthetic phantom heart.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .geometry import measure_contours, measure_masks, phase_from_areas
from .indices import Indices
from .tables import index_rows


def _payload_frames(rows: list[dict[str, Any]], indices: Indices) -> list[dict[str, Any]]:
    keep = [k for k in rows[0] if k not in ("cavity_area_mm2", "myocardium_area_mm2") and not k.startswith(("dims_mm_", "rwt_mm_"))]
    return [{**{k: r[k] for k in keep}, **rec} for r, rec in zip(rows, indices.to_records())]


def measure_sunnybrook(contour_dir: str | Path, dicom_dir: str | Path, *,
                       spacing_mm: tuple[float, float] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Measure every contoured image of a Sunnybrook patient.

    The frame each contour file belongs to is found from the DICOM headers
    (slice position, trigger time), not assumed from the file numbering. In a
    slice with two contoured frames the one with the larger cavity is labelled
    ED and the other ES (Sunnybrook contours are drawn at ED and ES only).

    Returns:
        Rows (one per contoured image: image number, slice, frame, time, ED/ES,
        borders, the 11 indices) and a payload with the same plus the spacing.
    """
    from .io.contours import read_sunnybrook_contours, sunnybrook_index_map
    from .io.dicom import read_dicom

    cine = read_dicom(dicom_dir, spacing_mm=spacing_mm)
    where = sunnybrook_index_map(cine)
    borders: dict[int, dict[str, np.ndarray]] = defaultdict(dict)
    for rec in read_sunnybrook_contours(contour_dir):
        borders[rec.dicom_number][rec.kind] = rec.polygon
    missing = sorted(n for n in borders if n not in where)
    if missing:
        raise InputError(f"contours refer to image(s) {missing[:5]} that are not in {dicom_dir}: "
                         "are the contours and the DICOM folder the same patient?")
    numbers = sorted((n for n in borders if "endo" in borders[n]), key=lambda n: where[n])
    if not numbers:
        raise InputError(f"no endocardial contour in {contour_dir}")
    measured = [measure_contours(borders[n]["endo"], borders[n].get("epi"), cine.spacing_mm) for n in numbers]
    per_slice: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(numbers):
        per_slice[where[n][0]].append(i)
    point = [""] * len(numbers)
    for members in per_slice.values():
        if len(members) == 2:
            big, small = sorted(members, key=lambda i: -measured[i].cavity_area_mm2)
            point[big], point[small] = "ED", "ES"
    labels = []
    for i, n in enumerate(numbers):
        s, t = where[n]
        labels.append({"image": n, "slice": s, "frame": t, "time_ms": float(cine.frame_times_ms[s, t]),
                       "position_mm": float(cine.slice_positions_mm[s]), "point": point[i],
                       "borders": "endo+epi" if "epi" in borders[n] else "endo"})
    stack = Indices.stack(measured)
    rows = index_rows(stack, labels)
    warnings = [f"image {n}: {w}" for n, ind in zip(numbers, measured) for w in ind.warnings if "no epicardial" not in w]
    n_endo_only = sum("epi" not in borders[n] for n in numbers)
    if n_endo_only:
        warnings.insert(0, f"{n_endo_only} image(s) have an endocardial contour only (Sunnybrook end-systole): "
                           "myocardium area and wall thickness are not measured there")
    payload = {"source": "sunnybrook contours", "spacing_mm": list(cine.spacing_mm), "n_slices": cine.n_slices,
               "n_frames": cine.n_frames, "images": _payload_frames(rows, stack), "warnings": warnings}
    return rows, payload


def _load_border(path: str | Path, what: str) -> tuple[str, np.ndarray, tuple[float, float] | None]:
    """('contour', (N,2) xy) or ('mask', (T,H,W)/(H,W)) with the file's spacing if it has one."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} file {p} does not exist")
    name = p.name.lower()
    if name.endswith(".txt"):
        from .io.contours import read_contour_file

        return "contour", read_contour_file(p), None
    if name.endswith(".npy"):
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InputError(f"{what} file {p} is not a readable .npy array ({exc})") from None
        return "mask", arr, None
    if name.endswith((".nii", ".nii.gz")):
        from .io.nifti import read_nifti

        cine = read_nifti(p)
        if cine.n_slices != 1:
            raise InputError(f"{what} mask {p} has {cine.n_slices} slices; give a single-slice (2D or 2D+t) mask")
        frames = cine.frames[0]
        return "mask", frames[0] if frames.shape[0] == 1 else frames, cine.spacing_mm
    raise InputError(f"{what} file {p}: use a contour .txt ('x y' per line), a mask .npy or a mask .nii/.nii.gz")


def measure_files(endo: str | Path, epi: str | Path | None, *, spacing_mm: tuple[float, float] | None = None,
                  dicom: str | Path | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Measure one pair of border files (contours or masks, one frame or a stack).

    Pixel spacing: ``spacing_mm`` if given, else the DICOM folder's, else the
    mask NIfTI's header; a contour or .npy without any of these is refused.
    """
    kind, endo_data, file_spacing = _load_border(endo, "endocardial")
    epi_data = None
    if epi is not None:
        epi_kind, epi_data, _ = _load_border(epi, "epicardial")
        if epi_kind != kind:
            raise InputError("--endo and --epi must be the same kind (both contours or both masks)")
    spacing = spacing_mm
    if spacing is None and dicom is not None:
        from .io import read_cine

        spacing = read_cine(dicom).spacing_mm
    spacing = spacing or file_spacing
    if spacing is None:
        raise InputError("pixel spacing unknown: give --spacing MM or --dicom DIR")
    if kind == "contour":
        ind = measure_contours(endo_data, epi_data, spacing)
    else:
        ind = measure_masks(endo_data, epi_data, spacing)
    stack = ind if ind.batch_shape else Indices.stack([ind])
    labels = [{"frame": t} for t in range(len(stack))]
    rows = index_rows(stack, labels)
    payload = {"source": f"{kind}s", "spacing_mm": list(spacing), "frames": _payload_frames(rows, stack),
               "warnings": list(stack.warnings)}
    return rows, payload


def measure_example(seed: int = 0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Measure the exact masks of a built-in synthetic heart over one cycle.

    The phantom (see :mod:`lvquant.phantom`) draws a mid-ventricular slice of a
    beating heart at high resolution; its cavity and epicardial masks are
    measured frame by frame, and the phase comes from the cavity-area curve.
    """
    from .phantom import example_masks

    endo, epi, spacing = example_masks(seed)
    ind = measure_masks(endo, epi, spacing)
    phase = phase_from_areas(ind.cavity_area_mm2)
    labels = [{"frame": t, "phase": int(p), "point": "ED" if t == phase.ed_frame else "ES" if t == phase.es_frame else ""}
              for t, p in enumerate(phase.labels)]
    rows = index_rows(ind, labels)
    payload = {"source": "synthetic phantom masks", "spacing_mm": list(spacing), "ed_frame": phase.ed_frame,
               "es_frame": phase.es_frame, "frames": _payload_frames(rows, ind), "warnings": list(ind.warnings)}
    return rows, payload
