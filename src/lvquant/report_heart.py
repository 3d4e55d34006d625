"""The report's whole-heart and border parts: result.json fields, volumes.csv, segments.csv, volume.png,
bullseye.png and the HTML section (see docs/analyze.md, "The whole heart").

:mod:`lvquant.report` calls these when the analysis holds a
:class:`~lvquant.analysis.whole_heart.WholeHeart` (``analyze --whole-heart``) or the border
network's :class:`~lvquant.analysis.borders.Borders`.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from .analysis.borders import AGREEMENT_TOLERANCE, border_polygons
from .analysis.convert import crop_to_image_px
from .analysis.pipeline import Analysis
from .analysis.whole_heart import WholeHeart
from .raster import Canvas, LineChart, hex_color
from .tables import to_html_table

#: Files the whole heart adds to a report.
HEART_FILES = ("volumes.csv", "segments.csv", "volume.png", "bullseye.png")

_FUNCTION_KEYS = ("edv_ml", "esv_ml", "sv_ml", "ef_percent", "lv_mass_g")


def _polygon_list(poly: np.ndarray | None) -> list[list[float]] | None:
    return None if poly is None else [[round(float(r), 2), round(float(c), 2)] for r, c in poly]


def borders_dict(a: Analysis) -> dict[str, Any]:
    """result.json ``borders``: per cycle frame the mask-measured areas and the flag; the ED and ES
    borders in the source image's pixels (row, col) and in the crop's."""
    b = a.borders
    ph = a.phase_result
    frames = []
    for j in range(b.labels.shape[0]):
        frames.append({"cycle_frame": j, "source_position": float(a.cycle_positions[j]),
                       "cavity_area_mm2": float(b.indices.cavity_area_mm2[j]),
                       "myocardium_area_mm2": float(b.indices.myocardium_area_mm2[j]),
                       "flagged": bool(b.agreement.flagged[j])})
    contours = {}
    crop = a.crop
    for name, j in (("ed", ph.ed_frame), ("es", ph.es_frame)):
        polys = border_polygons(b.labels[j])
        entry: dict[str, Any] = {"cycle_frame": int(j)}
        for which, poly in polys.items():
            entry[f"{which}_crop_px"] = _polygon_list(poly)
            if poly is not None and "centre_px" in crop:
                img = crop_to_image_px(poly, crop["centre_px"], a.source.get("spacing_mm", [1, 1]), crop["side_mm"],
                                       crop["rv_angle_deg"], crop["size_px"], crop["rv_angle_deg"] + crop["rotation_deg"])
                entry[f"{which}_image_px"] = _polygon_list(img)
        contours[name] = entry
    return {"model": b.model, "tolerance": AGREEMENT_TOLERANCE,
            "rule": f"a frame is flagged when the cavity or myocardium area measured on the border network's masks "
                    f"differs from the regressed one by more than {100 * AGREEMENT_TOLERANCE:.0f} % of it, or its "
                    "masks hold no measurable LV",
            "n_flagged": int(b.agreement.flagged.sum()), "frames": frames, "contours": contours}


def heart_dict(h: WholeHeart) -> dict[str, Any]:
    """result.json ``whole_heart``."""
    slices = []
    ed_c = h.phase_result.ed_frame if h.phase_result is not None else h.ed_frame
    es_c = h.phase_result.es_frame if h.phase_result is not None else h.es_frame
    for m in h.slices:
        entry = {"index": m.index, "position_mm": m.position_mm,
                 "ed_cavity_area_mm2": float(m.indices.cavity_area_mm2[ed_c]),
                 "es_cavity_area_mm2": float(m.indices.cavity_area_mm2[es_c]),
                 "ed_myocardium_area_mm2": float(m.indices.myocardium_area_mm2[ed_c]),
                 "crop": {k: m.crop[k] for k in ("centre_px", "side_mm", "pixel_mm", "rv_angle_deg")}}
        if m.mask_indices is not None:
            entry["masks"] = {"ed_cavity_area_mm2": float(m.mask_indices.cavity_area_mm2[0]),
                              "es_cavity_area_mm2": float(m.mask_indices.cavity_area_mm2[1]),
                              "ed_myocardium_area_mm2": float(m.mask_indices.myocardium_area_mm2[0])}
        slices.append(entry)
    return {
        "lv_slices": h.lv_slices,
        "excluded_slices": {str(k): v for k, v in sorted(h.excluded.items())},
        "slice_spacing_mm": h.slice_spacing_mm,
        "ed_frame": h.ed_frame,
        "es_frame": h.es_frame,
        "function": h.function,
        "volume_ml": [float(v) for v in h.volume_ml],
        "myocardial_volume_ml": [float(v) for v in h.myocardial_volume_ml],
        "aha": h.aha,
        "slices": slices,
        "method": h.method,
        "units": {"volume": "mL", "mass": "g", "ef": "%", "thickness": "mm", "indexed": "per m2 of BSA"},
    }


def volume_rows(h: WholeHeart, times_ms: np.ndarray) -> list[dict[str, Any]]:
    """volumes.csv: one row per source frame."""
    return [{"frame": t, "time_ms": float(times_ms[t]), "lv_volume_ml": float(h.volume_ml[t]),
             "myocardial_volume_ml": float(h.myocardial_volume_ml[t]),
             "point": "ED" if t == h.ed_frame else "ES" if t == h.es_frame else ""} for t in range(h.volume_ml.size)]


def segment_rows(h: WholeHeart) -> list[dict[str, Any]]:
    """segments.csv: the 16 AHA segments."""
    return [dict(s) for s in h.aha["segments"]]


# ------------------------------------------------------------------------- figures
_VOLUME = hex_color("#c44e52")


def volume_png(h: WholeHeart, times_ms: np.ndarray) -> bytes:
    """LV volume over the cycle with ED and ES (700×300 PNG)."""
    t = np.asarray(times_ms, dtype=np.float64)
    x = t if np.all(np.diff(t) > 0) else np.arange(t.size, dtype=np.float64)
    unit = "ms" if x is t else "frame"
    v = h.volume_ml
    step = float(np.median(np.diff(x))) if x.size > 1 else 1.0
    chart = LineChart(700, 300, (x[0] - step / 2, x[-1] + step / 2), (0.0, 1.15 * max(float(v.max()), 1.0)))
    chart.line(x, v, _VOLUME, marker="o")
    for frame, name in ((h.ed_frame, "ED"), (h.es_frame, "ES")):
        chart.vline(x[frame], (0, 0, 0, 255))
        px, py = chart.px(x[frame], v[frame])[0]
        chart.text(px + 4, py - 6, f"{name} (frame {frame})", size=10, anchor="ld")
    f = h.function
    chart.axes(f"time ({unit}); the regressed volume curve", "LV volume (mL)",
               f"EDV {f['edv_ml']:.0f} mL, ESV {f['esv_ml']:.0f} mL, EF {f['ef_percent']:.0f} %, "
               f"mass {f['lv_mass_g']:.0f} g (from the {f['source']}; {len(h.lv_slices)} slices, "
               f"{h.slice_spacing_mm:.1f} mm apart)")
    return chart.png()


def _colour(value: float, lo: float, hi: float) -> tuple[int, int, int, int]:
    """A blue-white-red ramp over [lo, hi]; grey for NaN."""
    if not np.isfinite(value):
        return (200, 200, 200, 255)
    u = float(np.clip((value - lo) / max(hi - lo, 1e-9), 0.0, 1.0))
    stops = np.array([[49, 54, 149], [171, 217, 233], [255, 255, 191], [253, 174, 97], [165, 0, 38]], dtype=float)
    k = min(int(u * 4), 3)
    w = u * 4 - k
    c = stops[k] * (1 - w) + stops[k + 1] * w
    return (int(c[0]), int(c[1]), int(c[2]), 255)


# Clock angles (degrees clockwise from 12 o'clock; septum on the left, as in the crops) of each ring's segments.
_RING_SPANS = [(330, 30), (270, 330), (210, 270), (150, 210), (90, 150), (30, 90)]
_APICAL_SPANS = [(315, 45), (225, 315), (135, 225), (45, 135)]


def _sector(cx: float, cy: float, r0: float, r1: float, a0: float, a1: float) -> np.ndarray:
    span = (a1 - a0) % 360 or 360
    ang = np.deg2rad(a0 + np.linspace(0, span, 24))
    outer = np.stack([cx + r1 * np.sin(ang), cy - r1 * np.cos(ang)], 1)
    inner = np.stack([cx + r0 * np.sin(ang[::-1]), cy - r0 * np.cos(ang[::-1])], 1)
    return np.concatenate([outer, inner])


def bullseye_png(h: WholeHeart) -> bytes:
    """Two AHA 16-segment bullseyes: ED wall thickness (mm) and systolic thickening (%) (700×360 PNG)."""
    canvas = Canvas(700, 360)
    segs = h.aha["segments"]
    panels = (("ED wall thickness (mm)", "ed_thickness_mm", 0.0, 16.0, "{:.1f}"),
              ("systolic thickening (%)", "thickening_percent", 0.0, 80.0, "{:.0f}"))
    radius = 140.0
    for i, (title, key, lo, hi, fmt) in enumerate(panels):
        cx, cy = 175.0 + 350.0 * i, 190.0
        canvas.text(cx, 12, title, size=12, anchor="ma")
        rings = ((0, 6, 2 / 3, 1.0, _RING_SPANS), (6, 12, 1 / 3, 2 / 3, _RING_SPANS), (12, 16, 0.0, 1 / 3, _APICAL_SPANS))
        for start, stop, f0, f1, spans in rings:
            for seg, (a0, a1) in zip(segs[start:stop], spans):
                poly = _sector(cx, cy, f0 * radius, f1 * radius, a0, a1)
                canvas.polygon(poly, _colour(seg[key], lo, hi))
                canvas.polyline(np.vstack([poly, poly[:1]]), (60, 60, 60, 255), 1.0)
                mid = np.deg2rad(a0 + ((a1 - a0) % 360) / 2)
                rr = (f0 + f1) / 2 * radius if f0 > 0 else radius / 5.5
                canvas.text(cx + rr * np.sin(mid), cy - rr * np.cos(mid), f"{seg['number']}\n{fmt.format(seg[key])}",
                            size=9, anchor="mm")
        canvas.text(cx - radius - 4, cy, "septum", size=9, anchor="rm")
    canvas.text(350, 350, f"AHA 16 segments, base outside, apex inside; levels from slices "
                f"{h.aha['levels']['basal']} / {h.aha['levels']['mid']} / {h.aha['levels']['apical']}",
                size=9, anchor="md")
    return canvas.png()


# --------------------------------------------------------------------------- html
def heart_html(h: WholeHeart, volume: bytes, bullseye: bytes) -> str:
    """The report page's "Whole heart" section."""
    import base64

    f = h.function
    other = f.get("regressed")
    names = {"edv_ml": "EDV (mL)", "esv_ml": "ESV (mL)", "sv_ml": "SV (mL)", "ef_percent": "EF (%)",
             "lv_mass_g": "LV mass (g)"}
    rows = []
    for key in _FUNCTION_KEYS:
        row = [names[key], f"{f[key]:.1f}"]
        if other is not None:
            row.append(f"{other[key]:.1f}")
        idx = {"edv_ml": "edvi_ml_per_m2", "esv_ml": "esvi_ml_per_m2", "sv_ml": "svi_ml_per_m2",
               "lv_mass_g": "lv_mass_index_g_per_m2"}.get(key)
        row.append(f"{f[idx]:.1f}" if idx and idx in f else "–")
        rows.append(row)
    headers = ["", f"from the {f['source']}"] + (["from the regressed areas (check)"] if other is not None else []) + \
        ["indexed (per m² BSA)"]
    seg_rows = [[str(s["number"]), s["level"], s["name"], f"{s['ed_thickness_mm']:.1f}", f"{s['es_thickness_mm']:.1f}",
                 f"{s['thickening_percent']:.0f}"] for s in h.aha["segments"]]
    excluded = "; ".join(f"slice {k}: {v}" for k, v in sorted(h.excluded.items())) or "none"
    b64v, b64b = base64.b64encode(volume).decode(), base64.b64encode(bullseye).decode()
    method = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in h.method.items())
    bsa = f", BSA {f['bsa_m2']:.2f} m²" if f.get("bsa_m2") else ""
    return f"""
<h2>Whole heart</h2>
<p class="note">Slices {h.lv_slices[0]}–{h.lv_slices[-1]} hold the LV ({len(h.lv_slices)} slices, {h.slice_spacing_mm:.2f} mm
apart); ED frame {h.ed_frame}, ES frame {h.es_frame} of the volume curve{bsa}. Not measured: {html.escape(excluded)}.</p>
{to_html_table(headers, rows)}
<img alt="LV volume over the cycle" src="data:image/png;base64,{b64v}">
<h3>AHA 16 segments</h3>
<img alt="bullseye" src="data:image/png;base64,{b64b}">
{to_html_table(["segment", "level", "name", "ED mm", "ES mm", "thickening %"], seg_rows)}
<ul class="note">{method}</ul>
"""


__all__ = ["HEART_FILES", "borders_dict", "heart_dict", "volume_rows", "segment_rows", "volume_png", "bullseye_png",
           "heart_html"]
