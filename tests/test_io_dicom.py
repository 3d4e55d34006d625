"""The DICOM reader: ordering, rescaling, series choice, skipping, refusals, privacy, real data."""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest

from dicom_fixtures import (
    AXIAL,
    base_dataset,
    PATIENT_NAME,
    SECRETS,
    no_pixel_dataset,
    rewrite,
    save,
    set_pixels,
    write_enhanced,
    write_series,
)
from lvquant.errors import DicomError, ReaderError
from lvquant.io import list_dicom_series, read_cine, read_dicom
from lvquant.io.dicom import dicom_layout

SUNNYBROOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "sunnybrook"
needs_sunnybrook = pytest.mark.skipif(not (SUNNYBROOK / "dicoms").is_dir(), reason="Sunnybrook data not present")


@pytest.fixture(scope="module")
def cine_dir(tmp_path_factory):
    """3 oblique slices x 20 frames, shuffled names, instance numbers against time."""
    folder = tmp_path_factory.mktemp("cine")
    return write_series(folder)


@pytest.fixture(scope="module")
def cine(cine_dir):
    return read_dicom(cine_dir.folder)


def _assert_private(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"patient value {secret!r} leaked into: {text[:200]}"


# ----------------------------------------------------------------------------- ordering
def test_reads_shape_spacing_and_exact_pixels(cine_dir, cine):
    assert cine.frames.shape == (3, 20, 32, 32)
    assert cine.frames.dtype == np.float32
    np.testing.assert_array_equal(cine.frames, cine_dir.expected)
    assert cine.spacing_mm == (1.5, 1.25)
    assert cine.slice_thickness_mm == 8.0
    assert cine.source.format == "dicom"
    assert cine.source.n_files == 60
    assert "SAX cine" not in repr(cine.source)  # free text (SeriesDescription) is never read
    assert cine.source.extra["series_selection"] == "only"


def test_frames_follow_trigger_time_not_file_names_or_instance_numbers(cine_dir, cine):
    # instance numbers run against time and names are shuffled: only TriggerTime gives this order
    assert cine.timing_known
    assert cine.source.extra["frame_order"] == "TriggerTime"
    np.testing.assert_allclose(cine.frame_times_ms, cine_dir.times)
    assert np.all(np.diff(cine.frame_times_ms, axis=1) > 0)
    names = cine.source.extra["image_files"]
    assert [[n for n in row] for row in names] == [[p.name for p in row] for row in cine_dir.file_grid]


def test_slices_sorted_ascending_along_oblique_normal(cine_dir, cine):
    assert cine.source.extra["position_source"] == "ImagePositionPatient"
    np.testing.assert_allclose(cine.slice_positions_mm, cine_dir.positions, atol=1e-4)
    assert np.all(np.diff(cine.slice_positions_mm) > 0)
    np.testing.assert_allclose(np.diff(cine.slice_positions_mm), 8.0, atol=1e-4)
    np.testing.assert_allclose(cine.orientation, cine_dir.orientation, atol=1e-6)
    row, col = cine.orientation[:3], cine.orientation[3:]
    np.testing.assert_allclose(np.cross(row, col) / np.linalg.norm(np.cross(row, col)), cine_dir.normal, atol=1e-5)


def test_instance_number_orders_frames_without_trigger_time(tmp_path):
    s = write_series(tmp_path, trigger_times=False, instance_order="time")
    cine = read_dicom(tmp_path)
    np.testing.assert_array_equal(cine.frames, s.expected)
    assert not cine.timing_known
    assert cine.source.extra["frame_order"] == "InstanceNumber"
    np.testing.assert_array_equal(cine.frame_times_ms, np.tile(np.arange(20.0), (3, 1)))


def test_slice_location_fallback_without_image_position(tmp_path):
    s = write_series(tmp_path, with_position=False)
    cine = read_dicom(tmp_path)
    np.testing.assert_array_equal(cine.frames, s.expected)
    assert cine.source.extra["position_source"] == "SliceLocation"
    assert cine.orientation is None
    assert any("SliceLocation" in w for w in cine.source.extra["warnings"])


def test_rescale_slope_and_intercept_are_applied_per_image(tmp_path):
    s = write_series(tmp_path, slope=[0.5, 2.0, 1.25], intercept=-100.0, n_frames=4)
    cine = read_dicom(tmp_path)
    np.testing.assert_allclose(cine.frames, s.expected)
    assert cine.frames.min() < 0  # the intercept made some values negative


def test_multiframe_enhanced_file(tmp_path):
    expected, times = write_enhanced(tmp_path / "enh.dcm")
    cine = read_dicom(tmp_path / "enh.dcm")
    np.testing.assert_array_equal(cine.frames, expected)
    np.testing.assert_allclose(cine.frame_times_ms, times)
    np.testing.assert_allclose(cine.slice_positions_mm, [0.0, 6.0])
    assert cine.spacing_mm == (1.4, 1.4) and cine.slice_thickness_mm == 6.0
    assert cine.source.n_files == 1


def test_list_of_files_and_single_folder_agree(cine_dir, cine):
    shuffled = list(reversed(cine_dir.files))
    from_list = read_dicom(shuffled)
    np.testing.assert_array_equal(from_list.frames, cine.frames)
    assert from_list.source.n_files == 60


def test_one_slice_from_a_subset_of_files(cine_dir):
    one = read_dicom(cine_dir.file_grid[1])
    assert one.frames.shape == (1, 20, 32, 32)
    np.testing.assert_array_equal(one.frames[0], cine_dir.expected[1])


# ----------------------------------------------------------------------------- series
@pytest.fixture(scope="module")
def multi_series(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multi")
    big = write_series(folder / "sax", n_slices=3, n_frames=10, description="SAX cine", series_number=5, seed=1)
    small = write_series(folder / "lax", n_slices=1, n_frames=10, description="4CH cine", series_number=6, seed=2,
                         orientation=AXIAL, prefix="L")
    # a localiser: more images than the cine has per slice, but all at one trigger time
    loc = write_series(folder / "loc", n_slices=40, n_frames=1, description="localizer", series_number=1, seed=3,
                       slice_gap_mm=3.0)
    return folder, big, small, loc


def test_automatic_choice_is_the_largest_cine(multi_series):
    folder, big, small, loc = multi_series
    cine = read_dicom(folder)
    assert cine.source.series_uid == big.uid
    assert cine.source.extra["series_selection"] == "automatic"
    others = {s["series_uid"]: s for s in cine.source.extra["other_series"]}
    assert set(others) == {small.uid, loc.uid}
    assert others[loc.uid]["is_cine"] is False and others[loc.uid]["n_images"] == 40


def test_series_uid_selects_explicitly(multi_series):
    folder, big, small, loc = multi_series
    cine = read_dicom(folder, series_uid=small.uid)
    assert cine.frames.shape == (1, 10, 32, 32)
    np.testing.assert_array_equal(cine.frames, small.expected)
    assert cine.source.extra["series_selection"] == "requested"


def test_unknown_series_uid_lists_available_series(multi_series):
    folder, *_ = multi_series
    with pytest.raises(DicomError) as err:
        read_dicom(folder, series_uid="1.2.3.4.5")
    msg = str(err.value)
    folder, big, small, loc = multi_series
    assert "1.2.3.4.5" in msg and all(s.uid in msg for s in (big, small, loc))
    assert "series 5" in msg and "series 6" in msg and "SAX cine" not in msg  # numbers, never free text


def test_list_dicom_series_describes_each_series_in_preference_order(multi_series):
    folder, big, small, loc = multi_series
    summaries = list_dicom_series(folder)
    assert [s.series_uid for s in summaries] == [big.uid, small.uid, loc.uid]
    first = summaries[0]
    assert (first.n_images, first.n_slices, first.n_frames) == (30, 3, 10)
    assert first.image_size == (32, 32) and first.spacing_mm == (1.5, 1.25)
    assert first.is_cine and first.n_trigger_times == 28  # t = 0 is shared by the 3 slices
    assert first.series_number == 5 and first.modality == "MR"
    assert "SAX cine" not in repr(first) and "SAX cine" not in first.label()  # no free text
    assert (summaries[2].n_slices, summaries[2].n_frames, summaries[2].is_cine) == (40, 1, False)
    _assert_private(repr(summaries), str([s.to_dict() for s in summaries]))


# ----------------------------------------------------------------------------- skipping
def test_non_dicom_and_pixel_less_files_are_skipped_with_reasons(tmp_path):
    s = write_series(tmp_path / "cine", n_frames=5)
    (tmp_path / "notes.txt").write_text("not an image\n")
    (tmp_path / "empty.dcm").write_bytes(b"")
    (tmp_path / "random.bin").write_bytes(np.random.default_rng(0).bytes(4000))
    save(no_pixel_dataset(), tmp_path / "report.dcm")
    shutil.copy(s.files[0], tmp_path / "cine" / "copy_of_first")
    cine = read_dicom(tmp_path)
    np.testing.assert_array_equal(cine.frames, s.expected)
    reasons = dict(cine.source.skipped)
    assert set(reasons) == {"notes.txt", "empty.dcm", "random.bin", "report.dcm", os.path.join("cine", "copy_of_first")}
    assert "not a DICOM file" in reasons["notes.txt"]
    assert reasons["empty.dcm"] == "empty file"
    assert "no pixel data" in reasons["report.dcm"]
    assert "duplicate" in reasons[os.path.join("cine", "copy_of_first")]


def test_dicom_without_preamble_is_read(tmp_path):
    s = write_series(tmp_path / "a", n_slices=1, n_frames=3, shuffle=False)
    raw = tmp_path / "raw"
    raw.mkdir()
    for i, f in enumerate(s.files):  # implicit VR, no preamble, no file meta
        ds = pydicom.dcmread(f)
        del ds.file_meta
        ds.save_as(raw / f"r{i}", implicit_vr=True, little_endian=True)
    cine = read_dicom(raw)
    np.testing.assert_array_equal(cine.frames, s.expected)


# ----------------------------------------------------------------------------- refusals
def test_missing_path_is_refused(tmp_path):
    with pytest.raises(DicomError, match="does not exist"):
        read_dicom(tmp_path / "nowhere")
    with pytest.raises(DicomError, match="does not exist"):
        read_dicom([tmp_path / "nowhere.dcm"])


def test_empty_folder_and_folder_without_images_are_refused(tmp_path):
    with pytest.raises(DicomError, match="no DICOM images.*empty"):
        read_dicom(tmp_path)
    (tmp_path / "a.txt").write_text("hello")
    save(no_pixel_dataset(), tmp_path / "sr.dcm")
    with pytest.raises(DicomError, match=r"no DICOM images.*2 file\(s\) skipped"):
        read_dicom(tmp_path)


def test_mixed_image_sizes_within_a_slice_are_refused(tmp_path):
    s = write_series(tmp_path, n_frames=4)
    victim = s.file_grid[1][2]
    ds = pydicom.dcmread(victim)
    set_pixels(ds, np.zeros((16, 32)))
    ds.save_as(victim)
    with pytest.raises(DicomError, match=f"mixed image sizes within the slice.*{victim.name}"):
        read_dicom(tmp_path)


def test_mixed_image_sizes_between_slices_are_refused(tmp_path):
    write_series(tmp_path / "a", n_slices=1, n_frames=4, origin=(0, 0, 0))
    b = write_series(tmp_path / "b", n_slices=1, n_frames=4, rows=16, cols=16, origin=(0, 0, 50), prefix="B")
    for f in b.files:
        rewrite(f, SeriesInstanceUID=pydicom.dcmread(next((tmp_path / "a").iterdir())).SeriesInstanceUID)
    with pytest.raises(DicomError, match="mixed image sizes between slices"):
        read_dicom(tmp_path)


def test_missing_pixel_spacing_is_refused_unless_given(tmp_path):
    s = write_series(tmp_path, with_spacing=False, n_frames=3)
    with pytest.raises(DicomError, match="no pixel spacing in the DICOM header.*--spacing"):
        read_dicom(tmp_path)
    cine = read_dicom(tmp_path, spacing_mm=1.7)
    assert cine.spacing_mm == (1.7, 1.7) and cine.source.extra["spacing_source"] == "argument"
    np.testing.assert_array_equal(cine.frames, s.expected)
    assert read_dicom(tmp_path, spacing_mm=(1.2, 1.3)).spacing_mm == (1.2, 1.3)
    for bad in (0, -1.0, (1.0,), "x", (1.0, float("nan"))):
        with pytest.raises(DicomError, match="pixel spacing must be"):
            read_dicom(tmp_path, spacing_mm=bad)


def test_mixed_pixel_spacing_is_refused(tmp_path):
    s = write_series(tmp_path, n_frames=3)
    rewrite(s.files[4], PixelSpacing=["2.0", "2.0"])
    with pytest.raises(DicomError, match="mixed pixel spacing"):
        read_dicom(tmp_path)


def test_truncated_pixel_data_is_refused_naming_the_file(tmp_path):
    s = write_series(tmp_path, n_frames=3)
    victim = s.files[5]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) - 700])
    with pytest.raises(DicomError, match=f"{victim.name}.*truncated or corrupt"):
        read_dicom(tmp_path)


