"""Widen a trained DLA into a wider variant that computes exactly what it did.

Fine-tuning a network on a second source (the real patients next to the phantom) trades one for
the other when the network is too narrow to hold both (docs/RESULTS.md, 2026-12-04). Widening
gives it room without starting again: every layer of the wider network keeps the trained
weights in the channels the narrow one had, and the channels it adds

* take fresh random weights on their way in (so they compute something new), and
* reach every old channel through zero weights (so the old channels, and the output, are
  unchanged until training moves those weights).

That holds through the residual additions (an old channel adds an old channel) and the
aggregation nodes (:class:`~lvquant.nets.dla.Root`), whose inputs are concatenations: there each
child's channels are placed at that child's offset in the wider concatenation. Only the widths
may grow; the depths (``levels``) and the first two widths (the full-resolution stages, where a
channel costs most) must stay, so the layers correspond one to one.
"""

from __future__ import annotations

from dataclasses import asdict

import torch

from ..errors import InputError
from .config import DLA_VARIANTS, DLAConfig
from .dla import DLA, Root


def can_widen(old: DLAConfig, new: DLAConfig) -> bool:
    """Whether :func:`widen_state` maps a network of ``old`` onto ``new`` (same depths and full-resolution
    widths, no width smaller)."""
    return (old.levels == new.levels and old.channels[:2] == new.channels[:2]
            and all(n >= o for o, n in zip(old.channels, new.channels))
            and new.head_channels >= old.head_channels and new.hidden >= old.hidden)


def _root_segments(net: DLA, input_size: int) -> dict[str, list[int]]:
    """Channels of each child a Root concatenates, keyed by the state-dict name of the Root's
    convolution weight (``level2.root.conv.weight``), from one forward pass."""
    segments: dict[str, list[int]] = {}
    hooks = []
    for name, module in net.named_modules():
        if isinstance(module, Root):
            key = f"{name}.conv.weight"
            hooks.append(module.register_forward_pre_hook(
                lambda _m, children, key=key: segments.__setitem__(key, [c.shape[1] for c in children])))
    was_training = net.training
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, 1, input_size, input_size))
    net.train(was_training)
    for h in hooks:
        h.remove()
    return segments


def widen_state(state: dict[str, torch.Tensor], old_name: str, new_name: str, *, input_size: int,
                seed: int = 0) -> dict[str, torch.Tensor]:
    """The state dict of a ``new_name`` DLA that computes what the ``old_name`` DLA of ``state`` computes.

    Args:
        state: a trained ``old_name`` network's state dict.
        old_name, new_name: DLA variants (:data:`~lvquant.nets.DLA_VARIANTS`); ``new_name`` must be a
            widening of ``old_name`` (:func:`can_widen`).
        input_size: crop side in pixels.
        seed: seeds the added channels' incoming weights (the variant's own initialisation).

    Returns:
        The wider state dict: the old weights in the old channels, the added channels' incoming
        weights random, every weight from an added channel into an old one zero, added BatchNorm
        channels at their initial values (scale 1, shift 0, running mean 0, variance 1).

    Raises:
        InputError: an unknown variant, or ``new_name`` is not a widening of ``old_name``.
    """
    for name in (old_name, new_name):
        if name not in DLA_VARIANTS:
            raise InputError(f"unknown network {name!r}; choose one of {', '.join(DLA_VARIANTS)}")
    old_cfg, new_cfg = DLA_VARIANTS[old_name], DLA_VARIANTS[new_name]
    if not can_widen(old_cfg, new_cfg):
        raise InputError(f"{new_name} is not a widening of {old_name}: the depths and the first two widths must be "
                         f"the same and no width smaller ({asdict(old_cfg)} -> {asdict(new_cfg)})")
    with torch.random.fork_rng(devices=[]):  # building the networks leaves the caller's random stream alone
        old_net = DLA(old_cfg, input_size)
        torch.manual_seed(seed)  # the added channels' first weights
        new_net = DLA(new_cfg, input_size)
    old_net.load_state_dict(state)  # checks that ``state`` is a whole old_name network
    old_segments, new_segments = _root_segments(old_net, input_size), _root_segments(new_net, input_size)
    wide = {}
    for key, fresh in new_net.state_dict().items():
        old = state[key]
        if old.shape == fresh.shape:
            wide[key] = old.clone()
            continue
        out = fresh.clone()
        if old.ndim <= 1:  # BatchNorm scale, shift and statistics, biases: the old channels first
            out[:old.shape[0]] = old
        else:  # convolution (out, in, k, k) or linear (out, in) weights
            out[:old.shape[0]] = 0.0  # an old channel hears no added channel...
            for o_start, n_start, width in _input_blocks(old.shape[1], old_segments.get(key), new_segments.get(key)):
                out[:old.shape[0], n_start:n_start + width] = old[:, o_start:o_start + width]  # ...only its old inputs
        wide[key] = out
    return wide


def _input_blocks(n_old_inputs: int, old_segments: list[int] | None, new_segments: list[int] | None
                  ) -> list[tuple[int, int, int]]:
    """(old start, new start, width) of each block of old input channels inside the wider layer's inputs:
    one block at 0 for a plain layer, one per child for a Root's concatenation."""
    if old_segments is None:
        return [(0, 0, n_old_inputs)]
    if new_segments is None or len(new_segments) != len(old_segments):
        raise ValueError(f"the wider network's aggregation node joins {new_segments}, the narrow one's {old_segments}")
    blocks, o_start, n_start = [], 0, 0
    for o_width, n_width in zip(old_segments, new_segments):
        blocks.append((o_start, n_start, o_width))
        o_start, n_start = o_start + o_width, n_start + n_width
    return blocks
