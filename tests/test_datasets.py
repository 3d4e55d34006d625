"""lvquant.datasets: labelled full-FOV stacks -> crops cut by the input spec, with true indices (issue 13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lvquant.analysis.spec import InputSpec
from lvquant.datasets import LabelledStack, build_crops, mid_ring_slice, ring_slices
from lvquant.datasets.acdc import read_acdc_pack, read_patients_csv
from lvquant.errors import InputError, ReaderError

SHARED_ACDC = Path(__file__).resolve().parents[2] / "shared" / "data" / "acdc"
SPACING = 1.25


def _stack(n_slices: int = 5, *, r_cav=(16.0, 11.0), wall=8.0, rv_side="up", open_slice: int | None = 0,
           myocardium: bool = True) -> LabelledStack:
    """Circular LV (cavity radius per frame in mm, a wall of ``wall`` mm) at the image centre-right,
    an RV blob beside it; slice ``open_slice`` has a myocardium open on one side (basal)."""
    h = w = 128
    yy, xx = np.mgrid[:h, :w]
    cy, cx = 60.0, 70.0
    rr = np.hypot(yy - cy, xx - cx) * SPACING
    off = {"up": (-1, 0), "left": (0, -1), "right": (0, 1)}[rv_side]
    rv = np.hypot(yy - (cy + off[0] * 30 / SPACING), xx - (cx + off[1] * 30 / SPACING)) * SPACING < 8.0
    f = len(r_cav)
    cav = np.zeros((f, n_slices, h, w), bool)
    myo = np.zeros_like(cav)
    for i, r in enumerate(r_cav):
        for s in range(n_slices):
            cav[i, s] = rr <= r
            myo[i, s] = (rr > r) & (rr <= r + wall)
            if s == open_slice:
                myo[i, s] &= ~((xx > cx) & (np.abs(yy - cy) < 4))  # a gap: the cavity reaches the outside
    images = (cav * 1.0 + myo * 0.3 + rv[None, None] * 0.9).astype(np.float32)
    return LabelledStack("p1", "test", "NOR", images, cav, myo if myocardium else None,
                         np.broadcast_to(rv, cav.shape).copy(), (SPACING, SPACING), ("ED", "ES")[:f],
                         np.array([0, 1][:f]))


def test_ring_slices_leave_out_an_open_myocardium_and_the_mid_is_the_middle():
    st = _stack(5, open_slice=0)
    assert ring_slices(st) == [1, 2, 3, 4]
    assert mid_ring_slice(st) == 2


def test_a_stack_without_any_ring_is_refused():
    st = _stack(1, open_slice=0)
    with pytest.raises(InputError, match="no slice has a labelled LV"):
        build_crops(st, InputSpec())


@pytest.mark.parametrize("rv_side", ["up", "left", "right"])
def test_crops_put_the_rv_where_the_spec_says_and_measure_the_ring(rv_side):
    spec = InputSpec()
    cs = build_crops(_stack(3, rv_side=rv_side, open_slice=None), spec)
    assert cs.images.shape == (1, 2, 80, 80) and cs.mid.tolist() == [True]
    # crop side: 2.5 x the ED epicardial diameter (radius 16 + 8 mm)
    assert cs.pixel_mm[0] * 80 == pytest.approx(2.5 * 2 * 24.0, rel=0.02)
    # the RV (the brightest blob beside the LV) lies on the crop's left
    img = cs.images[0, 0]
    rv_part = (img > 0.8) & (img < 0.95)
    cols = np.nonzero(rv_part)[1]
    assert cols.size and cols.mean() < 30
    a1, a2 = cs.indices[0, :, 0], cs.indices[0, :, 1]
    np.testing.assert_allclose(a1, np.pi * np.array([16.0, 11.0]) ** 2, rtol=0.03)
    np.testing.assert_allclose(a2, np.pi * ((np.array([16.0, 11.0]) + 8) ** 2 - np.array([16.0, 11.0]) ** 2), rtol=0.04)
    np.testing.assert_allclose(cs.indices[0, :, 5:], 8.0, atol=0.6)  # every RWT is the wall


def test_every_ring_slice_on_request():
    cs = build_crops(_stack(5, open_slice=0), InputSpec(), slices="rings")
    assert cs.slices.tolist() == [1, 2, 3, 4] and cs.mid.tolist() == [False, True, False, False]


def test_a_missing_myocardium_label_is_nan_never_zero():
    cs = build_crops(_stack(3, myocardium=False, open_slice=None), InputSpec())
    ind = cs.indices[0]
    assert np.all(np.isfinite(ind[:, 0])) and np.all(np.isnan(ind[:, 1])) and np.all(np.isnan(ind[:, 5:]))
    # crop side from the cavity plus two assumed walls of 9 mm
    assert cs.pixel_mm[0] * 80 == pytest.approx(2.5 * (2 * 16 + 18), rel=0.02)


def test_without_epicardium_an_ensemble_sizes_the_crop_as_the_analysis_does():
    """The walls guess (cavity + 2 x 9 mm) is 50 mm across; the true epicardium 48 mm. Given an
    ensemble, the side is what lvquant.analysis.pipeline.crop_by_rule cuts from that guess."""
    from lvquant.analysis.pipeline import crop_by_rule
    from lvquant.analysis.predict import Ensemble

    ens = Ensemble.load()
    stack = _stack(3, myocardium=False, open_slice=None)
    cs = build_crops(stack, ens.spec, ensemble=ens)
    k = cs.slices[0]
    guess = 2.5 * (2 * np.sqrt(stack.cavity[0, k].sum() * SPACING**2 / np.pi) + 18)
    rv = float(np.degrees(np.arctan2(0.0, 30.0)) % 360)  # the RV blob is straight up: 0 degrees
    rule = crop_by_rule(stack.images[:, k], stack.spacing_mm, (60.0, 70.0), guess, rv, ens)
    assert cs.pixel_mm[0] * 80 == pytest.approx(rule.side_mm, rel=1e-3)
    with pytest.raises(InputError, match="spec"):
        build_crops(stack, InputSpec(crop_pixels=96), ensemble=ens)


def test_a_mask_reaching_beyond_its_contour_is_measured_at_the_contour():
    """A disc of radius 16 mm drawn as a contour, its mask reaching 0.52 pixel beyond it (as the
    sunnybrook45 masks do, scripts/check_sunnybrook_masks.py): measured as it is, the cavity is
    several % too large; with ``cavity_edge_px`` the builder measures it within 2 % of the disc."""
    import dataclasses

    base = _stack(3, myocardium=False, open_slice=None)
    h, w = base.cavity.shape[2:]
    yy, xx = np.mgrid[:h, :w]
    wide = np.hypot(yy - 60.0, xx - 70.0) <= 16.0 / SPACING + 0.52
    cav = np.broadcast_to(wide, base.cavity.shape).copy()
    truth = np.pi * 16.0**2
    filled = dataclasses.replace(base, cavity=cav)
    corrected = dataclasses.replace(base, cavity=cav, cavity_edge_px=0.52)
    a_filled = build_crops(filled, InputSpec()).indices[0, 0, 0]
    a_corrected = build_crops(corrected, InputSpec()).indices[0, 0, 0]
    assert a_filled > 1.04 * truth
    assert a_corrected == pytest.approx(truth, rel=0.02)
    with pytest.raises(InputError, match="cavity_edge_px"):
        dataclasses.replace(base, cavity_edge_px=5.0)


def test_the_crop_follows_the_spec():
    spec = InputSpec(crop_pixels=96, crop_scale=3.0)
    cs = build_crops(_stack(3, open_slice=None), spec)
    assert cs.images.shape[2:] == (96, 96) and cs.spec is spec
    assert cs.pixel_mm[0] * 96 == pytest.approx(3.0 * 48.0, rel=0.02)


def test_labelled_stack_refuses_inconsistent_arrays():
    st = _stack(2, open_slice=None)
    with pytest.raises(InputError, match="shape"):
        LabelledStack("p", "t", "", st.images, st.cavity[:, :1], None, None, (1, 1), ("ED", "ES"), np.array([0, 1]))
    with pytest.raises(InputError, match="pixel spacing"):
        LabelledStack("p", "t", "", st.images, st.cavity, None, None, (0, 0), ("ED", "ES"), np.array([0, 1]))


def _write_pack(folder: Path, patient: str, labels: np.ndarray, *, pixel_mm: str = "1.5",
                image_shape: tuple | None = None) -> None:
    folder.mkdir(exist_ok=True)
    img = np.zeros(image_shape or labels.shape, np.float32)
    np.savez(folder / f"{patient}.npz", image_ed=img, image_es=img, label_ed=labels, label_es=labels)
    (folder / "patients.csv").write_text(f"patient,group,pixel_mm\n{patient},NOR,{pixel_mm}\n")


def test_acdc_pack_reader_takes_the_labels_and_refuses_bad_packs(tmp_path):
    labels = np.zeros((3, 32, 32), np.uint8)
    labels[:, 10:20, 10:20] = 2
    labels[:, 12:18, 12:18] = 3
    labels[:, 10:20, 2:8] = 1
    _write_pack(tmp_path / "ok", "patient900", labels)
    st = read_acdc_pack(tmp_path / "ok", "patient900")
    assert st.images.shape == (2, 3, 32, 32) and st.spacing_mm == (1.5, 1.5) and st.group == "NOR"
    assert st.cavity.sum() == 2 * 3 * 36 and st.rv.sum() == 2 * 3 * 60
    bad = labels.copy()
    bad[0, 0, 0] = 7
    _write_pack(tmp_path / "values", "patient901", bad)
    with pytest.raises(ReaderError, match=r"label values \[7\]"):
        read_acdc_pack(tmp_path / "values", "patient901")
    _write_pack(tmp_path / "shape", "patient902", labels, image_shape=(3, 32, 30))
    with pytest.raises(ReaderError, match="must be two equal"):
        read_acdc_pack(tmp_path / "shape", "patient902")
    _write_pack(tmp_path / "zero", "patient903", labels, pixel_mm="0")
    with pytest.raises(ReaderError, match="no positive pixel_mm"):
        read_acdc_pack(tmp_path / "zero", "patient903")
    with pytest.raises(ReaderError, match="not listed"):
        read_acdc_pack(tmp_path / "zero", "patient999")
    with pytest.raises(ReaderError, match="cannot read"):
        read_patients_csv(tmp_path / "nowhere")


@pytest.mark.skipif(not SHARED_ACDC.is_dir(), reason="needs ../shared/data/acdc")
def test_a_real_acdc_patient_gives_plausible_mid_slice_indices():
    """A training patient (not in the held-out split): the cavity shrinks from ED to ES, the wall thickens."""
    st = read_acdc_pack(SHARED_ACDC, "patient066")
    cs = build_crops(st, InputSpec())
    ed, es = cs.indices[0]
    assert 1000 < ed[0] < 4000 and es[0] < 0.8 * ed[0]
    assert 500 < ed[1] < 3000
    assert np.mean(es[5:]) > np.mean(ed[5:])
    assert np.all(np.isfinite(cs.indices))


def test_sunnybrook_pack_reader_orders_ed_es_and_keeps_slices_contoured_at_both(tmp_path):
    from lvquant.datasets.sunnybrook import read_sunnybrook_pack

    yy, xx = np.mgrid[:64, :64]
    big, small = np.hypot(yy - 30, xx - 30) < 10, np.hypot(yy - 30, xx - 30) < 6
    # slice 0 at frames 6 (ES, small) and 19 (ED, big); slice 2 only at frame 19
    numbers = np.array([7, 20, 41 + 19])
    endo = np.stack([small, big, big])
    np.savez(tmp_path / "SC-N-99.npz", images=(endo * 200).astype(np.uint8), endo=endo, dicom_number=numbers)
    st = read_sunnybrook_pack(tmp_path, "SC-N-99", spacing_mm=1.4, group="N")
    assert st.images.shape == (2, 1, 64, 64) and st.myocardium is None and st.rv is None
    assert st.cavity[0, 0].sum() == big.sum() and st.cavity[1, 0].sum() == small.sum()  # ED first
    np.savez(tmp_path / "SC-N-98.npz", images=np.zeros((2, 64, 64), np.uint8), endo=endo[:2], dicom_number=numbers)
    with pytest.raises(ReaderError, match="must describe the same"):
        read_sunnybrook_pack(tmp_path, "SC-N-98", spacing_mm=1.4)
    np.savez(tmp_path / "SC-N-97.npz", images=(endo * 1).astype(np.uint8), endo=endo, dicom_number=np.array([7, 20, 43]))
    with pytest.raises(ReaderError, match="two frames"):
        read_sunnybrook_pack(tmp_path, "SC-N-97", spacing_mm=1.4)
    with pytest.raises(ReaderError, match="cannot read"):
        read_sunnybrook_pack(tmp_path, "SC-N-00", spacing_mm=1.4)


SHARED_SB = Path(__file__).resolve().parents[2] / "shared" / "data" / "sunnybrook45"


@pytest.mark.skipif(not SHARED_SB.is_dir(), reason="needs ../shared/data/sunnybrook45")
def test_a_real_sunnybrook_patient_gives_a_cavity_only_crop():
    """A training patient of the split: with the RV direction given, the mid slice's cavity shrinks ED -> ES."""
    from lvquant.datasets.sunnybrook import read_sunnybrook_pack

    st = read_sunnybrook_pack(SHARED_SB, "SC-HF-I-07", spacing_mm=1.4)
    cs = build_crops(st, InputSpec(), rv_angle_deg=270.0)
    ed, es = cs.indices[0]
    assert 500 < ed[0] < 6000 and es[0] < ed[0]
    assert np.isnan(ed[1]) and np.all(np.isnan(ed[2:]))  # no myocardium, RV direction assumed


