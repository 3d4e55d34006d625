"""Deep Layer Aggregation (Yu, Wang, Shelhamer, Darrell, CVPR 2018) for LV-crop regression.

Our own PyTorch implementation, sized for one-channel 80×80 crops and a
regression head of the 11 normalised LV indices.

The two aggregation kinds of the paper:

* **Hierarchical deep aggregation (HDA)**: each stage is a :class:`Tree`, a
  binary tree of residual blocks whose leaves are merged by aggregation
  (:class:`Root`) nodes; deeper trees feed each aggregation node's output
  back as the input of the next sub-tree.
* **Iterative deep aggregation (IDA)**: stages are merged iteratively from the
  shallowest to the deepest. Inside the backbone, ``level_root`` passes each
  stage's (down-sampled) input into the root of the next tree, as in the
  paper's classification networks; the head (:class:`IDAHead`) then merges the
  outputs of all stages, shallow to deep, at the final 5×5 resolution, so the
  regression sees fine borders as well as global shape.

Resolution: 80 is 5·2⁴, so the network uses four stride-2 stages
(80 → 40 → 20 → 10 → 5) instead of the five of ImageNet DLA (which would need
a 2.5-pixel map).

Variants are a small table (:data:`DLA_VARIANTS`) of depths and widths, created
by name with :func:`create_dla` (the timm style).
"""

from __future__ import annotations

from dataclasses import asdict

import torch
from torch import nn
import torch.nn.functional as F

from ..analysis.spec import InputSpec
from .config import DLA_VARIANTS, DLAConfig, N_OUTPUTS

#: Crop side of the method's input spec (the default of :func:`create_dla`).
_DEFAULT_INPUT = InputSpec().crop_pixels

