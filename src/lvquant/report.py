"""Report of an analysis: result.json, result.csv, curve.png, overlay.png, report.html.

Everything is rendered in memory first and then written file by file
atomically; if any write fails, the files already written by this call are
removed, so an output folder never holds a half report. Nothing
patient-identifying is written: the :class:`~lvquant.analysis.pipeline.Analysis`
carries no names, IDs or dates.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import OutputError
from .indices import INDEX_NAMES, SEGMENTS, Indices
from .outputs import check_can_create, write_folder_atomic
from .analysis.borders import AGREEMENT_TOLERANCE, border_polygons
from .analysis.pipeline import Analysis
from .raster import Canvas, LineChart, hex_color
from .report_heart import HEART_FILES, borders_dict, bullseye_png, heart_dict, heart_html, segment_rows, volume_png, volume_rows
from .tables import INDEX_COLUMNS, index_rows, to_csv, to_html_table, to_json

#: Files a report consists of (the whole heart adds :data:`~lvquant.report_heart.HEART_FILES`).
REPORT_FILES = ("result.json", "result.csv", "curve.png", "overlay.png", "report.html")
#: Version of the result.json layout.
RESULT_VERSION = 1

# Sector boundaries, degrees clockwise from 12 o'clock (DOMAIN.md): A = 330-30, AL = 30-90, ...
_SECTOR_CENTRES = {"A": 0.0, "AL": 60.0, "IL": 120.0, "I": 180.0, "IS": 240.0, "AS": 300.0}


def _frame_dict(ind: Indices, spread: np.ndarray, t: int, time_ms: float, phase: int) -> dict[str, Any]:
    f = ind.frame(t)
    sp = spread[t]
    return {
        "frame": t,
        "time_ms": float(time_ms),
        "cavity_area_mm2": float(f.cavity_area_mm2),
        "myocardium_area_mm2": float(f.myocardium_area_mm2),
        "dims_mm": [float(v) for v in f.dims_mm],
        "rwt_mm": [float(v) for v in f.rwt_mm],
        "phase": int(phase),
        "spread": {
            "cavity_area_mm2": float(sp[0]),
            "myocardium_area_mm2": float(sp[1]),
            "dims_mm": [float(v) for v in sp[2:5]],
            "rwt_mm": [float(v) for v in sp[5:]],
        },
    }


def result_dict(a: Analysis) -> dict[str, Any]:
    """The result.json content (see ``docs/analyze.md`` for every field)."""
    frames = [_frame_dict(a.indices, a.spread, t, a.times_ms[t], a.phase[t]) for t in range(a.n_frames)]
    ph = a.phase_result
    return {
        "format": "lvquant-result",
        "version": RESULT_VERSION,
        "units": {"cavity_area_mm2": "mm2", "myocardium_area_mm2": "mm2", "dims_mm": "mm", "rwt_mm": "mm",
                  "time_ms": "ms", "phase": "1 systole, 0 diastole"},
        "segments": list(SEGMENTS),
        "dims": ["D1 (IS-AL)", "D2 (I-A)", "D3 (IL-AS)"],
        "frames": frames,
        "ed_frame": int(a.ed_frame),
        "es_frame": int(a.es_frame),
        "phase_rule": {"method": ph.method, "degree": ph.degree, "cycle_frames": int(ph.labels.shape[0]),
                       "fitted_cavity_area_mm2": [float(v) for v in ph.fitted_areas]},
        "slice": a.slice,
        "crop": a.crop,
        "derived": a.derived,
        "model": a.model,
        "software": {"name": "lvquant", "version": __version__},
        "timings_ms": {k: round(float(v), 2) for k, v in a.timings_ms.items()},
        "warnings": list(a.warnings),
        "source": a.source,
        **({"borders": borders_dict(a)} if a.borders is not None else {}),
        **({"whole_heart": heart_dict(a.whole_heart)} if a.whole_heart is not None else {}),
    }


def result_rows(a: Analysis) -> list[dict[str, Any]]:
    """One CSV row per frame: frame, time, phase, ED/ES mark, the 11 indices and their spreads."""
    labels = [{"frame": t, "time_ms": float(a.times_ms[t]), "phase": int(a.phase[t]),
               "point": "ED" if t == a.ed_frame else "ES" if t == a.es_frame else ""} for t in range(a.n_frames)]
    rows = index_rows(a.indices, labels)
    for row, sp in zip(rows, a.spread):
        for name, v in zip(INDEX_COLUMNS, sp):
            row[f"{name}_spread"] = float(v)
    return rows


# ------------------------------------------------------------------------- figures
_CAVITY, _MYO, _SYSTOLE = hex_color("#c44e52"), hex_color("#4c72b0"), hex_color("#f3d9b1")


def curve_png(a: Analysis) -> bytes:
    """Cavity and myocardium areas over the cycle, fitted curve, systole shaded, ED/ES marked (700×360 PNG)."""
    x = a.times_ms if np.all(np.diff(a.times_ms) > 0) else np.arange(a.n_frames, dtype=float)
    unit = "ms" if x is a.times_ms else "frame"
    a1, a2 = a.indices.cavity_area_mm2, a.indices.myocardium_area_mm2
    s1, s2 = a.spread[:, 0], a.spread[:, 1]
    step = float(np.median(np.diff(x))) if len(x) > 1 else 1.0
    ph = a.phase_result
    fitted = ph.fitted_areas if ph.method == "poly" else np.zeros(1)
    top = float(np.max(np.concatenate([a1 + s1, a2 + s2, fitted])))
    chart = LineChart(700, 360, (x[0] - step / 2, x[-1] + step / 2), (0.0, 1.1 * max(top, 1.0)))
    for t in np.flatnonzero(a.phase == 1):
        chart.vspan(x[t] - step / 2, x[t] + step / 2, _SYSTOLE)
    chart.band(x, a1 - s1, a1 + s1, _CAVITY[:3] + (50,))
    chart.band(x, a2 - s2, a2 + s2, _MYO[:3] + (50,))
    chart.line(x, a1, _CAVITY, marker="o")
    chart.line(x, a2, _MYO, marker="s")
    legend = [("cavity area (A1)", _CAVITY, "o", None), ("myocardium area (A2)", _MYO, "s", None)]
    if ph.method == "poly":
        # The fit lives on the M-frame cycle; draw it at the cycle frames' times.
        xc = np.interp(a.cycle_positions, np.arange(a.n_frames), x)
        chart.line(xc, ph.fitted_areas, (0, 0, 0, 255), width=1.0, dash=(5, 3))
        legend.append((f"polynomial fit (degree {ph.degree})", (0, 0, 0, 255), None, (5, 3)))
    for t, name in ((a.ed_frame, "ED"), (a.es_frame, "ES")):
        chart.vline(x[t], (0, 0, 0, 255))
        px, py = chart.px(x[t], a1[t])[0]
        chart.text(px + 4, py - 6, f"{name} (frame {t})", size=10, anchor="ld")
    chart.legend(legend)
    chart.axes(f"time ({unit}); shaded: systole", "area (mm²)",
               f"FAC {a.derived['fractional_area_change_percent']:.0f} %")
    return chart.png()


def overlay_png(a: Analysis) -> bytes:
    """The crop at ED and ES with the six sectors and their wall thickness (700×380 PNG).

    With the border network (``a.borders``) the lines are its borders of the cavity (red) and
    the epicardium (blue). Without it the regression networks draw nothing: the circles are
    then the discs with the predicted cavity and epicardial areas, centred on the crop centre,
    a visual guide to the scale — not a segmentation.
    """
    canvas = Canvas(700, 380)
    n = a.crops.shape[-1]
    panel, top, gap = 340.0, 36.0, 6.0
    scale = panel / n  # screen pixels per crop pixel
    pix = float(a.crop["pixel_mm"])
    m = a.phase_result
    yellow, label_box = (255, 230, 0, 255), (0, 0, 0, 150)
    lines = ("red, blue: the border network's cavity and epicardial borders" if a.borders is not None else
             "circles: discs of the predicted areas (a guide, not a contour)")
    canvas.text(350, 4, f"crops seen by the networks (RV on the left); regressed wall thickness per segment in mm; "
                f"{lines}", size=9, anchor="ma")
    for i, (name, t_src, t_cyc) in enumerate((("ED", a.ed_frame, m.ed_frame), ("ES", a.es_frame, m.es_frame))):
        x0 = 7.0 + i * (panel + gap)
        canvas.paste_gray(a.crops[t_cyc], x0, top, panel)
        f = a.indices.frame(t_src)
        cx, cy = x0 + panel / 2, top + panel / 2
        r_endo = np.sqrt(f.cavity_area_mm2 / np.pi) / pix * scale
        r_epi = np.sqrt((f.cavity_area_mm2 + f.myocardium_area_mm2) / np.pi) / pix * scale
        if a.borders is not None:
            polys = border_polygons(a.borders.labels[t_cyc])
            for which, colour in (("cavity", "#ff6b6b"), ("epicardium", "#6bb5ff")):
                poly = polys[which]
                if poly is not None:  # crop pixel (i, j) has its centre at ((j + 0.5), (i + 0.5)) * scale
                    xy = np.stack([x0 + (poly[:, 1] + 0.5) * scale, top + (poly[:, 0] + 0.5) * scale], axis=1)
                    canvas.polyline(np.vstack([xy, xy[:1]]), hex_color(colour), 1.4)
            if a.borders.agreement.flagged[t_cyc]:
                canvas.text(x0 + 6, top + panel - 6, "flagged: borders and regression differ", size=10,
                            color=(255, 80, 80, 255), anchor="ld", box=label_box)
        else:
            canvas.circle(cx, cy, r_endo, outline=hex_color("#ff6b6b"), width=1.2)
            canvas.circle(cx, cy, r_epi, outline=hex_color("#6bb5ff"), width=1.2)
        for boundary in (30, 90, 150, 210, 270, 330):
            b = np.deg2rad(boundary)
            u = np.array([np.sin(b), -np.cos(b)])
            canvas.polyline(np.array([[cx, cy] + 0.6 * r_endo * u, [cx, cy] + 1.35 * r_epi * u]), yellow, 0.8)
        for k, seg in enumerate(SEGMENTS):
            b = np.deg2rad(_SECTOR_CENTRES[seg])
            rr = min(1.55 * r_epi, panel / 2 - 14)
            canvas.text(cx + rr * np.sin(b), cy - rr * np.cos(b), f"{seg}\n{f.rwt_mm[k]:.1f}", size=10,
                        color=yellow, anchor="mm", box=label_box)
        canvas.text(cx, top - 4, f"{name}: frame {t_src}, A1 {f.cavity_area_mm2:.0f} mm², "
                    f"A2 {f.myocardium_area_mm2:.0f} mm²", size=10, anchor="md")
    return canvas.png()


# --------------------------------------------------------------------------- html
def report_html(a: Analysis, curve: bytes, overlay: bytes, heart: str = "") -> str:
    """A self-contained HTML page (figures embedded) of the analysis."""
    d = a.derived
    summary = [
        ["End-diastole (ED)", f"frame {a.ed_frame}", f"cavity {d['ed_cavity_area_mm2']:.0f} mm², myocardium "
         f"{d['ed_myocardium_area_mm2']:.0f} mm², mean wall {d['ed_mean_wall_thickness_mm']:.1f} mm"],
        ["End-systole (ES)", f"frame {a.es_frame}", f"cavity {d['es_cavity_area_mm2']:.0f} mm², myocardium "
         f"{d['es_myocardium_area_mm2']:.0f} mm², mean wall {d['es_mean_wall_thickness_mm']:.1f} mm"],
        ["Fractional area change", f"{d['fractional_area_change_percent']:.0f} %", "100 (A1_ED − A1_ES) / A1_ED"],
    ]
    thick = [[seg, f"{a.indices.rwt_mm[a.ed_frame][k]:.1f}", f"{a.indices.rwt_mm[a.es_frame][k]:.1f}",
              f"{d['wall_thickening_percent'][seg]:.0f}"] for k, seg in enumerate(SEGMENTS)]
    frames = []
    for t in range(a.n_frames):
        f = a.indices.frame(t)
        mark = " (ED)" if t == a.ed_frame else " (ES)" if t == a.es_frame else ""
        frames.append([f"{t}{mark}", f"{a.times_ms[t]:.0f}", "systole" if a.phase[t] else "diastole",
                       f"{f.cavity_area_mm2:.0f} ± {a.spread[t, 0]:.0f}", f"{f.myocardium_area_mm2:.0f} ± {a.spread[t, 1]:.0f}",
                       *[f"{v:.1f}" for v in f.dims_mm], *[f"{v:.1f}" for v in f.rwt_mm]])
    crop = a.crop
    model = a.model
    warn = "".join(f"<li>{html.escape(w)}</li>" for w in a.warnings) or "<li>none</li>"
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in a.timings_ms.items())
    b64c, b64o = base64.b64encode(curve).decode(), base64.b64encode(overlay).decode()
    borders_note = ""
    if a.borders is not None:
        flagged = a.borders.agreement.flagged
        borders_note = (f"<li>Borders: the border network {html.escape(str(a.borders.model.get('name')))} on the same "
                        f"crops; {int(flagged.sum())} of {flagged.size} cycle frames flagged (its masks' cavity or "
                        f"myocardium area more than {100 * AGREEMENT_TOLERANCE:.0f} % from the regressed one). The "
                        "regressed indices are the measurements; the borders show where the LV was seen.</li>\n")
    slice_text = (f"slice {a.slice['index']} of {a.slice['n_slices']} ({html.escape(str(a.slice['chosen']))})"
                  + (f", position {a.slice['position_mm']:.1f} mm" if a.slice.get("position_mm") is not None else ""))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>lvquant report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 980px; margin: 1.5em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.2em; font-size: 0.85em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 7px; text-align: right; }}
th {{ background: #f2f2f2; }} td:first-child {{ text-align: left; }}
.note {{ color: #555; font-size: 0.85em; }}
</style></head><body>
<h1>Left-ventricle measurements</h1>
<p class="note">Automatic measurement by lvquant (a {html.escape(str(model.get('network')))} ensemble of
{model.get('n_models')} networks, {html.escape(str(model.get('name')))}). Research use: check the figures before relying on them.
{slice_text}; {a.n_frames} frames.</p>
<h2>Summary</h2>
{to_html_table(["", "frame / value", "details"], summary)}
<h2>Cavity and myocardium over the cycle</h2>
<img alt="area curves" src="data:image/png;base64,{b64c}">
<h2>Regional wall thickness (mm) and systolic thickening</h2>
{to_html_table(["segment", "ED", "ES", "thickening %"], thick)}
<img alt="ED and ES crops with sectors" src="data:image/png;base64,{b64o}">
{heart}
<h2>Every frame</h2>
<p class="note">Mean of the ensemble; ± the spread (standard deviation) across its networks.</p>
{to_html_table(["frame", "time ms", "phase", "A1 mm²", "A2 mm²", *INDEX_NAMES[2:]], frames)}
<h2>How it was measured</h2>
<ul class="note">
<li>Crop: centre (row, col) {', '.join(f'{v:.1f}' for v in crop.get('centre_px', [])) or 'as given'}, side {crop['side_mm']:.1f} mm,
pixel {crop['pixel_mm']:.3f} mm; RV direction {crop['rv_angle_deg']:.0f}° ({html.escape(str(crop['rv_angle_source']))}).</li>
<li>Phase: {html.escape(a.phase_result.method)} rule{f" (polynomial of degree {a.phase_result.degree})" if a.phase_result.degree else ""};
ED = highest, ES = lowest frame of the fitted cavity-area curve.</li>
{borders_note}<li>Timings: {html.escape(timings)}.</li>
</ul>
<h2>Warnings</h2><ul>{warn}</ul>
</body></html>
"""