def _write_acdc_public(folder: Path, name: str, images: np.ndarray, labels: np.ndarray, spacing: float,
                       ed: int = 1, es: int = 12, info: str | None = None) -> Path:
    """ACDC's public layout for one patient, from (F=2, S, H, W) arrays (inverse of the reader's axes)."""
    import nibabel as nib

    p = folder / name
    p.mkdir(parents=True)
    (p / "Info.cfg").write_text(info if info is not None else f"ED: {ed}\nES: {es}\nGroup: NOR\nNbFrame: 30\n")
    for f, frame in enumerate((ed, es)):
        for suffix, arr in (("", images[f]), ("_gt", labels[f])):
            data = np.transpose(arr, (2, 1, 0))[:, ::-1, :]  # (S, H, W) -> nibabel (x, y, z)
            img = nib.Nifti1Image(np.ascontiguousarray(data), np.diag([spacing, spacing, 10.0, 1.0]))
            nib.save(img, str(p / f"{name}_frame{frame:02d}{suffix}.nii.gz"))
    return p


def test_acdc_public_layout_reads_what_the_packs_hold(tmp_path):
    from lvquant.datasets.nifti_labels import read_acdc_patient

    st = _stack(3, open_slice=None)
    labels = (st.cavity * 3 + st.myocardium * 2 + (st.rv & ~st.cavity & ~st.myocardium) * 1).astype(np.uint8)
    folder = _write_acdc_public(tmp_path, "patient950", st.images, labels, SPACING)
    back = read_acdc_patient(folder)
    np.testing.assert_array_equal(back.images, st.images)
    np.testing.assert_array_equal(back.cavity, st.cavity)
    np.testing.assert_array_equal(back.myocardium, st.myocardium)
    assert back.spacing_mm == (SPACING, SPACING) and back.group == "NOR"
    a = build_crops(back, InputSpec())
    b = build_crops(LabelledStack("p", "t", "", st.images, st.cavity, st.myocardium, back.rv, st.spacing_mm,
                                  ("ED", "ES"), np.array([0, 1])), InputSpec())
    np.testing.assert_allclose(a.indices, b.indices)


