"""The Pillow figure primitives behind curve.png and overlay.png."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from lvquant.raster import Canvas, LineChart, _dashed, hex_color, nice_ticks


@given(st.floats(-1e4, 1e4), st.floats(1e-3, 1e4), st.integers(2, 10))
def test_nice_ticks_are_round_evenly_spaced_and_inside(lo, span, target):
    hi = lo + span
    ticks = nice_ticks(lo, hi, target)
    assert len(ticks) >= 1
    assert ticks[0] >= lo - 1e-6 * span and ticks[-1] <= hi + 1e-6 * span
    if len(ticks) > 1:
        steps = np.diff(ticks)
        assert np.allclose(steps, steps[0], rtol=1e-6)
        mantissa = steps[0] / 10 ** np.floor(np.log10(steps[0]))
        assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-6
        # never far more ticks than asked for
        assert len(ticks) <= 2 * target + 1


def test_nice_ticks_examples():
    assert nice_ticks(0, 2400, 5).tolist() == [0, 500, 1000, 1500, 2000]
    assert nice_ticks(-0.5, 19.5, 8).tolist() == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]


def test_dashes_cover_the_pattern_along_the_line():
    pts = np.array([[0.0, 0.0], [100.0, 0.0]])
    pieces = _dashed(pts, 6.0, 4.0)
    assert len(pieces) == 10
    starts = [p[0, 0] for p in pieces]
    assert np.allclose(starts, np.arange(0, 100, 10))
    assert all(np.isclose(p[-1, 0] - p[0, 0], 6.0) for p in pieces)


def test_dashes_follow_corners():
    pts = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])
    pieces = _dashed(pts, 15.0, 100.0)
    assert len(pieces) == 1
    assert np.allclose(pieces[0], [[0, 0], [10, 0], [10, 5]])


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_chart_maps_data_to_the_plot_box_and_draws_there():
    chart = LineChart(200, 100, (0.0, 10.0), (0.0, 5.0), margins=(20, 10, 10, 20))
    px = chart.px([0, 10, 5], [0, 5, 2.5])
    assert np.allclose(px, [[20, 80], [190, 10], [105, 45]])
    chart.vspan(2.0, 4.0, hex_color("#ff0000"))
    img = _decode(chart.png())
    assert img.shape == (100, 200, 3)
    x2, x4 = chart.px([2, 4], [0, 0])[:, 0]
    inside = img[40, int(x2) + 3:int(x4) - 3]
    assert np.all(inside[:, 0] > 200) and np.all(inside[:, 1] < 60)  # red band
    assert np.all(img[40, int(x4) + 5:int(x4) + 20] > 240)  # white after it


def test_out_of_range_values_are_clipped_to_the_box():
    chart = LineChart(200, 100, (0.0, 10.0), (0.0, 5.0), margins=(20, 10, 10, 20))
    assert np.allclose(chart.px([-5, 20], [-1, 99]), [[20, 80], [190, 10]])


def test_squared_text_is_drawn_without_missing_glyph_boxes():
    """'mm²' must render like 'mm' plus a small raised 2, not a placeholder box."""
    def ink(text: str) -> np.ndarray:
        c = Canvas(120, 40)
        c.text(5, 20, text, size=16, anchor="lm")
        return _decode(c.png()).min(axis=2) < 128

    squared, plain = ink("mm²"), ink("mm2")
    rows_sq, rows_plain = np.flatnonzero(squared.any(1)), np.flatnonzero(plain.any(1))
    assert rows_sq.min() < rows_plain.min()  # the 2 is raised above the line
    assert squared.sum() < plain.sum()  # and smaller than a normal 2
    assert np.flatnonzero(squared.any(0)).max() < np.flatnonzero(plain.any(0)).max()


def test_gray_paste_is_scaled_and_placed():
    c = Canvas(100, 100)
    pixels = np.zeros((4, 4))
    pixels[:2] = 1.0
    c.paste_gray(pixels, 10, 10, 40)
    img = _decode(c.png())
    assert np.all(img[15:25, 15:45] > 230)  # top half white
    assert np.all(img[35:45, 15:45] < 25)  # bottom half black
    assert np.all(img[5, :] > 240)  # outside untouched


@pytest.mark.parametrize("shape", ["o", "s"])
def test_marker_is_centred(shape):
    c = Canvas(50, 50)
    c.marker(25, 25, shape, 4, (0, 0, 0, 255))
    dark = _decode(c.png()).min(axis=2) < 100
    ys, xs = np.nonzero(dark)
    assert abs(ys.mean() - 25) < 1 and abs(xs.mean() - 25) < 1
