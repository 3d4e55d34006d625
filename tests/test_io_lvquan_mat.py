"""LVQuan .mat / .npz datasets: layout, units, MATLAB v5 and v7.3, refusals, round trips.

Fixtures are written here directly with scipy.io.savemat and h5py, with the key
names, MATLAB shapes and normalised units of shared/DOMAIN.md ("The LVQuan data
layout"), never with lvquant's own writer, so reader and writer are checked
against the layout and not only against each other.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvquant.errors import InputError, LvquantError, MatFileError, OutputError
from lvquant.indices import Indices
from lvquant.io.lvquan_mat import (
    LVQuanDataset,
    concat_datasets,
    read_lvquan,
    read_lvquan_folder,
    read_lvquan_mat,
    read_lvquan_npz,
    write_lvquan_mat,
    write_lvquan_npz,
)

S, T, H, W = 3, 20, 80, 80
N = S * T
PIX = np.array([1.5, 1.3, 1.7])
RATIO = np.array([0.9, 1.1, 0.75])
SIDE = 80 * PIX * RATIO  # mm: the normalisation length of each subject

FUZZ = settings(
    max_examples=int(os.environ.get("LVQUANT_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# ------------------------------------------------------------------ fixtures (independent of lvquant's writer)
def _pixel_value(k, i, j):
    """Image value of MATLAB column k (0-based frame), row i, col j: exact in float32."""
    return k * 10000.0 + i * 100.0 + j


def _disk_masks(h, w, n, rng):
    yy, xx = np.mgrid[0:h, 0:w]
    endo = np.zeros((h, w, n), dtype=bool)
    epi = np.zeros((h, w, n), dtype=bool)
    for k in range(n):
        r = rng.uniform(8, 14)
        endo[..., k] = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= r**2
        epi[..., k] = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= (r + 6) ** 2
    return endo, epi


@lru_cache(maxsize=None)
def _train_arrays_cached():
    rng = np.random.default_rng(7)
    k, i, j = np.meshgrid(np.arange(N), np.arange(H), np.arange(W), indexing="ij")
    images = np.moveaxis(_pixel_value(k, i, j), 0, 2)  # H×W×N, MATLAB order
    endo, epi = _disk_masks(H, W, N, rng)
    return {
        "images_LV": images,
        "endo_LV": endo.astype(np.uint8),
        "epi_LV": epi.astype(np.uint8),
        "areas": rng.uniform(0.05, 0.3, (2, N)),
        "dims": rng.uniform(0.2, 0.6, (3, N)),
        "rwt": rng.uniform(0.05, 0.15, (6, N)),
        "lv_phase": (rng.random((1, N)) > 0.5).astype(np.float64),
        "pix_spa": PIX.reshape(S, 1),
        "ratio_resize_inverse": RATIO.reshape(1, S),
    }


def train_arrays(**changes):
    """The training layout as MATLAB-shaped arrays; ``key=None`` drops a key."""
    arrays = {k: v.copy() for k, v in _train_arrays_cached().items()}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key, None)
        else:
            arrays[key] = value
    return arrays


def save_v5(path, arrays):
    scipy.io.savemat(str(path), arrays, do_compression=True)
    return path


MATLAB73_HEADER = (
    b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .".ljust(116)
    + bytes(8) + b"\x00\x02IM"
)


def save_v73(path, arrays):
    """A MATLAB v7.3 file as MATLAB writes it: HDF5, 512-byte userblock, column-major storage."""
    with h5py.File(str(path), "w", userblock_size=512) as f:
        for key, value in arrays.items():
            value = np.asarray(value)
            logical = value.dtype == bool
            data = value.astype(np.uint8) if logical else value.astype(np.float64)
            ds = f.create_dataset(key, data=data.T)
            ds.attrs["MATLAB_class"] = np.bytes_("logical" if logical else "double")
    with open(path, "r+b") as fh:
        fh.write(MATLAB73_HEADER)
    return path


def expected_mm(arrays):
    """(S, T, 11) indices in mm / mm² computed by hand from the normalised arrays."""
    pix = np.asarray(arrays["pix_spa"], dtype=float).reshape(-1)[:S]
    ratio = np.asarray(arrays["ratio_resize_inverse"], dtype=float).reshape(-1)
    ratio = ratio if ratio.size == S else ratio.reshape(S, T)[:, 0]
    out = np.zeros((S, T, 11))
    for s in range(S):
        side = 80.0 * pix[s] * ratio[s]
        cols = slice(20 * s, 20 * s + 20)
        out[s, :, 0:2] = arrays["areas"][:, cols].T * side**2
        out[s, :, 2:5] = arrays["dims"][:, cols].T * side
        out[s, :, 5:11] = arrays["rwt"][:, cols].T * side
    return out


@pytest.fixture(scope="module")
def v5_file(tmp_path_factory):
    return save_v5(tmp_path_factory.mktemp("v5") / "cardiac-dig.mat", train_arrays())


@pytest.fixture(scope="module")
def v73_file(tmp_path_factory):
    return save_v73(tmp_path_factory.mktemp("v73") / "cardiac-dig.mat", train_arrays())


@pytest.fixture(scope="module")
def dataset(v5_file):
    return read_lvquan_mat(v5_file)


# ------------------------------------------------------------------ the training layout
def test_v5_training_file_layout_and_frame_order(dataset):
    assert isinstance(dataset, LVQuanDataset)
    assert len(dataset) == S and dataset.images.shape == (S, T, H, W) and dataset.images.dtype == np.float32
    assert dataset.layout == "lvquan18" and dataset.has_labels and dataset.has_masks
    # subject s, frame f is MATLAB column 20s+f; rows and columns keep MATLAB's orientation
    for s, f, i, j in [(0, 0, 0, 0), (1, 3, 5, 70), (2, 19, 79, 1), (2, 0, 40, 41)]:
        assert dataset.images[s, f, i, j] == _pixel_value(20 * s + f, i, j)
    arrays = train_arrays()
    assert np.array_equal(dataset.endo, np.moveaxis(arrays["endo_LV"].astype(bool), 2, 0).reshape(S, T, H, W))
    assert dataset.epi.dtype == bool and dataset.epi.shape == (S, T, H, W)
    assert np.array_equal(dataset.phase, arrays["lv_phase"].reshape(S, T)) and dataset.phase.dtype == np.int64


def test_normalised_labels_become_mm_with_each_subjects_scale(dataset):
    arrays = train_arrays()
    got = dataset.indices.to_array()
    assert dataset.indices.batch_shape == (S, T)
    np.testing.assert_allclose(got, expected_mm(arrays), rtol=1e-12)
    # one value spelled out: subject 2, frame 7 -> MATLAB column 47
    side = 80 * 1.7 * 0.75
    assert dataset.indices.cavity_area_mm2[2, 7] == pytest.approx(arrays["areas"][0, 47] * side**2, rel=1e-12)
    assert dataset.indices.myocardium_area_mm2[2, 7] == pytest.approx(arrays["areas"][1, 47] * side**2, rel=1e-12)
    assert dataset.indices.dims_mm[2, 7, 1] == pytest.approx(arrays["dims"][1, 47] * side, rel=1e-12)
    assert dataset.indices.rwt_mm[2, 7, 5] == pytest.approx(arrays["rwt"][5, 47] * side, rel=1e-12)
    np.testing.assert_allclose(dataset.pixel_size_mm, PIX * RATIO)
    np.testing.assert_allclose(dataset.crop_side_mm, SIDE)
    np.testing.assert_allclose(dataset.normalised_indices()[1, :, 0], arrays["areas"][0, 20:40], rtol=1e-12)


def test_v73_file_reads_identically_to_v5(dataset, v73_file):
    d73 = read_lvquan_mat(v73_file)
    assert np.array_equal(d73.images, dataset.images)
    assert np.array_equal(d73.endo, dataset.endo) and np.array_equal(d73.epi, dataset.epi)
    assert np.array_equal(d73.phase, dataset.phase)
    np.testing.assert_allclose(d73.indices.to_array(), dataset.indices.to_array(), rtol=1e-12)
    np.testing.assert_array_equal(d73.pix_spa, PIX)
    np.testing.assert_array_equal(d73.ratio_resize_inverse, RATIO)


def test_v73_file_is_stored_transposed_as_matlab_does(v73_file):
    with h5py.File(v73_file, "r") as f:
        assert f["images_LV"].shape == (N, W, H)  # column-major: MATLAB 80×80×N
        assert f["areas"].shape == (N, 2)


def test_plain_hdf5_without_matlab_header_is_read_too(tmp_path, dataset):
    path = tmp_path / "plain.mat"
    with h5py.File(path, "w") as f:
        for key, value in train_arrays().items():
            f.create_dataset(key, data=np.asarray(value).T)
    np.testing.assert_allclose(read_lvquan_mat(path).indices.to_array(), dataset.indices.to_array(), rtol=1e-12)


@pytest.mark.parametrize(
    "pix, ratio",
    [
        (PIX.reshape(S, 1), RATIO.reshape(1, S)),  # as in public loaders: pix_spa S×1
        (PIX.reshape(1, S), RATIO.reshape(S, 1)),
        (np.repeat(PIX, T).reshape(1, N), np.repeat(RATIO, T).reshape(N, 1)),  # one value per frame
        (np.tile(PIX, (T, 1)), np.tile(RATIO, (T, 1))),  # T×S: column s is subject s
        (np.tile(PIX[:, None], (1, T)), np.tile(RATIO[:, None], (1, T))),  # S×T
    ],
    ids=["Sx1", "1xS", "per-frame", "TxS", "SxT"],
)
def test_spacing_shape_variants_broadcast_per_subject(tmp_path, dataset, pix, ratio):
    d = read_lvquan_mat(save_v5(tmp_path / "a.mat", train_arrays(pix_spa=pix, ratio_resize_inverse=ratio)))
    np.testing.assert_allclose(d.pix_spa, PIX)
    np.testing.assert_allclose(d.ratio_resize_inverse, RATIO)
    np.testing.assert_allclose(d.indices.to_array(), dataset.indices.to_array(), rtol=1e-12)


def test_one_dimensional_spacing_in_hdf5(tmp_path):
    d = read_lvquan_mat(save_v73(tmp_path / "a.mat", train_arrays(pix_spa=PIX, ratio_resize_inverse=RATIO)))
    np.testing.assert_allclose(d.pixel_size_mm, PIX * RATIO)


def test_transposed_labels_are_accepted(tmp_path, dataset):
    a = train_arrays()
    b = train_arrays(areas=a["areas"].T, dims=a["dims"].T, rwt=a["rwt"].T, lv_phase=a["lv_phase"].T)
    d = read_lvquan_mat(save_v5(tmp_path / "t.mat", b))
    np.testing.assert_allclose(d.indices.to_array(), dataset.indices.to_array(), rtol=1e-12)
    assert np.array_equal(d.phase, dataset.phase)


def test_masks_stored_as_logical_or_double_or_255(tmp_path, dataset):
    a = train_arrays()
    for endo in (a["endo_LV"].astype(bool), a["endo_LV"].astype(np.float64), a["endo_LV"] * 255):
        d = read_lvquan_mat(save_v5(tmp_path / "m.mat", train_arrays(endo_LV=endo)))
        assert np.array_equal(d.endo, dataset.endo)


# ------------------------------------------------------------------ the test file and unlabelled data
def test_images_only_test_file(tmp_path):
    imgs = train_arrays()["images_LV"]
    d = read_lvquan_mat(save_v5(tmp_path / "test.mat", {"images_LV_30": imgs}))
    assert d.layout == "lvquan18-test" and not d.has_labels and not d.has_masks and d.phase is None
    assert d.images.shape == (S, T, H, W) and not d.spacing_known
    assert np.all(np.isnan(d.pixel_size_mm))
    with pytest.raises(MatFileError, match="no pixel spacing"):
        d.subject_cine(0)
    with pytest.raises(InputError, match="no labels"):
        d.normalised_indices()


def test_test_file_with_spacing_gives_cines(tmp_path):
    a = train_arrays()
    d = read_lvquan_mat(save_v73(tmp_path / "test.mat", {"images_LV_30": a["images_LV"], "pix_spa": a["pix_spa"],
                                                         "ratio_resize_inverse": a["ratio_resize_inverse"]}))
    assert d.spacing_known and d.subject_cine(1).spacing_mm == pytest.approx((1.3 * 1.1, 1.3 * 1.1))


def test_file_with_training_and_test_images(tmp_path, dataset):
    a = train_arrays()
    both = dict(a, images_LV_30=a["images_LV"][:, :, :40] + 1)
    path = save_v5(tmp_path / "both.mat", both)
    d = read_lvquan_mat(path)
    assert d.layout == "lvquan18" and d.n_subjects == S and d.has_labels
    t = read_lvquan_mat(path, images_key="images_LV_30")
    assert t.layout == "lvquan18-test" and t.n_subjects == 2 and not t.has_labels and t.endo is None
    assert t.images[1, 0, 0, 0] == _pixel_value(20, 0, 0) + 1
    with pytest.raises(InputError, match="images_key"):
        read_lvquan_mat(path, images_key="images")


# ------------------------------------------------------------------ views
def test_subject_cine(dataset):
    c = dataset.subject_cine(2)
    assert c.frames.shape == (1, T, H, W) and c.n_slices == 1 and c.n_frames == T
    assert c.spacing_mm == pytest.approx((1.7 * 0.75, 1.7 * 0.75))
    assert not c.timing_known and c.source.format == "lvquan-mat"
    assert c.source.extra["subject"] == 2 and c.source.extra["pix_spa"] == 1.7
    assert np.array_equal(c.frames[0], dataset.images[2])
    assert dataset.subject_cine(-1).source.extra["subject"] == 2
    with pytest.raises(InputError, match="does not exist"):
        dataset.subject_cine(3)


def test_subset_keeps_subjects_together(dataset):
    sub = dataset.subset([2, 0])
    assert len(sub) == 2 and sub.subject_ids == ("2", "0")
    assert np.array_equal(sub.images[0], dataset.images[2]) and np.array_equal(sub.endo[1], dataset.endo[0])
    np.testing.assert_array_equal(sub.indices.to_array()[0], dataset.indices.to_array()[2])
    np.testing.assert_array_equal(sub.pixel_size_mm, dataset.pixel_size_mm[[2, 0]])
    assert np.array_equal(sub.phase[1], dataset.phase[0])
    assert len(dataset.subset(np.array([False, True, True]))) == 2
    for bad in ([3], [], np.array([True, False])):
        with pytest.raises(InputError):
            dataset.subset(bad)


def test_concat_and_constructor_checks(dataset):
    both = concat_datasets([dataset.subset([0]), dataset.subset([1, 2])])
    np.testing.assert_array_equal(both.images, dataset.images)
    with pytest.raises(InputError, match="labels"):
        concat_datasets([dataset.subset([0]), LVQuanDataset(dataset.images[:1], [1.0], [1.0])])
    with pytest.raises(InputError, match="phase"):
        LVQuanDataset(dataset.images, PIX, RATIO, phase=np.full((S, T), 2))
    with pytest.raises(InputError, match="batch shape"):
        LVQuanDataset(dataset.images, PIX, RATIO, indices=Indices.from_array(np.ones((S, 5, 11))))
    with pytest.raises(InputError, match="pix_spa"):
        LVQuanDataset(dataset.images, PIX[:2], RATIO)


# ------------------------------------------------------------------ refusals
def _refuse(tmp_path, arrays, match, saver=save_v5):
    path = saver(tmp_path / "bad.mat", arrays)
    with pytest.raises(MatFileError, match=match) as info:
        read_lvquan_mat(path)
    assert "bad.mat" in str(info.value)
    return str(info.value)


def test_refuses_missing_image_key_and_lists_the_keys(tmp_path):
    msg = _refuse(tmp_path, {"imgs": np.zeros((4, 4, 20)), "areas": np.zeros((2, 20))}, "images_LV")
    assert "imgs" in msg and "areas" in msg
    _refuse(tmp_path, {"imgs": np.zeros((4, 4, 20))}, "keys found: imgs", saver=save_v73)


def test_refuses_images_that_are_not_3d(tmp_path):
    _refuse(tmp_path, train_arrays(images_LV=np.zeros((80, 80))), "3-D")
    _refuse(tmp_path, {"images_LV": np.zeros((2, 80, 80, 20))}, r"3-D.*\(2, 80, 80, 20\)", saver=save_v73)


def test_refuses_frames_not_a_multiple_of_20(tmp_path):
    _refuse(tmp_path, {"images_LV_30": np.zeros((80, 80, 50))}, "50 frames, not a multiple of 20")


def test_refuses_label_count_different_from_image_count(tmp_path):
    a = train_arrays()
    msg = _refuse(tmp_path, train_arrays(areas=a["areas"][:, :40]), "label count does not match")
    assert "'areas'" in msg and "(2, 40)" in msg and "2×60" in msg
    _refuse(tmp_path, train_arrays(rwt=np.zeros((5, N))), "'rwt'")
    _refuse(tmp_path, train_arrays(lv_phase=np.zeros((1, N + 20))), "'lv_phase'", saver=save_v73)


def test_refuses_partial_labels_and_labels_without_spacing(tmp_path):
    _refuse(tmp_path, train_arrays(dims=None), "'dims'")
    _refuse(tmp_path, train_arrays(ratio_resize_inverse=None), "ratio_resize_inverse")


def test_refuses_mask_shapes_different_from_images(tmp_path):
    a = train_arrays()
    _refuse(tmp_path, train_arrays(endo_LV=a["endo_LV"][:, :, :40]), "'endo_LV' has shape")
    _refuse(tmp_path, train_arrays(epi_LV=a["epi_LV"][:70]), "'epi_LV'", saver=save_v73)
    _refuse(tmp_path, train_arrays(epi_LV=a["epi_LV"] * np.arange(N)), "not binary")


def test_refuses_nan_and_inf(tmp_path):
    a = train_arrays()
    img = a["images_LV"].copy()
    img[3, 4, 25] = np.nan
    _refuse(tmp_path, train_arrays(images_LV=img), r"NaN.*\(4, 5, 26\)")
    rwt = a["rwt"].copy()
    rwt[2, 10] = np.inf
    _refuse(tmp_path, train_arrays(rwt=rwt), "'rwt' contains NaN, infinite", saver=save_v73)
    img[3, 4, 25] = 1e300  # finite, but not as float32
    _refuse(tmp_path, train_arrays(images_LV=img), "out-of-range")
    pix = PIX.reshape(S, 1).copy()
    pix[1] = np.nan
    _refuse(tmp_path, train_arrays(pix_spa=pix), "'pix_spa' contains NaN")


def test_refuses_non_positive_spacing(tmp_path):
    _refuse(tmp_path, train_arrays(pix_spa=np.array([[1.5], [0.0], [1.7]])), "'pix_spa' must be positive.*subject 1")
    _refuse(tmp_path, train_arrays(ratio_resize_inverse=-RATIO.reshape(1, S)), "'ratio_resize_inverse' must be positive")


@pytest.mark.parametrize("value", [np.arange(S + 1.0).reshape(1, -1) + 1, np.ones((2, S)), np.ones((1, N + 1))])
def test_refuses_spacing_counts_that_do_not_match(tmp_path, value):
    msg = _refuse(tmp_path, train_arrays(pix_spa=value), "counts do not match")
    assert "'pix_spa'" in msg and str(value.shape) in msg and "3 subjects" in msg


def test_refuses_spacing_that_varies_within_a_subject(tmp_path):
    per_frame = np.repeat(PIX, T).reshape(1, N)
    per_frame[0, 25] = 9.0
    _refuse(tmp_path, train_arrays(pix_spa=per_frame), "varies within subject 1")


def test_refuses_phase_other_than_0_or_1(tmp_path):
    ph = train_arrays()["lv_phase"].copy()
    ph[0, 5] = 2
    _refuse(tmp_path, train_arrays(lv_phase=ph), "0 \\(diastole\\) or 1 \\(systole\\).*found 2")


def test_refuses_labels_outside_0_1_as_probably_mm(tmp_path):
    _refuse(tmp_path, train_arrays(areas=train_arrays()["areas"] * 2000), "already in mm")


def test_refuses_non_numeric_variables(tmp_path):
    _refuse(tmp_path, {"images_LV": "not an image"}, "not a numeric array")
    _refuse(tmp_path, {"images_LV": {"a": np.zeros(3)}}, "not a numeric array")
    path = tmp_path / "cell.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        g = f.create_group("images_LV")
        g.attrs["MATLAB_class"] = np.bytes_("struct")
    with pytest.raises(MatFileError, match="struct"):
        read_lvquan_mat(path)


def test_refuses_paths_and_non_matlab_files(tmp_path):
    with pytest.raises(MatFileError, match="does not exist"):
        read_lvquan_mat(tmp_path / "missing.mat")
    with pytest.raises(MatFileError, match="folder"):
        read_lvquan_mat(tmp_path)
    text = tmp_path / "notes.mat"
    text.write_text("images_LV = 1\n" * 20)
    with pytest.raises(MatFileError, match="not a MATLAB v5 or v7.3"):
        read_lvquan_mat(text)
    short = tmp_path / "short.mat"
    short.write_bytes(b"MAT")
    with pytest.raises(MatFileError, match="too short"):
        read_lvquan_mat(short)


def test_refuses_truncated_files(tmp_path, v5_file, v73_file):
    for src in (v5_file, v73_file):
        data = src.read_bytes()
        cut = tmp_path / "cut.mat"
        cut.write_bytes(data[: len(data) // 2])
        with pytest.raises(MatFileError, match="truncated or damaged"):
            read_lvquan_mat(cut)


# ------------------------------------------------------------------ LVQuan19 and folders
def _lvquan19_arrays(h, w, rng, *, pix=1.5625):
    endo, epi = _disk_masks(h, w, T, rng)
    return {
        "image": rng.uniform(0, 500, (h, w, T)),
        "endo": endo.astype(np.uint8),
        "epi": epi.astype(np.uint8),
        "areas": rng.uniform(800, 3000, (2, T)),  # mm²
        "dims": rng.uniform(30, 55, (3, T)),  # mm
        "rwt": rng.uniform(5, 12, (6, T)),  # mm
        "lv_phase": (np.arange(T) < 8).astype(float).reshape(1, T),
        "pix_spacing": np.array([[pix]]),
    }


def test_lvquan19_subject_file(tmp_path):
    a = _lvquan19_arrays(96, 112, np.random.default_rng(1))
    d = read_lvquan_mat(save_v5(tmp_path / "patient1.mat", a))
    assert d.layout == "lvquan19" and d.images.shape == (1, T, 96, 112)
    assert np.array_equal(d.images[0, 4], a["image"][:, :, 4].astype(np.float32))
    np.testing.assert_allclose(d.indices.cavity_area_mm2[0], a["areas"][0])
    np.testing.assert_allclose(d.indices.rwt_mm[0], a["rwt"].T)
    np.testing.assert_allclose(d.pixel_size_mm, [1.5625])
    assert d.subject_cine(0).spacing_mm == (1.5625, 1.5625)
    assert np.array_equal(d.phase[0], a["lv_phase"][0])
    assert np.array_equal(d.epi[0], a["epi"].astype(bool).transpose(2, 0, 1))


def test_lvquan19_refusals(tmp_path):
    rng = np.random.default_rng(2)
    a = _lvquan19_arrays(64, 64, rng)
    _refuse(tmp_path, dict(a, image=a["image"][:, :, :10]), "must hold 20")
    _refuse(tmp_path, dict(a, areas=a["areas"] / 1e4, dims=a["dims"] / 1e3, rwt=a["rwt"] / 1e3), "looks like normalised")
    _refuse(tmp_path, {k: v for k, v in a.items() if k != "pix_spacing"}, "pix_spacing")
    _refuse(tmp_path, dict(a, pix_spacing=np.array([[0.0]])), "positive")
    _refuse(tmp_path, dict(a, endo=a["endo"][:32]), "'endo' has shape")


def test_folder_of_lvquan19_subjects_in_natural_order(tmp_path):
    rng = np.random.default_rng(3)
    files = {}
    for name, pix in (("patient10", 1.2), ("patient2", 1.4), ("patient1", 1.6)):
        files[name] = _lvquan19_arrays(72, 72, rng, pix=pix)
        save_v5(tmp_path / f"{name}.mat", files[name])
    (tmp_path / "readme.txt").write_text("not data")
    d = read_lvquan(tmp_path)
    assert d.subject_ids == ("patient1", "patient2", "patient10") and d.source_path == str(tmp_path)
    np.testing.assert_allclose(d.pixel_size_mm, [1.6, 1.4, 1.2])
    np.testing.assert_allclose(d.indices.dims_mm[2], files["patient10"]["dims"].T)
    save_v5(tmp_path / "patient3.mat", _lvquan19_arrays(64, 80, rng))
    with pytest.raises(MatFileError, match="differ in frames or image size.*one at a time"):
        read_lvquan_folder(tmp_path)


def test_folder_of_per_subject_files_with_lvquan18_keys(tmp_path):
    a = train_arrays()
    for s in range(S):
        cols = slice(20 * s, 20 * s + 20)
        part = {k: (v[..., cols] if k not in ("pix_spa", "ratio_resize_inverse") else v.reshape(-1)[s : s + 1])
                for k, v in a.items()}
        save_v73(tmp_path / f"subject{s + 1}.mat", part)
    d = read_lvquan_folder(tmp_path)
    assert d.subject_ids == ("subject1", "subject2", "subject3")
    np.testing.assert_allclose(d.indices.to_array(), expected_mm(a), rtol=1e-12)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MatFileError, match="no .mat files"):
        read_lvquan_folder(tmp_path / "empty")


# ------------------------------------------------------------------ writers and round trips
@pytest.mark.parametrize("version", ["5", "7.3"])
def test_mat_round_trip(tmp_path, dataset, version):
    path = write_lvquan_mat(dataset, tmp_path / "out.mat", version=version)
    back = read_lvquan_mat(path)
    assert np.array_equal(back.images, dataset.images)
    assert np.array_equal(back.endo, dataset.endo) and np.array_equal(back.epi, dataset.epi)
    assert np.array_equal(back.phase, dataset.phase)
    np.testing.assert_allclose(back.indices.to_array(), dataset.indices.to_array(), rtol=1e-12)
    np.testing.assert_allclose(back.pixel_size_mm, dataset.pixel_size_mm, rtol=1e-15)
    assert back.layout == "lvquan18" and not list(tmp_path.glob(".*part"))


def test_written_v5_file_has_the_challenge_keys_and_shapes(tmp_path, dataset):
    m = scipy.io.loadmat(str(write_lvquan_mat(dataset, tmp_path / "o.mat")))
    shapes = {k: v.shape for k, v in m.items() if not k.startswith("__")}
    assert shapes == {"images_LV": (H, W, N), "endo_LV": (H, W, N), "epi_LV": (H, W, N), "areas": (2, N),
                      "dims": (3, N), "rwt": (6, N), "lv_phase": (1, N), "pix_spa": (S, 1),
                      "ratio_resize_inverse": (1, S)}
    np.testing.assert_allclose(m["areas"], train_arrays()["areas"], rtol=1e-12)
    assert [w[2] for w in scipy.io.whosmat(str(tmp_path / "o.mat")) if w[0] == "endo_LV"] == ["logical"]


def test_written_v73_file_is_matlab_compatible(tmp_path, dataset):
    path = write_lvquan_mat(dataset, tmp_path / "o73.mat", version="7.3")
    head = path.read_bytes()[:128]
    assert head.startswith(b"MATLAB 7.3 MAT-file") and head[124:128] == b"\x00\x02IM"
    assert scipy.io.matlab.matfile_version(str(path)) == (2, 0)  # SciPy recognises a v7.3 header
    with h5py.File(path, "r") as f:
        assert f["images_LV"].shape == (N, W, H) and f["areas"].shape == (N, 2) and f["pix_spa"].shape == (1, S)
        assert f["images_LV"].attrs["MATLAB_class"] == b"double"
        assert f["endo_LV"].attrs["MATLAB_class"] == b"logical" and f["endo_LV"].dtype == np.uint8
        np.testing.assert_allclose(f["rwt"][()].T, train_arrays()["rwt"], rtol=1e-12)


def test_test_layout_round_trip_and_writer_options(tmp_path):
    imgs = np.random.default_rng(4).random((2, T, 16, 16)).astype(np.float32)
    d = LVQuanDataset(imgs, [np.nan, np.nan], [np.nan, np.nan])
    for version in ("5", "7.3"):
        back = read_lvquan_mat(write_lvquan_mat(d, tmp_path / f"t{version}.mat", version=version))
        assert back.layout == "lvquan18-test" and np.array_equal(back.images, imgs) and not back.spacing_known
    with pytest.raises(InputError, match="version"):
        write_lvquan_mat(d, tmp_path / "x.mat", version="7")
    with pytest.raises(InputError, match="images_key"):
        write_lvquan_mat(d, tmp_path / "x.mat", images_key="image")
    with pytest.raises(OutputError, match="does not exist"):
        write_lvquan_mat(d, tmp_path / "no" / "x.mat")


def test_npz_round_trip_and_dispatch(tmp_path, dataset):
    path = write_lvquan_npz(dataset, tmp_path / "phantom.npz")
    with np.load(path, allow_pickle=False) as z:
        assert z["images_LV"].shape == (H, W, N) and z["areas"].shape == (2, N) and z["pix_spa"].shape == (S, 1)
    for back in (read_lvquan_npz(path), read_lvquan(path)):
        assert np.array_equal(back.images, dataset.images) and np.array_equal(back.endo, dataset.endo)
        np.testing.assert_allclose(back.indices.to_array(), dataset.indices.to_array(), rtol=1e-12)
    assert read_lvquan(write_lvquan_mat(dataset, tmp_path / "x.mat")).n_subjects == S


def test_npz_written_independently_and_refusals(tmp_path, dataset):
    path = tmp_path / "hand.npz"
    np.savez(path, **train_arrays())
    np.testing.assert_allclose(read_lvquan_npz(path).indices.to_array(), dataset.indices.to_array(), rtol=1e-12)
    obj = tmp_path / "obj.npz"
    np.savez(obj, images_LV=np.array([object(), None], dtype=object))
    with pytest.raises(MatFileError, match="images_LV"):
        read_lvquan_npz(obj)
    npy = tmp_path / "one.npz"
    with open(npy, "wb") as fh:
        np.save(fh, np.zeros(3))
    with pytest.raises(MatFileError, match=".npy"):
        read_lvquan_npz(npy)
    with pytest.raises(MatFileError, match="lv_phase"):
        np.savez(path, **train_arrays(lv_phase=np.full((1, N), np.nan)))
        read_lvquan_npz(path)


# ------------------------------------------------------------------ fuzz: nothing but MatFileError
@lru_cache(maxsize=None)
def _small_files() -> dict[str, bytes]:
    """A tiny valid dataset (1 subject × 20 frames of 6×6) as v5, v7.3 and npz bytes."""
    import tempfile

    rng = np.random.default_rng(5)
    a = {"images_LV": rng.random((6, 6, T)), "endo_LV": (rng.random((6, 6, T)) > 0.5).astype(np.uint8),
         "areas": rng.uniform(0, 1, (2, T)), "dims": rng.uniform(0, 1, (3, T)), "rwt": rng.uniform(0, 1, (6, T)),
         "lv_phase": np.ones((1, T)), "pix_spa": np.array([[1.4]]), "ratio_resize_inverse": np.array([[0.8]])}
    out = {}
    with tempfile.TemporaryDirectory() as d:
        out["v5"] = save_v5(Path(d) / "a.mat", a).read_bytes()
        out["v73"] = save_v73(Path(d) / "b.mat", a).read_bytes()
        np.savez(Path(d) / "c.npz", **a)
        out["npz"] = (Path(d) / "c.npz").read_bytes()
    return out


def _read_bytes(tmp_path, data: bytes, name: str):
    path = tmp_path / name
    path.write_bytes(data)
    try:
        result = read_lvquan(path)
    except MatFileError:
        return None
    except LvquantError as exc:  # pragma: no cover - the assertion says which
        raise AssertionError(f"expected MatFileError, got {type(exc).__name__}: {exc}") from None
    assert isinstance(result, LVQuanDataset)
    return result


def test_small_files_are_valid(tmp_path):
    for kind, data in _small_files().items():
        assert _read_bytes(tmp_path, data, "f.npz" if kind == "npz" else "f.mat").n_subjects == 1


@FUZZ
@given(data=st.binary(max_size=800), name=st.sampled_from(["a.mat", "a.npz", "a"]))
def test_fuzz_random_bytes(tmp_path, data, name):
    _read_bytes(tmp_path, data, name)


@FUZZ
@given(kind=st.sampled_from(["v5", "v73", "npz"]), cut=st.floats(0, 0.999))
def test_fuzz_truncated_files(tmp_path, kind, cut):
    data = _small_files()[kind]
    _read_bytes(tmp_path, data[: int(len(data) * cut)], "t.npz" if kind == "npz" else "t.mat")


@FUZZ
@given(kind=st.sampled_from(["v5", "v73", "npz"]), flips=st.lists(st.tuples(st.floats(0, 0.999), st.integers(1, 255)),
                                                                    min_size=1, max_size=6))
def test_fuzz_corrupted_bytes(tmp_path, kind, flips):
    data = bytearray(_small_files()[kind])
    for where, xor in flips:
        data[int(len(data) * where)] ^= xor
    _read_bytes(tmp_path, bytes(data), "c.npz" if kind == "npz" else "c.mat")


@FUZZ
@given(body=st.binary(min_size=0, max_size=400))
def test_fuzz_matlab_header_with_garbage_body(tmp_path, body):
    _read_bytes(tmp_path, _small_files()["v5"][:128] + body, "h.mat")
    _read_bytes(tmp_path, MATLAB73_HEADER.ljust(512, b"\x00") + b"\x89HDF\r\n\x1a\n" + body, "h73.mat")
