"""Real labelled data through the commands: lvquant dataset -> train -> evaluate (issue 13), on small
ACDC-layout packs written by the test (no real images needed), plus the pieces: masked loss,
patient-grouped folds, metrics with missing truth and signed bias."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lvquant.cli import main
from lvquant.evaluate import lvquan_metrics

GROUPS = ("DCM", "HCM", "MINF", "NOR", "RV")


def _acdc_pack(folder: Path, name: str, seed: int) -> None:
    """An ACDC-layout patient: 3 slices, a ring LV (radius by frame) with an RV beside it."""
    rng = np.random.default_rng(seed)
    h = w = 96
    yy, xx = np.mgrid[:h, :w]
    cy, cx = 48 + rng.integers(-4, 5), 52 + rng.integers(-4, 5)
    out = {}
    for frame, r in (("ed", rng.uniform(11, 15)), ("es", rng.uniform(6, 9))):
        rr = np.hypot(yy - cy, xx - cx)
        wall = rng.uniform(5, 7)
        label = np.zeros((3, h, w), np.uint8)
        label[:, np.hypot(yy - cy, xx - (cx - r - wall - 9)) < 8] = 1
        label[:, (rr > r) & (rr <= r + wall)] = 2
        label[:, rr <= r] = 3
        img = np.select([label == 3, label == 2, label == 1], [0.9, 0.3, 0.8], 0.1)
        out[f"image_{frame}"] = (img + rng.normal(0, 0.03, img.shape)).astype(np.float32)
        out[f"label_{frame}"] = label
    np.savez(folder / f"{name}.npz", **out)


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    acdc = root / "acdc"
    acdc.mkdir()
    names = [f"patient{i:03d}" for i in range(1, 9)]
    rows = ["patient,group,pixel_mm"]
    for i, name in enumerate(names):
        _acdc_pack(acdc, name, i)
        rows.append(f"{name},{GROUPS[i % 5]},1.5")
    (acdc / "patients.csv").write_text("\n".join(rows) + "\n")
    split = root / "split.json"
    split.write_text(json.dumps({"acdc": {"train": names[:6], "test": names[6:]},
                                 "sunnybrook": {"train": [], "test": []}}))
    return root


def test_dataset_train_evaluate_on_real_layout_packs(packs, capsys, tmp_path):
    crops = tmp_path / "train.npz"
    assert main(["dataset", "--split", str(packs / "split.json"), "--part", "train", "--acdc", str(packs / "acdc"),
                 "--slices", "rings", "--out", str(crops), "--quiet"]) == 0
    assert "6 patients" in capsys.readouterr().out
    models = tmp_path / "models"
    assert main(["train", "--data", str(crops), "--out", str(models), "--quick", "--folds", "3", "--quiet"]) == 0
    manifest = json.loads((models / "manifest.json").read_text())
    data = manifest["training"]["data"]
    assert data["provenance"]["sources"] == ["acdc"] and len(data["provenance"]["patients"]) == 6
    assert "non-commercial" in data["provenance"]["licences"]["acdc"]
    # no patient in two folds: every slice of a patient shares its fold
    from lvquant.datasets.files import read_crops

    cs = read_crops(crops)
    folds = np.asarray(manifest["training"]["folds"])
    for patient in set(cs.subjects):
        assert len(set(folds[np.asarray(cs.subjects) == patient])) == 1
    capsys.readouterr()
    assert main(["evaluate", "--data", str(crops), "--models", str(models), "--cv", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cross_validated"] and result["mid"]["n_patients"] == 6
    assert set(result["by_source"]) == {"acdc"} and result["all_rows"]["n_frames"] == 2 * len(cs)
    assert set(result["mid"]["bias"]) == set(result["mid"]["mae"]) and result["mid"]["phase_error"] is None


def test_fine_tuning_on_changed_data_keeps_every_patients_fold(packs, capsys, tmp_path):
    """Fine-tuning from a folder on other data of the same patients (ring slices instead of the
    mid slice) with another seed, whose K-means folds differ (seed 2: checked below), keeps the
    folder's patient folds, so no model validates on a patient it trained on."""
    mid, rings = tmp_path / "mid.npz", tmp_path / "rings.npz"
    for out, slices in ((mid, "mid"), (rings, "rings")):
        assert main(["dataset", "--split", str(packs / "split.json"), "--part", "train", "--acdc",
                     str(packs / "acdc"), "--slices", slices, "--out", str(out), "--quiet"]) == 0
    first = tmp_path / "first"
    assert main(["train", "--data", str(mid), "--out", str(first), "--quick", "--folds", "3", "--quiet"]) == 0
    kept = json.loads((first / "manifest.json").read_text())["training"]["patient_folds"]
    assert len(kept) == 6 and set(kept.values()) == {0, 1, 2}
    from lvquant.datasets.files import read_crops
    from lvquant.train import make_folds, patient_folds, prepare_crops

    fresh = prepare_crops(read_crops(rings))
    assert patient_folds(fresh, make_folds(fresh, 3, seed=2)) != kept
    second = tmp_path / "second"
    assert main(["train", "--data", str(rings), "--out", str(second), "--quick", "--folds", "3", "--init", str(first),
                 "--seed", "2", "--quiet"]) == 0
    assert json.loads((second / "manifest.json").read_text())["training"]["patient_folds"] == kept
    # without --network (nor --quick) a fine-tune keeps the --init folder's network, here --quick's dla-tiny
    third = tmp_path / "same_network"
    assert main(["train", "--data", str(rings), "--out", str(third), "--folds", "3", "--init", str(first),
                 "--epochs", "1", "--quiet"]) == 0
    assert json.loads((third / "manifest.json").read_text())["network"] == "dla-tiny"
    # a folder that trained on these patients without recording their folds is refused
    m = json.loads((first / "manifest.json").read_text())
    del m["training"]["patient_folds"]
    (first / "manifest.json").write_text(json.dumps(m))
    capsys.readouterr()
    assert main(["train", "--data", str(rings), "--out", str(tmp_path / "third"), "--quick", "--folds", "3",
                 "--init", str(first), "--quiet"]) == 2
    assert "patient_folds" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["dataset", "--split", "{tmp}/none.json", "--part", "train", "--acdc", "{acdc}", "--out", "{tmp}/x.npz"],
     "not a split file"),
    (["dataset", "--split", "{split}", "--part", "train", "--acdc", "{acdc}", "--out", "{tmp}/x.txt"], "must name an .npz"),
    (["dataset", "--split", "{split}", "--part", "train", "--out", "{tmp}/x.npz"], "give --acdc DIR"),
    (["dataset", "--split", "{split}", "--part", "train", "--acdc", "{tmp}", "--out", "{tmp}/x.npz"], "cannot read"),
    (["train", "--data", "{tmp}/bad.npz", "--out", "{tmp}/m", "--quick"], "bad.npz"),
])
def test_dataset_bad_input_is_one_line_exit_2_and_writes_nothing(packs, capsys, tmp_path, argv, message):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really")
    argv = [a.format(tmp=tmp_path, acdc=packs / "acdc", split=packs / "split.json") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "m").exists()