def test_wrong_pixel_data_length_is_refused(tmp_path):
    s = write_series(tmp_path, n_frames=3)
    ds = pydicom.dcmread(s.files[2])
    ds.PixelData = ds.PixelData[:100]
    ds.save_as(s.files[2])
    with pytest.raises(DicomError, match=s.files[2].name):
        read_dicom(tmp_path)


def test_repeated_acquisition_at_one_position_is_refused(tmp_path):
    a = write_series(tmp_path / "a", n_slices=1, n_frames=4)
    b = write_series(tmp_path / "b", n_slices=1, n_frames=4, series_uid=a.uid, prefix="B", seed=5)
    assert a.uid == b.uid
    with pytest.raises(DicomError, match="repeated acquisitions"):
        read_dicom(tmp_path)


def test_mixed_orientations_are_refused(tmp_path):
    s = write_series(tmp_path, n_frames=3)
    rewrite(s.files[0], ImageOrientationPatient=list(AXIAL))
    with pytest.raises(DicomError, match="mixes image orientations"):
        read_dicom(tmp_path)


def test_no_position_at_all_and_repeated_times_is_refused(tmp_path):
    write_series(tmp_path, n_frames=3, with_position=False, with_slice_location=False)
    with pytest.raises(DicomError, match="cannot tell the slices"):
        read_dicom(tmp_path)


