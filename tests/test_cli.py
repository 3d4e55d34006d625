"""The command line: outputs, one-line errors with exit code 2, no partial files."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lvquant.cli import main

SUNNYBROOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "sunnybrook"
needs_sunnybrook = pytest.mark.skipif(not SUNNYBROOK.is_dir(), reason="../shared/data/sunnybrook not present")
PATIENTS = [("SCD0000101", "SC-HF-I-1", 12), ("SCD0000201", "SC-HF-I-2", 13)]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def circle_file(path, r, centre=(40.0, 40.0), n=200):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    np.savetxt(path, np.stack([centre[0] + r * np.cos(t), centre[1] + r * np.sin(t)], 1), fmt="%.4f")
    return path


@needs_sunnybrook
@pytest.mark.parametrize("patient,_contours,n_slices", PATIENTS)
def test_info_reports_slices_frames_spacing(capsys, patient, _contours, n_slices):
    code, out, _ = run(capsys, "info", str(SUNNYBROOK / "dicoms" / patient), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["n_slices"] == n_slices and info["n_frames"] == 20
    assert info["image_size"] == [256, 256]
    assert info["spacing_mm"] == pytest.approx([1.37, 1.37], abs=0.005)
    positions = [s["position_mm"] for s in info["slices"]]
    assert positions == sorted(positions)
    code, text, _ = run(capsys, "info", str(SUNNYBROOK / "dicoms" / patient))
    assert code == 0 and f"{n_slices} x 20 frames" in text and "1.367 x 1.367 mm" in text


@needs_sunnybrook
@pytest.mark.parametrize("patient,contours,_n", PATIENTS)
def test_measure_sunnybrook_ed_above_es_in_plausible_range(capsys, tmp_path, patient, contours, _n):
    out_file = tmp_path / "m.json"
    code, _, err = run(capsys, "measure", "--sunnybrook", str(SUNNYBROOK / "contourfiles" / contours),
                       "--dicom", str(SUNNYBROOK / "dicoms" / patient), "--format", "json", "--out", str(out_file))
    assert code == 0
    images = json.loads(out_file.read_text())["images"]
    by_slice = {}
    for im in images:
        by_slice.setdefault(im["slice"], {})[im["point"]] = im
    assert all(set(v) == {"ED", "ES"} for v in by_slice.values())
    for pair in by_slice.values():  # ED has both borders, and the larger cavity
        assert pair["ED"]["borders"] == "endo+epi" and pair["ES"]["borders"] == "endo"
        assert pair["ED"]["cavity_area_mm2"] > pair["ES"]["cavity_area_mm2"]
    slices = sorted(by_slice)
    mid = by_slice[slices[len(slices) // 2]]  # mid-ventricular: middle of the contoured slices
    for point in ("ED", "ES"):
        assert 1500 <= mid[point]["cavity_area_mm2"] <= 3500
    assert 500 < mid["ED"]["myocardium_area_mm2"] < 3000
    assert all(3 < t < 15 for t in mid["ED"]["rwt_mm"])


def test_measure_contour_files_csv(capsys, tmp_path):
    endo = circle_file(tmp_path / "endo.txt", 20)
    epi = circle_file(tmp_path / "epi.txt", 26)
    code, out, _ = run(capsys, "measure", "--endo", str(endo), "--epi", str(epi), "--spacing", "1.5", "--format", "csv")
    assert code == 0
    row = next(csv.DictReader(io.StringIO(out)))
    assert float(row["cavity_area_mm2"]) == pytest.approx(np.pi * 30**2, rel=2e-3)
    assert float(row["rwt_mm_RWT3"]) == pytest.approx(9.0, abs=0.02)
    assert float(row["dims_mm_D2"]) == pytest.approx(60.0, abs=0.05)


def test_measure_mask_stack_npy(capsys, tmp_path):
    yy, xx = np.mgrid[:80, :80]
    d = np.hypot(yy - 40, xx - 40)
    endo = np.stack([d <= r for r in (18, 15, 12)]).astype(np.uint8)
    epi = np.stack([d <= r + 6 for r in (18, 15, 12)]).astype(np.uint8)
    np.save(tmp_path / "endo.npy", endo)
    np.save(tmp_path / "epi.npy", epi)
    code, out, _ = run(capsys, "measure", "--endo", str(tmp_path / "endo.npy"), "--epi", str(tmp_path / "epi.npy"),
                       "--spacing", "1", "--format", "json")
    assert code == 0
    frames = json.loads(out)["frames"]
    assert [f["frame"] for f in frames] == [0, 1, 2]
    areas = [f["cavity_area_mm2"] for f in frames]
    assert areas[0] > areas[1] > areas[2]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["info", "/no/such/folder"], "does not exist"),
        (["measure"], "nothing to measure"),
        (["measure", "--endo", "{tmp}/endo.txt"], "spacing"),
        (["measure", "--endo", "{tmp}/garbage.txt", "--spacing", "1"], "garbage.txt"),
        (["measure", "--endo", "{tmp}/endo.txt", "--spacing", "abc"], "--spacing"),
        (["measure", "--sunnybrook", "{tmp}"], "--dicom"),
        (["info", "{tmp}/garbage.txt"], "garbage.txt"),
        (["info", "{tmp}"], "DICOM"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, message):
    circle_file(tmp_path / "endo.txt", 10)
    (tmp_path / "garbage.txt").write_bytes(b"\x00\x01 not a contour \xff\n")
    code, out, err = run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lvquant: error:"), err
    assert message in lines[0]
    assert "Traceback" not in err


def test_failed_measure_leaves_no_output_file(capsys, tmp_path):
    out_file = tmp_path / "result.csv"
    (tmp_path / "endo.txt").write_text("1 2\n3 4\n")  # two points: not a polygon
    code, _, err = run(capsys, "measure", "--endo", str(tmp_path / "endo.txt"), "--spacing", "1", "--out", str(out_file))
    assert code == 2 and not out_file.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "endo.txt"]


def test_usage_errors_exit_2_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "lvquant.cli", "measure", "--format", "xml"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "invalid choice" in proc.stderr


def test_measure_example_prints_a_cycle_with_ed_and_es(capsys):
    code, out, err = run(capsys, "measure", "--example", "--format", "json")
    assert code == 0 and err == ""
    payload = json.loads(out)
    frames = payload["frames"]
    assert [f["frame"] for f in frames] == list(range(20))
    assert [f["point"] for f in frames].count("ED") == 1 and [f["point"] for f in frames].count("ES") == 1
    areas = [f["cavity_area_mm2"] for f in frames]
    assert areas[payload["ed_frame"]] == max(areas) and 500 < min(areas) < max(areas) < 5000
    code, text, _ = run(capsys, "measure", "--example")
    assert code == 0 and text.splitlines()[0].split()[:4] == ["frame", "phase", "point", "A1"]
    assert len(text.splitlines()) == 21


@pytest.mark.parametrize("fmt", ["npz", "mat", "dicom"])
def test_phantom_writes_files_that_read_back(capsys, tmp_path, fmt):
    from lvquant.io import read_cine
    from lvquant.io.lvquan_mat import read_lvquan

    out = tmp_path / ("dcm" if fmt == "dicom" else f"p.{fmt}")
    code, text, err = run(capsys, "phantom", "--subjects", "1", "--frames", "6", "--format", fmt,
                          "--out", str(out), "--quiet")
    assert code == 0 and "Traceback" not in err
    assert text == ""  # --quiet: no progress bar, no summary line
    if fmt == "dicom":
        folder = out / "subject_0000"
        truth = json.loads((folder / "truth.json").read_text())
        assert truth["n_frames"] == 6 and len(list(folder.glob("IM_*.dcm"))) == 6 * truth["n_slices"]
        assert 3 <= truth["n_slices"] <= 5  # 1-2 slices each side by default
        cine = read_cine(folder)
        assert (cine.n_slices, cine.n_frames) == (truth["n_slices"], 6)
        assert cine.spacing_mm == pytest.approx(truth["pixel_spacing_mm"], rel=1e-5)
        code, info, _ = run(capsys, "info", str(folder), "--json")
        assert code == 0 and json.loads(info)["n_frames"] == 6
    else:
        ds = read_lvquan(out, frames_per_subject=6)
        assert ds.images.shape == (1, 6, 80, 80) and ds.indices.cavity_area_mm2.shape == (1, 6)
        assert np.all(ds.indices.cavity_area_mm2 > 0)


def test_phantom_mix_gives_the_heart_types_asked_for(capsys, tmp_path):
    out = tmp_path / "hyp"
    code, _, err = run(capsys, "phantom", "--subjects", "2", "--frames", "4", "--format", "dicom", "--mix",
                       "hypertrophic=1", "--workers", "1", "--out", str(out), "--quiet")
    assert code == 0, err
    kinds = {json.loads((out / f"subject_{i:04d}" / "truth.json").read_text())["pathology"] for i in range(2)}
    assert kinds == {"hypertrophic"}


def test_phantom_full_stack_has_the_slices_asked_for(capsys, tmp_path):
    out = tmp_path / "stack"
    code, _, err = run(capsys, "phantom", "--frames", "4", "--format", "dicom", "--apical-slices", "3",
                       "--basal-slices", "0", "--out", str(out), "--quiet")
    assert code == 0, err
    truth = json.loads((out / "subject_0000" / "truth.json").read_text())
    z = sorted(sl["z_mm"] for sl in truth["slices"])
    assert truth["n_slices"] == 4 and z[-1] == 0.0 and z[0] < z[1] < z[2] < 0.0


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--subjects", "0", "--out", "{tmp}/new.npz"], "positive integer"),
        (["--out", "{tmp}/taken.npz"], "already exists"),
        (["--format", "dicom", "--out", "{tmp}/taken.npz"], "already exists"),
        (["--format", "mat", "--out", "{tmp}/new.npz"], ".mat"),
        (["--frames", "2", "--out", "{tmp}/new.npz"], "frames"),
        (["--frames", "100000", "--out", "{tmp}/new.npz"], "4 to 120 frames"),
        (["--apical-slices", "2", "--out", "{tmp}/new.npz"], "needs --format dicom"),
        (["--format", "dicom", "--basal-slices", "7", "--out", "{tmp}/d"], "--basal-slices must be 0 to 6"),
        (["--mix", "hypertrophic", "--out", "{tmp}/new.npz"], "NAME=SHARE"),
        (["--mix", "athletic=1", "--out", "{tmp}/new.npz"], "NAME one of healthy"),
        (["--mix", "healthy=0", "--out", "{tmp}/new.npz"], "sum to zero"),
    ],
)
def test_bad_phantom_request_is_one_line_and_exit_2(capsys, tmp_path, argv, message):
    (tmp_path / "taken.npz").write_bytes(b"x")
    code, out, err = run(capsys, "phantom", *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lvquant: error:"), err
    assert message in lines[0] and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.npz"]
    assert (tmp_path / "taken.npz").read_bytes() == b"x"


@pytest.mark.parametrize("command", ["train", "evaluate"])
@pytest.mark.parametrize("case,message", [
    ("wrong_keys", "images"),
    ("wrong_shape", ""),
    ("label_count", ""),
    ("nan", "NaN"),
    ("no_labels", "label"),
])
def test_train_and_evaluate_refuse_malformed_files_at_once(capsys, tmp_path, command, case, message):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    n = 40  # two subjects
    good = {
        "images_LV": rng.random((80, 80, n)),
        "endo_LV": np.zeros((80, 80, n)), "epi_LV": np.zeros((80, 80, n)),
        "areas": rng.random((2, n)) * 0.1, "dims": rng.random((3, n)) * 0.3, "rwt": rng.random((6, n)) * 0.1,
        "lv_phase": (rng.random((1, n)) > 0.5).astype(float),
        "pix_spa": np.full((1, 2), 1.5), "ratio_resize_inverse": np.full((1, 2), 1.2),
    }
    bad = dict(good)
    if case == "wrong_keys":
        bad["pictures"] = bad.pop("images_LV")
    elif case == "wrong_shape":
        bad["images_LV"] = rng.random((80, n))
    elif case == "label_count":
        bad["areas"] = rng.random((2, n - 20)) * 0.1
    elif case == "nan":
        bad["rwt"] = bad["rwt"].copy()
        bad["rwt"][0, 3] = np.nan
    elif case == "no_labels":
        bad = {"images_LV": good["images_LV"]}
    path = tmp_path / "bad.mat"
    savemat(path, bad)
    argv = ["train", "--data", str(path), "--out", str(tmp_path / "models"), "--quick", "--quiet"] \
        if command == "train" else ["evaluate", "--data", str(path), "--quiet"]
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lvquant: error:") and "Traceback" not in err
    assert message in lines[0]
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


@pytest.mark.parametrize("extra,message", [
    (["--cv"], "--cv needs --models"),
    (["--members", "zero"], "--members must be model numbers"),
])
def test_evaluate_checks_its_options_before_reading_the_data(capsys, tmp_path, extra, message):
    # The data file does not exist: an option error must be reported first, since
    # reading a real training file (about 1 GB) takes many seconds.
    code, out, err = run(capsys, "evaluate", "--data", str(tmp_path / "missing.npz"), "--quiet", *extra)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err


@pytest.fixture(scope="module")
def small_phantom_file(tmp_path_factory):
    from lvquant.io.lvquan_mat import write_lvquan_npz
    from lvquant.phantom import generate_lvquan_dataset

    path = tmp_path_factory.mktemp("phantom") / "d.npz"
    write_lvquan_npz(generate_lvquan_dataset(4, seed=0, workers=1), path)
    return path


@pytest.mark.parametrize("argv,message", [
    (["--warmup", "nan"], "warm-up"),
    (["--warmup", "inf"], "warm-up"),
    (["--lr", "-1"], "learning rate"),
    (["--seed", "-1"], "seed"),
    (["--threads", "0"], "threads"),
    (["--threads", "-1"], "threads"),
    (["--rotate", "-10"], "rotation"),
    (["--rotate", "nan"], "rotation"),
])
def test_bad_training_settings_are_refused_before_any_work(capsys, tmp_path, small_phantom_file, argv, message):
    data = small_phantom_file
    code, out, err = run(capsys, "train", "--data", str(data), "--out", str(tmp_path / "m"), "--quick", *argv)
    assert code == 2 and message in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "m").exists()
