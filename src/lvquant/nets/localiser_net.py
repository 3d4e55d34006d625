"""The localiser network (PyTorch, training side): full-FOV slice in, LV-centre map and its attributes out.

A small fully convolutional network on the localiser's grid
(:class:`lvquant.analysis.localise_learned.GridSpec`, 128 × 128 pixels of 2.5 mm)::

    slices  float32 (B, 2, G, G)     mean and |difference| of two frames
    heat    float32 (B, 1, C, C)     P(LV centre in the cell), C = G / 4
    offset  float32 (B, 2, C, C)     centre offset in the cell, in cells (row, col)
    rv      float32 (B, 2, C, C)     (cos, sin) of the RV direction
    radius  float32 (B, 1, C, C)     log(epicardial radius at ED / 30 mm)

Two stride-2 convolutions bring the grid to cells of 4 pixels (10 mm); four
residual blocks with dilations 1, 2, 4 and 8 give every cell a receptive field
wider than the heart and its neighbours (about 600 mm), so the network can
tell the LV from the RV, the aorta and the stomach by context.
"""

from __future__ import annotations

import torch
from torch import nn

#: Network width (channels of the cell-level blocks).
WIDTH = 32
DILATIONS = (1, 2, 4, 8)


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _Block(nn.Module):
    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.a = _conv(width, width, dilation=dilation)
        self.b = nn.Sequential(nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation, bias=False),
                               nn.BatchNorm2d(width))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.b(self.a(x)))


class LocaliserNet(nn.Module):
    """(B, 2, G, G) -> heat logits (B, 1, C, C), offset, rv, radius (see the module docstring)."""

    def __init__(self, width: int = WIDTH) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv(2, 16), _conv(16, 24, stride=2), _conv(24, width, stride=2))
        self.blocks = nn.Sequential(*[_Block(width, d) for d in DILATIONS])
        self.heat = nn.Conv2d(width, 1, 1)
        self.offset = nn.Conv2d(width, 2, 1)
        self.rv = nn.Conv2d(width, 2, 1)
        self.radius = nn.Conv2d(width, 1, 1)
        nn.init.constant_(self.heat.bias, -4.0)  # start from "no LV here" (focal-loss practice)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        f = self.blocks(self.stem(x))
        return self.heat(f), self.offset(f), self.rv(f), self.radius(f)


class LocaliserGraph(nn.Module):
    """What is exported: the network with the heat map as probabilities."""

    def __init__(self, net: LocaliserNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        heat, offset, rv, radius = self.net(x)
        return torch.sigmoid(heat), offset, rv, radius
