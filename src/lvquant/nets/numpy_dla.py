"""The trained DLA evaluated with NumPy alone: inference without importing PyTorch.

Importing PyTorch takes about a second, more than the whole rest of an
analysis; prediction needs only convolutions, so :class:`NumpyDLA` runs the
same network (:class:`lvquant.nets.dla.DLA`, evaluation mode) from its state
dict with NumPy: batch norms are folded into the convolutions, convolutions
are one matrix product each (im2col), pooling is reshaping. Its outputs match
the PyTorch network's to float32 rounding (tested in tests/test_dla_folds.py).

The structure mirrors :class:`~lvquant.nets.dla.DLA` exactly and is built from
the same :class:`~lvquant.nets.dla.DLAConfig`; a state dict that does not fit
raises ``KeyError``/``ValueError`` (the model loader turns that into a
:class:`~lvquant.weights_io.ModelError`).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .config import DLAConfig

Array = np.ndarray
_EPS = 1e-5  # torch.nn.BatchNorm2d default


class _Conv:
    """Convolution (bias, no groups, square kernel, padding kernel // 2) with a batch norm folded in."""

    def __init__(self, state: Mapping[str, Array], conv: str, bn: str | None, stride: int = 1) -> None:
        w = np.asarray(state[f"{conv}.weight"], dtype=np.float32)
        b = np.asarray(state[f"{conv}.bias"], dtype=np.float32) if f"{conv}.bias" in state else np.zeros(w.shape[0], np.float32)
        if bn is not None:
            scale = state[f"{bn}.weight"] / np.sqrt(state[f"{bn}.running_var"] + _EPS)
            w = w * scale[:, None, None, None]
            b = (b - state[f"{bn}.running_mean"]) * scale + state[f"{bn}.bias"]
        self.out_ch, self.in_ch, self.k, k2 = w.shape
        if self.k != k2:
            raise ValueError(f"{conv}: only square kernels are supported")
        # (k*k*C, O) matrix in the im2col order (ky, kx, channel).
        self.matrix = np.ascontiguousarray(w.transpose(0, 2, 3, 1).reshape(self.out_ch, -1).T, dtype=np.float32)
        self.bias = b.astype(np.float32)
        self.stride = stride

    @property
    def geometry(self) -> tuple[int, int, int]:
        """(kernel, stride, input channels): convolutions with equal geometry share :meth:`columns`."""
        return self.k, self.stride, self.in_ch

    def columns(self, x: Array) -> Array:
        """im2col of x (B, H, W, C): (B, H', W', k·k·C), each output pixel's neighbourhood in the order (ky, kx, channel)."""
        k, s = self.k, self.stride
        if x.shape[-1] != self.in_ch:
            raise ValueError(f"convolution expects {self.in_ch} channels, got {x.shape[-1]}")
        if k == 1:
            return x[:, ::s, ::s, :]
        p = k // 2
        xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        b, h, w = x.shape[0], (x.shape[1] + 2 * p - k) // s + 1, (x.shape[2] + 2 * p - k) // s + 1
        windows = sliding_window_view(xp, (k, k), axis=(1, 2))[:, ::s, ::s]  # (B, h, w, C, ky, kx) view
        cols = np.empty((b, h, w, k, k, self.in_ch), dtype=np.float32)
        cols[...] = windows.transpose(0, 1, 2, 4, 5, 3)  # one copy
        return cols.reshape(b, h, w, k * k * self.in_ch)

    def apply(self, cols: Array) -> Array:
        """The convolution from its :meth:`columns`: (B, H', W', k·k·C) -> (B, H', W', O)."""
        out = cols.reshape(-1, cols.shape[-1]) @ self.matrix
        out += self.bias
        return out.reshape(cols.shape[:3] + (self.out_ch,))

    def __call__(self, x: Array) -> Array:
        """x: (B, H, W, C) channels-last -> (B, H', W', O)."""
        return self.apply(self.columns(x))


def _relu(x: Array) -> Array:
    return np.maximum(x, 0.0, out=x)


def _maxpool2(x: Array) -> Array:
    b, h, w, c = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _avgpool(x: Array, size: int) -> Array:
    b, h, w, c = x.shape
    if h % size or w % size:
        raise ValueError(f"cannot pool {h}x{w} to {size}x{size} exactly")
    return x.reshape(b, size, h // size, size, w // size, c).mean(axis=(2, 4))


class _ConvBnRelu:
    def __init__(self, state, prefix: str, stride: int = 1) -> None:
        self.conv = _Conv(state, f"{prefix}.0", f"{prefix}.1", stride)

    def __call__(self, x: Array) -> Array:
        return _relu(self.conv(x))


class _Block:
    """BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + residual)."""

    def __init__(self, state, prefix: str, stride: int) -> None:
        self.c1 = _Conv(state, f"{prefix}.conv1", f"{prefix}.bn1", stride)
        self.c2 = _Conv(state, f"{prefix}.conv2", f"{prefix}.bn2")

    def __call__(self, x: Array, residual: Array | None = None) -> Array:
        residual = x if residual is None else residual
        out = self.c2(_relu(self.c1(x)))
        out += residual
        return _relu(out)


class _Root:
    def __init__(self, state, prefix: str) -> None:
        self.conv = _Conv(state, f"{prefix}.conv", f"{prefix}.bn")

    def __call__(self, *children: Array) -> Array:
        out = self.conv(np.concatenate(children, axis=-1))
        out += children[0]
        return _relu(out)


class _Tree:
    def __init__(self, state, prefix: str, levels: int, cin: int, cout: int, stride: int, level_root: bool) -> None:
        self.levels, self.level_root, self.stride = levels, level_root, stride
        if levels == 1:
            self.tree1 = _Block(state, f"{prefix}.tree1", stride)
            self.tree2 = _Block(state, f"{prefix}.tree2", 1)
            self.root = _Root(state, f"{prefix}.root")
        else:
            self.tree1 = _Tree(state, f"{prefix}.tree1", levels - 1, cin, cout, stride, False)
            self.tree2 = _Tree(state, f"{prefix}.tree2", levels - 1, cout, cout, 1, False)
        self.project = _Conv(state, f"{prefix}.project.0", f"{prefix}.project.1") if cin != cout else None

    def __call__(self, x: Array, residual: Array | None = None, children: list[Array] | None = None) -> Array:
        children = [] if children is None else children
        bottom = _maxpool2(x) if self.stride > 1 else x
        residual = self.project(bottom) if self.project is not None else bottom
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, residual)
        if self.levels == 1:
            return self.root(self.tree2(x1), x1, *children)
        children.append(x1)
        return self.tree2(x1, children=children)


class _Tracked(dict):
    """A state dict that remembers which keys were read (to refuse unused, i.e. foreign, tensors)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Array:
        if key not in self:
            raise KeyError(f"the model file has no tensor {key!r}")
        self.read.add(key)
        return super().__getitem__(key)


class NumpyDLA:
    """A trained :class:`~lvquant.nets.dla.DLA` in evaluation mode, computed with NumPy.

    Args:
        config: the network's :class:`DLAConfig`.
        state: its state dict as NumPy arrays (e.g. from ``safetensors.numpy.load_file``).
        input_size: crop side (80).
    """

    def __init__(self, config: DLAConfig, state: Mapping[str, Array], input_size: int = 80) -> None:
        lv, ch = config.levels, config.channels
        st = _Tracked({k: np.asarray(v, dtype=np.float32) for k, v in state.items()})
        self.base = _ConvBnRelu(st, "base")
        self.level0 = [_ConvBnRelu(st, f"level0.{i}") for i in range(lv[0])]
        self.level1 = [_ConvBnRelu(st, f"level1.{i}", 2 if i == 0 else 1) for i in range(lv[1])]
        self.level2 = _Tree(st, "level2", lv[2], ch[2], ch[3], 2, False)
        self.level3 = _Tree(st, "level3", lv[3], ch[3], ch[4], 2, True)
        self.level4 = _Tree(st, "level4", lv[4], ch[4], ch[5], 2, True)
        self.proj = [_ConvBnRelu(st, f"head.proj.{i}") for i in range(4)]
        self.roots = [_Root(st, f"head.roots.{i}") for i in range(3)]
        self.final = input_size // 16
        # torch flattens (C, 5, 5); we hold (5, 5, C): reorder the first linear layer's columns once.
        w1 = st["head.fc.1.weight"]
        c = config.head_channels
        self.w1 = np.ascontiguousarray(
            w1.reshape(-1, c, self.final, self.final).transpose(0, 2, 3, 1).reshape(w1.shape[0], -1).T)
        self.b1 = st["head.fc.1.bias"]
        self.w2 = np.ascontiguousarray(st["head.fc.4.weight"].T)
        self.b2 = st["head.fc.4.bias"]
        unused = {k for k in st if k not in st.read and not k.endswith("num_batches_tracked")}
        if unused:
            raise ValueError(f"the model file has tensors this network does not use: {sorted(unused)[:3]}")
        self(np.zeros((1, input_size, input_size), np.float32))  # shapes that do not fit fail here

    def base_columns(self, x: Array) -> Array:
        """im2col of the first convolution for input x (B, 80, 80); networks whose
        :attr:`base_geometry` is equal can share it (see :func:`run_networks`)."""
        return self.base.conv.columns(np.asarray(x, dtype=np.float32)[..., None])

    @property
    def base_geometry(self) -> tuple[int, int, int]:
        return self.base.conv.geometry

    def __call__(self, x: Array, base_columns: Array | None = None) -> Array:
        """x: (B, 80, 80) float32 equalised crops -> (B, 11) standardised outputs.

        ``base_columns``: :meth:`base_columns` of x, when already computed.
        """
        cols = self.base_columns(x) if base_columns is None else base_columns
        h = _relu(self.base.conv.apply(cols))
        for layer in self.level0:
            h = layer(h)
        for layer in self.level1:
            h = layer(h)
        s1 = h
        s2 = self.level2(s1)
        s3 = self.level3(s2)
        s4 = self.level4(s3)
        agg = _avgpool(self.proj[0](s1), self.final)
        for proj, root, feat in zip(self.proj[1:], self.roots, (s2, s3, s4)):
            agg = root(agg, _avgpool(proj(feat), self.final))
        z = np.maximum(agg.reshape(agg.shape[0], -1) @ self.w1 + self.b1, 0.0)
        return z @ self.w2 + self.b2


_BLAS_CONTROLLER = None


def _single_threaded_blas():
    """Context manager limiting the BLAS library to one thread (threadpoolctl; controller built once)."""
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def run_networks(networks: list[NumpyDLA], x: Array, workers: int | None = None) -> list[Array]:
    """Every network's output for the same input, networks computed side by side.

    One network per thread, with BLAS single-threaded: NumPy releases the
    interpreter lock in its copies and matrix products, and these small
    matrices run faster as whole networks in parallel than as one multi-threaded
    product after another (about 90 ms instead of 150–190 ms for 20 frames × 5
    networks on two cores). Each network's arithmetic is the same as when run
    alone, so the outputs do not depend on the number of workers.

    Args:
        networks: the networks.
        x: (B, 80, 80) float32 input, shared.
        workers: threads (default: one per CPU, at most one per network).

    Returns:
        One (B, 11) array per network, in order.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    n = min(len(networks), workers or os.cpu_count() or 1)
    if n <= 1:
        return [net(x) for net in networks]
    # The first convolution's im2col is the largest copy of all (full resolution): made once.
    shared = networks[0].base_columns(x) if len({net.base_geometry for net in networks}) == 1 else None
    with _single_threaded_blas():
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="lvquant-numpy-dla") as pool:
            return list(pool.map(lambda net: net(x, shared), networks))
