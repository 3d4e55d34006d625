"""``qc.html``: one self-contained page (no network fetch, opens offline) to review a cohort by eye.

A contact sheet of every complete study's overlay (as embedded JPEG
thumbnails), outliers first, with its key numbers and QC flags and a link to
its full report; the failed studies with their reasons above it. A sort
menu, a "flagged only" switch and a subject filter work in the page; their
state can also be given in the address, ``qc.html#sort=subject&flagged=1&q=P01``
(what the browser test drives).
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Any

from .work import QC_DIR, thumbnail_jpeg

#: Sort orders offered in the page: key -> (label, data attribute, descending).
SORTS = {
    "outliers": ("outliers first", "rank", False),
    "subject": ("subject ID", "subject", False),
    "ed_cavity": ("ED cavity area", "edcav", True),
    "fac": ("fractional area change", "fac", True),
    "spread": ("ensemble spread", "spread", True),
    "ef": ("ejection fraction (whole heart)", "ef", True),
}

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1em;background:#fafafa;color:#222}
h1{font-size:1.3em;margin:.2em 0} .bar{margin:.6em 0;display:flex;gap:1.2em;align-items:center;flex-wrap:wrap}
#sheet{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #ccc;border-radius:4px;padding:4px;width:284px;font-size:12px}
.card.flagged{border:2px solid #d62728}
.card img{width:280px;display:block}
.card .id{font-weight:bold;font-size:13px} .flags{color:#d62728}
table.failed{border-collapse:collapse;font-size:13px} table.failed td{border:1px solid #ccc;padding:2px 6px}
"""

_SCRIPT = """
(function(){
  var sheet=document.getElementById('sheet');
  var cards=Array.prototype.slice.call(sheet.querySelectorAll('.card'));
  var sortSel=document.getElementById('sort'), flagged=document.getElementById('flagged'),
      query=document.getElementById('q'), shown=document.getElementById('shown');
  var SORTS=%SORTS%;
  function apply(){
    var s=SORTS[sortSel.value]||SORTS.outliers, attr=s[1], desc=s[2];
    cards.sort(function(a,b){
      var x=a.dataset[attr], y=b.dataset[attr];
      if(attr!=='subject'){x=parseFloat(x);y=parseFloat(y);
        if(isNaN(x))x=desc?-Infinity:Infinity; if(isNaN(y))y=desc?-Infinity:Infinity;}
      var c=x<y?-1:x>y?1:0; if(desc)c=-c;
      if(c===0){c=a.dataset.subject<b.dataset.subject?-1:1;}
      return c;});
    var q=query.value.trim().toLowerCase(), n=0;
    cards.forEach(function(c){
      var ok=(!flagged.checked||c.dataset.flagged==='1')&&(!q||c.dataset.subject.toLowerCase().indexOf(q)>=0);
      c.style.display=ok?'':'none'; if(ok)n++; sheet.appendChild(c);});
    shown.textContent=n+' of '+cards.length+' shown';
  }
  function fromHash(){
    var h=new URLSearchParams(location.hash.replace(/^#/,''));
    if(h.get('sort')&&SORTS[h.get('sort')])sortSel.value=h.get('sort');
    flagged.checked=h.get('flagged')==='1'; query.value=h.get('q')||'';
  }
  sortSel.onchange=apply; flagged.onchange=apply; query.oninput=apply;
  window.addEventListener('hashchange',function(){fromHash();apply();});
  fromHash(); apply();
})();
"""


