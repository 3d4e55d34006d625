"""Train the border network (:mod:`lvquant.nets.segnet`) on label maps (PyTorch).

Data: a :class:`~lvquant.datasets.masks.MaskSet` (every LV slice of labelled real stacks, cut by
the regression networks' input spec). Each crop is normalised as the analysis normalises it
(:func:`lvquant.analysis.convert.normalize_intensity` over the slice's frames), then, per batch,
turned by a random similarity transform that keeps the labels exact (image and one-hot labels
resampled together; rotation ±``rotation_deg``, scale ×[1 − ``scale``, 1 + ``scale``], shift
±``shift_px``, vertical flip with probability 1/2: the RV stays on the left). Loss: cross-entropy
plus the soft Dice of cavity and myocardium. AdamW with a one-cycle learning rate. Seeded and
single-process: the same numbers on any machine of one kind.

With validation patients the network of the epoch with the best validation mean Dice (cavity
and myocardium, over the validation slices) is kept; the manifest records every evaluation.

Output folder: ``borders.onnx`` (:class:`~lvquant.nets.segnet.BorderGraph`: (B, P, P) crops in,
(B, 3, P, P) probabilities out), ``borders.json`` (format, spec, checksum, how it was trained,
validation figures) and ``borders.safetensors`` (the training state, for fine-tuning).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from .analysis.convert import normalize_intensity
from .datasets.masks import MaskSet
from .errors import InputError
from .nets.segnet import CLASSES, BorderGraph, BorderNet
from .outputs import atomic_file
from .weights_io import save_state, sha256_bytes

FORMAT = "lvquant-borders/1"
ONNX_FILE = "borders.onnx"
MANIFEST_FILE = "borders.json"
STATE_FILE = "borders.safetensors"


@dataclass(frozen=True)
class BorderTrainConfig:
    """Training settings (recorded in the manifest)."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    width: int = 16
    rotation_deg: float = 20.0
    scale: float = 0.1
    shift_px: float = 4.0
    seed: int = 0
    threads: int = 2
    eval_every: int = 5

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.width < 4 or self.threads < 1 or self.eval_every < 1:
            raise InputError("epochs, batch size, threads and eval_every must be positive, the width at least 4")
        if not self.lr > 0:
            raise InputError("the learning rate must be positive")


