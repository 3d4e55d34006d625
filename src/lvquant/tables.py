"""Rows of indices as CSV, JSON or an aligned text table.

A *row* is a flat ``dict`` of column name -> value (str, int, float or None).
Index columns use the product's field names, with list fields spread into
numbered columns for CSV and tables: ``dims_mm_D1``.. ``rwt_mm_RWT6``.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from typing import Any, Iterable, Sequence

from .indices import INDEX_NAMES, Indices

#: Flat column names of the 11 indices, in the LVQuan order.
INDEX_COLUMNS: tuple[str, ...] = ("cavity_area_mm2", "myocardium_area_mm2") + tuple(
    f"dims_mm_{n}" for n in INDEX_NAMES[2:5]
) + tuple(f"rwt_mm_{n}" for n in INDEX_NAMES[5:])


def index_rows(indices: Indices, labels: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per frame: the given label columns followed by the 11 indices.

    Args:
        indices: a stack with batch shape (T,) (or a single frame).
        labels: T dicts of leading columns (e.g. ``{"frame": 3, "phase": 1}``).
    """
    values = indices.to_array().reshape(-1, 11)
    if len(labels) != values.shape[0]:
        raise ValueError(f"{len(labels)} label rows for {values.shape[0]} frames")
    rows = []
    for lab, vec in zip(labels, values):
        row = dict(lab)
        for name, v in zip(INDEX_COLUMNS, vec):
            row[name] = None if not math.isfinite(v) else float(v)
        rows.append(row)
    return rows


def _fmt(value: Any, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def to_csv(rows: Iterable[dict[str, Any]], digits: int = 3) -> str:
    """CSV text with a header row (every row's columns, in the order they first appear); missing values are
    empty cells."""
    rows = list(rows)
    if not rows:
        return ""
    out = io.StringIO()
    names = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(v, digits) for k, v in row.items()})
    return out.getvalue()


def to_html_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML ``<table>`` of text cells (escaped), with a header row."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_text_table(rows: Iterable[dict[str, Any]], digits: int = 1) -> str:
    """Aligned plain-text table for a terminal; short headers (A1, D1, RWT1...)."""
    rows = list(rows)
    if not rows:
        return "(no rows)\n"
    short = {c: n for c, n in zip(INDEX_COLUMNS, INDEX_NAMES)}
    keys = list(rows[0].keys())
    header = [short.get(k, k) for k in keys]
    body = [[_fmt(r.get(k), digits) or "-" for k in keys] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(lines) + "\n"


def to_json(obj: Any) -> str:
    """Pretty JSON with NaN/inf turned into null (strict JSON)."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    return json.dumps(clean(obj), indent=2, allow_nan=False) + "\n"
