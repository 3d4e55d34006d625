"""The trained ensemble as one ONNX inference graph (training side: imports PyTorch).

The networks are written once, in PyTorch (:mod:`lvquant.nets.dla`); for
analysis they are exported to ONNX and run on ONNX Runtime
(:mod:`lvquant.analysis.predict`), which needs neither PyTorch nor a second
implementation of the network.

The graph (:class:`EnsembleGraph`)::

    crops    float32 (B, S, S)      equalised crops, S = the spec's crop_pixels
    members  float32 (N, B, 11)     every network's indices, normalised units
                                    (lengths / crop side, areas / side²)

Batch norms are folded into the convolutions first, and the target
standardisation is undone inside the graph, so one call does everything
the networks do; the mean and spread over the N members are taken by the caller.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .config import DLAConfig
from .dla import DLA, fuse_for_inference

#: ONNX operator set of the exported graph (supported by the pinned onnxruntime).
OPSET = 17
INPUT_NAME = "crops"
OUTPUT_NAME = "members"


class EnsembleGraph(nn.Module):
    """N networks side by side: (B, S, S) crops -> (N, B, 11) normalised indices."""

    def __init__(self, networks: Sequence[DLA], target_mean: np.ndarray, target_std: np.ndarray) -> None:
        super().__init__()
        self.networks = nn.ModuleList(networks)
        self.register_buffer("mean", torch.tensor(np.asarray(target_mean, dtype=np.float32).reshape(1, 11)))
        self.register_buffer("std", torch.tensor(np.asarray(target_std, dtype=np.float32).reshape(1, 11)))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        x = crops.unsqueeze(1)
        return torch.stack([net(x) * self.std + self.mean for net in self.networks])


def build_graph(states: Sequence[Mapping[str, torch.Tensor]], config: DLAConfig, input_size: int,
                target_mean: np.ndarray, target_std: np.ndarray) -> EnsembleGraph:
    """The evaluation-mode ensemble of ``states`` (batch norms folded), ready to run or export.

    Raises:
        RuntimeError: a state does not fit the network (``load_state_dict``).
    """
    networks = []
    for state in states:
        net = DLA(config, input_size)
        net.load_state_dict(dict(state), strict=True)
        networks.append(fuse_for_inference(net))
    return EnsembleGraph(networks, target_mean, target_std).eval()


def export_onnx(graph: EnsembleGraph, input_size: int, path: str | Path) -> None:
    """Write ``graph`` as an ONNX file (dynamic batch size) to ``path``."""
    example = torch.zeros((2, input_size, input_size), dtype=torch.float32)
    export_module(graph, example, path, {INPUT_NAME: 0}, {OUTPUT_NAME: 1})


def export_module(module: nn.Module, example: torch.Tensor, path: str | Path, inputs: dict[str, int],
                  outputs: dict[str, int]) -> None:
    """Write an evaluation-mode module as ONNX (opset :data:`OPSET`) to ``path``.

    ``inputs`` / ``outputs`` name the graph's tensors, each with the position of its batch
    axis (exported as dynamic). Uses PyTorch's TorchScript-based exporter, which needs no
    further package for these plain convolutional graphs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter announces its successor on every call
        torch.onnx.export(
            module, (example,), str(path), input_names=list(inputs), output_names=list(outputs),
            dynamic_axes={name: {axis: "batch"} for name, axis in {**inputs, **outputs}.items()},
            opset_version=OPSET, dynamo=False, do_constant_folding=True,
        )
