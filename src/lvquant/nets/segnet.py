"""The border network: a small U-Net-style encoder-decoder that draws the LV cavity and myocardium.

Input: the regression networks' own crops (``(B, 1, P, P)`` equalised, the input spec's side
``P`` = 80, RV at 9 o'clock). Output: ``(B, 3, P, P)`` logits of background, LV cavity (papillary
muscles and trabeculations included) and LV myocardium per crop pixel.

Layout (``width`` w, default 16): four levels of two 3×3 convolution + batch norm + ReLU blocks
with w, 2w, 4w, 8w channels at P, P/2, P/4, P/8 pixels (2×2 max pooling between them), and a
decoder that doubles the resolution (nearest) and joins each level's features (concatenation,
two blocks) back up to P. ~0.5 M parameters at w = 16. The regressed indices stay the method's
primary output; this network gives the borders the report draws, a second measurement to check
them against, and the volumes.
"""

from __future__ import annotations

import torch
from torch import nn

#: Output classes, in channel order.
CLASSES = ("background", "cavity", "myocardium")


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    )


class BorderNet(nn.Module):
    """(B, 1, P, P) crops -> (B, 3, P, P) logits; P a multiple of 8."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = int(width)
        self.width = w
        self.enc = nn.ModuleList([_block(1, w), _block(w, 2 * w), _block(2 * w, 4 * w), _block(4 * w, 8 * w)])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec = nn.ModuleList([_block(8 * w + 4 * w, 4 * w), _block(4 * w + 2 * w, 2 * w), _block(2 * w + w, w)])
        self.head = nn.Conv2d(w, len(CLASSES), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.enc):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for block in self.dec:
            x = block(torch.cat([self.up(x), skips.pop()], dim=1))
        return self.head(x)


class BorderGraph(nn.Module):
    """The exported graph: (B, P, P) crops -> (B, 3, P, P) class probabilities (softmax)."""

    def __init__(self, net: BorderNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(crops.unsqueeze(1)), dim=1)


__all__ = ["BorderNet", "BorderGraph", "CLASSES"]