def test_two_slices_without_any_position_are_never_merged(tmp_path):
    """Trigger times 10, 50, 90... and 13, 54.5, 96...: all distinct, but not one evenly timed cycle."""
    series = write_series(tmp_path, n_slices=2, n_frames=20, with_position=False, with_slice_location=False)
    for f in series.file_grid[0]:
        ds = pydicom.dcmread(f)
        ds.TriggerTime = f"{float(ds.TriggerTime) + 3.0:.3f}"
        ds.save_as(f)
    with pytest.raises(DicomError, match="never merged without a position"):
        read_dicom(tmp_path)


def test_single_slice_without_position_is_read_with_a_warning(tmp_path):
    s = write_series(tmp_path, n_slices=1, n_frames=5, with_position=False, with_slice_location=False)
    cine = read_dicom(tmp_path)
    np.testing.assert_array_equal(cine.frames, s.expected)
    assert any("no slice position" in w for w in cine.source.extra["warnings"])


def test_slice_with_missing_frames_is_dropped_with_a_warning(cine_dir, tmp_path):
    for f in cine_dir.files:
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / cine_dir.file_grid[0][7].name).unlink()
    cine = read_dicom(tmp_path)
    assert cine.frames.shape == (2, 20, 32, 32)
    np.testing.assert_array_equal(cine.frames, cine_dir.expected[1:])
    (warning,) = cine.source.extra["warnings"]
    assert "different frame counts" in warning and "19 frames" in warning


