"""The inference contract: ONNX Runtime engine, input spec in the manifest, same numbers on any CPU count (issue 12)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lvquant.analysis.predict import DEFAULT_MODEL_DIR, Ensemble
from lvquant.analysis.spec import InputSpec
from lvquant.errors import ModelError
from lvquant.weights_io import read_manifest

DEMO_ZIP = Path(__file__).resolve().parents[1] / "src" / "lvquant" / "data" / "demo_series.zip"


def _crops(n: int = 20, seed: int = 0) -> np.ndarray:
    from lvquant.analysis.convert import equalize_histogram

    return equalize_histogram(np.random.default_rng(seed).gamma(2.0, 1.0, (n, 80, 80)).astype(np.float32))


def test_shipped_graph_equals_the_pytorch_networks():
    """ensemble.onnx on ONNX Runtime gives every PyTorch network's output (unfused, eval mode) within 1e-5 relative."""
    import torch

    from lvquant.nets.dla import DLA
    from lvquant.nets.config import DLAConfig
    from lvquant.weights_io import load_state

    manifest = read_manifest(DEFAULT_MODEL_DIR)
    cfg = manifest["network_config"]
    config = DLAConfig(tuple(cfg["levels"]), tuple(cfg["channels"]), cfg["head_channels"], cfg["hidden"], cfg["dropout"])
    mean, std = np.array(manifest["targets"]["mean"]), np.array(manifest["targets"]["std"])
    x = _crops()
    refs = []
    for entry in manifest["models"]:
        net = DLA(config, manifest["input_spec"]["crop_pixels"])
        net.load_state_dict(load_state(DEFAULT_MODEL_DIR / entry["file"], entry["sha256"]))
        net.eval()
        with torch.inference_mode():
            refs.append(net(torch.from_numpy(x)[:, None]).double().numpy() * std + mean)
    ref = np.stack(refs)
    out = Ensemble.load().predict_normalised(x)
    assert out.shape == ref.shape == (5, 20, 11)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=0)


def test_outputs_are_bit_identical_for_any_thread_count():
    x = _crops(seed=3)
    outs = {n: Ensemble.load(threads=n).predict_normalised(x) for n in (1, 2, 3)}
    assert not np.allclose(outs[1][0], outs[1][1])  # five different networks
    np.testing.assert_array_equal(outs[1], outs[2])
    np.testing.assert_array_equal(outs[1], outs[3])


def test_a_long_batch_is_run_in_pieces_with_the_same_numbers():
    """More crops than one ONNX call takes (ONNX_BATCH): bit for bit what one call per crop gives,
    each crop in its place (the pieces are joined along the crops' axis, not the networks')."""
    from lvquant.analysis.predict import ONNX_BATCH

    n = 2 * ONNX_BATCH + 5
    x = _crops(n=n, seed=5)
    ens = Ensemble.load()
    whole = ens.predict_normalised(x)
    singles = np.concatenate([ens.predict_normalised(x[i:i + 1]) for i in range(n)], axis=1)
    assert whole.shape == (5, n, 11)
    np.testing.assert_array_equal(whole, singles)
    assert not np.array_equal(whole[:, 0], whole[:, ONNX_BATCH])  # different crops, different outputs