def _tables(a: Analysis) -> dict[str, bytes]:
    out = {"result.json": to_json(result_dict(a)).encode("utf-8"), "result.csv": to_csv(result_rows(a)).encode("utf-8")}
    if a.whole_heart is not None:
        out["volumes.csv"] = to_csv(volume_rows(a.whole_heart, a.times_ms)).encode("utf-8")
        out["segments.csv"] = to_csv(segment_rows(a.whole_heart)).encode("utf-8")
    return out


def render_report(a: Analysis) -> dict[str, bytes]:
    """Every report file's content, in memory (name -> bytes)."""
    curve, overlay = curve_png(a), overlay_png(a)
    out = _tables(a)
    heart = ""
    if a.whole_heart is not None:
        out["volume.png"] = volume_png(a.whole_heart, a.times_ms)
        out["bullseye.png"] = bullseye_png(a.whole_heart)
        heart = heart_html(a.whole_heart, out["volume.png"], out["bullseye.png"])
    out.update({"curve.png": curve, "overlay.png": overlay,
                "report.html": report_html(a, curve, overlay, heart).encode("utf-8")})
    return out


def holds_only_a_report(folder: Path) -> bool:
    """Whether ``folder`` holds nothing but report files (a previous report, which may be replaced)."""
    return {p.name for p in folder.iterdir()} <= set(REPORT_FILES) | set(HEART_FILES)


