"""LVQuan evaluation metrics (shared/DOMAIN.md, "Evaluation protocol").

* MAE per index over all frames (mm² for areas, mm for lengths) and the group
  means: areas (A1, A2), dims (D1–D3), RWT (RWT1–6);
* Pearson correlation per index;
* phase error rate: fraction of frames whose predicted phase differs from the
  truth, the predicted phase coming from the predicted cavity-area curve of each
  subject through :func:`lvquant.analysis.phase.phase_from_curve`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError
from .indices import GROUPS, INDEX_NAMES
from .analysis.phase import phase_from_curve


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two 1-D arrays (NaN when either is constant)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return float("nan")
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb))


def predicted_phases(pred_mm: np.ndarray, method: str = "poly") -> np.ndarray:
    """(S, T) phase labels from each subject's predicted cavity areas (column 0)."""
    return np.stack([phase_from_curve(p[:, 0], method=method).labels for p in pred_mm])


def lvquan_metrics(pred_mm: np.ndarray, true_mm: np.ndarray, true_phase: np.ndarray | None = None,
                   *, phase_method: str = "poly") -> dict[str, Any]:
    """All LVQuan metrics of a set of predictions.

    Args:
        pred_mm, true_mm: (S, T, 11) indices in mm² / mm.
        true_phase: (S, T) true labels (1 systole, 0 diastole), or None to skip
            the phase error.
        phase_method: how predicted phases are derived (``"poly"`` or ``"argmax"``).

    Returns:
        JSON-ready dict with ``areas_mae_mm2``, ``dims_mae_mm``, ``rwt_mae_mm``,
        ``phase_error`` (fraction, or None), ``mae`` and ``pearson`` per index
        name, ``n_subjects`` and ``n_frames``.
    """
    pred = np.asarray(pred_mm, dtype=np.float64)
    true = np.asarray(true_mm, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim != 3 or pred.shape[2] != 11:
        raise InputError(f"predictions {pred.shape} and truth {true.shape} must both be (subjects, frames, 11)")
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(true))):
        raise InputError("predictions or truth contain NaN or infinite values")
    err = np.abs(pred - true).reshape(-1, 11)
    mae = err.mean(0)
    flat_p, flat_t = pred.reshape(-1, 11), true.reshape(-1, 11)
    result: dict[str, Any] = {
        "areas_mae_mm2": float(mae[list(GROUPS["areas"])].mean()),
        "dims_mae_mm": float(mae[list(GROUPS["dims"])].mean()),
        "rwt_mae_mm": float(mae[list(GROUPS["rwt"])].mean()),
        "phase_error": None,
        "mae": {n: float(v) for n, v in zip(INDEX_NAMES, mae)},
        "pearson": {n: pearson(flat_p[:, i], flat_t[:, i]) for i, n in enumerate(INDEX_NAMES)},
        "n_subjects": int(pred.shape[0]),
        "n_frames": int(pred.shape[0] * pred.shape[1]),
        "phase_method": phase_method,
    }
    if true_phase is not None:
        tp = np.asarray(true_phase)
        if tp.shape != pred.shape[:2]:
            raise InputError(f"true phase shape {tp.shape} does not match predictions {pred.shape[:2]}")
        result["phase_error"] = float(np.mean(predicted_phases(pred, phase_method) != tp))
    return result


def predict_dataset(dataset: Any, ensemble: Any, progress: Any = None) -> np.ndarray:
    """(S, T, 11) ensemble predictions in mm / mm² for every subject of an LVQuan dataset."""
    if not np.all(np.isfinite(dataset.pixel_size_mm)):
        raise InputError("the data file gives no pixel spacing (pix_spa, ratio_resize_inverse), so mm cannot be computed")
    out = []
    for s in range(dataset.n_subjects):
        out.append(ensemble.predict_raw(dataset.images[s], float(dataset.pixel_size_mm[s])).mean.to_array())
        if progress:
            progress(1)
    return np.stack(out)


def evaluate_dataset(dataset: Any, ensemble: Any, *, phase_method: str = "poly", progress: Any = None) -> dict[str, Any]:
    """LVQuan metrics of an ensemble on a labelled dataset (every subject, every model)."""
    if not dataset.has_labels:
        raise InputError("the data file has no labels (areas, dims, rwt), so there is nothing to evaluate against")
    pred = predict_dataset(dataset, ensemble, progress)
    return lvquan_metrics(pred, dataset.indices.to_array(), dataset.phase, phase_method=phase_method)


def evaluate_cross_validated(dataset: Any, model_dir: Any, data_sha256: str, *, phase_method: str = "poly",
                             progress: Any = None) -> dict[str, Any]:
    """Cross-validated metrics: each subject predicted by the model that did not train on it.

    Needs the very data the models were trained on (checked by SHA-256 against
    the manifest), since the folds are defined on its subjects.
    """
    from .analysis.predict import Ensemble

    ens = Ensemble.load(model_dir)
    training = ens.manifest.get("training", {})
    if training.get("data", {}).get("sha256") != data_sha256:
        raise InputError("cross-validated evaluation needs the data file the models were trained on "
                         "(its checksum differs from the one in the manifest)")
    folds = np.asarray(training["folds"])
    if folds.shape != (dataset.n_subjects,):
        raise InputError(f"the manifest's folds cover {folds.shape[0]} subjects; the data has {dataset.n_subjects}")
    models = {int(m["fold"]): i for i, m in enumerate(ens.manifest["models"])}
    pred = np.zeros((dataset.n_subjects, dataset.n_frames, 11))
    for fold, member in models.items():
        single = ens.subset([member])
        for s in np.flatnonzero(folds == fold):
            pred[s] = single.predict_raw(dataset.images[s], float(dataset.pixel_size_mm[s])).mean.to_array()
            if progress:
                progress(1)
    result = lvquan_metrics(pred, dataset.indices.to_array(), dataset.phase, phase_method=phase_method)
    result["cross_validated"] = True
    return result
