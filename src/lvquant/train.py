"""Training the N-model DLA ensemble by K-means-stratified cross-validation.

The steps, each rerunnable on its own (MONAI / nnU-Net style, files between):

1. :func:`prepare` turns a labelled LVQuan-layout dataset into training arrays:
   raw crops (80 × 80 for LVQuan data), targets in normalised units (lengths / crop side, areas /
   crop side²), true phases.
2. :func:`make_folds` splits subjects into folds (K-means-stratified, the
   method's, or contiguous blocks); written to ``folds.json``.
3. :func:`train_fold` trains one network on all folds but one, validating on
   the held-out fold with early stopping. A checkpoint is written after every
   epoch, so an interrupted run resumes where it stopped.
4. :func:`train_ensemble` runs the folds and writes ``fold_k.safetensors``,
   the inference graph ``ensemble.onnx`` (:mod:`lvquant.nets.export`), and
   ``manifest.json`` (architecture, the input spec the crops were cut with,
   data, split, seed, epochs, validation metrics) and the cross-validated
   predictions ``cv_predictions.npz``.

Augmentation keeps labels exactly true: zoom (normalised lengths scale by the
zoom, areas by its square), shifts (indices are translation invariant), an
optional vertical flip (A↔I, AL↔IL, IS↔AS, D1↔D3 — the RV stays on the left),
smooth coil bias field, blur and Rician noise, applied to a subject's raw crops
*before* intensity normalisation, exactly the normalisation used at inference.
No rotation: the RV-on-the-left convention defines the segments.

Determinism: every epoch's random numbers derive from (seed, fold, epoch), so
a resumed run is identical to an uninterrupted one on the same machine.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from scipy import ndimage as ndi

from . import __version__
from .analysis.convert import normalize_intensity
from .analysis.spec import INTENSITY_METHODS, InputSpec
from .errors import InputError
from .evaluate import lvquan_metrics
from .folds import contiguous_folds, kmeans_folds, subject_descriptors
from .indices import normalised_to_mm
from .nets.dla import DLA_VARIANTS, create_dla
from .nets.export import OPSET, build_graph, export_onnx
from .nets.widen import can_widen, widen_state
from .outputs import atomic_file, check_writable_dir, write_text_atomic
from .weights_io import (MANIFEST_FORMAT, ONNX_NAME, load_state, read_manifest, save_state, sha256_file,
                         write_manifest)

SPLITS = ("kmeans", "contiguous")
#: Target permutation of a vertical flip (θ -> 180° - θ): D1<->D3, RWT IS<->AS, I<->A, IL<->AL.
FLIP_PERMUTATION = np.array([0, 1, 4, 3, 2, 10, 9, 8, 7, 6, 5])


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; the defaults are the shipped ensemble's.

    Attributes:
        network: DLA variant name (see :data:`lvquant.nets.DLA_VARIANTS`).
        epochs: maximum epochs per fold.
        patience: stop when validation has not improved for this many epochs.
        batch_size: frames per optimisation step, drawn at random from all
            training subjects (mixing subjects keeps BatchNorm statistics close
            to the ones used at inference).
        lr, weight_decay: AdamW settings; the rate follows a cosine decay after a
            linear warm-up.
        warmup_epochs: length of the warm-up (0 for none, e.g. when fine-tuning).
        seed: seed of everything random.
        intensity: ``"equalize"`` (the method) or ``"percentile"`` (ablation).
        augment: label-preserving augmentation on/off.
        zoom: range of the random zoom factor.
        shift_px: largest random shift (pixels of the crop).
        flip: random vertical flips with label permutation.
        rotate_deg: largest random in-plane rotation in degrees (0: none). A rotated crop keeps its
            exact areas (A1, A2 do not depend on the direction) and loses its dims and RWT (they are
            measured along directions fixed to the RV, which the rotation moves): those targets are
            set missing, so the loss learns only the areas from it. Teaches the areas not to depend on
            how well the localiser turned the crop.
        rotate_p: the chance that a subject's crops are rotated.
        noise: range of Rician noise sigma, relative to the crop's 99th percentile.
        bias: amplitude of the smooth multiplicative bias field (log scale).
        blur: range of the Gaussian blur sigma in pixels.
        threads: torch CPU threads (default: all cores).
    """

    network: str = "dla-small"
    epochs: int = 60
    patience: int = 15
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    seed: int = 0
    intensity: str = "equalize"
    augment: bool = True
    zoom: tuple[float, float] = (0.9, 1.1)
    shift_px: float = 4.0
    flip: bool = False
    rotate_deg: float = 0.0
    rotate_p: float = 0.35
    noise: tuple[float, float] = (0.0, 0.04)
    bias: float = 0.25
    blur: tuple[float, float] = (0.0, 0.8)
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.network not in DLA_VARIANTS:
            raise InputError(f"unknown network {self.network!r}; choose one of {', '.join(DLA_VARIANTS)}")
        if self.intensity not in INTENSITY_METHODS:
            raise InputError(f"intensity must be one of {', '.join(INTENSITY_METHODS)}")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise InputError("epochs, patience and batch size must be at least 1")
        if not (self.lr > 0 and math.isfinite(self.lr)) or not (0 <= self.warmup_epochs < math.inf):
            raise InputError("the learning rate must be positive and the warm-up a number of epochs, not negative")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise InputError("the weight decay must be a number, not negative")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"the seed must be a whole number, 0 or more; got {self.seed!r}")
        if not (0 <= self.rotate_deg <= 180 and 0 <= self.rotate_p <= 1):
            raise InputError(f"the rotation must be 0 to 180 degrees and its chance 0 to 1; got "
                             f"{self.rotate_deg!r}, {self.rotate_p!r}")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise InputError(f"threads must be a whole number, 1 or more; got {self.threads!r}")

    @classmethod
    def quick(cls, **overrides: Any) -> "TrainConfig":
        """A tiny network for a few epochs: seconds on a laptop, for tests and trials."""
        return replace(cls(network="dla-tiny", epochs=2, patience=2, batch_size=16), **overrides)


