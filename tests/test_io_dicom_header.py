"""The lean DICOM header reader (lvquant.io.dicom_header) against pydicom.

Every file the lean reader accepts must give the scan exactly the records (every attribute of
every image) and the pixels pydicom gives; every file it does not handle exactly must be left to
pydicom (``_fast_header`` returns None), never half-read.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from lvquant.errors import DicomError
from lvquant.io import dicom as D
from lvquant.io.dicom import read_dicom
from lvquant.io.dicom_header import EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, read_raw_header

from dicom_fixtures import AXIAL, base_dataset, set_pixels, write_enhanced

SUNNYBROOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "sunnybrook" / "dicoms"


def _image(**changes) -> Dataset:
    """One cine image with every attribute the scan reads at the top level."""
    ds = base_dataset()
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = "1.2.3.4", 7, 3
    ds.TriggerTime, ds.SliceLocation, ds.SliceThickness = "12.5", "-32.5", "8"
    ds.ImagePositionPatient, ds.ImageOrientationPatient = ["-1.5", "2", "3.0"], list(AXIAL)
    ds.PixelSpacing, ds.RescaleSlope, ds.RescaleIntercept = ["1.4", "1.4"], "2.0", "-1024"
    set_pixels(ds, np.arange(48, dtype=np.int16).reshape(6, 8) * 37 - 500)
    for key, value in changes.items():
        setattr(ds, key, value)
    return ds


def _write(ds: Dataset, path: Path, *, implicit: bool = False) -> Path:
    """A Part 10 file in Explicit (default) or Implicit VR Little Endian."""
    ds.file_meta.TransferSyntaxUID = IMPLICIT_VR_LITTLE_ENDIAN if implicit else EXPLICIT_VR_LITTLE_ENDIAN
    return _save(ds, path)


def _save(ds: Dataset, path: Path) -> Path:
    """``ds`` as its file meta says (another transfer syntax, for the files left to pydicom)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(path, enforce_file_format=True)
    return path


def _through_pydicom(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return D._images_of(D._read_header(path), path)


def _assert_same_as_pydicom(path: Path) -> None:
    fast = D._fast_header(path)
    assert fast is not None, "the lean reader should handle this file"
    mine, theirs = D._images_of(fast, path), _through_pydicom(path)
    assert mine == theirs  # every field of every image record (the header object aside)
    for a, b in zip(mine, theirs):
        np.testing.assert_array_equal(D._decode_image(a), D._decode_image(b))


def _item(**values) -> Dataset:
    item = Dataset()
    for key, value in values.items():
        setattr(item, key, value)
    return item


# ----------------------------------------------------------------------------- files it reads
def test_explicit_and_implicit_little_endian(tmp_path):
    _assert_same_as_pydicom(_write(_image(), tmp_path / "explicit.dcm"))
    _assert_same_as_pydicom(_write(_image(), tmp_path / "implicit.dcm", implicit=True))


def test_sequences_of_defined_and_undefined_length_are_stepped_over(tmp_path):
    ds = _image()
    inner = Sequence([_item(ReferencedSOPInstanceUID="1.2.3", ReferencedSOPClassUID="1.2.4")])
    ds.ReferencedImageSequence = Sequence([_item(ReferencedSOPInstanceUID="1.2.5", ReferencedSOPClassUID="1.2.6"),
                                           _item(SourceImageSequence=inner), Dataset()])
    for explicit in (True, False):
        for undefined in (False, True):
            ds["ReferencedImageSequence"].is_undefined_length = undefined
            ds.ReferencedImageSequence[1]["SourceImageSequence"].is_undefined_length = undefined
            for item in list(ds.ReferencedImageSequence) + list(inner):
                item.is_undefined_length_sequence_item = undefined
            path = _write(ds, tmp_path / f"seq_{explicit}_{undefined}.dcm", implicit=not explicit)
            assert (b"\xfe\xff\xdd\xe0" in path.read_bytes()) == undefined  # a sequence delimiter was written
            _assert_same_as_pydicom(path)


def test_private_tags_and_a_header_longer_than_the_first_read(tmp_path):
    ds = _image()
    ds.add_new(0x00091010, "LO", "ACME 1.0")
    ds.add_new(0x00091011, "OB", bytes(range(256)) * 100)  # 25.6 kB before the pixel data
    ds.add_new(0x00191001, "DS", "3.5")
    _assert_same_as_pydicom(_write(ds, tmp_path / "private.dcm"))


def test_single_frame_file_with_empty_functional_groups(tmp_path):
    """Some scanners (GE, the Sunnybrook cines) write a one-empty-item Per-frame Functional Groups Sequence."""
    ds = _image()
    del ds.RescaleSlope, ds.RescaleIntercept
    ds.PerFrameFunctionalGroupsSequence = Sequence([Dataset()])
    _assert_same_as_pydicom(_write(ds, tmp_path / "empty_groups.dcm"))


def test_functional_groups_with_every_value_also_at_the_top_are_read(tmp_path):
    ds = _image()
    ds.SharedFunctionalGroupsSequence = Sequence([_item(PixelValueTransformationSequence=Sequence([
        _item(RescaleSlope="5", RescaleIntercept="0")]))])
    _assert_same_as_pydicom(_write(ds, tmp_path / "groups_top.dcm"))  # the top level wins, as with pydicom


def test_unsigned_8_bit_pixels_and_stored_bits_below_allocated(tmp_path):
    ds = _image()
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.arange(48, dtype=np.uint8).tobytes()
    _assert_same_as_pydicom(_write(ds, tmp_path / "u8.dcm"))
    ds = _image()
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, 0
    ds.PixelData = (np.arange(48, dtype=np.uint16) * 80).tobytes()
    _assert_same_as_pydicom(_write(ds, tmp_path / "u12.dcm"))


def test_absent_and_empty_values(tmp_path):
    ds = _image()
    del ds.TriggerTime, ds.SliceLocation
    ds.SeriesNumber = None
    ds.Manufacturer = ""
    _assert_same_as_pydicom(_write(ds, tmp_path / "empty.dcm"))


# ----------------------------------------------------------------------------- files it leaves to pydicom
def _left_to_pydicom(path: Path) -> None:
    assert D._fast_header(path) is None


def test_other_transfer_syntaxes_are_left_to_pydicom(tmp_path):
    ds = _image()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.2"  # Explicit VR Big Endian
    _left_to_pydicom(_save(ds, tmp_path / "big.dcm"))
    ds = _image()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.50"  # JPEG baseline
    ds.PixelData = pydicom.encaps.encapsulate([b"\xff\xd8\xff\xd9"])
    ds["PixelData"].VR = "OB"
    _left_to_pydicom(_save(ds, tmp_path / "jpeg.dcm"))


def test_enhanced_multi_frame_is_left_to_pydicom(tmp_path):
    write_enhanced(tmp_path / "enh.dcm")
    _left_to_pydicom(tmp_path / "enh.dcm")
    assert read_dicom(tmp_path).frames.shape == (2, 5, 16, 16)


def test_values_only_in_the_functional_groups_are_left_to_pydicom(tmp_path):
    ds = _image()
    del ds.RescaleSlope, ds.RescaleIntercept
    ds.SharedFunctionalGroupsSequence = Sequence([_item(PixelValueTransformationSequence=Sequence([
        _item(RescaleSlope="5", RescaleIntercept="1")]))])
    path = _write(ds, tmp_path / "groups.dcm")
    _left_to_pydicom(path)
    assert _through_pydicom(path)[0].slope == 5.0  # pydicom's path finds it there


def test_no_preamble_non_ascii_text_odd_values_and_other_vrs_are_left_to_pydicom(tmp_path):
    ds = _image()
    del ds.file_meta
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(tmp_path / "raw.dcm", implicit_vr=True, little_endian=True)  # no preamble, no file meta
    _left_to_pydicom(tmp_path / "raw.dcm")
    ds = _image(SpecificCharacterSet="ISO_IR 100", Manufacturer="Médica")
    _left_to_pydicom(_write(ds, tmp_path / "latin1.dcm"))
    with warnings.catch_warnings():  # pydicom warns of the value it is given
        warnings.simplefilter("ignore")
        odd = _image(TriggerTime="1_0")
    _left_to_pydicom(_write(odd, tmp_path / "odd.dcm"))
    ds = _image()
    ds["TriggerTime"].VR = "UN"
    ds["TriggerTime"].value = b"12.5"
    _left_to_pydicom(_write(ds, tmp_path / "un.dcm"))


def test_truncated_header_is_left_to_pydicom_with_the_same_skip_reason(tmp_path):
    path = _write(_image(), tmp_path / "full.dcm")
    data = path.read_bytes()
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "a.dcm").write_bytes(data[:700])  # ends inside the header
    _left_to_pydicom(cut / "a.dcm")
    with pytest.raises(DicomError):
        read_dicom(cut)