def test_undecodable_compressed_pixel_data_is_refused(tmp_path):
    s = write_series(tmp_path, n_slices=1, n_frames=2)
    ds = pydicom.dcmread(s.files[0])
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.50"  # JPEG baseline, bytes are not JPEG
    ds.PixelData = pydicom.encaps.encapsulate([b"\xff\xd8\xff\xd9" + b"\x00" * 10])
    ds["PixelData"].VR = "OB"
    ds.save_as(s.files[0], enforce_file_format=True)
    with pytest.raises(DicomError, match=f"compressed.*{s.files[0].name}"):
        read_dicom(tmp_path)


def test_compressed_pixel_data_without_decoder_says_how_to_fix(tmp_path):
    s = write_series(tmp_path, n_slices=1, n_frames=2)
    ds = pydicom.dcmread(s.files[0])
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.80"  # JPEG-LS: no decoder installed here
    ds.PixelData = pydicom.encaps.encapsulate([b"\xff\xd8\xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds.save_as(s.files[0], enforce_file_format=True)
    with pytest.raises(DicomError, match=f"{s.files[0].name} is compressed.*no decoder.*decompress"):
        read_dicom(tmp_path)


# ----------------------------------------------------------------------------- privacy
def test_patient_values_never_leak(cine_dir, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cine = read_dicom(cine_dir.folder)
        texts = [repr(cine), repr(cine.source), str(cine.source.extra), repr(list_dicom_series(cine_dir.folder))]
        for f in cine_dir.files[:3]:
            shutil.copy(f, tmp_path / f.name)
        rewrite(tmp_path / cine_dir.files[0].name, PixelSpacing=None)
        for call in (lambda: read_dicom(tmp_path), lambda: read_dicom(tmp_path, series_uid="9.9"),
                     lambda: read_dicom(tmp_path / "missing")):
            with pytest.raises(DicomError) as err:
                call()
            texts.append(str(err.value))
    out = capsys.readouterr()
    texts += [out.out, out.err, caplog.text, " ".join(str(w.message) for w in caught)]
    assert PATIENT_NAME in pydicom.dcmread(cine_dir.files[0]).PatientName  # the fixture really has it
    _assert_private(*texts)


def test_identifying_tags_are_not_even_parsed(cine_dir, monkeypatch):
    """The scan reads a fixed tag list that holds no patient-module tag, with the lean reader and
    with pydicom (the files the lean reader leaves)."""
    from lvquant.io import dicom, dicom_header

    assert not any(t.startswith("Patient") for t in dicom._SCAN_TAGS + dicom._PIXEL_TAGS)
    assert not any(tag >> 16 == 0x0010 for tag in dicom._FAST_TAGS)  # group 0010: the patient module
    kept = []
    real_raw = dicom_header.read_raw_header

    def spy_raw(path, wanted):
        header = real_raw(path, wanted)
        kept.append(set(header.values))
        return header

    monkeypatch.setattr(dicom, "read_raw_header", spy_raw)
    read_dicom(cine_dir.file_grid[0][:2])
    assert kept and all(tags <= dicom._FAST_TAGS for tags in kept) and all(kept)

    seen = []
    real = pydicom.dcmread

    def spy(*args, **kwargs):
        seen.append(kwargs.get("specific_tags"))
        ds = real(*args, **kwargs)
        assert "PatientName" not in ds and "PatientID" not in ds and "PatientBirthDate" not in ds
        return ds

    monkeypatch.setattr(dicom, "_fast_header", lambda path: None)  # every file through pydicom
    monkeypatch.setattr(pydicom, "dcmread", spy)
    read_dicom(cine_dir.file_grid[0][:2])
    assert seen and all(tags for tags in seen)


# ----------------------------------------------------------------------------- read_cine
def test_read_cine_dispatches_dicom_folders_lists_and_files(cine_dir, cine):
    np.testing.assert_array_equal(read_cine(cine_dir.folder).frames, cine.frames)
    np.testing.assert_array_equal(read_cine([str(f) for f in cine_dir.files]).frames, cine.frames)
    single = read_cine(cine_dir.file_grid[0][0])
    assert single.frames.shape == (1, 1, 32, 32)


def test_read_cine_refuses_missing_mat_and_unknown_files(tmp_path):
    with pytest.raises(ReaderError, match="does not exist"):
        read_cine(tmp_path / "nope.nii.gz")
    (tmp_path / "data.mat").write_bytes(b"MATLAB 5.0 MAT-file")
    with pytest.raises(ReaderError, match="lvquan_mat"):
        read_cine(tmp_path / "data.mat")
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(ReaderError, match="neither DICOM nor NIfTI"):
        read_cine(tmp_path / "picture.png")


# ----------------------------------------------------------------------------- Sunnybrook
@pytest.fixture(scope="module")
def sunnybrook_101():
    return read_dicom(SUNNYBROOK / "dicoms" / "SCD0000101")


@needs_sunnybrook
def test_sunnybrook_101_reads_as_12_slices_of_20_frames(sunnybrook_101):
    cine = sunnybrook_101
    assert cine.frames.shape == (12, 20, 256, 256)
    assert cine.spacing_mm == pytest.approx((1.367188, 1.367188))
    assert cine.slice_thickness_mm == 10.0
    assert cine.timing_known and cine.source.extra["position_source"] == "ImagePositionPatient"
    np.testing.assert_allclose(np.diff(cine.slice_positions_mm), 10.0, atol=0.01)
    assert np.all(np.diff(cine.frame_times_ms, axis=1) > 0)
    assert np.all((cine.frame_times_ms[:, 0] > 15) & (cine.frame_times_ms[:, -1] < 800))
    assert cine.source.skipped == () and cine.source.extra["warnings"] == []
    # pixels of one image equal pydicom's, at the place the headers say
    names = cine.source.extra["image_files"]
    s, t = 4, 7
    ref = pydicom.dcmread(SUNNYBROOK / "dicoms" / "SCD0000101" / names[s][t]).pixel_array
    np.testing.assert_array_equal(cine.frames[s, t], ref.astype(np.float32))


@needs_sunnybrook
def test_sunnybrook_201_reads_as_13_slices_of_20_frames():
    layout = dicom_layout(SUNNYBROOK / "dicoms" / "SCD0000201")
    assert (len(layout), {len(r) for r in layout}) == (13, {20})
    (summary,) = list_dicom_series(SUNNYBROOK / "dicoms" / "SCD0000201")
    assert (summary.n_slices, summary.n_frames, summary.image_size) == (13, 20, (256, 256))
    assert summary.spacing_mm == pytest.approx((1.367188, 1.367188))



def test_free_text_series_headers_never_reach_info_or_errors(tmp_path, capsys):
    """SeriesDescription and ProtocolName often hold names, dates or accession numbers: `info`
    (text and --json) and the unknown --series error show series by UID, number and size only."""
    from lvquant.cli import main

    secret = "QUUXLEY^MARIGOLD 19610203"
    write_series(tmp_path / "a", n_slices=2, n_frames=10, description=f"SAX {secret}", series_number=7, seed=1)
    write_series(tmp_path / "b", n_slices=1, n_frames=10, description=secret, series_number=8, seed=2)
    for f in (tmp_path / "b").rglob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.ProtocolName = secret
        ds.save_as(f)
    outputs = []
    for argv in (["info", str(tmp_path)], ["info", str(tmp_path), "--json"],
                 ["analyze", str(tmp_path), "--series", "1.2.3.4.5.6.7.8.9"]):
        main(argv)
        captured = capsys.readouterr()
        outputs += [captured.out, captured.err]
    assert "series 8" in outputs[0]  # the other series, listed by number
    assert "1.2.3.4.5.6.7.8.9" in outputs[5] and "series 7" in outputs[5]  # the refusal names what exists
    for text in outputs:
        assert "QUUXLEY" not in text and "MARIGOLD" not in text and "19610203" not in text


def test_a_fifo_or_a_symlink_loop_is_refused_or_skipped_without_blocking(tmp_path, capsys):
    """A FIFO given as input is refused at once; one inside a folder (and a self-looping symlink)
    is skipped, and the series beside it is read."""
    from lvquant.cli import main
    from lvquant.io import read_cine

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["info", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    folder = tmp_path / "series"
    write_series(folder, n_slices=1, n_frames=10, seed=4)
    os.mkfifo(folder / "zz_pipe")
    (folder / "loop").symlink_to(folder / "loop")
    assert read_cine(folder).frames.shape[:2] == (1, 10)


def test_a_wrong_rescale_slope_in_a_few_files_is_refused(tmp_path):
    """RescaleSlope 1e20 in 3 of 20 files: refused, not measured."""
    series = write_series(tmp_path, n_slices=1, n_frames=20)
    for f in series.file_grid[0][:3]:
        ds = pydicom.dcmread(f)
        ds.RescaleSlope = "1e20"
        ds.save_as(f)
    with pytest.raises(DicomError, match="differ in intensity scale"):
        read_dicom(tmp_path)


# ------------------------------------------------------------------ header values from raw bytes


def _pydicom_value(ds, keyword):
    value = ds.get(keyword, None)
    if value is None or value == "":
        return None
    return list(value) if isinstance(value, pydicom.multival.MultiValue) else value


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"])
def test_header_values_converted_from_raw_bytes_equal_pydicoms(tmp_path, syntax):
    """The scan converts its numeric, UID and code attributes from the raw bytes itself (pydicom's
    conversion is most of a header's cost): the same values pydicom gives, in every encoding; what it
    cannot parse it leaves to pydicom."""
    from lvquant.io import dicom as D

    ds = base_dataset()
    set_pixels(ds, np.arange(12, dtype=np.int16).reshape(3, 4))
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = "1.2.3.4", 7, -3
    ds.TriggerTime, ds.SliceLocation, ds.SliceThickness = "12.5", " -3.25e1", "8"
    ds.ImagePositionPatient, ds.ImageOrientationPatient = ["-1.5", "2", "+3.0"], [1, 0, 0, 0, 0.6, 0.8]
    ds.PixelSpacing, ds.RescaleSlope, ds.RescaleIntercept = ["1.4", "1.4"], "2.0", "-1024"
    ds.Rows = 3
    ds.file_meta.TransferSyntaxUID = syntax
    path = tmp_path / "f.dcm"

    def write():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.save_as(path, enforce_file_format=True)

    write()
    converted = 0
    for keyword in D._RAW_VR:
        mine = D._raw_value(pydicom.dcmread(path, specific_tags=D._SCAN_TAGS), keyword)
        theirs = _pydicom_value(pydicom.dcmread(path, specific_tags=D._SCAN_TAGS), keyword)
        if mine is D._NOT_RAW:
            continue
        converted += 1
        assert mine == theirs, keyword
        assert type(mine) in (type(None), int, float, str, list), keyword
    assert converted == len(D._RAW_VR)  # nothing here needed pydicom
    # values outside the standard's number syntax, several codes, and absent tags
    for text, expect in (("1_0", D._NOT_RAW), ("nan", D._NOT_RAW), ("  ", None)):
        with warnings.catch_warnings():  # pydicom warns of the invalid values, as the reader silences it
            warnings.simplefilter("ignore")
            ds.TriggerTime = text
            write()
            assert D._raw_value(pydicom.dcmread(path), "TriggerTime") is expect
            assert D._float(D._get(pydicom.dcmread(path), "TriggerTime")) == (10.0 if text == "1_0" else None)  # as before
    assert D._raw_value(pydicom.dcmread(path), "NumberOfFrames") is None  # absent
    ds.PhotometricInterpretation = ["MONOCHROME2", "X"]
    write()
    assert D._raw_value(pydicom.dcmread(path), "PhotometricInterpretation") is D._NOT_RAW