@dataclass(frozen=True)
class TrainingData:
    """Training arrays of S subjects × T frames.

    Attributes:
        images: (S, T, P, P) float32 raw crops (any intensity scale), P a multiple of 16.
        targets: (S, T, 11) normalised indices (lengths / crop side, areas / side²).
        crop_side_mm: (S,) crop side in mm, ``P × effective pixel size``.
        phase: (S, T) int true phase, or None.
        description: what the data are (file name, subjects), for the manifest.
        sha256: checksum of the source file, when read from a file.
        input_spec: how the crops were cut (the analysis will cut its crops the
            same way); default: the method's spec with side P.
        groups: (S,) the patient of each row, when several rows come from one patient
            (several slices): folds then keep a patient's rows together. None: every
            row is its own subject.
        provenance: sources, patient lists and licences of the data, for the manifest.
    """

    images: np.ndarray
    targets: np.ndarray
    crop_side_mm: np.ndarray
    phase: np.ndarray | None = None
    description: str = ""
    sha256: str | None = None
    input_spec: InputSpec | None = None
    groups: tuple[str, ...] | None = None
    provenance: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[2] != self.images.shape[3] or self.images.shape[2] % 16:
            raise InputError(f"training crops must be (subjects, frames, P, P) with P a multiple of 16; "
                             f"got shape {self.images.shape}")
        s, t = self.images.shape[:2]
        if self.input_spec is not None and self.input_spec.crop_pixels != self.images.shape[2]:
            raise InputError(f"the crops are {self.images.shape[2]} pixels wide; their input spec says "
                             f"{self.input_spec.crop_pixels}")
        if self.targets.shape != (s, t, 11) or self.crop_side_mm.shape != (s,):
            raise InputError("training labels do not match the images (subjects × frames × 11 expected)")
        if not np.all(np.isfinite(self.images)) or np.any(np.isinf(self.targets)):
            raise InputError("training images contain NaN or infinite values, or the labels infinite ones")
        if not np.all(np.isfinite(self.targets[..., 0])):
            raise InputError("every training frame needs its cavity area (A1); other indices may be missing (NaN)")
        if self.groups is not None and len(self.groups) != s:
            raise InputError(f"{len(self.groups)} patient names for {s} rows")

    @property
    def n_subjects(self) -> int:
        return int(self.images.shape[0])

    @property
    def crop_pixels(self) -> int:
        return int(self.images.shape[2])

    def spec_for(self, cfg: TrainConfig) -> InputSpec:
        """The input spec of networks trained on these crops with ``cfg`` (its intensity method)."""
        base = self.input_spec if self.input_spec is not None else InputSpec(crop_pixels=self.crop_pixels)
        return replace(base, intensity=cfg.intensity)

    def targets_mm(self) -> np.ndarray:
        return normalised_to_mm(self.targets, self.crop_side_mm[:, None])


def prepare(dataset: Any, *, description: str = "", sha256: str | None = None) -> TrainingData:
    """Training arrays from a labelled :class:`lvquant.io.lvquan_mat.LVQuanDataset`."""
    if not getattr(dataset, "has_labels", False):
        raise InputError("the dataset has no labels (areas, dims, rwt): it cannot be used for training or evaluation")
    images = np.asarray(dataset.images, dtype=np.float32)
    side = images.shape[-1] * np.asarray(dataset.pixel_size_mm, dtype=np.float64)
    from .indices import mm_to_normalised

    targets = mm_to_normalised(dataset.indices.to_array(), side[:, None])
    phase = None if dataset.phase is None else np.asarray(dataset.phase, dtype=np.int64)
    return TrainingData(images, targets, side, phase, description, sha256)


def prepare_crops(crops: Any, *, description: str = "", sha256: str | None = None) -> TrainingData:
    """Training arrays from a :class:`lvquant.datasets.CropSet` (real labelled crops; rows grouped by patient)."""
    side = crops.images.shape[-1] * np.asarray(crops.pixel_mm, dtype=np.float64)
    from .indices import mm_to_normalised

    targets = mm_to_normalised(np.asarray(crops.indices, dtype=np.float64), side[:, None])
    groups = tuple(f"{src}:{subj}" for src, subj in zip(crops.sources, crops.subjects))
    from .datasets.files import licences_of

    provenance = {"sources": sorted(set(crops.sources)), "patients": sorted(set(groups)), "n_rows": len(crops),
                  "licences": licences_of(crops)}
    return TrainingData(np.asarray(crops.images, dtype=np.float32), targets, side,
                        np.asarray(crops.phase, dtype=np.int64), description, sha256, crops.spec, groups, provenance)


