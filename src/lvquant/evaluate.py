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
    """All LVQuan metrics of a set of predictions, and the signed bias of each index.

    A true index may be missing (NaN: e.g. no myocardium label on a Sunnybrook slice): each
    index is scored on the frames where its truth is known, and a group figure (areas, dims,
    RWT) is given only when every index of the group has some truth (else None).

    Args:
        pred_mm, true_mm: (S, T, 11) indices in mm² / mm; the truth may hold NaN.
        true_phase: (S, T) true labels (1 systole, 0 diastole), or None to skip
            the phase error (also skipped when T < 4: a cycle's phase needs its frames).
        phase_method: how predicted phases are derived (``"poly"`` or ``"argmax"``).

    Returns:
        JSON-ready dict with ``areas_mae_mm2``, ``dims_mae_mm``, ``rwt_mae_mm``,
        ``phase_error`` (fraction, or None), per index name: ``mae``, ``pearson``,
        ``bias`` (mean of prediction − truth, mm² / mm), ``relative_bias`` (mean of
        (prediction − truth) / truth), ``relative_mae`` (mean of |prediction − truth| / truth)
        and ``n_known`` (frames with truth); ``n_subjects`` and ``n_frames``.
    """
    pred = np.asarray(pred_mm, dtype=np.float64)
    true = np.asarray(true_mm, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim != 3 or pred.shape[2] != 11:
        raise InputError(f"predictions {pred.shape} and truth {true.shape} must both be (subjects, frames, 11)")
    if not np.all(np.isfinite(pred)) or np.any(np.isinf(true)):
        raise InputError("predictions contain NaN or infinite values, or the truth infinite ones")
    flat_p, flat_t = pred.reshape(-1, 11), true.reshape(-1, 11)
    known = np.isfinite(flat_t)
    if not known.any():
        raise InputError("the truth holds no known index: there is nothing to evaluate against")

    def per_index(values: np.ndarray) -> list[float | None]:
        return [float(values[known[:, i], i].mean()) if known[:, i].any() else None for i in range(11)]

    diff = flat_p - flat_t
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(known & (flat_t > 0), diff / np.where(flat_t > 0, flat_t, 1.0), np.nan)
    mae, bias = per_index(np.abs(diff)), per_index(diff)
    rel_known = np.isfinite(rel)
    rel_bias = [float(rel[rel_known[:, i], i].mean()) if rel_known[:, i].any() else None for i in range(11)]
    rel_mae = [float(np.abs(rel[rel_known[:, i], i]).mean()) if rel_known[:, i].any() else None for i in range(11)]

    def group(name: str) -> float | None:
        vals = [mae[i] for i in GROUPS[name]]
        return None if any(v is None for v in vals) else float(np.mean(vals))

    def corr(i: int) -> float | None:
        r = pearson(flat_p[known[:, i], i], flat_t[known[:, i], i]) if known[:, i].sum() > 1 else float("nan")
        return None if not np.isfinite(r) else r

    result: dict[str, Any] = {
        "areas_mae_mm2": group("areas"),
        "dims_mae_mm": group("dims"),
        "rwt_mae_mm": group("rwt"),
        "phase_error": None,
        "mae": dict(zip(INDEX_NAMES, mae)),
        "pearson": {n: corr(i) for i, n in enumerate(INDEX_NAMES)},
        "bias": dict(zip(INDEX_NAMES, bias)),
        "relative_bias": dict(zip(INDEX_NAMES, rel_bias)),
        "relative_mae": dict(zip(INDEX_NAMES, rel_mae)),
        "n_known": {n: int(known[:, i].sum()) for i, n in enumerate(INDEX_NAMES)},
        "n_subjects": int(pred.shape[0]),
        "n_frames": int(pred.shape[0] * pred.shape[1]),
        "phase_method": phase_method,
    }
    if true_phase is not None and pred.shape[1] >= 4:
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


def trained_folds(ensemble: Any, data_sha256: str, n_rows: int) -> np.ndarray:
    """(n_rows,) the fold of each row of the data the ensemble was trained on, from its manifest.

    Raises:
        InputError: the data's checksum is not the one the manifest records, or the folds
            cover another number of rows.
    """
    training = ensemble.manifest.get("training", {})
    if training.get("data", {}).get("sha256") != data_sha256:
        raise InputError("cross-validated evaluation needs the data file the models were trained on "
                         "(its checksum differs from the one in the manifest)")
    folds = np.asarray(training["folds"])
    if folds.shape != (n_rows,):
        raise InputError(f"the manifest's folds cover {folds.shape[0]} subjects; the data has {n_rows}")
    return folds


def fold_models(ensemble: Any) -> dict[int, Any]:
    """Fold -> the one-network ensemble of the model trained without that fold."""
    return {int(m["fold"]): ensemble.subset([i]) for i, m in enumerate(ensemble.manifest["models"])}


def evaluate_cross_validated(dataset: Any, model_dir: Any, data_sha256: str, *, phase_method: str = "poly",
                             progress: Any = None) -> dict[str, Any]:
    """Cross-validated metrics: each subject predicted by the model that did not train on it.

    Needs the very data the models were trained on (checked by SHA-256 against
    the manifest), since the folds are defined on its subjects.
    """
    from .analysis.predict import Ensemble

    ens = Ensemble.load(model_dir)
    folds = trained_folds(ens, data_sha256, dataset.n_subjects)
    by_fold = fold_models(ens)
    pred = np.zeros((dataset.n_subjects, dataset.n_frames, 11))
    for s in range(dataset.n_subjects):
        single = by_fold[int(folds[s])]
        pred[s] = single.predict_raw(dataset.images[s], float(dataset.pixel_size_mm[s])).mean.to_array()
        if progress:
            progress(1)
    result = lvquan_metrics(pred, dataset.indices.to_array(), dataset.phase, phase_method=phase_method)
    result["cross_validated"] = True
    return result


def predict_crops(crops: Any, ensemble: Any, *, folds: np.ndarray | None = None, progress: Any = None) -> np.ndarray:
    """(N, F, 11) ensemble predictions in mm / mm² for every row of a :class:`lvquant.datasets.CropSet`.

    With ``folds`` (the manifest's fold of each row), row r is predicted by the model of its
    fold only (cross-validated: the model that did not train on it).
    """
    if crops.spec != ensemble.spec:
        raise InputError("these crops were cut with another input spec than the models expect: rebuild them "
                         "with 'lvquant dataset --models' of these models")
    by_fold = fold_models(ensemble) if folds is not None else {}
    out = []
    for r in range(len(crops)):
        ens = by_fold[int(folds[r])] if folds is not None else ensemble
        out.append(ens.predict_raw(crops.images[r], float(crops.pixel_mm[r])).mean.to_array())
        if progress:
            progress(1)
    return np.stack(out)


def crop_metrics(crops: Any, pred_mm: np.ndarray, *, phase_method: str = "poly") -> dict[str, Any]:
    """LVQuan metrics and signed bias of predictions for a crop set: the mid slices (the LVQuan
    protocol) and every row, overall, per source and per source/group (mid slices)."""
    true = np.asarray(crops.indices, dtype=np.float64)
    mid = np.asarray(crops.mid, dtype=bool)
    sources = np.asarray(crops.sources)
    groups = np.asarray([f"{s}/{g}" for s, g in zip(crops.sources, crops.groups)])

    def part(rows: np.ndarray) -> dict[str, Any] | None:
        if not rows.any() or not np.isfinite(true[rows]).any():
            return None
        m = lvquan_metrics(pred_mm[rows], true[rows], crops.phase[rows], phase_method=phase_method)
        m["n_patients"] = len({(s, p) for s, p, keep in zip(crops.sources, crops.subjects, rows) if keep})
        return m

    return {
        "mid": part(mid),
        "all_rows": part(np.ones(len(mid), bool)),
        "by_source": {s: {"mid": part(mid & (sources == s)), "all_rows": part(sources == s)}
                      for s in sorted(set(crops.sources))},
        "by_group": {g: part(mid & (groups == g)) for g in sorted(set(groups))},
    }