def prepare(crops: MaskSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised images (N·F, P, P) float32, labels (N·F, P, P) int64, row of each image (N·F,)."""
    x = np.concatenate([normalize_intensity(crops.images[r], crops.spec) for r in range(len(crops))])
    y = crops.labels.reshape(-1, *crops.labels.shape[2:]).astype(np.int64)
    rows = np.repeat(np.arange(len(crops)), crops.images.shape[1])
    return x.astype(np.float32), y, rows


def augment(x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator, cfg: BorderTrainConfig
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """A random similarity transform and vertical flip per image, labels resampled with the image.

    Args:
        x: (B, 1, P, P) images; y: (B, P, P) labels.
    """
    b, p = x.shape[0], x.shape[-1]
    ang = np.radians(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg, b))
    sc = rng.uniform(1 - cfg.scale, 1 + cfg.scale, b)
    sh = rng.uniform(-cfg.shift_px, cfg.shift_px, (b, 2)) * 2.0 / p
    flip = np.where(rng.random(b) < 0.5, -1.0, 1.0)
    theta = np.zeros((b, 2, 3))
    theta[:, 0, 0], theta[:, 0, 1] = np.cos(ang) / sc, -np.sin(ang) / sc
    theta[:, 1, 0], theta[:, 1, 1] = np.sin(ang) / sc * flip, np.cos(ang) / sc * flip
    theta[:, :, 2] = sh
    grid = F.affine_grid(torch.tensor(theta, dtype=torch.float32), list(x.shape), align_corners=False)
    xa = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    onehot = F.one_hot(y, len(CLASSES)).permute(0, 3, 1, 2).float()
    ya = F.grid_sample(onehot, grid, mode="bilinear", padding_mode="border", align_corners=False).argmax(1)
    return xa, ya


def border_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy + (1 − soft Dice) of cavity and myocardium, over the batch."""
    ce = F.cross_entropy(logits, y)
    prob = torch.softmax(logits, 1)
    onehot = F.one_hot(y, len(CLASSES)).permute(0, 3, 1, 2).float()
    inter = (prob * onehot).sum((0, 2, 3))[1:]
    total = (prob + onehot).sum((0, 2, 3))[1:]
    return ce + (1.0 - (2 * inter + 1.0) / (total + 1.0)).mean()


def dice_scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Mean Dice of cavity and myocardium over the images where the truth or the prediction holds the
    class (images where neither does are left out): (N, P, P) label maps."""
    out = {}
    for c, name in ((1, "cavity"), (2, "myocardium")):
        p, t = pred == c, truth == c
        inter = (p & t).sum((1, 2))
        total = p.sum((1, 2)) + t.sum((1, 2))
        keep = total > 0
        out[name] = float(np.mean(2.0 * inter[keep] / total[keep])) if keep.any() else float("nan")
    return out


def predict_labels(net: BorderNet, x: np.ndarray, batch: int = 64) -> np.ndarray:
    """(N, P, P) normalised crops -> (N, P, P) label maps (evaluation mode)."""
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            out.append(net(torch.from_numpy(x[i:i + batch, None])).argmax(1).numpy())
    return np.concatenate(out).astype(np.uint8)


def train_border_net(train: MaskSet, out_dir: str | Path, *, cfg: BorderTrainConfig, provenance: dict[str, Any],
                     val: MaskSet | None = None, name: str = "lvquant-borders", init: str | Path | None = None,
                     progress: Callable[[int, float, dict[str, float] | None], None] | None = None) -> dict[str, Any]:
    """Train (from ``init``, a ``borders.safetensors`` of the same width, when given), keep the best
    validation epoch (or the last), write the model folder; returns the manifest."""
    if not len(train):
        raise InputError("no training crops")
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(cfg.seed)
    x, y, _ = prepare(train)
    xv, yv = (prepare(val)[:2] if val is not None and len(val) else (None, None))
    net = BorderNet(cfg.width)
    if init is not None:
        from .weights_io import load_state

        try:
            net.load_state_dict(load_state(init), strict=True)
        except RuntimeError as exc:
            raise InputError(f"{init} does not fit a border network of width {cfg.width}: {exc}") from None
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    per_epoch = math.ceil(x.shape[0] / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * per_epoch,
                                                pct_start=0.1)
    t0 = time.perf_counter()
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    for epoch in range(cfg.epochs):
        net.train()
        order = rng.permutation(x.shape[0])
        losses = []
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            xb, yb = augment(torch.from_numpy(x[idx, None]), torch.from_numpy(y[idx]), rng, cfg)
            opt.zero_grad()
            loss = border_loss(net(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        entry: dict[str, Any] = {"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 5)}
        scores = None
        if xv is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
            scores = dice_scores(predict_labels(net, xv), yv)
            entry.update({f"val_dice_{k}": round(v, 4) for k, v in scores.items()})
            mean = (scores["cavity"] + scores["myocardium"]) / 2
            if best is None or mean > best[0]:
                best = (mean, epoch + 1, {k: v.detach().clone() for k, v in net.state_dict().items()})
        history.append(entry)
        if progress is not None:
            progress(epoch + 1, entry["loss"], scores)
    kept_epoch = cfg.epochs
    if best is not None:
        net.load_state_dict(best[2])
        kept_epoch = best[1]
    net.eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from .nets.export import export_module

    onnx_path = out / ONNX_FILE
    p = train.spec.crop_pixels
    export_module(BorderGraph(net).eval(), torch.zeros((2, p, p)), onnx_path, {"crops": 0}, {"probabilities": 0})
    state_sha = save_state({k: v.contiguous() for k, v in net.state_dict().items()}, out / STATE_FILE)
    final_val = None
    if xv is not None:
        final_val = dice_scores(predict_labels(net, xv), yv)
    manifest = {
        "format": FORMAT,
        "name": name,
        "file": ONNX_FILE,
        "sha256": sha256_bytes(onnx_path.read_bytes()),
        "state_file": STATE_FILE,
        "state_sha256": state_sha,
        "input_spec": train.spec.to_dict(),
        "classes": list(CLASSES),
        "inputs": "crops: float32 (batch, P, P), cut and normalised by input_spec (the regression networks' crops)",
        "outputs": "probabilities: float32 (batch, 3, P, P) of background, LV cavity, LV myocardium",
        "training": {
            "config": asdict(cfg),
            "n_slices": len(train),
            "n_images": int(x.shape[0]),
            "kept_epoch": kept_epoch,
            "initialised_from": None if init is None else str(Path(init).name),
            "validation_dice": final_val,
            "history": history,
            "seconds": round(time.perf_counter() - t0, 1),
            "torch_version": torch.__version__,
            **provenance,
        },
    }
    with atomic_file(out / MANIFEST_FILE) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    return manifest


__all__ = ["BorderTrainConfig", "train_border_net", "prepare", "augment", "border_loss", "dice_scores",
           "predict_labels", "FORMAT", "ONNX_FILE", "MANIFEST_FILE"]
