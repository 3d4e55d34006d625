"""Synthetic short-axis cine MRI of the heart with exact ground truth.

The phantom is the project's training set and test bench: mid-ventricular
bSSFP cines of healthy, hypertrophic, dilated and infarcted hearts, rendered
at 4x resolution with partial volume, bias, Gibbs ringing and Rician noise,
labelled through :mod:`lvquant.geometry`. See ``docs/phantom.md``.

Public API
----------
:func:`generate_subject`
    One subject in the LVQuan layout (80 x 80 LV-centred crops, RV left,
    masks, indices in mm / mm², phase, ``pix_spa``, ``ratio_resize_inverse``).
:func:`generate_lvquan_dataset`
    Many subjects (process pool) as an :class:`~lvquant.io.lvquan_mat.LVQuanDataset`.
:func:`render_series`
    One subject as a full field-of-view multi-slice series with truth.
:func:`write_dicom_subject`
    That series as DICOM files plus ``truth.json``.
:func:`write_phantoms`
    What ``lvquant phantom`` calls: .mat, .npz or DICOM output.
:func:`sample_truth`
    Indices only, without rendering (population statistics).
:func:`example_masks`
    Exact cavity and epicardial masks of one heart over a cycle, without
    rendering (what ``lvquant measure --example`` measures).

Subject ``i`` of population ``seed`` is the same whatever the number of
subjects or workers.
"""

from .config import PATHOLOGIES, PhantomConfig
from .series import DicomSeries, render_series
from .subject import PhantomSubject, example_masks, generate_subject, make_scene, sample_truth
from .writers import (
    default_workers,
    generate_lvquan_dataset,
    generate_subjects,
    patient_name,
    to_dataset,
    write_dicom_subject,
    write_phantoms,
)

__all__ = [
    "PATHOLOGIES",
    "DicomSeries",
    "PhantomConfig",
    "PhantomSubject",
    "default_workers",
    "example_masks",
    "generate_lvquan_dataset",
    "generate_subject",
    "generate_subjects",
    "make_scene",
    "patient_name",
    "render_series",
    "sample_truth",
    "to_dataset",
    "write_dicom_subject",
    "write_phantoms",
]