def test_non_dicom_files_are_skipped_without_pydicom(tmp_path, monkeypatch):
    _write(_image(), tmp_path / "image.dcm")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty.dcm").write_bytes(b"")
    monkeypatch.setattr(D, "_read_header", lambda path: pytest.fail(f"pydicom asked to read {path.name}"))
    cine = read_dicom(tmp_path)
    assert dict(cine.source.skipped) == {"notes.txt": "not a DICOM file (no 'DICM' marker)", "empty.dcm": "empty file"}


# ----------------------------------------------------------------------------- real files, and damaged ones
@pytest.mark.skipif(not SUNNYBROOK.is_dir(), reason="../shared/data/sunnybrook absent")
@pytest.mark.parametrize("patient", ["SCD0000101", "SCD0000201"])
def test_sunnybrook_cines_read_as_pydicom_reads_them(patient):
    files = sorted(p for p in (SUNNYBROOK / patient).rglob("*.dcm"))
    assert len(files) >= 240
    for path in files[::12]:
        _assert_same_as_pydicom(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(132, 10_000), st.integers(0, 255)), min_size=1, max_size=6))
def test_damaged_headers_never_make_the_lean_reader_fail(tmp_path, flips):
    """Bytes changed anywhere in the header: the lean reader gives a header or None (pydicom's turn),
    never an exception, and never keeps a tag it was not asked for."""
    good = tmp_path / "good.dcm"
    if not good.exists():
        _write(_image(), good)
    data = bytearray(good.read_bytes())
    header_end = data.index(b"\xe0\x7f\x10\x00")  # the pixel data's tag
    for pos, value in flips:
        data[132 + pos % (header_end - 132)] = value
    path = tmp_path / "damaged.dcm"
    path.write_bytes(bytes(data))
    raw = read_raw_header(path, D._FAST_TAGS)
    fast = D._fast_header(path)
    if raw is None:
        assert fast is None
    else:
        assert set(raw.values) <= D._FAST_TAGS and 132 < raw.pixel_offset <= len(data)
    if fast is not None:
        try:
            D._images_of(fast, path)
        except ValueError:  # a skip reason, as the scan records it
            pass