@pytest.mark.parametrize("case,match", [
    ("no_info", "needs its Info.cfg"),
    ("no_es", "no ES frame"),
    ("missing_gt", "does not exist"),
    ("unknown_label", r"label values \[5\]"),
    ("shapes", "but its labels"),
])
def test_acdc_public_layout_bad_input(tmp_path, case, match):
    from lvquant.datasets.nifti_labels import read_acdc_patient

    st = _stack(2, open_slice=None)
    labels = (st.cavity * 3 + st.myocardium * 2).astype(np.uint8)
    info = {"no_es": "ED: 1\nGroup: NOR\n"}.get(case)
    if case == "unknown_label":
        labels[0, 0, 0, 0] = 5
    folder = _write_acdc_public(tmp_path, "patient951", st.images, labels, SPACING, info=info)
    if case == "no_info":
        (folder / "Info.cfg").unlink()
    if case == "missing_gt":
        (folder / "patient951_frame12_gt.nii.gz").unlink()
    if case == "shapes":
        import nibabel as nib

        nib.save(nib.Nifti1Image(np.zeros((10, 10, 2), np.uint8), np.eye(4)), str(folder / "patient951_frame01_gt.nii.gz"))
    with pytest.raises(ReaderError, match=match):
        read_acdc_patient(folder)


