"""The border network (issue 15, borders): mask crops, training, ONNX inference, mask-measured indices,
the QC flag, and the borders in the report."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from lvquant.analysis.borders import (DEFAULT_BORDERS, BorderModel, border_polygons, check_same_spec, disagreement,
                                      mask_indices)
from lvquant.analysis.spec import InputSpec
from lvquant.border_training import BorderTrainConfig, augment, dice_scores, train_border_net
from lvquant.datasets.builder import LabelledStack
from lvquant.datasets.masks import (MaskSet, build_mask_crops, label_map, lv_label_slices, read_mask_crops,
                                    read_mask_licences, save_mask_crops)
from lvquant.errors import InputError, ModelError, ReaderError
from lvquant.geometry import measure_masks
from lvquant.indices import Indices

SPEC = InputSpec()


def _stack(seed: int = 0, slices: int = 4) -> LabelledStack:
    """A ring LV (smaller at ES) with an RV beside it; the last slice is LV-free at ES."""
    rng = np.random.default_rng(seed)
    h = w = 120
    yy, xx = np.mgrid[:h, :w]
    cy, cx = 60 + rng.integers(-4, 5), 64 + rng.integers(-4, 5)
    cav = np.zeros((2, slices, h, w), bool)
    myo = np.zeros_like(cav)
    rv = np.zeros_like(cav)
    for f, r in enumerate((rng.uniform(12, 15), rng.uniform(7, 9))):
        rr = np.hypot(yy - cy, xx - cx)
        for s in range(slices):
            if f == 1 and s == slices - 1:
                continue
            cav[f, s] = rr <= r
            myo[f, s] = (rr > r) & (rr <= r + 6)
            rv[f, s] = np.hypot(yy - cy, xx - (cx - r - 16)) < 8
    img = np.where(cav, 0.9, np.where(myo, 0.3, np.where(rv, 0.8, 0.1))).astype(np.float32)
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    return LabelledStack("p0", "acdc", "NOR", img, cav, myo, rv, (1.5, 1.5), ("ED", "ES"), np.array([0, 1]))


def test_label_map_takes_the_majority_class():
    k = 4
    cav = np.zeros((1, 8, 8), bool)
    myo = np.zeros((1, 8, 8), bool)
    cav[0, :4, :3] = True   # pixel (0, 0): 12 of 16 sub-pixels cavity
    myo[0, :4, 4:8] = True  # pixel (0, 1): all myocardium
    lab = label_map(cav, myo, k)
    assert lab.shape == (1, 2, 2) and lab[0, 0, 0] == 1 and lab[0, 0, 1] == 2 and lab[0, 1, 0] == 0


def test_mask_crops_cover_every_lv_slice_and_round_trip(tmp_path):
    stack = _stack()
    assert lv_label_slices(stack) == [0, 1, 2, 3]
    m = build_mask_crops(stack, SPEC)
    assert m.images.shape == (4, 2, 80, 80) == m.labels.shape
    assert set(np.unique(m.labels)) == {0, 1, 2}
    assert not (m.labels[3, 1] > 0).any()  # the slice without LV at ES holds none
    # the crop's cavity is the label's area (crop pixel = side / 80)
    px = m.pixel_mm[0]
    assert (m.labels[0, 0] == 1).sum() * px ** 2 == pytest.approx(stack.cavity[0, 0].sum() * 1.5 ** 2, rel=0.05)
    path = save_mask_crops(m, tmp_path / "m.npz", {"acdc": "test"})
    back = read_mask_crops(path)
    assert np.array_equal(back.labels, m.labels) and back.subjects == m.subjects and back.spec == m.spec
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ReaderError):
        read_mask_crops(tmp_path / "bad.npz")
    with pytest.raises(InputError, match="myocardium label"):
        build_mask_crops(replace(stack, myocardium=None), SPEC)


def test_a_mask_file_keeps_its_sources_licences(tmp_path):
    path = save_mask_crops(build_mask_crops(_stack(), SPEC), tmp_path / "m.npz", {"acdc": "research only"})
    assert read_mask_licences(path) == {"acdc": "research only"}
    with pytest.raises(ReaderError):
        read_mask_licences(tmp_path / "missing.npz")


def test_phantom_mask_crops_add_stack_slices_with_exact_labels():
    from lvquant.datasets.masks import phantom_mask_crops, phantom_stack_offsets

    m = phantom_mask_crops(2, 5, SPEC, stack_slices=1)
    z = phantom_stack_offsets(2, 5, 1)
    assert m.subjects == ("phantom:5:0", f"phantom:5:0@{z[0][0]:+.2f}mm", "phantom:5:1", f"phantom:5:1@{z[1][0]:+.2f}mm")
    assert m.images.shape == (4, 2, 80, 80) == m.labels.shape
    assert list(m.slices) == [0, round(z[0][0]), 0, round(z[1][0])]
    mid_only = phantom_mask_crops(2, 5, SPEC)
    assert np.array_equal(mid_only.labels, m.labels[[0, 2]]) and np.array_equal(mid_only.images, m.images[[0, 2]])
    for labels in m.labels:
        assert (labels[0] == 2).any()  # every slice holds myocardium at ED (a cap slice may hold no cavity)


def test_phantom_mask_crops_follow_the_pathology_mix():
    from lvquant.datasets.masks import phantom_slices
    from lvquant.phantom.config import PhantomConfig

    for kind in ("dilated", "hypertrophic"):
        cfg = PhantomConfig(pathology_mix={kind: 1.0})
        slices = list(phantom_slices(3, 5, SPEC, 1, config=cfg))
        assert len(slices) >= 4 and {sub.info["pathology"] for _, _, sub in slices} == {kind}


def test_augmentation_moves_labels_with_the_image():
    rng = np.random.default_rng(0)
    y = torch.from_numpy(build_mask_crops(_stack(1), SPEC).labels[:, 0].astype(np.int64))
    x = y[:, None].float()  # an "image" equal to its labels
    xa, ya = augment(x, y, rng, BorderTrainConfig(rotation_deg=25, scale=0.1, shift_px=4))
    agree = (torch.round(xa[:, 0]).long() == ya).float().mean()
    assert agree > 0.97
    assert not torch.equal(ya, y)  # it did move


def test_dice_scores():
    a = np.zeros((2, 10, 10), np.uint8)
    a[:, 2:6, 2:6] = 1
    b = a.copy()
    b[0, 2:6, 2:4] = 0  # half the first cavity missing
    d = dice_scores(b, a)
    assert d["cavity"] == pytest.approx((2 * 8 / 24 + 1.0) / 2) and np.isnan(d["myocardium"])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    crops = MaskSet.concatenate([build_mask_crops(_stack(s), SPEC) for s in range(3)])
    out = tmp_path_factory.mktemp("borders")
    cfg = BorderTrainConfig(epochs=2, batch_size=8, width=4, threads=1, eval_every=1)
    m = train_border_net(crops, out / "a", cfg=cfg, provenance={"data": {"slices": "test"}}, val=crops)
    return crops, out, cfg, m


def test_tiny_training_writes_a_loadable_deterministic_model(tiny_model):
    crops, out, cfg, m = tiny_model
    for name in ("borders.onnx", "borders.json", "borders.safetensors"):
        assert (out / "a" / name).is_file()
    assert m["training"]["kept_epoch"] in (1, 2) and len(m["training"]["history"]) == 2
    model = BorderModel.load(out / "a" / "borders.json")
    from lvquant.analysis.convert import normalize_intensity

    x = normalize_intensity(crops.images[0], SPEC)
    p = model.probabilities(x)
    assert p.shape == (2, 3, 80, 80) and np.allclose(p.sum(1), 1.0, atol=1e-5)
    assert model.labels(x).dtype == np.uint8
    again = train_border_net(crops, out / "b", cfg=cfg, provenance={"data": {"slices": "test"}}, val=crops)
    assert again["sha256"] == m["sha256"]  # seeded and deterministic


def test_border_model_refusals(tiny_model, tmp_path):
    _, out, _, _ = tiny_model
    bad = tmp_path / "m"
    bad.mkdir()
    (bad / "borders.json").write_text("{}")
    with pytest.raises(ModelError, match="not a border network"):
        BorderModel.load(bad / "borders.json")
    manifest = json.loads((out / "a" / "borders.json").read_text())
    (bad / "borders.onnx").write_bytes((out / "a" / "borders.onnx").read_bytes()[:-10])
    (bad / "borders.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError):
        BorderModel.load(bad / "borders.json")
    model = BorderModel.load(out / "a" / "borders.json")
    with pytest.raises(ModelError, match="another input spec"):
        check_same_spec(model, InputSpec(crop_scale=2.0))
    with pytest.raises(InputError):
        model.labels(np.zeros((2, 64, 64), np.float32))


def test_mask_indices_and_the_flag():
    yy, xx = np.mgrid[:80, :80]
    rr = np.hypot(yy - 40, xx - 40)
    lab = np.zeros((3, 80, 80), np.uint8)
    lab[:2][:, rr <= 15] = 1
    lab[:2][:, (rr > 15) & (rr <= 21)] = 2
    ind = mask_indices(lab, 2.0)
    truth = measure_masks(rr <= 15, rr <= 21, 2.0)
    assert ind.cavity_area_mm2[0] == pytest.approx(float(truth.cavity_area_mm2))
    assert np.isnan(ind.to_array()[2]).all()  # no LV in frame 2
    polys = border_polygons(lab[0])
    assert polys["cavity"].shape[1] == 2 and border_polygons(lab[2])["cavity"] is None
    reg = Indices.from_array(np.stack([ind.to_array()[0], ind.to_array()[0] * 1.5, ind.to_array()[0]]))
    flags = disagreement(reg, ind).flagged
    assert flags.tolist() == [False, True, True]


@pytest.mark.skipif(not DEFAULT_BORDERS.is_file(), reason="no border network shipped")
def test_report_has_borders_by_default_and_not_with_no_borders(tmp_path, capsys):
    from lvquant.cli import main

    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    r = json.loads((tmp_path / "d" / "result.json").read_text())
    b = r["borders"]
    assert len(b["frames"]) == 20 and b["tolerance"] == 0.2
    shape = r["source"]["image_shape"]
    for key in ("ed", "es"):
        pts = np.array(b["contours"][key]["cavity_image_px"])
        assert pts.shape[1] == 2 and (pts >= 0).all() and (pts[:, 0] < shape[0]).all() and (pts[:, 1] < shape[1]).all()
        centre = np.array(r["crop"]["centre_px"])
        assert np.linalg.norm(pts.mean(0) - centre) < 10  # the cavity's border is around the LV centre
    assert b["n_flagged"] <= 4  # the phantom's masks and regression agree
    assert "borders:" in capsys.readouterr().out
    import zipfile

    from lvquant.analyze_cmd import DEMO_ZIP

    with zipfile.ZipFile(DEMO_ZIP) as z:
        z.extractall(tmp_path / "series")
    assert main(["analyze", str(tmp_path / "series"), "--no-borders", "--json", "--quiet"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "borders" not in plain and plain["frames"] == r["frames"]  # borders never change the indices


def test_border_probabilities_do_not_depend_on_threads(tiny_model):
    crops, out, _, _ = tiny_model
    from lvquant.analysis.convert import normalize_intensity

    x = np.concatenate([normalize_intensity(c, SPEC) for c in crops.images])
    one = BorderModel.load(out / "a" / "borders.json", threads=1).probabilities(x)
    three = BorderModel.load(out / "a" / "borders.json", threads=3).probabilities(x)
    assert np.array_equal(one, three)


def test_border_probabilities_of_a_long_batch_are_those_of_each_crop():
    """The shipped network on more crops than one ONNX call takes: each crop's probabilities as alone."""
    from lvquant.analysis.convert import equalize_histogram
    from lvquant.analysis.predict import ONNX_BATCH

    model = BorderModel.load()
    n = ONNX_BATCH + 3
    x = equalize_histogram(np.random.default_rng(2).gamma(2.0, 1.0, (n, 80, 80)).astype(np.float32))
    whole = model.probabilities(x)
    singles = np.concatenate([model.probabilities(x[i:i + 1]) for i in range(n)])
    assert whole.shape == (n, 3, 80, 80)
    np.testing.assert_array_equal(whole, singles)


def test_predicting_several_slices_at_once_matches_one_at_a_time():
    from lvquant.analysis.predict import Ensemble, predict_many

    ens = Ensemble.load()
    rng = np.random.default_rng(0)
    crops = [rng.random((n, 80, 80)).astype(np.float32) for n in (3, 5)]
    together = predict_many(ens, crops, [1.8, 2.4])
    for c, p, t in zip(crops, (1.8, 2.4), together):
        alone = ens.predict(c, p)
        np.testing.assert_allclose(t.mean.to_array(), alone.mean.to_array(), rtol=1e-5, atol=1e-4)