def _analyze_demo_json(tmp: Path, cpus: set[int] | None, blas_threads: str | None) -> dict:
    env = {k: v for k, v in os.environ.items()}
    if blas_threads is not None:
        env.update(OMP_NUM_THREADS=blas_threads, OPENBLAS_NUM_THREADS=blas_threads, MKL_NUM_THREADS=blas_threads)

    def restrict() -> None:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)

    proc = subprocess.run([sys.executable, "-m", "lvquant.cli", "analyze", str(tmp), "--json", "--no-figures"],
                          capture_output=True, text=True, env=env, preexec_fn=restrict, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    result.pop("timings_ms")
    return result


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two CPUs and Linux CPU affinity")
def test_a_whole_analysis_is_identical_on_one_core_and_on_all(tmp_path):
    """`lvquant analyze` in a fresh process pinned to one core with single-threaded BLAS, and on
    every core with the default threads: the same result.json, number for number."""
    series = tmp_path / "series"
    with zipfile.ZipFile(DEMO_ZIP) as z:
        z.extractall(series)
    one = _analyze_demo_json(series, {min(os.sched_getaffinity(0))}, "1")
    every = _analyze_demo_json(series, None, None)
    assert one == every
    assert one["ed_frame"] != one["es_frame"]


def test_manifest_carries_the_input_spec_and_analysis_uses_it():
    ens = Ensemble.load()
    assert ens.spec == InputSpec.from_dict(ens.manifest["input_spec"])
    assert ens.spec == InputSpec()  # the shipped networks were trained on the method's crops
    assert ens.manifest["inference"]["file"] == "ensemble.onnx"


def _copy_models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    return folder


def _edit_manifest(folder: Path, edit) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("field,value,match", [
    ("crop_rule", "lv_bounding_box", "crop rule 'lv_bounding_box' is unknown"),
    ("intensity", "zscore", "intensity 'zscore' is unknown"),
    ("crop_pixels", 72, "multiple of 16"),
    ("crop_scale", "2.5", "crop_scale must be a number"),
    ("frames_per_cycle", True, "frames_per_cycle"),
])
def test_a_spec_this_version_cannot_honour_is_refused(tmp_path, field, value, match):
    folder = _copy_models(tmp_path)
    _edit_manifest(folder, lambda m: m["input_spec"].__setitem__(field, value))
    with pytest.raises(ModelError, match=match):
        Ensemble.load(folder)


def test_spec_fields_unknown_or_missing_are_refused(tmp_path):
    folder = _copy_models(tmp_path)
    _edit_manifest(folder, lambda m: m["input_spec"].__setitem__("bias_correction", "n4"))
    with pytest.raises(ModelError, match="newer lvquant"):
        Ensemble.load(folder)
    _edit_manifest(folder, lambda m: m["input_spec"].pop("bias_correction") and m["input_spec"].pop("rv_angle_deg"))
    with pytest.raises(ModelError, match="lacks rv_angle_deg"):
        Ensemble.load(folder)


def test_a_graph_that_does_not_fit_the_spec_is_refused(tmp_path):
    """A spec of 96-pixel crops next to a graph built for 80 pixels: refused at load, not at the first frame."""
    folder = _copy_models(tmp_path)
    _edit_manifest(folder, lambda m: m["input_spec"].__setitem__("crop_pixels", 96))
    with pytest.raises(ModelError, match="input spec says"):
        Ensemble.load(folder)


def test_an_old_format_folder_is_refused_with_the_upgrade_command(tmp_path):
    folder = _copy_models(tmp_path)
    _edit_manifest(folder, lambda m: m.__setitem__("format", "lvquant-ensemble/1"))
    with pytest.raises(ModelError, match="upgrade_model_folder.py"):
        Ensemble.load(folder)


def test_a_graph_that_is_not_onnx_is_refused(tmp_path):
    from lvquant.weights_io import sha256_file

    folder = _copy_models(tmp_path)
    (folder / "ensemble.onnx").write_bytes(b"not a graph at all")
    _edit_manifest(folder, lambda m: m["inference"].__setitem__("sha256", sha256_file(folder / "ensemble.onnx")))
    with pytest.raises(ModelError, match="not a usable ONNX graph"):
        Ensemble.load(folder)


def test_members_out_of_range_or_negative_are_refused():
    for members in ([5], [-1], [], [True]):
        with pytest.raises(ModelError, match="has 5 models"):
            Ensemble.load(members=members)


def test_a_subset_keeps_the_asked_members():
    x = _crops(seed=4)
    ens = Ensemble.load()
    every = ens.predict_normalised(x)
    np.testing.assert_array_equal(ens.subset([3, 1]).predict_normalised(x), every[[3, 1]])


@pytest.mark.parametrize("code", [
    "from lvquant.analysis import analyze_cine; from lvquant.io import read_cine; import zipfile, tempfile;"
    "d = tempfile.mkdtemp(); zipfile.ZipFile(DEMO).extractall(d); analyze_cine(read_cine(d))",
    "from lvquant.cli import main; import tempfile; d = tempfile.mkdtemp();"
    "main(['phantom', '--subjects', '2', '--seed', '7', '--format', 'npz', '--out', d + '/p.npz', '--quiet']);"
    "assert main(['evaluate', '--data', d + '/p.npz', '--json']) == 0",
])
def test_analysis_and_evaluate_do_not_import_torch(code):
    script = f"import sys\nDEMO = {str(DEMO_ZIP)!r}\ntry:\n    {code}\nexcept SystemExit:\n    pass\n" \
             "assert 'torch' not in sys.modules, 'torch was imported'\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("damage,message", [
    (lambda m: m["targets"].update(mean=[0.0, 1.0, 2.0]), "targets.mean must be 11 numbers"),
    (lambda m: m["targets"].update(std=["a"] * 11), "targets.std must be 11 numbers"),
    (lambda m: m["models"][0].pop("file"), "file name and a fold"),
    (lambda m: m["models"][1].update(fold="1"), "file name and a fold"),
    (lambda m: m["network_config"].update(hidden=10**12), "0 to 4096"),
    (lambda m: m.update(models=[]), "lists no models"),
    (lambda m: m.update(input_spec="80"), "must be objects"),
])
def test_a_damaged_manifest_is_refused_with_its_path(tmp_path, damage, message):
    folder = tmp_path / "models"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    damage(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=message) as err:
        Ensemble.load(folder)
    assert "manifest.json" in str(err.value)
