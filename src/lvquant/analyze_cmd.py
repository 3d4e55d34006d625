"""What ``lvquant analyze`` and ``lvquant demo`` do, as functions returning text (the CLI prints it).

* a DICOM folder/files or a NIfTI file: one cine, one analysis, one report;
* an LVQuan .mat/.npz file: one analysis per subject (its crops are already in
  the LVQuan layout), one report folder per subject, with a progress bar.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import InputError
from .indices import SEGMENTS
from .outputs import staged_folder

#: The bundled demo series: a zip of a synthetic DICOM cine (phantom subject 0 of seed 4242,
#: 3 slices x 20 frames) and its truth.json; see scripts/make_demo_series.py.
DEMO_ZIP = Path(__file__).resolve().parent / "data" / "demo_series.zip"


def summary_text(result: dict[str, Any]) -> str:
    """A short human-readable summary of one result.json dict."""
    d = result["derived"]
    sl, crop = result["slice"], result["crop"]
    lines = [
        f"slice {sl['index']} of {sl['n_slices']} ({sl['chosen']}); {len(result['frames'])} frames; "
        f"RV at {crop['rv_angle_deg']:.0f} deg ({crop['rv_angle_source']}); crop {crop['side_mm']:.0f} mm",
        f"ED frame {result['ed_frame']}: cavity {d['ed_cavity_area_mm2']:.0f} mm2, myocardium "
        f"{d['ed_myocardium_area_mm2']:.0f} mm2, mean wall {d['ed_mean_wall_thickness_mm']:.1f} mm",
        f"ES frame {result['es_frame']}: cavity {d['es_cavity_area_mm2']:.0f} mm2, myocardium "
        f"{d['es_myocardium_area_mm2']:.0f} mm2, mean wall {d['es_mean_wall_thickness_mm']:.1f} mm",
        f"fractional area change {d['fractional_area_change_percent']:.0f} %; wall thickening "
        + ", ".join(f"{s} {d['wall_thickening_percent'][s]:.0f} %" for s in SEGMENTS),
        "timings: " + ", ".join(f"{k} {v:.0f} ms" for k, v in result["timings_ms"].items()),
    ]
    heart = result.get("whole_heart")
    if heart is not None:
        f = heart["function"]
        lines.insert(-1, f"whole heart ({len(heart['lv_slices'])} slices, {heart['slice_spacing_mm']:.1f} mm apart; "
                         f"ED frame {heart['ed_frame']}, ES frame {heart['es_frame']}): EDV {f['edv_ml']:.0f} mL, "
                         f"ESV {f['esv_ml']:.0f} mL, SV {f['sv_ml']:.0f} mL, EF {f['ef_percent']:.0f} %, "
                         f"LV mass {f['lv_mass_g']:.0f} g"
                         + (f"; indexed (BSA {f['bsa_m2']:.2f} m2): EDVi {f['edvi_ml_per_m2']:.0f} mL/m2, "
                            f"mass index {f['lv_mass_index_g_per_m2']:.0f} g/m2" if f.get("bsa_m2") else ""))
    b = result.get("borders")
    if b is not None:
        lines.insert(-1, f"borders: {b['n_flagged']} of {len(b['frames'])} cycle frames flagged (masks and regressed "
                         f"areas more than {100 * b['tolerance']:.0f} % apart)")
    lines += [f"warning: {w}" for w in result["warnings"]]
    return "\n".join(lines) + "\n"


def _holds_only_subjects(folder: Path) -> bool:
    """Whether ``folder`` holds nothing but ``subject_NNNN`` report folders (a previous LVQuan analysis)."""
    from .report import holds_only_a_report

    return all(p.is_dir() and p.name.startswith("subject_") and holds_only_a_report(p) for p in folder.iterdir())


def check_lvquan_folder(folder: str) -> Path:
    """Make sure the per-subject reports can go to ``folder`` without creating anything.

    Raises:
        OutputError: it cannot be written, or holds other things than a previous analysis's subject folders.
    """
    from .errors import OutputError
    from .outputs import check_can_create

    path = check_can_create(folder)
    if path.is_dir() and not _holds_only_subjects(path):
        raise OutputError(f"{path} holds other files than lvquant subject reports; give a new or empty folder")
    return path


def _is_lvquan(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in (".mat", ".npz")


def load_border_model(models: str | None, ensemble: Any, threads: int | None = None) -> tuple[Any, str | None]:
    """The border network that goes with ``ensemble``: ``borders.json`` of the model folder, else the
    shipped one if its input spec is the ensemble's; (None, why) when there is none.

    Raises:
        ModelError: a border network's files are there but cannot be loaded.
    """
    from .analysis.borders import DEFAULT_BORDERS, BorderModel

    own = Path(models) / "borders.json" if models is not None else DEFAULT_BORDERS
    path = own if own.exists() else DEFAULT_BORDERS
    if not path.exists():
        return None, "no border network is installed: no borders drawn"
    model = BorderModel.load(path, threads=threads)
    if model.spec != ensemble.spec:
        return None, "the border network was trained on crops of another input spec than these networks': no borders drawn"
    return model, None


def _load_models(models: str | None, localiser: str | None = "learned", borders: bool = True):
    """The ensemble, the localiser (None when not needed: LVQuan crops), the border network (or None),
    a note when it is missing, and how long loading took (ms)."""
    from .analysis.localise_learned import load_localiser
    from .analysis.predict import Ensemble

    t0 = time.perf_counter()
    ensemble = Ensemble.load(models)
    finder = load_localiser(localiser) if localiser is not None else None
    border_model, note = load_border_model(models, ensemble) if borders else (None, None)
    return ensemble, finder, border_model, note, (time.perf_counter() - t0) * 1000


def analyze_path(path: str, *, out: str | None, slice_index: int | None, series_uid: str | None,
                 spacing_mm: tuple[float, float] | None, rv_angle_deg: float | None, models: str | None,
                 phase_method: str, figures: bool, as_json: bool, localiser: str = "learned",
                 progress: Callable[[int], Any] | None = None, whole_heart: bool = False,
                 height_cm: float | None = None, weight_kg: float | None = None, borders: bool = True) -> str:
    """Analyse ``path`` and write reports; returns what to print.

    Raises:
        LvquantError subclasses: unreadable input, LV not found, unwritable output...
    """
    from concurrent.futures import ThreadPoolExecutor

    from .report import check_report_folder

    p = Path(path)
    bsa = _bsa(height_cm, weight_kg, whole_heart)
    if whole_heart and _is_lvquan(p):
        raise InputError("--whole-heart needs a short-axis stack (DICOM or NIfTI); LVQuan files hold one slice")
    if out is not None:  # fail before any work, and create nothing yet
        check_lvquan_folder(out) if _is_lvquan(p) else check_report_folder(out)
    # The models load in the background while the input is read: ONNX Runtime builds its
    # session without holding the interpreter lock, so the two overlap on a second core.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lvquant-models") as pool:
        loading = pool.submit(_load_models, models, None if _is_lvquan(p) else localiser, borders)
        from .analysis.pipeline import analyze_cine, analyze_crops
        from .report import result_dict, write_report

        if _is_lvquan(p):
            ensemble, _, border_model, border_note, models_ms = loading.result()
        else:
            t_read = time.perf_counter()
            from .io import read_cine

            cine = read_cine(p, series_uid=series_uid, spacing_mm=spacing_mm)
            read_ms = (time.perf_counter() - t_read) * 1000
            ensemble, finder, border_model, border_note, models_ms = loading.result()
    if _is_lvquan(p):
        if slice_index is not None or series_uid is not None or rv_angle_deg is not None:
            raise InputError("--slice, --series and --rv-angle do not apply to LVQuan files (crops are already "
                             "LV-centred with the RV on the left)")
        t_read = time.perf_counter()
        from .io.lvquan_mat import read_lvquan

        ds = read_lvquan(p)
        read_ms = (time.perf_counter() - t_read) * 1000
        results = []
        with contextlib.ExitStack() as stack:
            # every subject's folder goes into one staged folder: all subjects appear at once, or none
            staged = None if out is None else stack.enter_context(staged_folder(out, replace=_holds_only_subjects))
            for s in range(ds.images.shape[0]):
                a = analyze_crops(ds.images[s], float(ds.pixel_size_mm[s]), ensemble=ensemble,
                                  phase_method=phase_method, borders=border_model,
                                  source={"format": "lvquan", "subject": s, "n_subjects": int(ds.images.shape[0])})
                a.timings_ms = {"read": read_ms / ds.images.shape[0], **a.timings_ms}
                if staged is not None:
                    write_report(a, staged / f"subject_{s:04d}", figures=figures)
                results.append(result_dict(a))
                if progress:
                    progress(1)
        if as_json:
            return json.dumps(results if len(results) > 1 else results[0], indent=1, allow_nan=False) + "\n"
        text = "".join(f"subject {s}: ED {r['ed_frame']}, ES {r['es_frame']}, FAC "
                       f"{r['derived']['fractional_area_change_percent']:.0f} %, ED cavity "
                       f"{r['derived']['ed_cavity_area_mm2']:.0f} mm2\n" for s, r in enumerate(results))
        if out is not None:
            text += f"wrote {len(results)} report(s) to {out}\n"
        return text

    a = analyze_cine(cine, slice_index=slice_index, rv_angle_deg=rv_angle_deg, ensemble=ensemble,
                     phase_method=phase_method, localiser=finder, whole_heart=whole_heart, bsa_m2=bsa,
                     borders=border_model)
    timings = {k: v for k, v in a.timings_ms.items() if k != "load models"}  # given: loaded above
    a.timings_ms = {"read": read_ms, "load models (beside read)": models_ms, **timings}
    a.warnings = list(cine.source.extra.get("warnings", [])) + a.warnings + ([border_note] if border_note else [])
    written = write_report(a, out, figures=figures) if out is not None else []
    result = result_dict(a)
    if as_json:
        from .tables import to_json

        return to_json(result)
    text = summary_text(result)
    if written:
        text += f"wrote {', '.join(w.name for w in written)} to {out}\n"
    return text


def _bsa(height_cm: float | None, weight_kg: float | None, whole_heart: bool) -> float | None:
    """Body surface area from --height and --weight (both or neither, with --whole-heart)."""
    from .analysis.whole_heart import body_surface_area_m2

    if height_cm is None and weight_kg is None:
        return None
    if height_cm is None or weight_kg is None:
        raise InputError("--height and --weight go together (body surface area needs both)")
    if not whole_heart:
        raise InputError("--height and --weight index the volumes and mass of --whole-heart; add --whole-heart")
    return body_surface_area_m2(height_cm, weight_kg)


def run_demo(out: str, *, figures: bool = True) -> str:
    """Analyse the bundled synthetic DICOM series into ``out`` and compare with its truth."""
    import tempfile
    import zipfile

    from .errors import ModelError
    from .report import check_report_folder

    if not DEMO_ZIP.is_file():
        raise ModelError(f"the bundled demo series is missing from the installation ({DEMO_ZIP})")
    check_report_folder(out)
    with tempfile.TemporaryDirectory(prefix="lvquant-demo-") as tmp:
        with zipfile.ZipFile(DEMO_ZIP) as z:
            z.extractall(tmp)
        text = f"demo: a synthetic short-axis cine (DICOM, 3 slices x 20 frames) from {DEMO_ZIP.name}\n"
        text += analyze_path(tmp, out=out, slice_index=None, series_uid=None, spacing_mm=None,
                             rv_angle_deg=None, models=None, phase_method="poly", figures=figures, as_json=False)
        truth = json.loads((Path(tmp) / "truth.json").read_text())
    result = json.loads((Path(out) / "result.json").read_text())
    text += compare_with_truth(result, truth)
    if figures:
        text += f"open {Path(out) / 'report.html'} to see the report\n"
    return text


def compare_with_truth(result: dict[str, Any], truth: dict[str, Any]) -> str:
    """One paragraph: the analysis against a phantom's truth.json (mean absolute errors)."""
    rf, tf = result["frames"], truth["frames"]
    if len(rf) != len(tf):
        return "truth: frame counts differ; no comparison\n"
    a = np.array([[f["cavity_area_mm2"], f["myocardium_area_mm2"]] for f in rf])
    b = np.array([[f["cavity_area_mm2"], f["myocardium_area_mm2"]] for f in tf])
    d = np.abs(np.array([f["dims_mm"] for f in rf]) - np.array([f["dims_mm"] for f in tf]))
    w = np.abs(np.array([f["rwt_mm"] for f in rf]) - np.array([f["rwt_mm"] for f in tf]))
    return (f"against the phantom's truth: areas MAE {np.abs(a - b).mean():.0f} mm2, dims MAE {d.mean():.1f} mm, "
            f"RWT MAE {w.mean():.1f} mm; ED frame {result['ed_frame']} (truth {truth['ed_frame']}), "
            f"ES frame {result['es_frame']} (truth {truth['es_frame']})\n")
