"""Property/fuzz tests: malformed input ends in an lvquant error, never in another exception."""

from __future__ import annotations

import gzip
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicom_fixtures import SECRETS, write_series
from lvquant.cine import Cine
from lvquant.errors import ContourError, DicomError, LvquantError, NiftiError
from lvquant.io import read_cine, read_contour_file, read_dicom, read_nifti

#: ``LVQUANT_FUZZ_EXAMPLES=2000 pytest tests/test_io_fuzz.py`` for a longer hunt.
FUZZ = settings(
    max_examples=int(os.environ.get("LVQUANT_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@lru_cache(maxsize=None)
def _valid_dicom() -> bytes:
    """One valid single-frame DICOM file (16x16, with the fake patient)."""
    with tempfile.TemporaryDirectory() as d:
        s = write_series(Path(d), n_slices=1, n_frames=1, rows=16, cols=16)
        return s.files[0].read_bytes()


@lru_cache(maxsize=None)
def _valid_nifti_gz() -> bytes:
    img = nib.Nifti1Image(np.arange(8 * 6 * 2 * 3, dtype=np.int16).reshape(8, 6, 2, 3), np.diag([-1.5, 1.5, 8, 1]))
    img.header.set_xyzt_units("mm", "sec")
    with tempfile.TemporaryDirectory() as d:
        nib.save(img, str(Path(d) / "v.nii.gz"))
        return (Path(d) / "v.nii.gz").read_bytes()


def _read_bytes(data: bytes, name: str, reader) -> object:
    """Write ``data`` to a temporary file called ``name`` and read it; return the result or the lvquant error."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(data)
        try:
            return reader(path)
        except LvquantError as exc:
            for secret in SECRETS:
                assert secret not in str(exc)
            return exc


def _dicom_outcome(data: bytes, name: str = "x.dcm") -> object:
    result = _read_bytes(data, name, read_dicom)
    assert isinstance(result, (Cine, DicomError)), type(result)
    if isinstance(result, Cine):
        assert result.frames.shape[1:] == (1, 16, 16) or result.frames.ndim == 4
        for secret in SECRETS:
            assert secret not in repr(result.source)
    return result


@FUZZ
@given(st.binary(min_size=0, max_size=3000))
def test_random_bytes_are_not_dicom(data):
    assert isinstance(_dicom_outcome(data), DicomError)


@FUZZ
@given(st.binary(min_size=0, max_size=2000))
def test_random_bytes_behind_a_dicom_preamble(data):
    _dicom_outcome(b"\x00" * 128 + b"DICM" + data)


@FUZZ
@given(st.data())
def test_truncated_dicom(data):
    valid = _valid_dicom()
    cut = data.draw(st.integers(min_value=0, max_value=len(valid) - 1))
    result = _dicom_outcome(valid[:cut])
    assert isinstance(result, DicomError)  # every cut loses at least one pixel byte


@FUZZ
@given(st.data())
def test_byte_flips_in_a_dicom_file(data):
    raw = bytearray(_valid_dicom())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(128, len(raw) - 16 * 16 * 2 - 1))  # header bytes
        raw[pos] = data.draw(st.integers(0, 255))
    _dicom_outcome(bytes(raw))


@FUZZ
@given(st.integers(min_value=0, max_value=1200))
def test_wrong_pixel_data_length(n_bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.dcm"
        path.write_bytes(_valid_dicom())
        ds = pydicom.dcmread(path)
        ds.PixelData = bytes(n_bytes + (n_bytes % 2))
        ds.save_as(path)
        try:
            cine = read_dicom(path)
        except DicomError as exc:
            assert "x.dcm" in str(exc)
            return
        assert n_bytes + (n_bytes % 2) >= 16 * 16 * 2  # only padding beyond the image may be tolerated
        assert cine.frames.shape == (1, 1, 16, 16)


@FUZZ
@given(st.binary(min_size=0, max_size=1500), st.sampled_from(["a.nii", "a.nii.gz"]))
def test_random_bytes_as_nifti(data, name):
    result = _read_bytes(data, name, read_nifti)
    assert isinstance(result, NiftiError)


@FUZZ
@given(st.data())
def test_truncated_or_flipped_nifti(data):
    raw = bytearray(gzip.decompress(_valid_nifti_gz()))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 6))):
            raw[data.draw(st.integers(0, 351))] = data.draw(st.integers(0, 255))
    gz = data.draw(st.booleans())
    result = _read_bytes(gzip.compress(bytes(raw)) if gz else bytes(raw), "v.nii.gz" if gz else "v.nii", read_nifti)
    assert isinstance(result, (Cine, NiftiError)), type(result)


@FUZZ
@given(st.text(max_size=300))
def test_random_text_as_contour(text):
    result = _read_bytes(text.encode("utf-8"), "c.txt", read_contour_file)
    if isinstance(result, np.ndarray):
        assert result.ndim == 2 and result.shape[1] == 2 and result.shape[0] >= 3 and np.all(np.isfinite(result))
    else:
        assert isinstance(result, ContourError)


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(["a", "a.dcm", "a.nii", "a.nii.gz", "a.mat", "a.png", "a.txt"]))
def test_read_cine_on_random_files(data, name):
    result = _read_bytes(data, name, read_cine)
    assert isinstance(result, (Cine, LvquantError)), type(result)