def write_report(a: Analysis, out_dir: str | os.PathLike, *, figures: bool = True) -> list[Path]:
    """Write the report files into the folder ``out_dir``, all or nothing.

    The folder is written under a temporary name beside ``out_dir`` and renamed
    into place in one step (:func:`~lvquant.outputs.write_folder_atomic`): an
    error or an interrupt leaves ``out_dir`` as it was. An existing ``out_dir``
    is replaced only when it is empty or holds nothing but a previous report;
    two runs writing to one folder end with one run's complete report.

    Args:
        a: the analysis.
        out_dir: output folder.
        figures: also the PNG figures and the HTML page (default); without
            them only result.json and result.csv are written.

    Returns:
        The paths written.

    Raises:
        OutputError: the folder holds other files, or cannot be written.
    """
    contents = render_report(a) if figures else _tables(a)
    folder = Path(out_dir)
    check_report_folder(folder)
    write_folder_atomic(folder, contents, replace=holds_only_a_report)
    return [folder / name for name in contents]


def check_report_folder(folder: str | os.PathLike) -> Path:
    """Make sure a report can be written to ``folder`` without creating anything.

    Raises:
        OutputError: it cannot be created or written, or it holds files other than a report.
    """
    folder = check_can_create(folder)
    if folder.is_dir() and not holds_only_a_report(folder):
        raise OutputError(f"{folder} holds other files than an lvquant report; give a new or empty folder "
                          "(a previous report there is replaced)")
    return folder