def make_folds(data: TrainingData, n_folds: int = 5, split: str = "kmeans", seed: int = 0,
               keep: dict[str, int] | None = None) -> np.ndarray:
    """(S,) fold of each row. ``kmeans``: the method's; ``contiguous``: published blocks.

    With ``data.groups`` the folds are drawn over patients (the K-means descriptor of a
    patient is the mean of its rows'), and every row takes its patient's fold: no patient
    is in two folds.

    ``keep`` (patient -> fold, e.g. the ``patient_folds`` of a model folder being fine-tuned)
    fixes the fold of every patient it names; the other patients are split among
    themselves as above (or spread in turn when fewer than ``n_folds``).
    """
    if keep:
        if data.groups is None:
            raise InputError("patient folds can only be kept for data grouped by patient")
        groups = np.asarray(data.groups)
        known = np.array([g in keep for g in groups])
        folds = np.full(data.n_subjects, -1, dtype=np.int64)
        folds[known] = [int(keep[g]) for g in groups[known]]
        if known.any() and not (0 <= folds[known].min() and folds[known].max() < n_folds):
            raise InputError(f"the kept patient folds do not fit {n_folds} folds")
        rest = np.flatnonzero(~known)
        if len(rest):
            names = sorted(set(groups[rest]))
            if len(names) >= n_folds:
                sub = replace(data, images=data.images[rest], targets=data.targets[rest],
                              crop_side_mm=data.crop_side_mm[rest],
                              phase=None if data.phase is None else data.phase[rest],
                              groups=tuple(groups[rest]))
                folds[rest] = make_folds(sub, n_folds, split, seed)
            else:
                turn = {g: i % n_folds for i, g in enumerate(names)}
                folds[rest] = [turn[g] for g in groups[rest]]
        return folds
    if split not in SPLITS:
        raise InputError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    names, row_patient = np.unique(np.asarray(data.groups if data.groups is not None else
                                              [str(i) for i in range(data.n_subjects)]), return_inverse=True)
    if data.groups is None:
        row_patient = np.arange(data.n_subjects)
    if len(names) < n_folds:
        raise InputError(f"{len(names)} patients cannot fill {n_folds} folds")
    if split == "contiguous":
        return contiguous_folds(len(names), n_folds)[row_patient]
    targets = data.targets.copy()
    missing = ~np.isfinite(targets)
    if missing.any():  # a missing index takes that index's mean, so it does not pull the clustering
        targets[missing] = np.broadcast_to(np.nanmean(targets.reshape(-1, 11), axis=0), targets.shape)[missing]
    rows = subject_descriptors(data.images, targets)
    if data.groups is None:
        return kmeans_folds(rows, n_folds, n_folds, seed=seed)
    per_patient = np.stack([rows[row_patient == p].mean(axis=0) for p in range(len(names))])
    return kmeans_folds(per_patient, n_folds, n_folds, seed=seed)[row_patient]


# ------------------------------------------------------------------ augmentation
def _bias_field(rng: np.random.Generator, amplitude: float, size: int) -> np.ndarray:
    coarse = rng.normal(0.0, amplitude, (4, 4))
    return np.exp(ndi.zoom(coarse, size / 4, order=3, mode="nearest")[:size, :size])


