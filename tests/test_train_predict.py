"""Training, ensemble prediction, evaluation metrics and the phase rule.

A toy data set (bright discs whose radius follows a cardiac-like cycle) keeps
these tests fast; the phantom-based figures are measured by scripts, not here.
"""

import json
from dataclasses import replace

import numpy as np
import pytest

from lvquant.errors import InputError
from lvquant.evaluate import lvquan_metrics, pearson
from lvquant.analysis.phase import fit_area_curve, phase_from_curve, polynomial_degree
from lvquant.analysis.predict import Ensemble
from lvquant.train import FLIP_PERMUTATION, TrainConfig, TrainingData, augment_subject, train_ensemble
from lvquant.weights_io import ModelError, load_state


def _toy(n_subjects=6, t=20, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:80, :80]
    imgs = np.zeros((n_subjects, t, 80, 80), np.float32)
    tg = np.zeros((n_subjects, t, 11))
    for s in range(n_subjects):
        for f in range(t):
            r = 10 + 5 * np.cos(2 * np.pi * f / t) + s * 0.5
            imgs[s, f] = (np.hypot(yy - 40, xx - 40) < r) + rng.normal(0, 0.05, (80, 80))
            tg[s, f] = [np.pi * r * r / 6400, 0.05] + [2 * r / 80] * 3 + [0.1 + 0.01 * k for k in range(6)]
    phase = np.array([[1 if 0 < f <= t // 2 else 0 for f in range(t)]] * n_subjects)
    return TrainingData(imgs, tg, np.full(n_subjects, 120.0), phase, "toy discs")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    manifest = train_ensemble(_toy(), out, n_folds=3, split="contiguous", config=TrainConfig.quick(epochs=2, seed=5))
    return out, manifest


def test_manifest_records_how_models_were_trained(trained):
    out, manifest = trained
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["network"] == "dla-tiny"
    assert len(manifest["models"]) == 3
    assert manifest["training"]["split"] == "contiguous" and manifest["training"]["seed"] == 5
    assert manifest["training"]["folds"] == [0, 0, 1, 1, 2, 2]
    assert all(m["epochs_run"] == 2 for m in manifest["models"])
    assert set(manifest["models"][0]["val"]) == {"areas_mae_mm2", "dims_mae_mm", "rwt_mae_mm", "phase_error"}
    assert sorted(p.name for p in out.glob("*.ckpt.*")) == []  # checkpoints removed once a fold is done


def test_training_is_deterministic(trained, tmp_path):
    out, _ = trained
    train_ensemble(_toy(), tmp_path, n_folds=3, split="contiguous", config=TrainConfig.quick(epochs=2, seed=5))
    for k in range(3):
        assert (tmp_path / f"fold_{k}.safetensors").read_bytes() == (out / f"fold_{k}.safetensors").read_bytes()


def test_resume_skips_finished_folds_and_refuses_other_settings(trained, tmp_path):
    out, manifest = trained
    data = _toy()
    again = train_ensemble(data, out, n_folds=3, split="contiguous", config=TrainConfig.quick(epochs=2, seed=5))
    assert [m["sha256"] for m in again["models"]] == [m["sha256"] for m in manifest["models"]]
    with pytest.raises(InputError, match="other data or settings"):
        train_ensemble(data, out, n_folds=3, split="contiguous", config=TrainConfig.quick(epochs=3, seed=5))


def test_interrupted_fold_resumes_identically(tmp_path):
    data = _toy(n_subjects=4)
    cfg = TrainConfig.quick(epochs=3)
    full = tmp_path / "full"
    train_ensemble(data, full, n_folds=2, split="contiguous", config=cfg)

    class Stop(Exception):
        pass

    def stop_after_first_epoch(record):
        if record["fold"] == 1 and record["epoch"] == 0:
            raise Stop

    part = tmp_path / "part"
    with pytest.raises(Stop):
        train_ensemble(data, part, n_folds=2, split="contiguous", config=cfg, progress=stop_after_first_epoch)
    assert (part / "fold_1.ckpt.json").is_file()
    train_ensemble(data, part, n_folds=2, split="contiguous", config=cfg)
    assert (part / "fold_1.safetensors").read_bytes() == (full / "fold_1.safetensors").read_bytes()


def test_ensemble_mean_and_spread_in_mm(trained):
    out, _ = trained
    ens = Ensemble.load(out)
    assert len(ens) == 3
    from lvquant.analysis.convert import equalize_histogram

    crops = equalize_histogram(_toy().images[0])
    pred = ens.predict(crops, pixel_size_mm=1.5)
    members = pred.members
    assert members.shape == (3, 20, 11)
    np.testing.assert_allclose(pred.mean.to_array(), members.mean(0))
    np.testing.assert_allclose(pred.spread.to_array(), members.std(0))
    # a pixel twice as large doubles lengths and quadruples areas
    big = ens.predict(crops, pixel_size_mm=3.0)
    np.testing.assert_allclose(big.mean.dims_mm, 2 * pred.mean.dims_mm)
    np.testing.assert_allclose(big.mean.cavity_area_mm2, 4 * pred.mean.cavity_area_mm2)
    single = Ensemble.load(out, members=[1])
    np.testing.assert_allclose(single.predict(crops, 1.5).mean.to_array(), members[1], rtol=1e-6)
    with pytest.raises(InputError):
        ens.predict(crops[:, :40], 1.5)


def test_tampered_weights_are_refused(trained, tmp_path):
    out, _ = trained
    for f in out.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    data = bytearray((tmp_path / "ensemble.onnx").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "ensemble.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        Ensemble.load(tmp_path)
    with pytest.raises(ModelError, match="manifest"):
        Ensemble.load(tmp_path / "nowhere")


def test_augmentation_keeps_labels_true():
    data = _toy(n_subjects=1)
    rng = np.random.default_rng(0)
    cfg = TrainConfig(zoom=(1.2, 1.2), shift_px=0.0, noise=(0, 0), bias=0.0, blur=(0, 0))
    frames, targets = augment_subject(data.images[0], data.targets[0], rng, cfg)
    assert frames.shape == (20, 80, 80)
    np.testing.assert_allclose(targets[:, 0], data.targets[0, :, 0] * 1.44)
    np.testing.assert_allclose(targets[:, 2:], data.targets[0, :, 2:] * 1.2)
    # the zoomed disc really is 1.2 times wider: measured area ratio ~ 1.44
    ratio = (frames[0] > 0.5).sum() / (data.images[0, 0] > 0.5).sum()
    assert abs(ratio - 1.44) < 0.05


def test_rotation_keeps_the_areas_and_drops_what_depends_on_the_direction():
    # a bar through the crop's centre: turned by the augmentation, its area stays, its direction moves
    img = np.zeros((20, 80, 80), np.float32)
    img[:, 36:44, 10:70] = 1.0
    targets = np.tile(np.array([0.075, 0.05] + [0.3] * 3 + [0.1] * 6), (20, 1))
    cfg = TrainConfig(zoom=(1.0, 1.0), shift_px=0.0, noise=(0, 0), bias=0.0, blur=(0, 0), rotate_deg=90.0, rotate_p=1.0)
    frames, out = augment_subject(img, targets, np.random.default_rng(3), cfg)
    np.testing.assert_allclose(out[:, :2], targets[:, :2])
    assert np.isnan(out[:, 2:]).all()
    assert abs((frames[0] > 0.5).sum() / (img[0] > 0.5).sum() - 1) < 0.1
    assert not np.array_equal(frames[0] > 0.5, img[0] > 0.5)  # really turned
    np.testing.assert_array_equal(frames[0], frames[7])  # the same turn for every frame
    # never drawn at rotate_p 0: the dims and RWT are kept
    _, kept = augment_subject(img, targets, np.random.default_rng(3), replace(cfg, rotate_p=0.0))
    np.testing.assert_allclose(kept, targets)
    with pytest.raises(InputError):
        TrainConfig(rotate_deg=-5.0)


def test_flip_permutation_is_an_involution_mapping_the_right_segments():
    assert np.array_equal(FLIP_PERMUTATION[FLIP_PERMUTATION], np.arange(11))
    names = ["A1", "A2", "D1", "D2", "D3", "IS", "I", "IL", "AL", "A", "AS"]
    flipped = [names[i] for i in FLIP_PERMUTATION]
    assert flipped == ["A1", "A2", "D3", "D2", "D1", "AS", "A", "AL", "IL", "I", "IS"]


def test_metrics_on_known_errors():
    true = np.ones((2, 20, 11)) * 10
    pred = true.copy()
    pred[..., 0] += 100  # A1 off by 100 mm2
    pred[..., 2:5] += 3  # dims off by 3 mm
    pred[..., 5:] -= 0.5
    pred += np.random.default_rng(0).normal(0, 1e-3, pred.shape)
    m = lvquan_metrics(pred, true)
    assert m["areas_mae_mm2"] == pytest.approx(50, abs=0.01)
    assert m["dims_mae_mm"] == pytest.approx(3, abs=0.01)
    assert m["rwt_mae_mm"] == pytest.approx(0.5, abs=0.01)
    assert m["phase_error"] is None and m["n_frames"] == 40
    assert pearson(np.arange(5), 2 * np.arange(5) + 1) == pytest.approx(1.0)
    with pytest.raises(InputError):
        lvquan_metrics(pred[:, :, :5], true[:, :, :5])


def test_phase_error_counts_wrong_frames():
    t = np.arange(20)
    areas = 2000 + 600 * np.cos(2 * np.pi * t / 20)  # ED at 0, ES at 10
    pred = np.zeros((1, 20, 11))
    pred[0, :, 0] = areas
    truth = np.array([[1 if 0 < f <= 10 else 0 for f in t]])
    assert lvquan_metrics(pred, pred, truth)["phase_error"] == 0.0
    shifted = np.roll(truth, 2, axis=1)
    assert lvquan_metrics(pred, pred, shifted)["phase_error"] == pytest.approx(4 / 20)


def test_polynomial_rule_ignores_a_one_frame_spike():
    t = np.arange(20)
    areas = 2500 - 900 * np.sin(np.pi * t / 19) ** 2 + 0 * t  # ED at the ends, ES mid-cycle
    noisy = areas.copy()
    noisy[3] -= 1000  # a spurious dip far below the true minimum
    raw = phase_from_curve(noisy, method="argmax")
    fitted = phase_from_curve(noisy, method="poly")
    assert raw.es_frame == 3
    assert abs(fitted.es_frame - 9.5) <= 2
    assert polynomial_degree(20) == 11 and fitted.degree == 11
    assert np.all(np.abs(np.diff(fitted.labels)).sum() <= 2)  # one systole block, no flicker


def test_polynomial_fit_recovers_a_polynomial_and_validates():
    x = np.linspace(-1, 1, 20)
    y = 3 * x**3 - x + 5
    np.testing.assert_allclose(fit_area_curve(y), y, atol=1e-9)
    with pytest.raises(InputError):
        phase_from_curve(np.array([1.0, np.nan, 2.0, 3.0, 4.0]))
    with pytest.raises(InputError):
        phase_from_curve(np.arange(20.0), method="spline")


def test_fine_tuning_starts_each_fold_from_the_given_model(trained, tmp_path):
    out, manifest = trained
    cfg = TrainConfig.quick(epochs=1, seed=5, lr=1e-12, warmup_epochs=0)
    tuned = train_ensemble(_toy(), tmp_path, n_folds=3, split="contiguous", config=cfg, init=out)
    assert tuned["training"]["initialised_from"]["name"] == manifest["name"]
    assert tuned["training"]["initialised_from"]["sha256"] == [m["sha256"] for m in manifest["models"]]
    assert tuned["targets"]["mean"] == manifest["targets"]["mean"]
    # a vanishing learning rate leaves every trained weight where model k left it
    # (BatchNorm running statistics still move, so compare the conv/linear weights)
    for k in range(3):
        before, after = load_state(out / f"fold_{k}.safetensors"), load_state(tmp_path / f"fold_{k}.safetensors")
        other = load_state(out / f"fold_{(k + 1) % 3}.safetensors")
        weights = [name for name in before if name.endswith("weight") and before[name].ndim > 1]
        assert weights
        for name in weights:
            np.testing.assert_allclose(after[name].numpy(), before[name].numpy(), atol=1e-6)
        assert any(not np.allclose(other[name].numpy(), before[name].numpy()) for name in weights)


def test_fine_tuning_into_a_wider_network_starts_each_fold_from_the_narrow_model(tmp_path):
    narrow_dir, wide_dir = tmp_path / "narrow", tmp_path / "wide"
    narrow = train_ensemble(_toy(), narrow_dir, n_folds=3, split="contiguous",
                            config=TrainConfig.quick(network="dla-small", epochs=1, seed=5))
    cfg = TrainConfig.quick(network="dla-small-wide", epochs=1, seed=5, lr=1e-12, warmup_epochs=0)
    wide = train_ensemble(_toy(), wide_dir, n_folds=3, split="contiguous", config=cfg, init=narrow_dir)
    assert wide["network"] == "dla-small-wide" and wide["network_config"]["hidden"] == 128
    assert wide["training"]["initialised_from"]["widened_from"] == "dla-small"
    assert wide["training"]["initialised_from"]["sha256"] == [m["sha256"] for m in narrow["models"]]
    for k in range(3):  # a vanishing learning rate: the old channels' weights are model k's
        before, after = load_state(narrow_dir / f"fold_{k}.safetensors"), load_state(wide_dir / f"fold_{k}.safetensors")
        blocks = [name for name in before if name.endswith(("conv1.weight", "conv2.weight"))]
        assert blocks
        for name in blocks:
            corner = after[name][tuple(slice(0, n) for n in before[name].shape)]
            np.testing.assert_allclose(corner.numpy(), before[name].numpy(), atol=1e-6)
        assert any(after[name].shape != before[name].shape for name in blocks)
    assert Ensemble.load(wide_dir).predict(np.zeros((2, 80, 80), np.float32), 1.5).members.shape == (3, 2, 11)


def test_fine_tuning_refuses_models_that_saw_the_validation_folds(trained, tmp_path):
    out, _ = trained
    with pytest.raises(InputError, match="other folds"):
        train_ensemble(_toy(), tmp_path / "a", n_folds=3, split="kmeans", config=TrainConfig.quick(epochs=1, seed=5),
                       init=out)
    with pytest.raises(InputError, match="dla-tiny networks"):
        train_ensemble(_toy(), tmp_path / "b", n_folds=3, split="contiguous", config=TrainConfig(epochs=1, seed=5),
                       init=out)
    with pytest.raises(InputError, match="3 models"):
        train_ensemble(_toy(), tmp_path / "c", n_folds=2, split="contiguous", config=TrainConfig.quick(epochs=1, seed=5),
                       init=out)
    with pytest.raises(ModelError, match="no manifest.json"):
        train_ensemble(_toy(), tmp_path / "d", n_folds=3, split="contiguous", config=TrainConfig.quick(epochs=1, seed=5),
                       init=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # refused before any output folder is made


def test_learning_rate_schedule_warms_up_then_decays():
    from lvquant.train import _lr_at

    cfg = TrainConfig(epochs=10, lr=1e-3, warmup_epochs=2)
    assert _lr_at(cfg, 1.0) == pytest.approx(5e-4)
    assert _lr_at(cfg, 10.0) == pytest.approx(0.0, abs=1e-12)
    flat = TrainConfig(epochs=10, lr=1e-3, warmup_epochs=0)
    assert _lr_at(flat, 0.0) == pytest.approx(1e-3)
    with pytest.raises(InputError):
        TrainConfig(lr=0.0)
    with pytest.raises(InputError):
        TrainConfig(warmup_epochs=-1)


def test_an_average_of_fine_tuned_folders_is_the_weighted_mean_of_their_weights(trained, tmp_path):
    from lvquant.train import average_ensembles

    out, manifest = trained
    tuned = tmp_path / "tuned"
    train_ensemble(_toy(), tuned, n_folds=3, split="contiguous", config=TrainConfig.quick(epochs=1, seed=6, lr=5e-3,
                                                                                          warmup_epochs=0), init=out)
    avg = average_ensembles([out, tuned], [0.25, 0.75], tmp_path / "avg", name="avg")
    assert avg["name"] == "avg" and [m["fold"] for m in avg["models"]] == [0, 1, 2]
    assert [a["weight"] for a in avg["training"]["averaged_from"]] == [0.25, 0.75]
    assert "cross_validation" not in avg["training"]
    changed = False
    for k in range(3):
        a, b = load_state(out / f"fold_{k}.safetensors"), load_state(tuned / f"fold_{k}.safetensors")
        c = load_state(tmp_path / "avg" / f"fold_{k}.safetensors", avg["models"][k]["sha256"])
        for name, t in c.items():
            if t.is_floating_point():
                np.testing.assert_allclose(t.numpy(), 0.25 * a[name].numpy() + 0.75 * b[name].numpy(), atol=1e-6)
                changed |= not np.allclose(a[name].numpy(), b[name].numpy())
            else:
                assert np.array_equal(t.numpy(), b[name].numpy())
    assert changed  # the fine-tune moved the weights, so the average is neither source
    # the inference graph is the averaged networks': equal folders average to the same predictions
    same = average_ensembles([out, out], [0.5, 0.5], tmp_path / "same")
    x = _toy(1)
    p0 = Ensemble.load(out).predict_raw(x.images[0], 1.5).mean.to_array()
    p1 = Ensemble.load(tmp_path / "same").predict_raw(x.images[0], 1.5).mean.to_array()
    np.testing.assert_allclose(p1, p0, rtol=1e-5, atol=1e-6)
    assert same["models"][0]["averaged_from"] == [manifest["models"][0]["sha256"]] * 2


def test_averaging_refuses_bad_weights_and_folders_that_disagree(trained, tmp_path):
    from lvquant.train import average_ensembles

    out, _ = trained
    with pytest.raises(InputError, match="sum to 1"):
        average_ensembles([out, out], [0.5, 0.6], tmp_path / "a")
    with pytest.raises(InputError, match="positive"):
        average_ensembles([out, out], [1.5, -0.5], tmp_path / "b")
    with pytest.raises(InputError, match="two or more"):
        average_ensembles([out], [1.0], tmp_path / "c")
    other = tmp_path / "other"
    train_ensemble(_toy(), other, n_folds=2, split="contiguous", config=TrainConfig.quick(epochs=1, seed=5))
    with pytest.raises(InputError, match="2 models"):
        average_ensembles([out, other], [0.5, 0.5], tmp_path / "d")
    wide = tmp_path / "wide"
    train_ensemble(_toy(), wide, n_folds=3, split="contiguous", config=TrainConfig.quick(epochs=1, seed=5, lr=1e-3,
                                                                                        warmup_epochs=0))
    manifest = json.loads((wide / "manifest.json").read_text())
    mean = list(manifest["targets"]["mean"])
    manifest["targets"]["mean"][0] += 0.01
    (wide / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="targets"):
        average_ensembles([out, wide], [0.5, 0.5], tmp_path / "e")
    manifest["targets"]["mean"] = mean  # the same targets again, but patient p003 in another fold
    manifest["training"]["patient_folds"] = {"p003": 2}
    (wide / "manifest.json").write_text(json.dumps(manifest))
    theirs = json.loads((out / "manifest.json").read_text())
    mine = tmp_path / "mine"
    mine.mkdir()
    for f in out.iterdir():
        (mine / f.name).write_bytes(f.read_bytes())
    theirs["training"]["patient_folds"] = {"p003": 1}
    (mine / "manifest.json").write_text(json.dumps(theirs))
    with pytest.raises(InputError, match="patient p003 lies in fold 1"):
        average_ensembles([mine, wide], [0.5, 0.5], tmp_path / "f")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "other", "wide"]  # refused before any output folder