def _thumb_data(sid: str, study_dir: Path) -> str:
    """The study's thumbnail as a data: URL (made from its overlay when the cached one is missing)."""
    cached = study_dir.parent.parent / QC_DIR / f"{sid}.jpg"
    try:
        data = cached.read_bytes()
    except OSError:
        try:
            data = thumbnail_jpeg((study_dir / "overlay.png").read_bytes())
        except (OSError, ValueError):
            return ""
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _card(rank: int, row: dict[str, Any], study_dir: Path, out: Path) -> str:
    sid = row["subject_id"]
    esc = html.escape
    link = Path(os.path.relpath(study_dir / "report.html", out)).as_posix()
    thumb = _thumb_data(sid, study_dir)
    img = f'<img alt="overlay of {esc(sid)}" src="{thumb}">' if thumb else "<p>(no overlay)</p>"
    flags = row["qc_flags"]
    spread = max(row["spread_cavity_percent"], row["spread_myocardium_percent"])
    ef = row.get("ef_percent")
    heart = ("" if ef is None else
             f'<div class="heart">whole heart, {row["n_lv_slices"]} slices: EF {ef:.0f} %; EDV {row["edv_ml"]:.0f} / '
             f'ESV {row["esv_ml"]:.0f} mL; mass {row["lv_mass_g"]:.0f} g</div>')
    return (f'<div class="card{" flagged" if flags else ""}" data-rank="{rank}" data-subject="{esc(sid)}" '
            f'data-edcav="{row["ed_cavity_area_mm2"]:.3f}" data-fac="{row["fac_percent"]:.3f}" '
            f'data-spread="{spread:.3f}" data-ef="{"NaN" if ef is None else f"{ef:.3f}"}" '
            f'data-flagged="{1 if flags else 0}">'
            f'<div class="id"><a href="{esc(link)}">{esc(sid)}</a></div>{img}'
            f'<div>ED {row["ed_frame"]} / ES {row["es_frame"]}; cavity {row["ed_cavity_area_mm2"]:.0f} / '
            f'{row["es_cavity_area_mm2"]:.0f} mm²; myocardium {row["ed_myocardium_area_mm2"]:.0f} mm²; '
            f'FAC {row["fac_percent"]:.0f} %; wall {row["ed_mean_wall_mm"]:.1f} mm; spread {spread:.1f} %</div>'
            f'{heart}<div class="flags">{esc(flags.replace(";", ", "))}</div></div>')


def qc_html(rows: list[dict[str, Any]], where: dict[str, Path], failed: list[dict[str, str]], out: Path) -> str:
    """The page for ``rows`` (already sorted outliers first), their folders and the open failures."""
    import json

    esc = html.escape
    n_flagged = sum(1 for r in rows if r["qc_flags"])
    cards = "\n".join(_card(i, r, where[r["subject_id"]], out) for i, r in enumerate(rows))
    fail_rows = "".join(f"<tr><td>{esc(f['subject_id'])}</td><td>{esc(f['reason'])}</td></tr>" for f in failed)
    fail_block = (f'<h2 id="failed-title">Failed: {len(failed)}</h2><table class="failed" id="failed">'
                  f"<tr><th>subject</th><th>reason</th></tr>{fail_rows}</table>") if failed else \
        '<h2 id="failed-title">Failed: 0</h2>'
    options = "".join(f'<option value="{k}">{esc(v[0])}</option>' for k, v in SORTS.items())
    script = _SCRIPT.replace("%SORTS%", json.dumps({k: [v[0], v[1], v[2]] for k, v in SORTS.items()}))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>lvquant cohort QC</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>{_STYLE}</style></head><body>
<h1>lvquant cohort QC: {len(rows)} studies, <span id="n-flagged">{n_flagged}</span> flagged, {len(failed)} failed</h1>
<p>Outliers first: a red frame marks a QC flag (ensemble spread &gt; its limit, a robust z-score beyond ±3 against
the cohort, or a warning of the analysis). The overlays show the border network's cavity and myocardium borders
(discs of the predicted areas, a guide to scale and not contours, when run with <code>--no-borders</code>).
Studies run with <code>--whole-heart</code> add EF, EDV, ESV and LV mass. Click a subject for its full report.</p>
{fail_block}
<div class="bar"><label>sort <select id="sort">{options}</select></label>
<label><input type="checkbox" id="flagged"> flagged only</label>
<label>subject <input type="search" id="q" placeholder="filter"></label><span id="shown"></span></div>
<div id="sheet">
{cards}
</div>
<script>{script}</script>
</body></html>
"""