def test_nifti_pair_with_configurable_label_values(tmp_path):
    """An M&Ms-style pair whose labels are 1 LV, 2 myocardium, 3 RV."""
    import nibabel as nib

    from lvquant.datasets.nifti_labels import LabelValues, stack_from_pairs

    st = _stack(2, open_slice=None)
    paths = []
    for f in range(2):
        lab = (st.cavity[f] * 1 + st.myocardium[f] * 2 + (st.rv[f] & ~st.cavity[f] & ~st.myocardium[f]) * 3)
        pair = []
        for name, arr in (("img", st.images[f]), ("lab", lab.astype(np.uint8))):
            path = tmp_path / f"{name}{f}.nii"
            nib.save(nib.Nifti1Image(np.ascontiguousarray(np.transpose(arr, (2, 1, 0))[:, ::-1, :]),
                                     np.diag([SPACING, SPACING, 8, 1])), str(path))
            pair.append(path)
        paths.append(tuple(pair))
    values = LabelValues(cavity=1, myocardium=2, rv=3)
    back = stack_from_pairs("m1", "mnms", "", paths[0], paths[1], values=values)
    np.testing.assert_array_equal(back.cavity, st.cavity)
    with pytest.raises(ReaderError, match="not named"):
        stack_from_pairs("m1", "mnms", "", paths[0], paths[1], values=LabelValues(cavity=1, myocardium=2, rv=None))


