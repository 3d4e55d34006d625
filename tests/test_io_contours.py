"""Sunnybrook contour files, and the map from their image numbers to (slice, frame) of the cine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from dicom_fixtures import write_series
from lvquant.errors import ContourError, ReaderError
from lvquant.io import (
    read_contour_file,
    read_dicom,
    read_sunnybrook_contours,
    sunnybrook_image_index,
    sunnybrook_index_map,
)

SUNNYBROOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "sunnybrook"
needs_sunnybrook = pytest.mark.skipif(not (SUNNYBROOK / "contourfiles").is_dir(), reason="Sunnybrook data not present")
PATIENTS = [("SCD0000101", "SC-HF-I-1", 12), ("SCD0000201", "SC-HF-I-2", 13)]


def _area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


# ----------------------------------------------------------------------------- one file
def test_reads_x_y_lines(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("120.50 137.50\n121.0\t136.5\n\n122 135\n  \n")
    poly = read_contour_file(f)
    assert poly.dtype == np.float64 and poly.shape == (3, 2)
    np.testing.assert_array_equal(poly, [[120.5, 137.5], [121.0, 136.5], [122.0, 135.0]])


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "is empty"),
        ("\n \n", "is empty"),
        ("1 2\n3 4\n", "only 2 point"),
        ("1 2\n3 4\nfive 6\n", "line 3: expected two numbers"),
        ("1 2\n3 4 5\n6 7\n", "line 2: expected two numbers"),
        ("1 2\n3\n6 7\n", "line 2: expected two numbers"),
        ("1 2\n3 nan\n6 7\n", "line 2: coordinates must be finite"),
        ("1 2\n3 inf\n6 7\n", "line 2: coordinates must be finite"),
    ],
)
def test_bad_files_are_refused_naming_file_and_line(tmp_path, text, match):
    f = tmp_path / "bad-icontour-manual.txt"
    f.write_text(text)
    with pytest.raises(ContourError, match=match) as err:
        read_contour_file(f)
    assert str(f) in str(err.value)


def test_missing_and_binary_files_are_refused(tmp_path):
    with pytest.raises(ContourError, match="does not exist"):
        read_contour_file(tmp_path / "none.txt")
    (tmp_path / "bin.txt").write_bytes(b"\x00\xff\xfe\x89PNG")
    with pytest.raises(ContourError, match="not a text file"):
        read_contour_file(tmp_path / "bin.txt")
    with pytest.raises(ContourError, match="cannot read"):
        read_contour_file(tmp_path)  # a folder


# ----------------------------------------------------------------------------- folders
def _write_contour(folder: Path, n: int, kind: str, r: float = 10.0) -> Path:
    sub = "i-contours" if kind == "i" else "o-contours"
    path = folder / sub / f"IM-0001-{n:04d}-{kind}contour-manual.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    path.write_text("".join(f"{100 + r * np.cos(t):.2f} {90 + r * np.sin(t):.2f}\n" for t in a))
    return path


def test_folder_records_sorted_endo_before_epi(tmp_path):
    _write_contour(tmp_path, 59, "o", 15)
    _write_contour(tmp_path, 59, "i")
    _write_contour(tmp_path, 48, "i")
    (tmp_path / "i-contours" / "IM-0001-0048-p1contour-manual.txt").write_text("1 2\n")  # papillary: ignored
    (tmp_path / "notes.txt").write_text("whatever")
    recs = read_sunnybrook_contours(tmp_path)
    assert [(r.dicom_number, r.kind) for r in recs] == [(48, "endo"), (59, "endo"), (59, "epi")]
    assert recs[2].polygon.shape == (20, 2) and recs[2].path.endswith("IM-0001-0059-ocontour-manual.txt")


def test_folder_refusals(tmp_path):
    with pytest.raises(ContourError, match="not a folder"):
        read_sunnybrook_contours(tmp_path / "none")
    with pytest.raises(ContourError, match="no Sunnybrook contour files"):
        read_sunnybrook_contours(tmp_path)
    _write_contour(tmp_path / "a", 20, "i")
    _write_contour(tmp_path / "b", 20, "i")
    with pytest.raises(ContourError, match="two endo contours for image 20"):
        read_sunnybrook_contours(tmp_path)
    bad = tmp_path / "c"
    _write_contour(bad, 40, "o").write_text("1 2\n3 x\n")
    with pytest.raises(ContourError, match="line 2"):
        read_sunnybrook_contours(bad)


# ----------------------------------------------------------------------------- index map
def test_index_map_from_headers_on_generated_series(tmp_path):
    s = write_series(tmp_path, n_slices=3, n_frames=4, shuffle=False)
    # rename the files <N>.dcm with N = InstanceNumber, as in the Sunnybrook data
    for f in s.files:
        f.rename(f.with_name(f"{int(pydicom.dcmread(f, stop_before_pixels=True).InstanceNumber)}.dcm"))
    mapping = sunnybrook_index_map(tmp_path)
    cine = read_dicom(tmp_path)
    assert sunnybrook_index_map(cine) == mapping
    assert len(mapping) == 12
    # instance numbers run against acquisition order (12 = first acquired = top slice, first frame)
    assert mapping[12] == (2, 0) and mapping[1] == (0, 3)
    assert sunnybrook_image_index(cine, 12) == (2, 0)
    with pytest.raises(ReaderError, match="not part of the DICOM cine"):
        sunnybrook_image_index(cine, 99)


def test_index_map_needs_a_dicom_cine(tmp_path):
    from lvquant.cine import Cine

    cine = Cine(frames=np.zeros((1, 2, 4, 4)), spacing_mm=(1, 1), frame_times_ms=np.arange(2.0), slice_positions_mm=[0.0])
    with pytest.raises(ReaderError, match="not read from DICOM"):
        sunnybrook_index_map(cine)


# ----------------------------------------------------------------------------- real data
@needs_sunnybrook
@pytest.mark.parametrize("pid, oid, n_slices", PATIENTS)
def test_sunnybrook_contours_and_their_images(pid, oid, n_slices):
    recs = read_sunnybrook_contours(SUNNYBROOK / "contourfiles" / oid)
    endo = {r.dicom_number: r.polygon for r in recs if r.kind == "endo"}
    epi = {r.dicom_number: r.polygon for r in recs if r.kind == "epi"}
    assert (len(endo), len(epi)) == (18, 9) and set(epi) <= set(endo)
    for poly in endo.values():
        assert poly.shape[1] == 2 and poly.shape[0] >= 20
        assert np.all((poly >= 0) & (poly < 256))
    mapping = sunnybrook_index_map(SUNNYBROOK / "dicoms" / pid)
    assert len(mapping) == n_slices * 20
    # what the headers say for this data set: frames follow N within a slice,
    # and slices run against N (file slice 1 is the highest along the normal)
    for n, (s, t) in mapping.items():
        assert (s, t) == (n_slices - 1 - (n - 1) // 20, (n - 1) % 20)
    # each contoured slice has one endo+epi frame (ED) and one endo-only frame (ES), ED larger
    by_slice: dict[int, dict[str, int]] = {}
    for n in endo:
        s, t = mapping[n]
        by_slice.setdefault(s, {})["ED" if n in epi else "ES"] = n
    assert len(by_slice) == 9
    for s, pair in by_slice.items():
        assert set(pair) == {"ED", "ES"}
        assert _area(endo[pair["ED"]]) > _area(endo[pair["ES"]])
        assert _area(epi[pair["ED"]]) > _area(endo[pair["ED"]])