def augment_subject(frames: np.ndarray, targets: np.ndarray, rng: np.random.Generator,
                    cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Label-preserving augmentation of one subject's raw crops.

    Args:
        frames: (T, P, P) raw crops.
        targets: (T, 11) normalised indices.

    Returns:
        Augmented (frames, targets); the same geometric transform for all frames.
    """
    t, h, w = frames.shape
    x = frames.astype(np.float32) / max(float(np.percentile(frames, 99)), 1e-6)
    y = targets.copy()
    zoom = rng.uniform(*cfg.zoom)
    shift = rng.uniform(-cfg.shift_px, cfg.shift_px, 2)
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    # output pixel o samples input at centre + M (o - centre) - shift / zoom, M = R(angle) / zoom
    rotated = cfg.rotate_deg > 0 and rng.random() < cfg.rotate_p  # no draw at all without rotation
    if rotated:
        a = np.deg2rad(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg))
        matrix = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) / zoom
        offset = centre - matrix @ centre - shift / zoom
    else:  # scipy's zoom path, exactly as before rotations existed
        matrix, offset = np.full(2, 1.0 / zoom), centre - centre / zoom - shift / zoom
    x = np.stack([ndi.affine_transform(f, matrix, offset=offset, order=1, mode="reflect") for f in x])
    y[:, :2] *= zoom**2
    y[:, 2:] = np.nan if rotated else y[:, 2:] * zoom
    if cfg.flip and rng.random() < 0.5:
        x = x[:, ::-1, :]
        y = y[:, FLIP_PERMUTATION]
    if cfg.bias > 0:
        x = x * _bias_field(rng, cfg.bias, h)[None]
    sigma = rng.uniform(*cfg.blur)
    if sigma > 0.05:
        x = ndi.gaussian_filter(x, (0, sigma, sigma))
    noise = rng.uniform(*cfg.noise)
    if noise > 0:
        x = np.sqrt((x + rng.normal(0, noise, x.shape)) ** 2 + rng.normal(0, noise, x.shape) ** 2)
    return np.ascontiguousarray(x, dtype=np.float32), y


# ---------------------------------------------------------------------- training
def _lr_at(cfg: TrainConfig, epoch: float) -> float:
    if epoch < cfg.warmup_epochs:
        return cfg.lr * max(epoch / cfg.warmup_epochs, 0.05)
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * min(epoch / cfg.epochs, 1.0)))


def _optim_state(opt: torch.optim.Optimizer, params: list[torch.nn.Parameter]) -> dict[str, torch.Tensor]:
    out = {}
    for i, p in enumerate(params):
        for k, v in opt.state.get(p, {}).items():
            out[f"optim.{i}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
    return out


def _load_optim_state(opt: torch.optim.Optimizer, params: list[torch.nn.Parameter], tensors: dict[str, torch.Tensor]) -> None:
    for key, v in tensors.items():
        if key.startswith("optim."):
            _, i, k = key.split(".", 2)
            opt.state[params[int(i)]][k] = v.clone()


@dataclass
class FoldResult:
    """What training one fold produced."""

    fold: int
    state: dict[str, torch.Tensor]
    best_epoch: int
    epochs_run: int
    best_val_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def _standardise(data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    flat = data.targets.reshape(-1, 11)
    mean, std = np.nanmean(flat, 0), np.nanstd(flat, 0)
    # a (near-)constant target would blow up its z-score: leave it unscaled
    return mean, np.where(std > 1e-6 * (np.abs(mean) + 1e-6), std, 1.0)


def masked_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Smooth-L1 loss (beta 0.5) over the known targets only (a missing index is NaN and adds nothing)."""
    known = torch.isfinite(target)
    per = torch.nn.functional.smooth_l1_loss(pred, torch.where(known, target, pred.detach()), beta=0.5,
                                             reduction="none")
    return (per * known).sum() / known.sum().clamp(min=1)


def _normalised_stacks(data: TrainingData, subjects: np.ndarray, cfg: TrainConfig) -> np.ndarray:
    spec = data.spec_for(cfg)
    return np.stack([normalize_intensity(data.images[s], spec) for s in subjects]) if len(subjects) else np.zeros((0,))


def train_fold(data: TrainingData, train_subjects: np.ndarray, val_subjects: np.ndarray, cfg: TrainConfig, *,
               fold: int = 0, target_mean: np.ndarray, target_std: np.ndarray, checkpoint: Path | None = None,
               init_state: dict[str, torch.Tensor] | None = None,
               progress: Callable[[dict[str, Any]], None] | None = None) -> FoldResult:
    """Train one network; validate on ``val_subjects`` with early stopping.

    Args:
        data: the training arrays.
        train_subjects, val_subjects: subject numbers (disjoint).
        cfg: settings.
        fold: fold number (seeds the random streams).
        target_mean, target_std: (11,) standardisation of the normalised targets.
        checkpoint: path prefix (without suffix) of the resumable checkpoint.
        init_state: weights to start from (fine-tuning) instead of a random
            initialisation; a checkpoint, when present, takes precedence.
        progress: called after every epoch with a dict (fold, epoch, epochs,
            train_loss, val_loss, best_epoch).
    """
    if np.intersect1d(train_subjects, val_subjects).size:
        raise InputError("a subject cannot be in both the training and the validation set")
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    torch.manual_seed(cfg.seed * 1009 + fold)
    net = create_dla(cfg.network, data.crop_pixels)
    if init_state is not None:
        net.load_state_dict(init_state)
    params = list(net.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    mean_t = torch.tensor(target_mean, dtype=torch.float32)
    std_t = torch.tensor(target_std, dtype=torch.float32)
    p = data.crop_pixels
    val_x = torch.from_numpy(_normalised_stacks(data, val_subjects, cfg).reshape(-1, 1, p, p)) \
        if len(val_subjects) else None
    val_y = torch.from_numpy(((data.targets[val_subjects].reshape(-1, 11) - target_mean) / target_std).astype(np.float32))
    train_static = None if cfg.augment else _normalised_stacks(data, train_subjects, cfg)

    start_epoch, best_val, best_epoch, best_state, history = 0, math.inf, -1, None, []
    ckpt_json = checkpoint.with_suffix(".ckpt.json") if checkpoint else None
    ckpt_tensors = checkpoint.with_suffix(".ckpt.safetensors") if checkpoint else None
    if ckpt_json and ckpt_json.is_file() and ckpt_tensors and ckpt_tensors.is_file():
        meta = json.loads(ckpt_json.read_text())
        if meta.get("config") == _config_dict(cfg):
            tensors = load_state(ckpt_tensors)
            net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            _load_optim_state(opt, params, tensors)
            best_state = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")} or None
            start_epoch, best_val, best_epoch, history = meta["epoch"] + 1, meta["best_val"], meta["best_epoch"], meta["history"]

    t0 = time.perf_counter()
    for epoch in range(start_epoch, cfg.epochs):
        if best_epoch >= 0 and epoch - best_epoch > cfg.patience:
            break
        rng = np.random.default_rng([cfg.seed, fold, epoch])
        torch.manual_seed(int(rng.integers(2**31)))
        x_epoch, y_epoch = _epoch_arrays(data, train_subjects, cfg, rng, train_static)
        order = rng.permutation(len(x_epoch))
        steps = max(1, math.ceil(len(order) / cfg.batch_size))
        net.train()
        losses = []
        for step in range(steps):
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            x = torch.from_numpy(x_epoch[idx][:, None])
            y = (torch.from_numpy(y_epoch[idx]) - mean_t) / std_t
            for g in opt.param_groups:
                g["lr"] = _lr_at(cfg, epoch + step / steps)
            loss = masked_loss(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        val_loss = _val_loss(net, val_x, val_y) if val_x is not None else float(np.mean(losses))
        if val_loss < best_val:
            best_val, best_epoch = val_loss, epoch
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        record = {"epoch": epoch, "train_loss": float(np.mean(losses)), "val_loss": val_loss,
                  "lr": _lr_at(cfg, epoch + 1), "best_epoch": best_epoch}
        history.append(record)
        if checkpoint:
            tensors = {f"model.{k}": v for k, v in net.state_dict().items()}
            tensors.update({f"best.{k}": v for k, v in (best_state or {}).items()})
            tensors.update(_optim_state(opt, params))
            save_state(tensors, ckpt_tensors)
            write_text_atomic(ckpt_json, json.dumps({"epoch": epoch, "best_val": best_val, "best_epoch": best_epoch,
                                                     "history": history, "config": _config_dict(cfg)}))
        if progress:
            progress({"fold": fold, "epochs": cfg.epochs, **record})
    assert best_state is not None
    return FoldResult(fold, best_state, best_epoch, len(history), best_val, history, time.perf_counter() - t0)


def _epoch_arrays(data: TrainingData, subjects: np.ndarray, cfg: TrainConfig, rng: np.random.Generator,
                  static: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """One epoch's training frames: (S·T, P, P) normalised crops and (S·T, 11) targets, float32.

    With augmentation on, each subject gets a fresh random transform (the same
    for all its frames) before intensity normalisation.
    """
    if static is not None:
        p = data.crop_pixels
        return static.reshape(-1, p, p), data.targets[subjects].reshape(-1, 11).astype(np.float32)
    spec = data.spec_for(cfg)
    xs, ys = [], []
    for s in subjects:
        frames, targets = augment_subject(data.images[s], data.targets[s], rng, cfg)
        xs.append(normalize_intensity(frames, spec))
        ys.append(targets)
    return np.concatenate(xs).astype(np.float32, copy=False), np.concatenate(ys).astype(np.float32, copy=False)


def _val_loss(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    with torch.inference_mode():
        pred = torch.cat([net(x[i:i + 256]) for i in range(0, len(x), 256)])
    return float(masked_loss(pred, y))


def _config_dict(cfg: TrainConfig) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(cfg)))


def predict_subjects(net: torch.nn.Module, data: TrainingData, subjects: np.ndarray, cfg: TrainConfig,
                     target_mean: np.ndarray, target_std: np.ndarray) -> np.ndarray:
    """(len(subjects), T, 11) normalised predictions of one network."""
    net.eval()
    spec = data.spec_for(cfg)
    out = []
    with torch.inference_mode():
        for s in subjects:
            x = torch.from_numpy(normalize_intensity(data.images[s], spec)[:, None])
            out.append(net(x).double().numpy() * target_std + target_mean)
    return np.stack(out) if out else np.zeros((0, data.images.shape[1], 11))


def patient_folds(data: TrainingData, folds: np.ndarray) -> dict[str, int]:
    """Patient -> fold of rows grouped by patient (what a manifest records as ``patient_folds``)."""
    out: dict[str, int] = {}
    for g, f in zip(data.groups, folds.tolist()):
        if out.setdefault(g, int(f)) != int(f):
            raise InputError(f"patient {g} lies in two folds")
    return out


def _kept_folds(init: str | Path | None, manifest: dict[str, Any] | None, data: TrainingData
                ) -> dict[str, int] | None:
    """The folds a fine-tuning run must keep: the ``patient_folds`` of the ``--init`` folder.

    Fold k fine-tunes the folder's model k, which trained on every patient outside its fold k;
    so each patient it knows keeps its fold, whatever else changed in the data (e.g. corrected
    labels). A folder trained on some of these patients without recording their folds is
    refused: its models may have seen the validation patients.
    """
    if manifest is None or data.groups is None:
        return None
    training = manifest.get("training", {})
    kept = training.get("patient_folds")
    if isinstance(kept, dict):
        return {str(k): int(v) for k, v in kept.items()}
    seen = set(training.get("data", {}).get("provenance", {}).get("patients", []))
    if seen & set(data.groups):
        raise InputError(f"--init {init} was trained on some of these patients but its manifest records no "
                         "patient_folds, so its models may have seen the validation patients "
                         "(add them with scripts/add_patient_folds.py)")
    return None


def _init_ensemble(folder: str | Path, manifest: dict[str, Any], cfg: TrainConfig, data: TrainingData,
                   folds: np.ndarray) -> tuple[list[dict[str, torch.Tensor]], np.ndarray, np.ndarray, dict[str, Any]]:
    """Fold weights, target mean and std (11,), and provenance of a model folder to fine-tune from.

    Fold k starts from the folder's model k. When that folder was trained on
    the same data, its folds must be these folds: otherwise model k would have
    seen fold k's validation subjects and the validation would be contaminated.
    """
    widen = manifest["network"] != cfg.network
    if widen and not (manifest["network"] in DLA_VARIANTS
                      and can_widen(DLA_VARIANTS[manifest["network"]], DLA_VARIANTS[cfg.network])):
        raise InputError(f"--init {folder} holds {manifest['network']} networks, not {cfg.network} "
                         "(nor a narrower variant that it widens)")
    init_spec = InputSpec.from_dict(manifest["input_spec"])
    if init_spec.crop_pixels != data.crop_pixels:
        raise InputError(f"--init {folder} holds networks for {init_spec.crop_pixels}-pixel crops; "
                         f"these crops are {data.crop_pixels} pixels wide")
    models = sorted(manifest["models"], key=lambda m: m["fold"])
    n_folds = int(folds.max()) + 1
    if len(models) != n_folds:
        raise InputError(f"--init {folder} holds {len(models)} models; {n_folds} folds need one each")
    training = manifest.get("training", {})
    trained_on = training.get("data", {})
    if trained_on.get("sha256") is None or data.sha256 is None:  # in-memory data: compare what is known
        same_data = trained_on.get("n_subjects") == data.n_subjects
    else:
        same_data = trained_on["sha256"] == data.sha256
    if same_data and training.get("folds") != folds.tolist():
        raise InputError(f"--init {folder} was trained on this data with other folds: its models saw "
                         "the validation subjects (use the same --split and --seed)")
    states = [load_state(Path(folder) / m["file"], m.get("sha256")) for m in models]
    provenance = {"name": manifest.get("name"), "sha256": [m.get("sha256") for m in models],
                  "training": {k: v for k, v in training.items() if k != "folds"}}
    if widen:  # the same function in a wider network (lvquant.nets.widen); the added channels start random
        states = [widen_state(st, manifest["network"], cfg.network, input_size=data.crop_pixels, seed=cfg.seed * 1009 + k)
                  for k, st in enumerate(states)]
        provenance["widened_from"] = manifest["network"]
    return states, np.array(manifest["targets"]["mean"]), np.array(manifest["targets"]["std"]), provenance


def train_ensemble(data: TrainingData, out_dir: str | Path, *, n_folds: int = 5, split: str = "kmeans",
                   config: TrainConfig | None = None, name: str = "custom", init: str | Path | None = None,
                   progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train ``n_folds`` networks by cross-validation and write the model folder.

    Resumable: folds already finished in ``out_dir`` (same data, split and
    settings) are kept, and an interrupted fold continues from its checkpoint.

    With ``init`` (a model folder with one model per fold), fold k fine-tunes
    that folder's model k instead of starting from random weights, keeping its
    target standardisation; the manifest records where it started
    (``training.initialised_from``).

    Returns:
        The manifest written to ``out_dir/manifest.json``.
    """
    cfg = config or TrainConfig()
    spec = data.spec_for(cfg)
    if n_folds < 2:
        raise InputError("cross-validation needs at least 2 folds")
    if data.n_subjects < n_folds:
        raise InputError(f"{data.n_subjects} subjects cannot fill {n_folds} folds")
    init_manifest = read_manifest(init) if init is not None else None
    folds = make_folds(data, n_folds, split, cfg.seed, keep=_kept_folds(init, init_manifest, data))
    init_states, initialised_from = None, None
    if init is None:
        mean, std = _standardise(data)
    else:
        init_states, mean, std, initialised_from = _init_ensemble(init, init_manifest, cfg, data, folds)
    out = check_writable_dir(out_dir)
    plan = {"data_sha256": data.sha256, "n_subjects": data.n_subjects, "split": split, "n_folds": n_folds,
            "grouped_by_patient": data.groups is not None,
            "folds": folds.tolist(), "config": _config_dict(cfg)}
    if initialised_from is not None:
        plan["init"] = initialised_from["sha256"]
    plan_path = out / "plan.json"
    if plan_path.is_file() and json.loads(plan_path.read_text()) != plan:
        raise InputError(f"{out} holds a training run with other data or settings: use a new --out folder")
    write_text_atomic(plan_path, json.dumps(plan) + "\n")

    t0 = time.perf_counter()
    cv_pred = np.zeros_like(data.targets)
    models, states = [], []
    for k in range(n_folds):
        val = np.flatnonzero(folds == k)
        train = np.flatnonzero(folds != k)
        weights = out / f"fold_{k}.safetensors"
        info_path = out / f"fold_{k}.json"
        net = create_dla(cfg.network, data.crop_pixels)
        if weights.is_file() and info_path.is_file():
            info = json.loads(info_path.read_text())
            net.load_state_dict(load_state(weights, info["sha256"]))
        else:
            result = train_fold(data, train, val, cfg, fold=k, target_mean=mean, target_std=std,
                                checkpoint=out / f"fold_{k}", progress=progress,
                                init_state=None if init_states is None else init_states[k])
            net.load_state_dict(result.state)
            sha = save_state(result.state, weights)
            info = {"file": weights.name, "fold": k, "sha256": sha, "best_epoch": result.best_epoch,
                    "epochs_run": result.epochs_run, "best_val_loss": result.best_val_loss,
                    "seconds": round(result.seconds, 1), "n_train_subjects": int(len(train)),
                    "n_val_subjects": int(len(val))}
            pred = predict_subjects(net, data, val, cfg, mean, std)
            val_metrics = lvquan_metrics(normalised_to_mm(pred, data.crop_side_mm[val, None]), data.targets_mm()[val],
                                         None if data.phase is None else data.phase[val])
            info["val"] = {k2: val_metrics[k2] for k2 in ("areas_mae_mm2", "dims_mae_mm", "rwt_mae_mm", "phase_error")}
            write_text_atomic(info_path, json.dumps(info, indent=2) + "\n")
            for suffix in (".ckpt.json", ".ckpt.safetensors"):
                (out / f"fold_{k}{suffix}").unlink(missing_ok=True)
        cv_pred[val] = predict_subjects(net, data, val, cfg, mean, std)
        models.append(info)
        states.append({k: v.detach().clone() for k, v in net.state_dict().items()})

    cv_mm = normalised_to_mm(cv_pred, data.crop_side_mm[:, None])
    cv_metrics = lvquan_metrics(cv_mm, data.targets_mm(), data.phase)
    np.savez(out / "cv_predictions.npz", predictions_mm=cv_mm, folds=folds)
    inference = write_inference_graph(out, states, cfg.network, spec, mean, std)
    manifest = {
        "format": MANIFEST_FORMAT,
        "name": name,
        "lvquant_version": __version__,
        "network": cfg.network,
        "network_config": asdict(DLA_VARIANTS[cfg.network]),
        "input_spec": spec.to_dict(),
        "inference": inference,
        "targets": {"unit": "normalised: lengths / crop side, areas / crop side^2 (crop side = crop_pixels x pixel size)",
                    "order": ["A1", "A2", "D1", "D2", "D3", "RWT1", "RWT2", "RWT3", "RWT4", "RWT5", "RWT6"],
                    "mean": mean.tolist(), "std": std.tolist()},
        "models": models,
        "training": {
            "data": {"description": data.description, "sha256": data.sha256, "n_subjects": data.n_subjects,
                     "frames_per_subject": int(data.images.shape[1]),
                     **({"provenance": data.provenance} if data.provenance else {})},
            "split": split, "n_folds": n_folds, "folds": folds.tolist(), "seed": cfg.seed,
            **({"patient_folds": patient_folds(data, folds)} if data.groups is not None else {}),
            "config": _config_dict(cfg), "torch_version": torch.__version__,
            "seconds": round(time.perf_counter() - t0, 1),
            "cross_validation": {k2: cv_metrics[k2] for k2 in ("areas_mae_mm2", "dims_mae_mm", "rwt_mae_mm", "phase_error")},
        },
    }
    if initialised_from is not None:
        manifest["training"]["initialised_from"] = initialised_from
    manifest = json.loads(json.dumps(manifest))  # plain JSON types (tuples become lists)
    write_manifest(out, manifest)
    return manifest


def average_ensembles(folders: list[str | Path], weights: list[float], out_dir: str | Path, *,
                      name: str = "averaged") -> dict[str, Any]:
    """A weight-space average of model folders fine-tuned from one ensemble, fold by fold.

    Fold k of the result is ``sum_i weights[i] * state_i[k]`` over every floating-point tensor
    (BatchNorm running statistics included; integer counters are taken from the last folder).
    Networks fine-tuned from the same weights stay close enough in weight space for their
    average to be a network in its own right, between its sources on the data each was better
    at (docs/RESULTS.md, 2026-12-04).

    Cross-validation stays honest only if fold k of every folder never saw fold k's patients:
    so the folders must agree on every patient's fold they share (``training.patient_folds``),
    and hold the same network, input spec, target standardisation and folds.

    Args:
        folders: two or more model folders written by :func:`train_ensemble`.
        weights: (len(folders),) positive weights summing to 1.
        out_dir: the new model folder (safetensors per fold, ``ensemble.onnx``, manifest).

    Returns:
        The manifest written: the last folder's ``training`` entry, with ``patient_folds``
        the union of the folders', their sources, patients and licences merged in
        ``data.provenance``, and ``averaged_from`` naming each folder's ensemble, weight,
        fold checksums and training.

    Raises:
        InputError: fewer than two folders, bad weights, or folders that disagree.
    """
    if len(folders) < 2 or len(folders) != len(weights):
        raise InputError("averaging needs two or more model folders, one weight each")
    w = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(w) & (w > 0)) or abs(w.sum() - 1.0) > 1e-6:
        raise InputError(f"the weights must be positive and sum to 1; got {list(weights)}")
    manifests = [read_manifest(f) for f in folders]
    first = manifests[0]
    models_of = [sorted(m["models"], key=lambda x: x["fold"]) for m in manifests]  # per folder, in fold order
    for f, m, models in zip(folders[1:], manifests[1:], models_of[1:]):
        for key in ("network", "input_spec", "targets"):
            if m[key] != first[key]:
                raise InputError(f"{f} differs from {folders[0]} in its {key.replace('_', ' ')}: "
                                 "only folders fine-tuned from one ensemble can be averaged")
        if [x["fold"] for x in models] != [x["fold"] for x in models_of[0]]:
            raise InputError(f"{f} holds {len(models)} models, {folders[0]} {len(models_of[0])}")
    patient_folds: dict[str, int] = {}
    for f, m in zip(folders, manifests):
        for patient, fold in m.get("training", {}).get("patient_folds", {}).items():
            if patient_folds.setdefault(patient, int(fold)) != int(fold):
                raise InputError(f"patient {patient} lies in fold {patient_folds[patient]} in one folder and in "
                                 f"fold {fold} in {f}: an average would have seen its validation patients")
    out = check_writable_dir(out_dir)
    models, states = [], []
    for sources in zip(*models_of):  # fold k of every folder
        loaded = [load_state(Path(f) / x["file"], x.get("sha256")) for f, x in zip(folders, sources)]
        state = {}
        for key, last in loaded[-1].items():
            if last.is_floating_point():
                state[key] = sum(float(wi) * st[key].double() for wi, st in zip(w, loaded)).to(last.dtype)
            else:
                state[key] = last.clone()
        k = int(sources[0]["fold"])
        path = out / f"fold_{k}.safetensors"
        models.append({"file": path.name, "fold": k, "sha256": save_state(state, path),
                       "averaged_from": [x.get("sha256") for x in sources]})
        states.append(state)
    inference = write_inference_graph(out, states, first["network"], InputSpec.from_dict(first["input_spec"]),
                                      np.array(first["targets"]["mean"]), np.array(first["targets"]["std"]))
    training = json.loads(json.dumps(manifests[-1].get("training", {})))
    training.pop("cross_validation", None)  # the average's own figures are measured on the data, not inherited
    if patient_folds:
        training["patient_folds"] = patient_folds
    provenance = training.get("data", {}).get("provenance")
    if isinstance(provenance, dict):
        _merge_provenance(provenance, [m.get("training", {}).get("data", {}).get("provenance", {}) for m in manifests])
    training["averaged_from"] = [
        {"name": m.get("name"), "weight": float(wi), "sha256": [x.get("sha256") for x in models],
         "training": {k2: v for k2, v in m.get("training", {}).items() if k2 not in ("folds", "patient_folds")}}
        for m, models, wi in zip(manifests, models_of, w)]
    manifest = {"format": first["format"], "name": name, "lvquant_version": __version__,
                "network": first["network"], "network_config": first["network_config"],
                "input_spec": first["input_spec"], "inference": inference, "targets": first["targets"],
                "models": models, "training": training}
    write_manifest(out, manifest)
    return manifest


def _merge_provenance(into: dict[str, Any], provenances: list[dict[str, Any]]) -> None:
    """Widen ``into`` (a manifest's ``data.provenance``) to every source, patient and licence of
    ``provenances``: an average's weights derive from all of its folders' training data."""
    for key in ("sources", "patients"):
        if key in into:
            into[key] = sorted(set().union(*(p.get(key, []) for p in provenances)))
    if "licences" in into:
        into["licences"] = {k: v for p in provenances for k, v in p.get("licences", {}).items()}


def write_inference_graph(folder: Path, states: list[dict[str, torch.Tensor]], network: str, spec: InputSpec,
                          target_mean: np.ndarray, target_std: np.ndarray) -> dict[str, Any]:
    """Export the N trained networks as ``folder/ensemble.onnx``; returns the manifest's ``inference`` entry."""
    graph = build_graph(states, DLA_VARIANTS[network], spec.crop_pixels, target_mean, target_std)
    path = Path(folder) / ONNX_NAME
    with atomic_file(path) as tmp:
        export_onnx(graph, spec.crop_pixels, tmp)
    return {
        "file": ONNX_NAME, "sha256": sha256_file(path), "engine": "onnxruntime", "opset": OPSET,
        "input": f"crops: float32 (batch, {spec.crop_pixels}, {spec.crop_pixels}), normalised as input_spec says",
        "output": f"members: float32 ({len(states)}, batch, 11), every model's indices in normalised units "
                  "(lengths / crop side, areas / crop side^2), in the order of targets.order",
    }