def _conv_bn(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class BasicBlock(nn.Module):
    """Residual block: two 3×3 convolutions; ``residual`` is added before the last ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        if residual is None:
            residual = x
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + residual, inplace=True)


class Root(nn.Module):
    """Aggregation node: concatenate children, 1×1 conv, BN, ReLU (+ first child as residual)."""

    def __init__(self, cin: int, cout: int, residual: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.residual = residual

    def forward(self, *children: torch.Tensor) -> torch.Tensor:
        out = self.bn(self.conv(torch.cat(children, dim=1)))
        if self.residual:
            out = out + children[0]
        return F.relu(out, inplace=True)


class Tree(nn.Module):
    """Hierarchical deep aggregation tree of depth ``levels`` over BasicBlocks.

    Args:
        levels: depth; 1 means two blocks merged by one root.
        cin, cout: channels in and out.
        stride: stride of the first block (2 halves the resolution).
        level_root: feed the (down-sampled) tree input into the root (IDA link
            between stages).
        root_dim: channels entering the root (computed for sub-trees).
    """

    def __init__(self, levels: int, cin: int, cout: int, stride: int = 1, level_root: bool = False,
                 root_dim: int = 0) -> None:
        super().__init__()
        if root_dim == 0:
            root_dim = 2 * cout
        if level_root:
            root_dim += cin
        if levels == 1:
            self.tree1: nn.Module = BasicBlock(cin, cout, stride)
            self.tree2: nn.Module = BasicBlock(cout, cout, 1)
            self.root: Root | None = Root(root_dim, cout)
        else:
            self.tree1 = Tree(levels - 1, cin, cout, stride, root_dim=0)
            self.tree2 = Tree(levels - 1, cout, cout, 1, root_dim=root_dim + cout)
            self.root = None
        self.levels = levels
        self.level_root = level_root
        self.downsample = nn.MaxPool2d(stride, stride=stride) if stride > 1 else None
        self.project = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout)) if cin != cout else None
        )

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None,
                children: list[torch.Tensor] | None = None) -> torch.Tensor:
        children = [] if children is None else children
        bottom = self.downsample(x) if self.downsample is not None else x
        residual = self.project(bottom) if self.project is not None else bottom
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, residual)
        if self.levels == 1:
            x2 = self.tree2(x1)
            assert self.root is not None
            return self.root(x2, x1, *children)
        children.append(x1)
        return self.tree2(x1, children=children)


class IDAHead(nn.Module):
    """Iterative aggregation of all stage outputs at the final resolution, then regression.

    Stage outputs (shallow to deep) are projected to ``channels``, pooled to the
    deepest map's size, and merged one at a time: ``agg = Root(agg, next)``.
    The aggregated 5×5 map is flattened (keeping *where* each feature is, which
    the regional wall thicknesses need) and regressed to the outputs.
    """

    def __init__(self, stage_channels: list[int], channels: int, hidden: int, n_out: int, dropout: float,
                 final_size: int) -> None:
        super().__init__()
        self.proj = nn.ModuleList([_conv_bn(c, channels, kernel=1) for c in stage_channels])
        self.roots = nn.ModuleList([Root(2 * channels, channels) for _ in stage_channels[1:]])
        self.final_size = final_size
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * final_size * final_size, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_out),
        )

    def forward(self, stages: list[torch.Tensor]) -> torch.Tensor:
        size = self.final_size
        agg = F.adaptive_avg_pool2d(self.proj[0](stages[0]), size)
        for proj, root, feat in zip(self.proj[1:], self.roots, stages[1:]):
            agg = root(agg, F.adaptive_avg_pool2d(proj(feat), size))
        return self.fc(agg)


class DLA(nn.Module):
    """DLA regressor: (B, 1, S, S) equalised crops -> (B, 11) standardised normalised indices.

    Args:
        config: depths and widths.
        input_size: crop side S in pixels (the model's :class:`~lvquant.analysis.spec.InputSpec`
            ``crop_pixels``); a multiple of 16.
    """

    def __init__(self, config: DLAConfig, input_size: int = _DEFAULT_INPUT, n_outputs: int = N_OUTPUTS,
                 in_channels: int = 1) -> None:
        super().__init__()
        if input_size % 16:
            raise ValueError(f"the DLA needs a crop side that is a multiple of 16; got {input_size}")
        self.input_size = input_size
        lv, ch = config.levels, config.channels
        self.config = config
        self.base = _conv_bn(in_channels, ch[0], kernel=5)
        self.level0 = nn.Sequential(*[_conv_bn(ch[0] if i == 0 else ch[1], ch[1]) for i in range(lv[0])])
        self.level1 = nn.Sequential(*[_conv_bn(ch[1] if i == 0 else ch[2], ch[2], stride=2 if i == 0 else 1)
                                      for i in range(lv[1])])
        self.level2 = Tree(lv[2], ch[2], ch[3], stride=2, level_root=False)
        self.level3 = Tree(lv[3], ch[3], ch[4], stride=2, level_root=True)
        self.level4 = Tree(lv[4], ch[4], ch[5], stride=2, level_root=True)
        final = input_size // 16
        self.head = IDAHead([ch[2], ch[3], ch[4], ch[5]], config.head_channels, config.hidden, n_outputs,
                            config.dropout, final)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, S, S) float -> (B, 11)."""
        x = self.level0(self.base(x))
        s1 = self.level1(x)
        s2 = self.level2(s1)
        s3 = self.level3(s2)
        s4 = self.level4(s3)
        return self.head([s1, s2, s3, s4])


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A convolution equal to ``bn(conv(x))`` in evaluation mode (BN statistics folded in)."""
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                      padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True)
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    fused.weight.data = conv.weight.detach() * scale.reshape(-1, 1, 1, 1)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    fused.bias.data = (bias - bn.running_mean) * scale + bn.bias.detach()
    return fused


def fuse_for_inference(model: DLA) -> DLA:
    """Fold every BatchNorm into the convolution before it, in place; returns the model in eval mode.

    The outputs are unchanged (to float rounding) and inference is about 10 %
    faster on CPU. The fused model cannot be trained or saved as a DLA state
    dict any more: use it only for prediction.
    """
    model.eval()
    for module in list(model.modules()):
        if isinstance(module, nn.Sequential):
            for i in range(len(module) - 1):
                if isinstance(module[i], nn.Conv2d) and isinstance(module[i + 1], nn.BatchNorm2d):
                    module[i] = _fold(module[i], module[i + 1])
                    module[i + 1] = nn.Identity()
        elif isinstance(module, BasicBlock):
            module.conv1, module.bn1 = _fold(module.conv1, module.bn1), nn.Identity()
            module.conv2, module.bn2 = _fold(module.conv2, module.bn2), nn.Identity()
        elif isinstance(module, Root):
            module.conv, module.bn = _fold(module.conv, module.bn), nn.Identity()
    return model


def create_dla(name: str = "dla-small", input_size: int = _DEFAULT_INPUT, **overrides) -> DLA:
    """Create a DLA regressor by variant name (see :data:`DLA_VARIANTS`) for crops of side ``input_size``.

    Keyword overrides replace fields of the variant's :class:`DLAConfig`.
    """
    if name not in DLA_VARIANTS:
        raise ValueError(f"unknown network {name!r}; choose one of {', '.join(DLA_VARIANTS)}")
    cfg = DLA_VARIANTS[name]
    if overrides:
        cfg = DLAConfig(**{**asdict(cfg), **overrides})
    return DLA(cfg, input_size)
