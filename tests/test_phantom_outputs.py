"""Phantom outputs: LVQuan .mat/.npz through lvquant.io, DICOM series with truth.json (issue 3)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest

from lvquant.errors import InputError, OutputError
from lvquant.io.lvquan_mat import read_lvquan
from lvquant.phantom import PhantomConfig, generate_subject, patient_name, write_phantoms

SEED = 21
SMALL = PhantomConfig(n_frames=10, dicom_slices_apical=(1, 1), dicom_slices_basal=(1, 1))


@pytest.mark.parametrize("fmt", ["npz", "mat"])
def test_lvquan_files_read_back_with_lvquant_io(tmp_path, fmt):
    path = write_phantoms(tmp_path / f"ph.{fmt}", 2, SEED, fmt, workers=2)
    ds = read_lvquan(path)
    assert ds.images.shape == (2, 20, 80, 80)
    for k in range(2):
        s = generate_subject(k, SEED)
        assert np.allclose(ds.images[k], s.images, atol=1e-3)
        assert np.array_equal(ds.endo[k], s.endo) and np.array_equal(ds.epi[k], s.epi)
        assert np.allclose(ds.indices.to_array()[k], s.indices.to_array(), rtol=1e-5)
        assert np.array_equal(ds.phase[k], s.phase)
        assert ds.pix_spa[k] == pytest.approx(s.pix_spa) and ds.ratio_resize_inverse[k] == pytest.approx(s.ratio_resize_inverse)


def test_file_output_is_identical_for_any_number_of_workers(tmp_path):
    one = read_lvquan(write_phantoms(tmp_path / "w1.npz", 3, SEED, "npz", workers=1, n_frames=6), frames_per_subject=6)
    two = read_lvquan(write_phantoms(tmp_path / "w2.npz", 3, SEED, "npz", workers=2, n_frames=6), frames_per_subject=6)
    assert np.array_equal(one.images, two.images)
    assert np.array_equal(one.indices.to_array(), two.indices.to_array())


def test_bad_requests_raise_lvquant_errors(tmp_path):
    existing = tmp_path / "x.npz"
    existing.write_bytes(b"")
    with pytest.raises(OutputError):
        write_phantoms(existing, 1, 0, "npz")
    with pytest.raises(OutputError):
        write_phantoms(tmp_path / "x.mat", 1, 0, "npz")  # suffix does not match the format
    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("x")
    with pytest.raises(OutputError):
        write_phantoms(full, 1, 0, "dicom")
    with pytest.raises(InputError):
        write_phantoms(tmp_path / "y.npz", 0, 0, "npz")
    with pytest.raises(InputError):
        write_phantoms(tmp_path / "y.npz", 1, -1, "npz")
    with pytest.raises(InputError):
        write_phantoms(tmp_path / "y.gif", 1, 0, "gif")
    assert not (tmp_path / "y.npz").exists()


@pytest.fixture(scope="module")
def dicom_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("dicom") / "series"
    calls = []
    write_phantoms(out, 2, SEED, "dicom", workers=2, config=SMALL, progress=calls.append)
    assert calls == [1, 1]
    return out


def _read_all(folder: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [pydicom.dcmread(p) for p in sorted(folder.glob("*.dcm"))]


def test_dicom_folder_layout_and_headers(dicom_dir):
    assert sorted(p.name for p in dicom_dir.iterdir()) == ["subject_0000", "subject_0001"]
    folder = dicom_dir / "subject_0001"
    truth = json.loads((folder / "truth.json").read_text())
    files = _read_all(folder)
    assert len(files) == truth["n_slices"] * truth["n_frames"] == 3 * 10
    assert len({ds.SeriesInstanceUID for ds in files}) == 1 and len({ds.StudyInstanceUID for ds in files}) == 1
    assert len({ds.SOPInstanceUID for ds in files}) == len(files)
    row, col = np.array(files[0].ImageOrientationPatient[:3], float), np.array(files[0].ImageOrientationPatient[3:], float)
    assert abs(row @ col) < 1e-5 and np.isclose(np.linalg.norm(row), 1, atol=1e-5)
    normal = np.cross(row, col)
    locs = {}
    for ds in files:
        assert ds.Modality == "MR" and ds.Rows == truth["image_shape"][0] and ds.Columns == truth["image_shape"][1]
        assert [float(v) for v in ds.PixelSpacing] == pytest.approx(truth["pixel_spacing_mm"], abs=1e-5)
        assert float(ds.SliceLocation) == pytest.approx(float(np.array(ds.ImagePositionPatient, float) @ normal), abs=1e-3)
        assert float(ds.RescaleSlope) > 0 and float(ds.RescaleIntercept) == 0
        assert ds.pixel_array.shape == (ds.Rows, ds.Columns)
        locs.setdefault(round(float(ds.SliceLocation), 3), []).append(float(ds.TriggerTime))
    assert sorted(locs) == pytest.approx(truth["slice_locations_mm"], abs=1e-3)
    for times in locs.values():
        assert sorted(times) == pytest.approx([f["time_ms"] for f in truth["frames"]], abs=1e-2)


def test_made_up_patient_name_only_in_patient_name(dicom_dir):
    for k in range(2):
        name = patient_name(k)
        assert name == f"Phantom^Subject{k:04d}"
        for ds in _read_all(dicom_dir / f"subject_{k:04d}")[:3]:
            assert str(ds.PatientName) == name
            for elem in ds.iterall():
                if elem.keyword == "PatientName" or elem.keyword == "PixelData":
                    continue
                assert f"Subject{k:04d}" not in str(elem.value)
        assert f"Subject{k:04d}" not in (dicom_dir / f"subject_{k:04d}" / "truth.json").read_text()


def test_dicom_uids_are_deterministic(dicom_dir, tmp_path):
    again = write_phantoms(tmp_path / "again", 1, SEED, "dicom", workers=1, config=SMALL)
    a = _read_all(dicom_dir / "subject_0000")
    b = _read_all(again / "subject_0000")
    assert [ds.SOPInstanceUID for ds in a] == [ds.SOPInstanceUID for ds in b]
    assert a[0].SeriesInstanceUID == b[0].SeriesInstanceUID
    assert np.array_equal(a[5].pixel_array, b[5].pixel_array)


def test_truth_json_and_image_agree(dicom_dir):
    from lvquant.io import read_dicom

    folder = dicom_dir / "subject_0000"
    truth = json.loads((folder / "truth.json").read_text())
    for key in ("frames", "ed_frame", "es_frame", "mid_slice", "heart_rotation_deg", "rv_angle_deg", "lv_centre_px"):
        assert key in truth
    assert len(truth["frames"]) == 10
    f0 = truth["frames"][0]
    assert set(f0) >= {"cavity_area_mm2", "myocardium_area_mm2", "dims_mm", "rwt_mm", "phase"}
    assert len(f0["dims_mm"]) == 3 and len(f0["rwt_mm"]) == 6
    areas = [f["cavity_area_mm2"] for f in truth["frames"]]
    assert int(np.argmax(areas)) == truth["ed_frame"] and int(np.argmin(areas)) == truth["es_frame"]
    assert abs(truth["heart_rotation_deg"]) <= 40.0
    # Per-slice truth: ascending locations, the mid slice repeats frames[], an
    # apical slice (z < 0) cuts a smaller cavity.
    slices = truth["slices"]
    assert [sl["location_mm"] for sl in slices] == pytest.approx(truth["slice_locations_mm"])
    mid_truth = slices[truth["mid_slice"]]
    assert mid_truth["z_mm"] == 0.0 and min(sl["z_mm"] for sl in slices) < 0.0
    assert [f["rwt_mm"] for f in mid_truth["frames"]] == [f["rwt_mm"] for f in truth["frames"]]
    for sl in slices:
        assert len(sl["frames"]) == 10
        if sl["z_mm"] < 0.0:
            assert sl["frames"][truth["ed_frame"]]["cavity_area_mm2"] < areas[truth["ed_frame"]]
    # Same heart as the LVQuan-layout subject: the same areas.
    s = generate_subject(0, SEED, SMALL)
    assert np.allclose(areas, s.indices.cavity_area_mm2, rtol=1e-3)

    cine = read_dicom(folder)
    assert cine.frames.shape[:2] == (truth["n_slices"], 10)
    assert cine.slice_positions_mm == pytest.approx(truth["slice_locations_mm"], abs=1e-3)
    mid = cine.frames[truth["mid_slice"], truth["ed_frame"]]
    sp = truth["pixel_spacing_mm"][0]
    r, c = truth["lv_centre_px"]
    blood = mid[int(round(r)) - 2 : int(round(r)) + 3, int(round(c)) - 2 : int(round(c)) + 3].mean()
    assert blood > np.percentile(mid, 75)  # the LV cavity is where truth says
    # The RV lies in the direction truth says: brighter there than on the lateral side.
    d = (f0["dims_mm"][0] / 2 + np.mean(f0["rwt_mm"]) + 8.0) / sp
    th = np.deg2rad(truth["rv_angle_deg"])
    def at(angle):
        rr, cc = int(round(r - d * np.cos(angle))), int(round(c + d * np.sin(angle)))
        return mid[rr - 1 : rr + 2, cc - 1 : cc + 2].mean()
    assert at(th) > at(th + np.pi)
