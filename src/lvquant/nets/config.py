"""Depths and widths of the DLA variants (no PyTorch import: manifests are read without it)."""

from __future__ import annotations

from dataclasses import dataclass

#: Number of regressed outputs (A1, A2, D1-D3, RWT1-6, normalised).
N_OUTPUTS = 11


@dataclass(frozen=True)
class DLAConfig:
    """Depths and widths of one DLA variant.

    Attributes:
        levels: tree depth of the stages (level0, level1, level2, level3, level4);
            level0 and level1 are plain conv stages (their value is the number of
            convolutions), level2..level4 are trees of that depth.
        channels: output channels of the base layer and of each of the 5 stages
            (6 numbers).
        head_channels: channels of the IDA head (all stages are projected to it).
        hidden: width of the fully connected layer before the 11 outputs.
        dropout: dropout before the last layer.
    """

    levels: tuple[int, int, int, int, int]
    channels: tuple[int, int, int, int, int, int]
    head_channels: int
    hidden: int
    dropout: float = 0.1


#: Named variants. ``dla-tiny`` is for tests and ``--quick`` training.
DLA_VARIANTS: dict[str, DLAConfig] = {
    "dla-tiny": DLAConfig(levels=(1, 1, 1, 1, 1), channels=(4, 4, 8, 8, 16, 16), head_channels=8, hidden=16),
    "dla-small": DLAConfig(levels=(0, 1, 1, 1, 1), channels=(8, 8, 16, 24, 48, 64), head_channels=24, hidden=96),
    # dla-small with wider low-resolution stages, head and hidden layer (1.7 x the operations, 2 x the
    # weights): room for the phantom and real patients at once; grown from a trained dla-small by
    # lvquant.nets.widen (lvquant train --init FOLDER --network dla-small-wide).
    "dla-small-wide": DLAConfig(levels=(0, 1, 1, 1, 1), channels=(8, 8, 16, 32, 64, 96), head_channels=32, hidden=128),
    "dla-base": DLAConfig(levels=(1, 1, 1, 2, 1), channels=(16, 16, 32, 64, 128, 192), head_channels=48, hidden=192),
}
