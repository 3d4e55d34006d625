"""lvquant.image_ops gives scipy.ndimage's numbers bit for bit (so the analysis need not import scipy)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage as ndi

from lvquant import image_ops

EIGHT = np.ones((3, 3), dtype=bool)
masks = arrays(bool, st.tuples(st.integers(1, 24), st.integers(1, 24)), elements=st.booleans())


@given(masks)
@settings(max_examples=300, deadline=None)
def test_label_numbers_the_pieces_as_scipy_does(mask):
    for eight, structure in ((True, EIGHT), (False, None)):
        lab, n = image_ops.label(mask, eight=eight)
        ref, n_ref = ndi.label(mask, structure=structure)
        assert n == n_ref
        np.testing.assert_array_equal(lab, ref)


@given(masks)
@settings(max_examples=300, deadline=None)
def test_fill_holes_is_scipys(mask):
    np.testing.assert_array_equal(image_ops.fill_holes(mask), ndi.binary_fill_holes(mask))


def test_a_ring_is_filled_and_its_pieces_counted():
    yy, xx = np.mgrid[:30, :30]
    r = np.hypot(yy - 15, xx - 15)
    ring = (r > 5) & (r < 9)
    assert image_ops.fill_holes(ring).sum() == (r < 9).sum()
    two = ring.copy()
    two[:, 14:17] = False  # cut into a left and a right half
    assert image_ops.label(two)[1] == 2
    assert image_ops.label(np.zeros((4, 4), bool))[1] == 0


@given(st.integers(0, 2**32 - 1), st.sampled_from([0.2, 0.45, 0.9, 1.7, 3.3]), st.sampled_from([1, 2]),
       st.sampled_from([np.float32, np.float64]))
@settings(max_examples=60, deadline=None)
def test_gaussian_filter1d_is_scipys(seed, sigma, axis, dtype):
    a = (np.random.default_rng(seed).normal(size=(3, 17, 23)) * 500).astype(dtype)
    np.testing.assert_array_equal(image_ops.gaussian_filter1d(a, sigma, axis),
                                  ndi.gaussian_filter1d(a, sigma, axis=axis, mode="nearest"))


@given(st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.3, 1.1]), st.sampled_from([0.0, 0.6, 2.2]))
@settings(max_examples=40, deadline=None)
def test_gaussian_filter_is_scipys(seed, s0, s1):
    a = (np.random.default_rng(seed).normal(size=(21, 19)) * 50).astype(np.float32)
    np.testing.assert_array_equal(image_ops.gaussian_filter(a, (s0, s1)), ndi.gaussian_filter(a, (s0, s1), mode="nearest"))


@given(st.integers(0, 2**32 - 1), st.sampled_from(["nearest", "constant"]), st.sampled_from([np.float32, np.float64]))
@settings(max_examples=60, deadline=None)
def test_map_linear_is_scipys(seed, mode, dtype):
    rng = np.random.default_rng(seed)
    img = (rng.normal(size=(13, 16)) * 100).astype(dtype)
    coords = np.stack([rng.uniform(-2, 15, (9, 11)), rng.uniform(-2, 18, (9, 11))])
    # the edges exactly, and a hair either side of them
    coords[0, 0, :6] = [0.0, 12.0, -1e-12, 12.0 + 1e-12, 1e-12, 12.0 - 1e-12]
    coords[1, 1, :6] = [0.0, 15.0, -1e-12, 15.0 + 1e-12, 1e-12, 15.0 - 1e-12]
    coords[:, 2, :3] = np.array([[3.0, 4.0, 5.5], [2.0, 7.0, 8.25]])  # on pixel centres and halves
    ref = ndi.map_coordinates(img, coords, order=1, mode=mode, cval=0.0, prefilter=False)
    np.testing.assert_array_equal(image_ops.map_linear(img, coords, mode=mode), ref)


def test_map_linear_refuses_other_modes_and_the_blur_a_sigma_of_zero():
    with pytest.raises(ValueError):
        image_ops.map_linear(np.zeros((3, 3)), np.zeros((2, 1)), mode="reflect")
    with pytest.raises(ValueError):
        image_ops.gaussian_filter1d(np.zeros((3, 3)), 0.0, 0)
    np.testing.assert_array_equal(image_ops.gaussian_filter(np.eye(3), 0.0), np.eye(3))  # no axis blurred


def test_an_analysis_imports_no_scipy():
    # the point of image_ops: the analysis and its report load without scipy (its import is ~0.3 s)
    import subprocess
    import sys

    code = ("import sys; import lvquant.analysis.pipeline, lvquant.report, lvquant.analyze_cmd; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
