"""Small raster figures drawn with Pillow: a line chart and image panels with labels.

The report's two figures need only lines, shaded bands, markers, circles and
text. Matplotlib costs about 0.4 s to import and 0.2–0.3 s to draw them, a
third of a whole analysis; Pillow draws them in a few tens of milliseconds.
Everything is drawn at :data:`SUPERSAMPLE` times the final size and then
downsampled, which smooths the edges of lines and circles.

Coordinates: a :class:`LineChart` takes data coordinates (x, y); a
:class:`Canvas` takes pixel coordinates of the *final* image (x to the right,
y down), which it scales to the supersampled drawing itself.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Drawing resolution relative to the final image.
SUPERSAMPLE = 2

Color = tuple[int, ...]
#: The superscript two, which the bundled font lacks: drawn as a raised small "2".
SQUARED = "\u00b2"


@lru_cache(maxsize=16)
def font(size_px: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled scalable font at ``size_px`` final pixels (supersampled)."""
    return ImageFont.load_default(size=size_px * SUPERSAMPLE)


def hex_color(code: str, alpha: int = 255) -> Color:
    """'#rrggbb' -> (r, g, b, alpha)."""
    code = code.lstrip("#")
    return (int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16), alpha)


def nice_ticks(lo: float, hi: float, target: int = 5) -> np.ndarray:
    """Round tick values (1, 2 or 5 × 10^k apart) inside [lo, hi], as close to ``target`` of them as possible."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo])
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    candidates = [m * mag for m in (1, 2, 5, 10)]

    def count(step: float) -> int:
        return math.floor(hi / step + 1e-9) - math.ceil(lo / step - 1e-9) + 1

    step = min(candidates, key=lambda c: (abs(count(c) - target), -c))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = first + step * np.arange(count(step))
    return np.round(ticks, 10)


def _dashed(points: np.ndarray, on: float, off: float) -> list[np.ndarray]:
    """Split a polyline (N, 2) into the 'on' pieces of a dash pattern (lengths in pixels)."""
    seg = np.diff(points, axis=0)
    length = np.concatenate([[0.0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))])
    if length[-1] <= 0:
        return []
    pieces = []
    start = 0.0
    while start < length[-1]:
        stop = min(start + on, length[-1])
        ts = np.concatenate([[start], length[(length > start) & (length < stop)], [stop]])
        pieces.append(np.stack([np.interp(ts, length, points[:, 0]), np.interp(ts, length, points[:, 1])], 1))
        start = stop + off
    return pieces


def _draw_line_with_squares(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: float,
                            color: Color, anchor: str) -> None:
    """One line of text at supersampled ``xy``; each '²' is drawn as a raised small '2'."""
    f, f_sup = font(size), font(size * 0.7)
    parts = text.split(SQUARED)
    widths = [f.getlength(part) for part in parts]
    sup = f_sup.getlength("2")
    total = sum(widths) + sup * (len(parts) - 1)
    cursor = xy[0] - {"l": 0.0, "m": total / 2, "r": total}.get(anchor[0], 0.0)
    vertical = anchor[1] if len(anchor) > 1 else "a"
    for i, part in enumerate(parts):
        draw.text((cursor, xy[1]), part, font=f, fill=color, anchor="l" + vertical)
        cursor += widths[i]
        if i < len(parts) - 1:
            draw.text((cursor, xy[1] - 0.35 * size * SUPERSAMPLE), "2", font=f_sup, fill=color, anchor="l" + vertical)
            cursor += sup


class Canvas:
    """An RGB image to draw on, in final-image pixel coordinates.

    Args:
        width, height: final size in pixels.
        background: fill colour.
    """

    def __init__(self, width: int, height: int, background: Color = (255, 255, 255)) -> None:
        self.width, self.height = int(width), int(height)
        self.image = Image.new("RGB", (self.width * SUPERSAMPLE, self.height * SUPERSAMPLE), background)
        self.draw = ImageDraw.Draw(self.image, "RGBA")

    @staticmethod
    def _s(value: float) -> float:
        return value * SUPERSAMPLE

    def polyline(self, xy: np.ndarray, color: Color, width: float = 1.0, dash: tuple[float, float] | None = None) -> None:
        """Connected line through (N, 2) points; ``dash`` = (on, off) lengths in pixels."""
        pts = np.asarray(xy, dtype=float) * SUPERSAMPLE
        pieces = [pts] if dash is None else _dashed(pts, dash[0] * SUPERSAMPLE, dash[1] * SUPERSAMPLE)
        w = max(1, round(width * SUPERSAMPLE))
        for piece in pieces:
            if len(piece) >= 2:
                self.draw.line([tuple(p) for p in piece], fill=color, width=w, joint="curve")

    def polygon(self, xy: np.ndarray, fill: Color) -> None:
        """Filled polygon through (N, 2) points."""
        self.draw.polygon([tuple(p) for p in np.asarray(xy, dtype=float) * SUPERSAMPLE], fill=fill)

    def rectangle(self, x0: float, y0: float, x1: float, y1: float, *, fill: Color | None = None,
                  outline: Color | None = None, width: float = 1.0) -> None:
        box = [self._s(min(x0, x1)), self._s(min(y0, y1)), self._s(max(x0, x1)), self._s(max(y0, y1))]
        self.draw.rectangle(box, fill=fill, outline=outline, width=max(1, round(width * SUPERSAMPLE)))

    def circle(self, cx: float, cy: float, r: float, *, outline: Color | None = None, fill: Color | None = None,
               width: float = 1.0) -> None:
        box = [self._s(cx - r), self._s(cy - r), self._s(cx + r), self._s(cy + r)]
        self.draw.ellipse(box, outline=outline, fill=fill, width=max(1, round(width * SUPERSAMPLE)))

    def marker(self, cx: float, cy: float, shape: str, size: float, color: Color) -> None:
        """A filled circle (``"o"``) or square (``"s"``) of half-size ``size`` pixels."""
        box = [self._s(cx - size), self._s(cy - size), self._s(cx + size), self._s(cy + size)]
        if shape == "s":
            self.draw.rectangle(box, fill=color)
        else:
            self.draw.ellipse(box, fill=color)

    def text(self, x: float, y: float, text: str, *, size: float = 11, color: Color = (0, 0, 0, 255),
             anchor: str = "la", box: Color | None = None, pad: float = 1.5) -> None:
        """Text at (x, y); ``anchor`` as in Pillow (e.g. 'mm' = centred); ``box`` fills a background.

        One-line text may contain '²' (drawn as a raised small 2, see :data:`SQUARED`).
        """
        f = font(size)
        xy = (self._s(x), self._s(y))
        squared = SQUARED in text and "\n" not in text
        if box is not None:
            # the box of the text with a full-size 2: a little wider than the raised one
            l, t, r, b = self.draw.multiline_textbbox(xy, text.replace(SQUARED, "2"), font=f, anchor=anchor,
                                                      align="center")
            p = self._s(pad)
            self.draw.rectangle([l - p, t - p, r + p, b + p], fill=box)
        if squared:
            _draw_line_with_squares(self.draw, xy, text, size, color, anchor)
        else:
            self.draw.multiline_text(xy, text, font=f, fill=color, anchor=anchor, align="center")

    def vertical_text(self, x: float, y: float, text: str, *, size: float = 11, color: Color = (0, 0, 0, 255)) -> None:
        """Text turned 90° counter-clockwise, centred on (x, y)."""
        f = font(size)
        width = f.getlength(text.replace(SQUARED, "2"))
        height = f.getbbox("Ag(")[3] + 0.4 * self._s(size)
        tile = Image.new("RGBA", (int(width) + 4, int(height) + 4), (0, 0, 0, 0))
        _draw_line_with_squares(ImageDraw.Draw(tile), (2, height + 2), text, size, color, "ld")
        tile = tile.rotate(90, expand=True)
        self.image.paste(tile, (int(self._s(x) - tile.width / 2), int(self._s(y) - tile.height / 2)), tile)

    def paste_gray(self, pixels: np.ndarray, x0: float, y0: float, side: float, vmin: float = 0.0,
                   vmax: float = 1.0) -> None:
        """Paste a 2-D grey image scaled to ``side`` × ``side`` pixels at (x0, y0) (top-left)."""
        g = np.clip((np.asarray(pixels, dtype=float) - vmin) / (vmax - vmin) * 255.0, 0, 255).astype(np.uint8)
        n = round(self._s(side))
        tile = Image.fromarray(g, mode="L").resize((n, n), Image.Resampling.NEAREST).convert("RGB")
        self.image.paste(tile, (round(self._s(x0)), round(self._s(y0))))

    def png(self) -> bytes:
        """The finished image (downsampled to the final size) as PNG bytes."""
        out = self.image.reduce(SUPERSAMPLE)  # exact box average of each SUPERSAMPLE^2 block (10x faster than LANCZOS)
        buf = io.BytesIO()
        out.save(buf, format="PNG", optimize=False, compress_level=3)  # 3: 2.5x faster than 6, 1 % larger
        return buf.getvalue()


class LineChart(Canvas):
    """One x–y plot area with axes, ticks and labels, in data coordinates.

    Args:
        width, height: final size in pixels.
        xlim, ylim: data ranges of the plot area.
        margins: (left, top, right, bottom) pixels around the plot area.
    """

    def __init__(self, width: int, height: int, xlim: tuple[float, float], ylim: tuple[float, float],
                 margins: tuple[int, int, int, int] = (64, 28, 14, 46)) -> None:
        super().__init__(width, height)
        self.xlim, self.ylim = (float(xlim[0]), float(xlim[1])), (float(ylim[0]), float(ylim[1]))
        left, top, right, bottom = margins
        self.box = (left, top, width - right, height - bottom)

    def px(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """(N, 2) pixel positions of data points (clipped to the plot area)."""
        x0, y0, x1, y1 = self.box
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.clip(np.atleast_1d(np.asarray(y, dtype=float)), *self.ylim)
        px = x0 + (x - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * (x1 - x0)
        py = y1 - (y - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * (y1 - y0)
        return np.stack([np.clip(px, x0, x1), py], axis=1)

    def vspan(self, xa: float, xb: float, color: Color) -> None:
        (pa, _), (pb, _) = self.px([xa, xb], [0, 0])
        self.rectangle(pa, self.box[1], pb, self.box[3], fill=color)

    def band(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, color: Color) -> None:
        """Shade between two curves."""
        self.polygon(np.concatenate([self.px(x, hi), self.px(x, lo)[::-1]]), color)

    def line(self, x: np.ndarray, y: np.ndarray, color: Color, width: float = 1.5,
             dash: tuple[float, float] | None = None, marker: str | None = None, marker_size: float = 2.5) -> None:
        pts = self.px(x, y)
        self.polyline(pts, color, width, dash)
        if marker:
            for px, py in pts:
                self.marker(px, py, marker, marker_size, color)

    def vline(self, x: float, color: Color, width: float = 1.0, dash: tuple[float, float] | None = (2, 2)) -> None:
        px = self.px(x, 0)[0, 0]
        self.polyline(np.array([[px, self.box[1]], [px, self.box[3]]]), color, width, dash)

    def axes(self, xlabel: str, ylabel: str, title: str = "", *, size: float = 11) -> None:
        """Frame, ticks with values, axis labels and title (call after drawing the data)."""
        x0, y0, x1, y1 = self.box
        black = (0, 0, 0, 255)
        self.rectangle(x0, y0, x1, y1, outline=black, width=1)
        for v in nice_ticks(*self.xlim, target=8):
            px = self.px(v, self.ylim[0])[0, 0]
            self.polyline(np.array([[px, y1], [px, y1 + 4]]), black)
            self.text(px, y1 + 6, f"{v:g}", size=size - 1, anchor="ma")
        for v in nice_ticks(*self.ylim, target=5):
            py = self.px(self.xlim[0], v)[0, 1]
            self.polyline(np.array([[x0 - 4, py], [x0, py]]), black)
            self.text(x0 - 6, py, f"{v:g}", size=size - 1, anchor="rm")
        self.text((x0 + x1) / 2, self.height - 4, xlabel, size=size, anchor="md")
        self.vertical_text(12, (y0 + y1) / 2, ylabel, size=size)
        if title:
            self.text((x0 + x1) / 2, y0 - 6, title, size=size, anchor="md")

    def legend(self, entries: Sequence[tuple[str, Color, str | None, tuple[float, float] | None]], *,
               size: float = 10, corner: str = "lower right") -> None:
        """Legend box: entries of (label, colour, marker or None, dash or None)."""
        f = font(size)
        widths = [f.getbbox(label)[2] / SUPERSAMPLE for label, *_ in entries]
        row, sample = size + 5, 22
        w = max(widths) + sample + 16
        h = row * len(entries) + 6
        x0, y0, x1, y1 = self.box
        lx = x1 - w - 6 if "right" in corner else x0 + 6
        ly = y1 - h - 6 if "lower" in corner else y0 + 6
        self.rectangle(lx, ly, lx + w, ly + h, fill=(255, 255, 255, 220), outline=(180, 180, 180, 255))
        for i, (label, color, marker, dash) in enumerate(entries):
            cy = ly + 3 + row * (i + 0.5)
            self.polyline(np.array([[lx + 5, cy], [lx + 5 + sample, cy]]), color, 1.5, dash)
            if marker:
                self.marker(lx + 5 + sample / 2, cy, marker, 2.5, color)
            self.text(lx + 10 + sample, cy, label, size=size, anchor="lm")