def test_phantom_stack_rows_keep_a_hearts_slices_together_and_add_to_a_crop_file(tmp_path):
    import subprocess
    import sys

    from lvquant.datasets.collect import phantom_pairs, phantom_stack_pairs
    from lvquant.datasets.files import read_crops, save_crops
    from lvquant.datasets.masks import phantom_stack_offsets
    from lvquant.phantom import generate_lvquan_dataset
    from lvquant.train import prepare_crops

    spec = InputSpec()
    rows = phantom_stack_pairs(3, 21, spec, 2)
    offsets = phantom_stack_offsets(3, 21, 2)
    assert len(rows) == 6 and rows.images.shape == (6, 2, 80, 80) and not rows.mid.any()
    assert rows.subjects == tuple(f"phantom-stack-{i}" for i in range(3) for _ in range(2))
    assert list(rows.slices) == [round(z) for zs in offsets for z in zs]
    cav = rows.indices[:, :, 0]
    assert np.all(cav[:, 0] >= cav[:, 1])  # the stack's ED then ES: the cavity is largest at ED
    open_cavity = cav[:, 0] > 0
    assert np.isfinite(rows.indices[open_cavity]).all()  # a cap slice (cavity 0) may lack its wall thicknesses
    data = prepare_crops(rows)
    assert len(set(data.groups)) == 3  # one patient per heart: the folds keep its slices together
    with pytest.raises(InputError, match="80-pixel"):
        phantom_stack_pairs(1, 21, InputSpec(crop_pixels=64), 1)
    base = tmp_path / "base.npz"
    save_crops(phantom_pairs(generate_lvquan_dataset(2, 22, workers=1), spec), base)
    out = tmp_path / "out.npz"
    script = Path(__file__).resolve().parents[1] / "scripts" / "add_phantom_stack_crops.py"
    proc = subprocess.run([sys.executable, str(script), "--base", str(base), "--subjects", "2", "--seed", "23",
                           "--slices", "1", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    joined = read_crops(out)
    assert len(joined) == 4 and list(joined.mid) == [True, True, False, False]
    assert joined.subjects[2:] == ("phantom-stack-s23-0", "phantom-stack-s23-1")


def test_add_phantom_stack_crops_rings_only_leaves_out_the_apical_cap(tmp_path):
    import importlib.util
    import subprocess
    import sys

    from lvquant.datasets.collect import phantom_pairs
    from lvquant.datasets.files import read_crops, save_crops
    from lvquant.phantom import generate_lvquan_dataset

    script = Path(__file__).resolve().parents[1] / "scripts" / "add_phantom_stack_crops.py"
    module_spec = importlib.util.spec_from_file_location("add_phantom_stack_crops", script)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    ring = np.ones((2, 11))
    cap = ring.copy()
    cap[1, 0], cap[1, 5:] = 0.0, np.nan  # the ES frame in the solid cap: no cavity, no wall thickness
    half = ring.copy()
    half[0, 7] = np.nan  # one wall thickness unknown
    assert list(module.ring_rows(np.stack([ring, cap, half, ring]))) == [True, False, False, True]

    spec = InputSpec()
    base = tmp_path / "base.npz"
    save_crops(phantom_pairs(generate_lvquan_dataset(1, 22, workers=1), spec), base)
    out = tmp_path / "out.npz"
    proc = subprocess.run([sys.executable, str(script), "--base", str(base), "--subjects", "6", "--seed", "23",
                           "--slices", "2", "--rings-only", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    stack = read_crops(out).indices[1:]
    assert len(stack) == 11  # of 12 slices, one is in the solid cap (seed 23, subject 2)
    assert np.all(stack[..., 0] > 0) and np.all(np.isfinite(stack[..., 5:]))


def test_mix_crops_repeats_a_sources_rows_in_their_patients_fold_and_adds_each_phantom_file_once(tmp_path):
    import dataclasses
    import importlib.util
    import subprocess
    import sys

    from lvquant.datasets.collect import phantom_pairs
    from lvquant.datasets.files import read_crops, save_crops
    from lvquant.phantom import generate_lvquan_dataset
    from lvquant.train import prepare_crops

    script = Path(__file__).resolve().parents[1] / "scripts" / "mix_crops.py"
    module_spec = importlib.util.spec_from_file_location("mix_crops", script)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)

    spec = InputSpec()
    pairs = phantom_pairs(generate_lvquan_dataset(3, 22, workers=1), spec, name="ph22")
    # rows 0 and 1 stand for real patients of two sources, row 2 stays a phantom subject of file "ph22"
    base = dataclasses.replace(pairs, sources=("acdc", "sunnybrook", "phantom"),
                               subjects=("patient001", "SC-N-02", "ph22-2"))
    extra = generate_lvquan_dataset(1, 23, workers=1)

    mixed = module.mix(base, [("ph23", extra)], {"acdc": 3, "sunnybrook": 2})
    assert mixed.subjects == ("patient001", "SC-N-02", "ph22-2", "patient001", "SC-N-02", "patient001", "ph23-0")
    copies = [i for i, s in enumerate(mixed.subjects) if s == "patient001"]
    assert all(np.array_equal(mixed.images[i], base.images[0]) for i in copies)
    assert mixed.sources[-1] == "phantom"
    groups = prepare_crops(mixed).groups
    assert len({groups[i] for i in copies}) == 1  # one patient: the folds keep its copies together
    assert len(module.mix(base, [], {})) == 3
    assert module.parse_repeat(["acdc=2", "sunnybrook=3"]) == {"acdc": 2, "sunnybrook": 3}
    for bad in (["acdc"], ["acdc=two"], ["=2"], ["acdc=2", "acdc=3"]):
        with pytest.raises(InputError, match="SOURCE=COUNT"):
            module.parse_repeat(bad)
    with pytest.raises(InputError, match="already in the base"):
        module.mix(base, [("ph22", extra)], {})
    with pytest.raises(InputError, match="1 or more"):
        module.mix(base, [], {"acdc": 0})
    with pytest.raises(InputError, match="holds no mnms rows"):
        module.mix(base, [], {"mnms": 2})

    base_file, out = tmp_path / "base.npz", tmp_path / "out.npz"
    save_crops(base, base_file)
    proc = subprocess.run([sys.executable, str(script), "--base", str(base_file), "--repeat", "acdc=0",
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and not out.exists()
    proc = subprocess.run([sys.executable, str(script), "--base", str(base_file), "--repeat", "acdc=2",
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert read_crops(out).subjects == ("patient001", "SC-N-02", "ph22-2", "patient001")