def test_a_pack_with_unknown_label_values_is_refused(packs, capsys, tmp_path):
    acdc = tmp_path / "acdc"
    acdc.mkdir()
    _acdc_pack(acdc, "patient001", 0)
    with np.load(acdc / "patient001.npz") as z:
        arrays = dict(z)
    arrays["label_ed"][0, 0, 0] = 9
    np.savez(acdc / "patient001.npz", **arrays)
    (acdc / "patients.csv").write_text("patient,group,pixel_mm\npatient001,NOR,1.5\n")
    split = tmp_path / "s.json"
    split.write_text(json.dumps({"acdc": {"train": ["patient001"], "test": []}, "sunnybrook": {"train": [], "test": []}}))
    assert main(["dataset", "--split", str(split), "--part", "train", "--acdc", str(acdc), "--out", str(tmp_path / "o.npz")]) == 2
    assert "label values [9]" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def test_masked_loss_ignores_missing_targets():
    import torch

    from lvquant.train import masked_loss

    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    target = torch.tensor([[1.0, float("nan")], [3.0, 5.0]])
    # smooth-L1 (beta 0.5) of the three known errors 0, 0, 1: (0 + 0 + 0.75) / 3
    assert float(masked_loss(pred, target)) == pytest.approx(0.75 / 3)
    pred.requires_grad_(True)
    masked_loss(pred, target).backward()
    assert pred.grad[0, 1] == 0 and torch.all(torch.isfinite(pred.grad))


def test_metrics_score_known_truth_only_and_give_the_signed_bias():
    true = np.full((2, 2, 11), 10.0)
    true[:, :, 1] = np.nan  # no myocardium label
    pred = true.copy()
    pred[:, :, 0] = 9.0  # cavity 10 % too small
    pred[:, :, 1] = 50.0
    m = lvquan_metrics(pred, true)
    assert m["mae"]["A1"] == pytest.approx(1.0) and m["bias"]["A1"] == pytest.approx(-1.0)
    assert m["relative_bias"]["A1"] == pytest.approx(-0.1) and m["relative_mae"]["A1"] == pytest.approx(0.1)
    assert m["mae"]["A2"] is None and m["areas_mae_mm2"] is None and m["n_known"]["A2"] == 0
    assert m["dims_mae_mm"] == pytest.approx(0.0)


def test_phantom_ed_es_pairs_join_the_real_crops(packs, capsys, tmp_path):
    from lvquant.datasets.files import read_crops

    ph = tmp_path / "ph.npz"
    assert main(["phantom", "--subjects", "2", "--seed", "11", "--format", "npz", "--out", str(ph), "--quiet"]) == 0
    out = tmp_path / "mix.npz"
    assert main(["dataset", "--split", str(packs / "split.json"), "--part", "test", "--acdc", str(packs / "acdc"),
                 "--phantom", str(ph), "--out", str(out), "--quiet"]) == 0
    cs = read_crops(out)
    assert cs.sources.count("phantom") == 2 and cs.sources.count("acdc") == 2
    from lvquant.io import read_lvquan

    truth = read_lvquan(ph).indices.to_array()
    rows = [i for i, s in enumerate(cs.sources) if s == "phantom"]
    for k, r in enumerate(rows):  # ED: the largest cavity of the cycle, ES: the smallest
        assert cs.indices[r, 0, 0] == truth[k, :, 0].max() and cs.indices[r, 1, 0] == truth[k, :, 0].min()
