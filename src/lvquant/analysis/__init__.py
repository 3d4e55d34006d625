"""The per-study analysis, one module per stage of the method.

Data flow one way::

    Cine ─► localise ─► extract ─► convert ─► predict ─► phase ─► Analysis
            LV centre,   one cycle   crop, turn,  ONNX Runtime   polynomial
            RV, slice    of M frames normalise    ensemble       fit: ED, ES

* :mod:`~lvquant.analysis.spec`: :class:`InputSpec`, what a model expects
  (crop side, crop rule, RV direction, intensity, frames per cycle); it
  travels in the model's manifest.
* :mod:`~lvquant.analysis.localise`, :mod:`~lvquant.analysis.extract`,
  :mod:`~lvquant.analysis.convert`, :mod:`~lvquant.analysis.predict`,
  :mod:`~lvquant.analysis.phase`: the stages.
* :mod:`~lvquant.analysis.pipeline`: :func:`analyze_cine` and
  :func:`analyze_crops`, which chain them.

This package imports neither PyTorch nor training, the commands, the report
or the readers.

Example::

    from lvquant.io import read_cine
    from lvquant.analysis import analyze_cine

    a = analyze_cine(read_cine("path/to/dicom_folder"))
    print(a.ed_frame, a.es_frame, a.indices.cavity_area_mm2)
"""

from .spec import InputSpec

__all__ = ["Analysis", "Ensemble", "InputSpec", "analyze_cine", "analyze_crops"]


def __getattr__(name: str):
    # The stages (and ONNX Runtime) load only when used: the spec alone is light.
    if name in ("Analysis", "analyze_cine", "analyze_crops"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "Ensemble":
        from .predict import Ensemble

        return Ensemble
    raise AttributeError(name)
