"""Indices, Cine, histogram equalisation, tables and atomic outputs."""

import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lvquant.cine import Cine
from lvquant.analysis.convert import equalize_histogram
from lvquant.errors import InputError, OutputError
from lvquant.indices import INDEX_NAMES, Indices, mm_to_normalised, normalised_to_mm
from lvquant.outputs import check_writable_dir, write_text_atomic
from lvquant.tables import INDEX_COLUMNS, index_rows, to_csv, to_json, to_text_table


def _stack(t=4):
    rng = np.random.default_rng(1)
    return Indices.from_array(rng.uniform(1, 100, size=(t, 11)))


def test_indices_array_round_trip_keeps_order():
    vec = np.arange(11.0)
    ind = Indices.from_array(vec)
    assert ind.cavity_area_mm2 == 0 and ind.myocardium_area_mm2 == 1
    assert list(ind.dims_mm) == [2, 3, 4]
    assert list(ind.rwt_mm) == [5, 6, 7, 8, 9, 10]
    np.testing.assert_array_equal(ind.to_array(), vec)
    assert len(INDEX_NAMES) == 11


def test_indices_reject_inconsistent_shapes():
    with pytest.raises(InputError):
        Indices(np.zeros(3), np.zeros(3), np.zeros((3, 3)), np.zeros((2, 6)))
    with pytest.raises(InputError):
        Indices.from_array(np.zeros((4, 10)))


def test_indices_stack_prefixes_warnings_with_frame():
    a = Indices.from_array(np.ones(11), warnings=("filled 2 holes",))
    b = Indices.from_array(np.full(11, 2.0))
    s = Indices.stack([a, b])
    assert s.batch_shape == (2,)
    assert s.warnings == ("frame 0: filled 2 holes",)
    np.testing.assert_array_equal(s.frame(1).to_array(), np.full(11, 2.0))


def test_records_turn_nan_into_null():
    vec = np.arange(11.0)
    vec[1] = np.nan
    rec = Indices.from_array(vec).to_records()[0]
    assert rec["myocardium_area_mm2"] is None
    assert rec["rwt_mm"] == [5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    json.dumps(rec, allow_nan=False)


def test_normalised_conversion_squares_areas_only():
    vals = np.full(11, 0.1)
    mm = normalised_to_mm(vals, 120.0)
    np.testing.assert_allclose(mm[:2], 0.1 * 120.0**2)
    np.testing.assert_allclose(mm[2:], 0.1 * 120.0)
    np.testing.assert_allclose(mm_to_normalised(mm, 120.0), vals)
    per_subject = normalised_to_mm(np.full((2, 3, 11), 0.1), np.array([[100.0], [200.0]]))
    np.testing.assert_allclose(per_subject[1, :, 2], 20.0)


def test_cine_validates_and_converts():
    c = Cine(np.zeros((2, 5, 8, 8), dtype=np.int16) + 3, (1.5, 1.5), np.arange(5) * 40.0, [0.0, 8.0])
    assert c.frames.dtype == np.float32
    assert c.frame_times_ms.shape == (2, 5)
    assert c.slice(1).slice_positions_mm.tolist() == [8.0]
    with pytest.raises(InputError):
        c.slice(2)
    with pytest.raises(InputError):
        Cine(np.zeros((5, 8, 8)), (1.0, 1.0), np.arange(5), [0.0])
    with pytest.raises(InputError):
        Cine(np.zeros((1, 5, 8, 8)), (0.0, 1.0), np.arange(5), [0.0])
    with pytest.raises(InputError):
        Cine(np.full((1, 5, 8, 8), np.nan), (1.0, 1.0), np.arange(5), [0.0])


def test_equalisation_removes_monotone_contrast_changes():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, size=(20, 40, 40))
    y = equalize_histogram(x)
    assert y.dtype == np.float32 and y.min() == 0.0 and y.max() == 1.0
    # Any strictly increasing grey-level mapping (gain, offset, gamma) gives the same output.
    np.testing.assert_array_equal(y, equalize_histogram(1000 * np.sqrt(x) + 17))
    # Roughly uniform histogram over the fixed range.
    hist, _ = np.histogram(y, bins=8, range=(0, 1))
    assert hist.min() > 0.8 * hist.mean()


def test_equalisation_constant_and_bad_input():
    np.testing.assert_array_equal(equalize_histogram(np.full((4, 4), 7.0)), 0.5)
    with pytest.raises(InputError):
        equalize_histogram(np.array([[np.nan, 1.0]]))
    with pytest.raises(InputError):
        equalize_histogram(np.zeros(5))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9)),
              elements=st.floats(-1e6, 1e6, allow_nan=False)))
def test_equalisation_is_order_preserving(x):
    y = equalize_histogram(x)
    assert y.shape == x.shape
    assert np.all((y >= 0) & (y <= 1))
    order = np.argsort(x.ravel(), kind="stable")
    assert np.all(np.diff(y.ravel()[order]) >= 0)


def test_tables_spread_lists_into_columns():
    rows = index_rows(_stack(2), [{"frame": 0}, {"frame": 1}])
    assert list(rows[0].keys()) == ["frame", *INDEX_COLUMNS]
    csv_text = to_csv(rows)
    assert csv_text.splitlines()[0].startswith("frame,cavity_area_mm2,myocardium_area_mm2,dims_mm_D1")
    assert len(csv_text.splitlines()) == 3
    table = to_text_table(rows)
    assert "RWT6" in table.splitlines()[0]
    assert json.loads(to_json({"x": float("nan")})) == {"x": None}


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    write_text_atomic(target, "{}")
    assert target.read_text() == "{}"
    with pytest.raises(OutputError):
        write_text_atomic(tmp_path / "missing" / "x.csv", "a")
    assert not (tmp_path / "missing").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_unwritable_folder_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputError):
        check_writable_dir(f)
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(OutputError):
            check_writable_dir(ro)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9)),
              elements=st.floats(-1e4, 1e4, allow_nan=False, width=32)))
def test_equalisation_of_float32_crops_is_that_of_their_float64_values(x):
    # float32 crops are ranked in float32 (faster): the same levels as the same values in float64
    np.testing.assert_array_equal(equalize_histogram(x), equalize_histogram(x.astype(np.float64)))
