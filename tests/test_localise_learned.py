"""lvquant.analysis.localise_learned and lvquant.localiser_training: the learned localiser.

The shipped network is checked on fresh phantom series (seed 31337; its phantom training series
use seed 9100). Its figures on real patients come from scripts/measure_localiser_acdc.py (the
split's test part, docs/RESULTS.md), not from tests. Here: files, refusals, determinism, the
augmentation's exactness and a tiny training run (the real-sample test skips without ../shared).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lvquant.analysis.localise_learned import (
    GridSpec, LearnedLocaliser, load_localiser, localiser_input, pick_frames,
)
from lvquant.errors import InputError, LocalisationError, ModelError
from lvquant.weights_io import sha256_bytes

SEED = 31337
SHARED_ACDC = Path(__file__).resolve().parents[2] / "shared" / "data" / "acdc"


def angle_diff(a: float, b: float) -> float:
    return (a - b + 180.0) % 360.0 - 180.0


@pytest.fixture(scope="module")
def localiser():
    return LearnedLocaliser.load()


@pytest.fixture(scope="module")
def series():
    from lvquant.phantom import render_series

    return [render_series(i, SEED) for i in range(4)]


def test_shipped_localiser_finds_fresh_phantom_hearts(localiser, series):
    for s in series:
        sp = s.spacing_mm
        mid, locs = localiser.locate_stack(s.pixels, (sp, sp))
        k = int(np.flatnonzero(s.z_mm == 0)[0])
        assert abs(mid - k) <= 1
        loc = locs[k]
        assert loc is not None
        cy, cx = s.truth["lv_centre_px"]
        assert np.hypot(loc.centre_px[0] - cy, loc.centre_px[1] - cx) * sp <= 5.0
        assert abs(angle_diff(loc.rv_angle_deg, s.truth["rv_angle_deg"])) <= 30.0
        ed = s.truth["frames"][s.truth["ed_frame"]]
        r_epi = np.sqrt((ed["cavity_area_mm2"] + ed["myocardium_area_mm2"]) / np.pi)
        assert 0.7 < loc.epi_radius_px * sp / r_epi < 1.4
        assert loc.method.startswith("learned localiser")


def test_noise_and_flat_images_are_refused(localiser):
    rng = np.random.default_rng(0)
    noise = np.hypot(rng.normal(0, 10, (3, 20, 160, 160)), rng.normal(0, 10, (3, 20, 160, 160)))
    with pytest.raises(LocalisationError, match="any slice"):
        localiser.locate_stack(noise, 1.5)
    with pytest.raises(LocalisationError):
        localiser.locate(np.full((20, 128, 128), 42.0), (1.4, 1.4))
    with pytest.raises(LocalisationError, match="non-finite"):
        localiser.locate(np.full((20, 64, 64), np.nan), 1.4)
    with pytest.raises(LocalisationError, match="spacing"):
        localiser.locate(noise[0], 0.0)


def test_outputs_do_not_depend_on_the_thread_count(series):
    s = series[0]
    one = LearnedLocaliser.load(threads=1)
    three = LearnedLocaliser.load(threads=3)
    x = one.inputs_for_stack(s.pixels, (s.spacing_mm, s.spacing_mm))
    a, b = one.run(x), three.run(x)
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_input_is_the_mean_and_difference_on_a_fixed_grid():
    grid = GridSpec(grid_pixels=32, pixel_mm=5.0, stride=4)
    f = np.zeros((2, 80, 80), np.float32)
    f[0, 30:50, 30:50] = 1.0
    f[1, 35:45, 35:45] = 1.0
    x = localiser_input(f, (2.0, 2.0), grid)
    assert x.shape == (2, 32, 32)
    # grid centre = image centre: the squares (centred on the image) land on the grid centre
    assert x[0, 15:17, 15:17].min() > 0.9 * x[0].max()
    assert x[1, 15:17, 15:17].max() < 0.1  # inside the inner square both frames are bright
    assert x[1].max() > 0.3  # the ring between the squares differs
    assert x[0, 0, 0] == 0 and x[1, 0, 0] == 0  # outside the image: 0


def test_pick_frames_takes_the_first_and_the_most_different():
    f = np.zeros((5, 8, 8), np.float32)
    f[3] = 2.0
    f[1] = 1.0
    assert pick_frames(f) == (0, 3)
    assert pick_frames(f[:1]) == (0, 0)


def test_bad_localiser_files_are_refused(tmp_path):
    from lvquant.analysis.localise_learned import DEFAULT_LOCALISER

    folder = tmp_path / "loc"
    folder.mkdir()
    shutil.copy(DEFAULT_LOCALISER, folder / "localiser.json")
    shutil.copy(DEFAULT_LOCALISER.parent / "localiser.onnx", folder / "localiser.onnx")
    LearnedLocaliser.load(folder / "localiser.json")  # a faithful copy loads
    data = bytearray((folder / "localiser.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "localiser.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        LearnedLocaliser.load(folder / "localiser.json")
    (folder / "localiser.onnx").write_bytes(b"not onnx")
    m = json.loads((folder / "localiser.json").read_text())
    m["sha256"] = sha256_bytes(b"not onnx")
    (folder / "localiser.json").write_text(json.dumps(m))
    with pytest.raises(ModelError, match="not a loadable ONNX"):
        LearnedLocaliser.load(folder / "localiser.json")
    for bad in ({**m, "format": "other"}, {**m, "threshold": 2.0}, {**m, "grid": {"grid_pixels": 30, "stride": 4,
                                                                                  "pixel_mm": 2.5}}):
        (folder / "localiser.json").write_text(json.dumps(bad))
        with pytest.raises(ModelError):
            LearnedLocaliser.load(folder / "localiser.json")
    (folder / "localiser.json").write_text("{")
    with pytest.raises(ModelError, match="cannot read"):
        LearnedLocaliser.load(folder / "localiser.json")
    with pytest.raises(InputError, match="unknown localiser"):
        load_localiser("magic")
    assert load_localiser("classic").name == "classic"


def test_augmentation_moves_the_truth_with_the_image():
    """A bright disc at the LV centre and a dimmer one toward the RV: after any turn, mirror,
    zoom and shift, the truth vector still points at them."""
    from lvquant.localiser_training import LocaliserSample, LocaliserTrainConfig, _augment

    cfg = LocaliserTrainConfig(negatives=0.0)
    rng = np.random.default_rng(1)
    h, w, sp = 200, 240, (1.3, 1.7)
    yy, xx = np.mgrid[:h, :w]
    c = (90 * sp[0], 140 * sp[1])
    t = np.deg2rad(250.0)
    m = (c[0] - 45 * np.cos(t), c[1] + 45 * np.sin(t))
    img = (np.hypot(yy * sp[0] - c[0], xx * sp[1] - c[1]) < 20) * 1.0 + \
        (np.hypot(yy * sp[0] - m[0], xx * sp[1] - m[1]) < 8) * 0.5 + 0.01
    sample = LocaliserSample(np.stack([img, img]).astype(np.float32), sp, c, 250.0, 20.0, "test")
    for _ in range(8):
        x, y = _augment(sample, cfg.grid, rng, cfg, True)
        a = x[0]
        r, cc = np.nonzero(a > 0.8 * a.max())
        mr, mc = np.nonzero((a > 0.3 * a.max()) & (a < 0.8 * a.max()))
        assert abs(r.mean() - y[1]) < 0.5 and abs(cc.mean() - y[2]) < 0.5
        seen = np.degrees(np.arctan2(mc.mean() - cc.mean(), -(mr.mean() - r.mean())))
        assert abs(angle_diff(seen, np.degrees(np.arctan2(y[4], y[3])))) < 8.0


def test_tiny_training_run_is_deterministic_and_loads(tmp_path):
    from lvquant.localiser_training import LocaliserTrainConfig, samples_from_phantom, train_localiser

    samples = samples_from_phantom(0, 77)
    cfg = LocaliserTrainConfig(epochs=1, batch_size=4, threads=1)
    a = train_localiser(samples, tmp_path / "a", cfg=cfg, provenance={"data": "test"})
    b = train_localiser(samples, tmp_path / "b", cfg=cfg, provenance={"data": "test"})
    assert a["sha256"] == b["sha256"]
    loc = LearnedLocaliser.load(tmp_path / "a" / "localiser.json")
    out = loc.run(np.zeros((3, 2, 128, 128), np.float32))
    assert out["heat"].shape == (3, 32, 32) and out["offset"].shape == (3, 2, 32, 32)
    assert ((out["heat"] >= 0) & (out["heat"] <= 1)).all()
    assert a["training"]["data"] == "test" and a["training"]["n_slices"] == len(samples)


@pytest.mark.skipif(not SHARED_ACDC.is_dir(), reason="needs ../shared/data/acdc")
def test_samples_from_a_real_stack_carry_the_labels_truth():
    from lvquant.datasets.acdc import read_acdc_pack
    from lvquant.localiser_training import samples_from_stack

    st = read_acdc_pack(SHARED_ACDC, "patient002")
    samples = samples_from_stack(st)
    assert len(samples) == st.images.shape[1]
    s = samples[len(samples) // 2]
    region = st.cavity[0, len(samples) // 2] | st.myocardium[0, len(samples) // 2]
    rr, cc = np.nonzero(region)
    assert s.centre_mm == pytest.approx((rr.mean() * st.spacing_mm[0], cc.mean() * st.spacing_mm[1]))
    assert s.radius_mm == pytest.approx(np.sqrt(region.sum() * st.spacing_mm[0] * st.spacing_mm[1] / np.pi))
    assert 180 < s.rv_angle_deg < 300  # the RV on the image's left, roughly
    assert any(np.isnan(x.rv_angle_deg) for x in samples)  # apical slices without an RV label: missing


def test_an_intensity_offset_or_scale_does_not_move_the_lv(localiser, series):
    """Scanners add offsets (RescaleIntercept -400, signed pixels) and scales: the input is
    built from percentiles, so the location is the same."""
    s = series[1]
    sp = (s.spacing_mm, s.spacing_mm)
    k = int(np.flatnonzero(s.z_mm == 0)[0])
    frames = s.pixels.astype(np.float32)
    _, ref = localiser.locate_stack(frames, sp)
    for changed in (frames + 1000.0, frames - 400.0, 3.0 * frames - 2000.0):
        _, locs = localiser.locate_stack(changed, sp)
        assert np.hypot(*np.subtract(locs[k].centre_px, ref[k].centre_px)) * s.spacing_mm < 0.5
        assert abs(angle_diff(locs[k].rv_angle_deg, ref[k].rv_angle_deg)) < 2.0
