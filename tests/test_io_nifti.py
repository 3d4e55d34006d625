"""The NIfTI reader: axis convention, spacing, timing, slice order, refusals."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from dicom_fixtures import write_series
from lvquant.errors import NiftiError, ReaderError
from lvquant.io import read_cine, read_dicom, read_nifti

LPS = np.diag([-1.0, -1.0, 1.0])


def _save(path, data, *, zooms=(1.5, 1.25, 8.0, 0.04), units=("mm", "sec"), affine=None, dim_info=None):
    """Save ``data``; the default affine (i -> left, j -> anterior, k -> superior in RAS) has the
    DICOM slice normal along +k, so slices keep their k order."""
    if affine is None:
        z = (list(zooms) + [1.0, 1.0])[:3]
        affine = np.diag([-z[0], z[1], z[2], 1.0])
    img = nib.Nifti1Image(np.asarray(data), affine)
    img.header.set_zooms(zooms[: np.asarray(data).ndim])
    img.header.set_xyzt_units(*units)
    if dim_info is not None:
        img.header.set_dim_info(slice=dim_info)
    nib.save(img, str(path))
    return path


@pytest.fixture(scope="module")
def volume():
    rng = np.random.default_rng(0)
    return rng.integers(0, 1000, size=(12, 10, 3, 5)).astype(np.int16)  # (X, Y, Z, T)


def test_4d_axes_map_i_to_columns_and_reversed_j_to_rows(tmp_path, volume):
    cine = read_nifti(_save(tmp_path / "c.nii", volume))
    assert cine.frames.shape == (3, 5, 10, 12)  # (S, T, H=ny, W=nx)
    for k in range(3):
        for t in range(5):
            np.testing.assert_array_equal(cine.frames[k, t], volume[:, ::-1, k, t].T)
    # top-left pixel is voxel (i=0, j=ny-1); bottom-right is (nx-1, 0)
    assert cine.frames[0, 0, 0, 0] == volume[0, 9, 0, 0] and cine.frames[0, 0, -1, -1] == volume[11, 0, 0, 0]
    assert cine.spacing_mm == (1.25, 1.5)  # (row = j step, column = i step)
    assert cine.slice_thickness_mm == 8.0
    np.testing.assert_allclose(cine.slice_positions_mm, [0.0, 8.0, 16.0])
    assert cine.source.format == "nifti" and cine.source.extra["nifti_layout"] == "3d+t"


def test_frame_times_from_pixdim4_and_time_unit(tmp_path, volume):
    sec = read_nifti(_save(tmp_path / "s.nii", volume, units=("mm", "sec")))
    assert sec.timing_known
    np.testing.assert_allclose(sec.frame_times_ms[0], [0, 40, 80, 120, 160])
    ms = read_nifti(_save(tmp_path / "m.nii", volume, zooms=(1.5, 1.25, 8.0, 33.0), units=("mm", "msec")))
    np.testing.assert_allclose(ms.frame_times_ms[2], np.arange(5) * 33.0)
    unknown = read_nifti(_save(tmp_path / "u.nii", volume, units=("mm", "unknown")))
    assert not unknown.timing_known
    np.testing.assert_array_equal(unknown.frame_times_ms[0], np.arange(5.0))


def test_spatial_units_are_converted_to_mm(tmp_path, volume):
    cine = read_nifti(_save(tmp_path / "m.nii", volume, zooms=(0.0015, 0.00125, 0.008, 0.04), units=("meter", "sec")))
    assert cine.spacing_mm == pytest.approx((1.25, 1.5))
    unknown = read_nifti(_save(tmp_path / "u.nii", volume, units=("unknown", "sec")))
    assert unknown.spacing_mm == (1.25, 1.5)
    assert any("spatial units" in w for w in unknown.source.extra["warnings"])


def test_2d_plus_t_shapes(tmp_path, volume):
    one = volume[:, :, 1:2, :]  # (X, Y, 1, T)
    a = read_nifti(_save(tmp_path / "a.nii.gz", one))
    assert a.frames.shape == (1, 5, 10, 12)
    np.testing.assert_array_equal(a.frames[0, 3], volume[:, ::-1, 1, 3].T)
    b = read_nifti(_save(tmp_path / "b.nii", volume[:, :, 1, :], zooms=(1.5, 1.25, 0.05), units=("mm", "sec")))
    assert b.frames.shape == (1, 5, 10, 12) and b.source.extra["nifti_layout"] == "2d+t"
    np.testing.assert_array_equal(b.frames, a.frames)
    np.testing.assert_allclose(b.frame_times_ms[0], np.arange(5) * 50.0)  # (X, Y, T): dt is pixdim[3]
    assert b.slice_thickness_mm is None


def test_3d_with_slice_dim_info_is_a_static_stack(tmp_path, volume):
    cine = read_nifti(_save(tmp_path / "s.nii", volume[..., 0], zooms=(1.5, 1.25, 8.0), dim_info=2))
    assert cine.frames.shape == (3, 1, 10, 12)
    assert not cine.timing_known and cine.source.extra["nifti_layout"] == "static"


def test_trailing_singleton_axes_are_dropped(tmp_path, volume):
    cine = read_nifti(_save(tmp_path / "five.nii", volume[..., np.newaxis], zooms=(1.5, 1.25, 8.0, 0.04, 1.0)))
    assert cine.frames.shape == (3, 5, 10, 12)


def test_scaling_is_applied(tmp_path, volume):
    img = nib.Nifti1Image(volume, np.diag([-1.5, 1.25, 8.0, 1.0]))
    img.header.set_slope_inter(2.0, -10.0)
    nib.save(img, str(tmp_path / "s.nii"))
    cine = read_nifti(tmp_path / "s.nii")
    np.testing.assert_allclose(cine.frames[0, 0], volume[:, ::-1, 0, 0].T * 2.0 - 10.0)


def test_slices_sorted_ascending_along_the_normal(tmp_path, volume):
    # i -> right: the DICOM normal cross(row, col) points to -k (inferior), so k order is reversed
    affine = np.diag([1.5, 1.25, 8.0, 1.0])
    cine = read_nifti(_save(tmp_path / "r.nii", volume, affine=affine))
    assert np.all(np.diff(cine.slice_positions_mm) > 0)
    np.testing.assert_array_equal(cine.frames[0], np.transpose(volume[:, ::-1, 2, :], (2, 1, 0)))
    assert cine.source.extra["slice_order"] == (2, 1, 0)


def test_dcm2niix_style_nifti_matches_the_dicom_reader(tmp_path):
    """A NIfTI built like dcm2niix (rows stored bottom-up) reads back like the DICOM series."""
    s = write_series(tmp_path / "dicom", n_slices=3, n_frames=4, rows=20, cols=24)
    ref = read_dicom(tmp_path / "dicom")
    d_row, d_col = s.spacing
    row_cos, col_cos = np.asarray(s.orientation[:3]), np.asarray(s.orientation[3:])
    ny = 20
    lps = np.eye(4)
    lps[:3, 0] = row_cos * d_col
    lps[:3, 1] = -col_cos * d_row
    lps[:3, 2] = s.normal * 8.0
    lps[:3, 3] = s.ipp[0] + (ny - 1) * d_row * col_cos
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    data = np.transpose(s.expected, (3, 2, 0, 1))[:, ::-1]  # (S,T,H,W) -> (X=W, Y=H reversed, Z, T)
    img = nib.Nifti1Image(data.astype(np.float32), ras)
    img.header.set_zooms((d_col, d_row, 8.0, 0.04))
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, str(tmp_path / "c.nii.gz"))
    cine = read_nifti(tmp_path / "c.nii.gz")
    np.testing.assert_array_equal(cine.frames, ref.frames)
    assert cine.spacing_mm == pytest.approx(ref.spacing_mm)
    np.testing.assert_allclose(cine.orientation, ref.orientation, atol=1e-5)
    np.testing.assert_allclose(cine.slice_positions_mm, ref.slice_positions_mm, atol=1e-3)


def test_spacing_override(tmp_path, volume):
    cine = read_nifti(_save(tmp_path / "c.nii", volume), spacing_mm=(2.0, 3.0))
    assert cine.spacing_mm == (2.0, 3.0)
    with pytest.raises(NiftiError, match="pixel spacing must be"):
        read_nifti(tmp_path / "c.nii", spacing_mm=-1)


# ----------------------------------------------------------------------------- refusals
def test_nan_data_is_refused(tmp_path, volume):
    data = volume.astype(np.float32)
    data[3, 4, 1, 2] = np.nan
    with pytest.raises(NiftiError, match="NaN"):
        read_nifti(_save(tmp_path / "n.nii", data))


@pytest.mark.parametrize("shape", [(12, 10), (12, 10, 3, 5, 2)])
def test_wrong_dimensionality_is_refused(tmp_path, shape):
    data = np.zeros(shape, dtype=np.int16)
    with pytest.raises(NiftiError, match="a cine needs 3 axes"):
        read_nifti(_save(tmp_path / "d.nii", data, zooms=(1.0,) * len(shape)))


def test_zero_spacing_is_refused(tmp_path, volume):
    path = _save(tmp_path / "z.nii", volume)
    raw = bytearray(path.read_bytes())
    raw[80:84] = np.float32(0.0).tobytes()  # pixdim[1] (nibabel refuses to write it)
    path.write_bytes(bytes(raw))
    with pytest.raises(NiftiError, match="no valid pixel spacing.*--spacing"):
        read_nifti(path)
    assert read_nifti(path, spacing_mm=1.0).spacing_mm == (1.0, 1.0)


def test_missing_wrong_and_corrupt_files_are_refused(tmp_path, volume):
    with pytest.raises(NiftiError, match="does not exist"):
        read_nifti(tmp_path / "none.nii")
    (tmp_path / "x.img").write_bytes(b"abc")
    with pytest.raises(NiftiError, match=r"not named \.nii"):
        read_nifti(tmp_path / "x.img")
    (tmp_path / "junk.nii").write_bytes(np.random.default_rng(0).bytes(600))
    with pytest.raises(NiftiError, match="cannot read"):
        read_nifti(tmp_path / "junk.nii")
    good = _save(tmp_path / "good.nii", volume).read_bytes()
    (tmp_path / "cut.nii").write_bytes(good[: len(good) // 2])
    with pytest.raises(NiftiError, match="truncated or corrupt|cannot read"):
        read_nifti(tmp_path / "cut.nii")
    (tmp_path / "cut.nii.gz").write_bytes(gzip.compress(good)[:500])
    with pytest.raises(NiftiError):
        read_nifti(tmp_path / "cut.nii.gz")


def test_read_cine_dispatches_nifti(tmp_path, volume):
    path = _save(tmp_path / "c.nii.gz", volume)
    np.testing.assert_array_equal(read_cine(path).frames, read_nifti(path).frames)
    assert read_cine(str(path), spacing_mm=2.0).spacing_mm == (2.0, 2.0)
    with pytest.raises(ReaderError, match="only applies to DICOM"):
        read_cine(path, series_uid="1.2.3")
    renamed = tmp_path / "noext"
    renamed.write_bytes(_save(tmp_path / "plain.nii", volume).read_bytes())
    with pytest.raises(NiftiError, match=r"not named \.nii"):  # sniffed as NIfTI, then asked to be named .nii
        read_cine(renamed)
