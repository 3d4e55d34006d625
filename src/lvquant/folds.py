"""Cross-validation folds by subject: K-means-stratified (the method's) or contiguous.

The method builds its 5 folds so that every fold sees every kind of subject:

1. a descriptor per subject: the grey-level histogram of its frames plus its
   11 indices averaged over the cycle, each part standardised;
2. K-means of the descriptors into ``n_clusters`` (default 5) clusters;
3. each cluster dealt into ``n_folds`` near-equal parts; fold k takes part k of
   every cluster.

A subject is never split between folds. Published work on LVQuan18 mostly used
contiguous blocks of 29 subjects instead (:func:`contiguous_folds`), kept for
comparison.

Note on the histogram: a histogram taken *after* our histogram equalisation is
flat by construction and carries no information, so the descriptor uses the
histogram of each subject's frames after a plain intensity normalisation
(1st and 99th percentiles mapped to 0 and 1). This keeps the intent (group
subjects whose images look alike) and is documented in docs/RESULTS.md.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 10, max_iter: int = 300) -> np.ndarray:
    """Deterministic K-means (k-means++ initialisation, Lloyd iterations).

    Args:
        x: (n, d) descriptors.
        k: number of clusters (1 <= k <= n).
        seed: random seed; the same seed gives the same labels.
        n_init: restarts; the run with the lowest inertia wins.

    Returns:
        (n,) int labels in 0..k-1, relabelled so clusters are numbered by their
        first member (stable under restarts).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if x.ndim != 2 or not 1 <= k <= n:
        raise InputError(f"K-means needs 1 <= k <= n subjects; got k={k}, descriptors of shape {x.shape}")
    rng = np.random.default_rng(seed)
    best_labels, best_inertia = None, np.inf
    for _ in range(n_init):
        centres = [x[rng.integers(n)]]
        for _ in range(1, k):
            d2 = np.min(((x[:, None, :] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1)
            total = d2.sum()
            probs = d2 / total if total > 0 else np.full(n, 1.0 / n)
            centres.append(x[rng.choice(n, p=probs)])
        c = np.asarray(centres)
        labels = np.full(n, -1)
        for _ in range(max_iter):
            d2 = ((x[:, None, :] - c[None]) ** 2).sum(-1)
            new = np.argmin(d2, axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):
                members = x[labels == j]
                c[j] = members.mean(0) if len(members) else x[np.argmax(d2.min(1))]
        inertia = float(((x - c[labels]) ** 2).sum())
        if inertia < best_inertia - 1e-12:
            best_inertia, best_labels = inertia, labels.copy()
    assert best_labels is not None
    _, first = np.unique(best_labels, return_index=True)
    order = np.argsort(first)
    remap = np.empty(k, dtype=int)
    remap[np.unique(best_labels)[order]] = np.arange(len(order))
    return remap[best_labels]


def subject_descriptors(images: np.ndarray, indices: np.ndarray, n_bins: int = 32) -> np.ndarray:
    """Descriptor per subject: grey-level histogram + mean indices, standardised.

    Args:
        images: (S, T, H, W) frames of each subject.
        indices: (S, T, 11) indices (any consistent unit).
        n_bins: histogram bins over [0, 1] after per-subject 1–99 % normalisation.

    Returns:
        (S, n_bins + 11) array; each column standardised to zero mean and unit
        variance over subjects, and each of the two parts weighted equally.
    """
    images = np.asarray(images, dtype=np.float64)
    indices = np.asarray(indices, dtype=np.float64)
    if images.ndim != 4 or indices.ndim != 3 or indices.shape[:2] != images.shape[:2] or indices.shape[2] != 11:
        raise InputError(f"descriptors need images (S,T,H,W) and indices (S,T,11); got {images.shape} and {indices.shape}")
    hists = []
    for subj in images:
        lo, hi = np.percentile(subj, [1, 99])
        scaled = np.clip((subj - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        h, _ = np.histogram(scaled, bins=n_bins, range=(0, 1))
        hists.append(h / h.sum())
    parts = [np.asarray(hists), np.nanmean(indices, axis=1)]
    out = []
    for part in parts:
        std = part.std(0)
        z = (part - part.mean(0)) / np.where(std > 0, std, 1.0)
        out.append(z / np.sqrt(part.shape[1]))  # equal weight for the two parts
    return np.concatenate(out, axis=1)


def kmeans_folds(descriptors: np.ndarray, n_folds: int = 5, n_clusters: int = 5, *, seed: int = 0) -> np.ndarray:
    """The method's folds: K-means clusters, each dealt evenly over the folds.

    Within a cluster, subjects are shuffled (seeded) and dealt round-robin; the
    dealing continues across clusters where the previous one stopped, so fold
    sizes differ by at most one.

    Returns:
        (S,) int fold number of each subject, 0..n_folds-1.
    """
    n = len(descriptors)
    if n < n_folds:
        raise InputError(f"{n} subjects cannot fill {n_folds} folds")
    labels = kmeans(descriptors, min(n_clusters, n), seed=seed)
    rng = np.random.default_rng(seed + 1)
    folds = np.empty(n, dtype=int)
    position = 0
    for c in range(labels.max() + 1):
        members = np.flatnonzero(labels == c)
        members = members[rng.permutation(len(members))]
        for m in members:
            folds[m] = position % n_folds
            position += 1
    return folds


def contiguous_folds(n_subjects: int, n_folds: int = 5) -> np.ndarray:
    """Published LVQuan18 split: contiguous blocks (29 subjects each for 145).

    Returns:
        (S,) int fold of each subject; block sizes differ by at most one.
    """
    if n_subjects < n_folds:
        raise InputError(f"{n_subjects} subjects cannot fill {n_folds} folds")
    return (np.arange(n_subjects) * n_folds) // n_subjects
