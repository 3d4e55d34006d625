"""Train the learned localiser (PyTorch) on labelled full field-of-view slices and export it to ONNX.

Samples (:class:`LocaliserSample`) come from labelled stacks
(:class:`lvquant.datasets.LabelledStack`: ACDC) and from phantom series
(:func:`lvquant.phantom.render_series`). Every slice is one sample, with its
truth taken from the labels:

* LV present when the slice's cavity label is not empty;
* centre: centroid of cavity + myocardium at ED (the cavity alone where the
  slice has no myocardium label);
* RV direction: from that centre to the centroid of the RV label at ED
  (missing where the slice has no RV label: the loss skips it);
* epicardial radius: ``sqrt(area(cavity + myocardium) / pi)`` at ED (missing
  without a myocardium label).

Augmentation keeps the truth exact: the grid is turned (any angle), mirrored,
zoomed (0.85-1.2) and moved (±40 mm) over the image, and the truth goes
through the same transform; intensity gets a random gamma and Rician-like
noise. Loss: CenterNet's focal loss on a Gaussian heat map (sigma one cell) +
L1 on offset, RV (cos, sin) and log radius on the 3 × 3 cells around the
true centre.

Deterministic: seeded, with a fixed number of torch threads.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from .analysis.localise_learned import FORMAT, RADIUS_REF_MM, GridSpec, image_centre_mm, localiser_input, pick_frames
from .errors import InputError
from .nets.localiser_net import LocaliserGraph, LocaliserNet
from .outputs import atomic_file
from .weights_io import sha256_bytes

__all__ = ["LocaliserSample", "samples_from_stack", "samples_from_phantom", "train_localiser",
           "LocaliserTrainConfig"]


@dataclass(frozen=True)
class LocaliserSample:
    """One slice: two frames and its truth.

    Attributes:
        pair: (2, H, W) float32 two frames (ED and ES, or :func:`pick_frames`'s pair).
        spacing_mm: (row, col).
        centre_mm: (row, col) LV centre in mm from the first pixel's centre, or None (no LV).
        rv_angle_deg: RV direction (clockwise from 12 o'clock), NaN when unknown.
        radius_mm: epicardial radius at ED, NaN when unknown.
        patient: ``source:name``.
    """

    pair: np.ndarray
    spacing_mm: tuple[float, float]
    centre_mm: tuple[float, float] | None
    rv_angle_deg: float
    radius_mm: float
    patient: str


def _angle(d_row: float, d_col: float) -> float:
    return float(np.degrees(np.arctan2(d_col, -d_row)) % 360.0)


def samples_from_stack(stack: Any) -> list[LocaliserSample]:
    """Every slice of a labelled stack (frames ED and ES) as a sample."""
    sp = (float(stack.spacing_mm[0]), float(stack.spacing_mm[1]))
    out = []
    n_frames = stack.images.shape[0]
    for s in range(stack.images.shape[1]):
        pair = stack.images[[0, min(1, n_frames - 1)], s].astype(np.float32)
        cav = stack.cavity[0, s]
        if not cav.any() and n_frames > 1:
            cav = stack.cavity[1, s]
        centre, rv_angle, radius = None, float("nan"), float("nan")
        if cav.any():
            myo = stack.myocardium[0, s] if stack.myocardium is not None else None
            region = cav | myo if myo is not None else cav
            rr, cc = np.nonzero(region)
            centre = (float(rr.mean()) * sp[0], float(cc.mean()) * sp[1])
            if myo is not None and myo.any():
                radius = float(np.sqrt(region.sum() * sp[0] * sp[1] / np.pi))
            if stack.rv is not None and stack.rv[0, s].any():
                ry, rx = np.nonzero(stack.rv[0, s])
                rv_angle = _angle(ry.mean() * sp[0] - centre[0], rx.mean() * sp[1] - centre[1])
        out.append(LocaliserSample(pair, sp, centre, rv_angle, radius, f"{stack.source}:{stack.subject}"))
    return out


def samples_from_phantom(index: int, seed: int) -> list[LocaliserSample]:
    """Every slice of phantom series ``index`` of population ``seed`` as a sample."""
    from .phantom import render_series

    series = render_series(index, seed)
    truth = series.truth
    sp = (float(series.spacing_mm), float(series.spacing_mm))
    by_z = {round(t["z_mm"], 6): t for t in truth["slices"]}
    c_px = truth["lv_centre_px"]
    ed = int(truth["ed_frame"])
    out = []
    for k, z in enumerate(series.z_mm):
        frames = series.pixels[k].astype(np.float32)
        a, b = pick_frames(frames)
        rec = by_z[round(float(z), 6)]["frames"][ed]
        area = float(rec["cavity_area_mm2"])
        centre, radius = None, float("nan")
        if area > 0:
            centre = (c_px[0] * sp[0], c_px[1] * sp[1])
            radius = float(np.sqrt((area + float(rec["myocardium_area_mm2"])) / np.pi))
        rv = float(truth["rv_angle_deg"]) if centre is not None else float("nan")
        out.append(LocaliserSample(frames[[a, b]], sp, centre, rv, radius, f"phantom:{seed}/{index}"))
    return out


@dataclass(frozen=True)
class LocaliserTrainConfig:
    """Training settings of the localiser (defaults: the shipped one's)."""

    epochs: int = 30
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2
    shift_mm: float = 40.0
    zoom: tuple[float, float] = (0.85, 1.2)
    negatives: float = 0.15
    grid: GridSpec = GridSpec()

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.threads < 1:
            raise InputError("epochs, batch size and threads must be at least 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InputError("the learning rate must be a positive number")


def _augment(sample: LocaliserSample, grid: GridSpec, rng: np.random.Generator, cfg: LocaliserTrainConfig,
             augment: bool) -> tuple[np.ndarray, np.ndarray]:
    """Input (2, G, G) and truth vector [present, gi, gj, cos, sin, log r] in grid pixels."""
    pair = sample.pair.astype(np.float32)
    h, w = pair.shape[1:]
    sp = sample.spacing_mm
    has_lv = sample.centre_mm is not None
    if augment and has_lv and rng.random() < cfg.negatives:
        pair, has_lv = _heart_removed(pair, sample, rng), False
    elif augment and rng.random() < cfg.negatives / 4:
        pair, has_lv = _texture(pair.shape, rng), False
    centre = image_centre_mm((h, w), sp)
    rot, zoom, flip = 0.0, 1.0, False
    if augment:
        rot = float(rng.uniform(0.0, 360.0))
        zoom = float(rng.uniform(*cfg.zoom))
        flip = bool(rng.random() < 0.5)
        centre = centre + rng.uniform(-cfg.shift_mm, cfg.shift_mm, 2)
        lo = float(pair.min())
        scale = max(float(np.percentile(pair, 99.5)) - lo, 1e-6)
        unit = np.clip((pair - lo) / scale, 0.0, None)
        gamma = float(rng.uniform(0.7, 1.5))
        pair = unit ** gamma
        sigma = float(rng.uniform(0.0, 0.03))
        if sigma > 0:
            pair = np.sqrt((pair + rng.normal(0, sigma, pair.shape)) ** 2 + rng.normal(0, sigma, pair.shape) ** 2)
    x = localiser_input(pair, sp, grid, centre_mm=(float(centre[0]), float(centre[1])), rotation_deg=rot,
                        zoom=zoom, flip=flip)
    y = np.full(6, np.nan, dtype=np.float32)
    y[0] = 0.0
    if has_lv:
        a = np.deg2rad(rot)
        inv = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])  # R(-a)

        def to_grid(vec: np.ndarray) -> np.ndarray:
            q = inv @ vec
            if flip:
                q = np.array([q[0], -q[1]])
            return q

        q = to_grid(np.asarray(sample.centre_mm) - centre) / (grid.pixel_mm * zoom)
        gi, gj = q + (grid.grid_pixels - 1) / 2.0
        if 0 <= gi < grid.grid_pixels and 0 <= gj < grid.grid_pixels:
            y[0], y[1], y[2] = 1.0, gi, gj
            if np.isfinite(sample.rv_angle_deg):
                t = np.deg2rad(sample.rv_angle_deg)
                d = to_grid(np.array([-np.cos(t), np.sin(t)]))
                ang = np.arctan2(d[1], -d[0])
                y[3], y[4] = np.cos(ang), np.sin(ang)
            if np.isfinite(sample.radius_mm):
                y[5] = np.log(sample.radius_mm / zoom / RADIUS_REF_MM)
    return x, y


def _heart_removed(pair: np.ndarray, sample: LocaliserSample, rng: np.random.Generator) -> np.ndarray:
    """A negative: the disc of twice the epicardial radius around the LV filled with the median of
    the ring just outside it, plus noise of the image's background level."""
    sp = sample.spacing_mm
    r = (sample.radius_mm if np.isfinite(sample.radius_mm) else 35.0) * float(rng.uniform(1.8, 2.4))
    h, w = pair.shape[1:]
    yy, xx = np.mgrid[:h, :w]
    d = np.hypot(yy * sp[0] - sample.centre_mm[0], xx * sp[1] - sample.centre_mm[1])
    out = pair.copy()
    ring = (d > r) & (d <= 1.3 * r)
    sigma = float(np.std(pair[:, :8, :8])) + 1e-3 * float(np.percentile(pair, 99))
    for k in range(2):
        fill = float(np.median(pair[k][ring])) if ring.any() else float(np.median(pair[k]))
        inside = d <= r
        out[k][inside] = np.abs(fill + rng.normal(0, sigma, int(inside.sum())))
    return out


def _texture(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A negative without anatomy: Rician noise or a smooth random texture."""
    from scipy import ndimage as ndi

    if rng.random() < 0.5:
        return np.hypot(rng.normal(0, 1, shape), rng.normal(0, 1, shape)).astype(np.float32)
    base = ndi.gaussian_filter(rng.normal(size=shape[1:]), float(rng.uniform(2, 8)))
    return np.stack([base + 0.3 * ndi.gaussian_filter(rng.normal(size=shape[1:]), 4) for _ in range(2)]) \
        .astype(np.float32) - float(base.min()) + 0.1


def _targets(y: torch.Tensor, grid: GridSpec) -> dict[str, torch.Tensor]:
    """Per-cell targets and masks for a batch of truth vectors (B, 6)."""
    b, c, st = y.shape[0], grid.cells, grid.stride
    centres = torch.arange(c, dtype=torch.float32) * st + (st - 1) / 2.0
    present = y[:, 0] > 0.5
    gi = torch.nan_to_num(y[:, 1])
    gj = torch.nan_to_num(y[:, 2])
    ci = (gi[:, None] - centres[None]) / st  # (B, C) offset of the truth from each row of cells, in cells
    cj = (gj[:, None] - centres[None]) / st
    heat = torch.exp(-0.5 * (ci[:, :, None] ** 2 + cj[:, None, :] ** 2)) * present[:, None, None]
    near = (ci.abs()[:, :, None] <= 1.5) & (cj.abs()[:, None, :] <= 1.5) & present[:, None, None]
    peak = (ci.abs()[:, :, None] <= 0.5) & (cj.abs()[:, None, :] <= 0.5) & present[:, None, None]
    heat = torch.where(peak, torch.ones_like(heat), heat)
    offset = torch.stack([ci[:, :, None].expand(b, c, c), cj[:, None, :].expand(b, c, c)], 1)
    return {"heat": heat, "near": near, "peak": peak, "offset": offset,
            "rv": y[:, 3:5], "radius": y[:, 5]}


def localiser_loss(outputs: Sequence[torch.Tensor], y: torch.Tensor, grid: GridSpec) -> torch.Tensor:
    """Focal heat-map loss + L1 on offset, RV (cos, sin) and log radius near the true centre."""
    heat_logit, offset, rv, radius = outputs
    t = _targets(y, grid)
    p = torch.sigmoid(heat_logit[:, 0]).clamp(1e-4, 1 - 1e-4)
    pos = t["peak"].float()
    focal = -(pos * (1 - p) ** 2 * torch.log(p) + (1 - pos) * (1 - t["heat"]) ** 4 * p ** 2 * torch.log(1 - p))
    n_pos = pos.sum().clamp(min=1.0)
    loss = focal.sum() / n_pos
    near = t["near"].float()
    n_near = near.sum().clamp(min=1.0)
    loss = loss + ((offset - t["offset"]).abs().sum(1) * near).sum() / n_near
    rv_known = torch.isfinite(t["rv"][:, 0])
    m = near * rv_known[:, None, None].float()
    rv_t = torch.nan_to_num(t["rv"])[:, :, None, None]
    loss = loss + ((rv - rv_t).abs().sum(1) * m).sum() / m.sum().clamp(min=1.0)
    r_known = torch.isfinite(t["radius"])
    m = near * r_known[:, None, None].float()
    r_t = torch.nan_to_num(t["radius"])[:, None, None]
    loss = loss + ((radius[:, 0] - r_t).abs() * m).sum() / m.sum().clamp(min=1.0)
    return loss


def _batches(samples: Sequence[LocaliserSample], order: np.ndarray, cfg: LocaliserTrainConfig,
             rng: np.random.Generator, augment: bool) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    for start in range(0, len(order), cfg.batch_size):
        pairs = [_augment(samples[i], cfg.grid, rng, cfg, augment) for i in order[start:start + cfg.batch_size]]
        yield (torch.from_numpy(np.stack([p[0] for p in pairs])), torch.from_numpy(np.stack([p[1] for p in pairs])))


def train_localiser(samples: Sequence[LocaliserSample], out_dir: str | Path, *, cfg: LocaliserTrainConfig,
                    provenance: dict[str, Any], name: str = "lvquant-localiser",
                    progress: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Train on ``samples`` and write ``localiser.onnx`` + ``localiser.json`` to ``out_dir``.

    Args:
        samples: training slices.
        out_dir: folder to write (created).
        cfg: settings.
        provenance: what the samples are (sources, patients, licences, split): copied into the manifest.
        progress: called after each epoch with (epoch, mean training loss).

    Returns:
        The manifest written.
    """
    if not samples:
        raise InputError("no training slices")
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    net = LocaliserNet()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(samples) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.1)
    t0 = time.perf_counter()
    history = []
    for epoch in range(cfg.epochs):
        net.train()
        losses = []
        for x, y in _batches(samples, rng.permutation(len(samples)), cfg, rng, augment=True):
            opt.zero_grad()
            loss = localiser_loss(net(x), y, cfg.grid)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        history.append(float(np.mean(losses)))
        if progress is not None:
            progress(epoch, history[-1])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "localiser.onnx"
    export_localiser(net, cfg.grid, onnx_path)
    manifest = {
        "format": FORMAT,
        "name": name,
        "file": "localiser.onnx",
        "sha256": sha256_bytes(onnx_path.read_bytes()),
        "grid": cfg.grid.to_dict(),
        "threshold": 0.3,
        "inputs": "slices: float32 (batch, 2, G, G): mean and |difference| of two frames (the first and the one "
                  "most different from it), resampled to the grid centred on the image centre, divided by the "
                  "99th percentile of the mean",
        "outputs": "heat (B,1,C,C) probability of the LV centre per cell; offset (B,2,C,C) in cells; "
                   "rv (B,2,C,C) cos, sin of the RV angle; radius (B,1,C,C) log(r_epi / 30 mm)",
        "training": {
            "config": {k: (v.to_dict() if isinstance(v, GridSpec) else v) for k, v in cfg.__dict__.items()},
            "n_slices": len(samples),
            "n_with_lv": int(sum(s.centre_mm is not None for s in samples)),
            "loss_per_epoch": [round(v, 5) for v in history],
            "seconds": round(time.perf_counter() - t0, 1),
            "torch_version": torch.__version__,
            **provenance,
        },
    }
    with atomic_file(out / "localiser.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    return manifest


def export_localiser(net: LocaliserNet, grid: GridSpec, path: str | Path) -> None:
    """Write the evaluation-mode network (heat as probabilities) as ONNX, dynamic batch."""
    from .nets.export import export_module

    example = torch.zeros((2, 2, grid.grid_pixels, grid.grid_pixels), dtype=torch.float32)
    export_module(LocaliserGraph(net).eval(), example, path, {"slices": 0},
                  {"heat": 0, "offset": 0, "rv": 0, "radius": 0})
