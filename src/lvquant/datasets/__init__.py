"""Labelled real cine MRI turned into training crops, cut by the same input spec the analysis uses.

* :mod:`~lvquant.datasets.acdc`: the ACDC patients as packed in ``../shared/data/acdc``
  (one ``patientNNN.npz`` per patient, ``patients.csv``), read into :class:`LabelledStack`.
* :mod:`~lvquant.datasets.sunnybrook`: the Sunnybrook patients as packed in
  ``../shared/data/sunnybrook45`` (cavity only, spacing given by the caller).
* :mod:`~lvquant.datasets.builder`: a :class:`LabelledStack` → :class:`CropSet`: the mid
  slice (or every slice whose myocardium is a closed ring), an LV-centred crop turned so
  that the RV lies where the spec says, its side by the spec's crop rule, and the 11
  indices measured by :mod:`lvquant.geometry` on the turned labels.

Nothing here writes images anywhere: ACDC's licence forbids committing them, or anything
they can be rebuilt from, into the repository.
"""

from .builder import CropSet, LabelledStack, build_crops, mid_ring_slice, ring_slices

__all__ = ["CropSet", "LabelledStack", "build_crops", "mid_ring_slice", "ring_slices"]
