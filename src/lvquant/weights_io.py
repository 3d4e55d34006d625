"""Model files: safetensors tensors, one ONNX graph and a JSON manifest (never pickle).

A model folder holds::

    manifest.json          what the ensemble is, what input it expects
                           (``input_spec``), how and on what it was trained
    fold_0.safetensors     one network's training state (parameters and BN
    ...                    buffers): for fine-tuning and PyTorch evaluation
    ensemble.onnx          the N networks as one inference graph (ONNX
                           Runtime): crops in, every member's indices out

Neither format can run code when loaded (safetensors holds tensors only; ONNX
is a protobuf graph of standard operators). Every file's SHA-256 is checked
against the manifest, so a swapped or truncated file is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError

if TYPE_CHECKING:  # only for annotations: reading a manifest for inference must not import torch
    import torch

from .errors import ModelError, OutputError

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "lvquant-ensemble/2"
#: Name of the inference graph in a model folder.
ONNX_NAME = "ensemble.onnx"


def sha256_bytes(data: bytes) -> str:
    """SHA-256 of bytes in memory, hex."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_state(state: "dict[str, torch.Tensor]", path: str | Path, metadata: dict[str, str] | None = None) -> str:
    """Write tensors to ``path`` (via a temporary file) and return the file's SHA-256."""
    from safetensors.torch import save_file

    from .outputs import atomic_file

    path = Path(path)
    with atomic_file(path) as tmp:
        try:
            save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(tmp), metadata=metadata)
        except (OSError, SafetensorError) as exc:  # safetensors reports a full disk as its own error
            raise OutputError(f"cannot write model file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return sha256_file(path)


def load_state(path: str | Path, expected_sha256: str | None = None) -> "dict[str, torch.Tensor]":
    """Read a network's training state (``torch.Tensor`` each) from a safetensors file, checking its SHA-256."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} is missing")
    if expected_sha256 and sha256_file(path) != expected_sha256:
        raise ModelError(f"model file {path} does not match its manifest (checksum differs): re-train or re-install")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"model file {path} is not a readable safetensors file ({exc})") from None


def write_manifest(folder: str | Path, manifest: dict[str, Any]) -> Path:
    from .outputs import write_text_atomic

    return write_text_atomic(Path(folder) / MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=False) + "\n")


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Read and minimally validate ``folder/manifest.json``."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        raise ModelError(f"no {MANIFEST_NAME} in model folder {folder}: is this a folder written by 'lvquant train'?")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is not valid JSON ({exc})") from None
    if isinstance(manifest, dict) and manifest.get("format") == "lvquant-ensemble/1":
        raise ModelError(f"{path} was written by an older lvquant (no inference graph, no input spec): "
                         f"upgrade the folder with 'python scripts/upgrade_model_folder.py {folder}'")
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ModelError(f"{path} is not an lvquant ensemble manifest (format {MANIFEST_FORMAT!r} expected)")
    for key in ("network", "network_config", "targets", "models", "input_spec", "inference"):
        if key not in manifest:
            raise ModelError(f"{path} lacks the {key!r} entry")
    _check_manifest_types(manifest, path)
    return manifest


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_manifest_types(manifest: dict[str, Any], path: Path) -> None:
    """The entries the code reads have the types and sizes it expects (a hand-edited or damaged
    manifest is refused here, with its path, instead of failing deep inside)."""
    models = manifest["models"]
    if not isinstance(models, list) or not models:
        raise ModelError(f"{path} lists no models")
    for m in models:
        if not (isinstance(m, dict) and isinstance(m.get("file"), str) and m["file"]
                and isinstance(m.get("fold"), int) and not isinstance(m.get("fold"), bool)):
            raise ModelError(f"{path}: every model needs a file name and a fold number")
    targets = manifest["targets"]
    for key in ("mean", "std"):
        values = targets.get(key) if isinstance(targets, dict) else None
        if not (isinstance(values, list) and len(values) == 11 and all(_is_number(v) for v in values)):
            raise ModelError(f"{path}: targets.{key} must be 11 numbers")
    if not isinstance(manifest["network"], str):
        raise ModelError(f"{path}: the network must be named by a string")
    config = manifest["network_config"]
    if not isinstance(config, dict):
        raise ModelError(f"{path}: network_config must be an object")
    sizes = [v for key in ("channels", "levels") for v in (config.get(key) or [])] + \
        [config.get("head_channels"), config.get("hidden")]
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 4096 for v in sizes):
        raise ModelError(f"{path}: network_config sizes must be whole numbers from 0 to 4096")
    if not isinstance(manifest["input_spec"], dict) or not isinstance(manifest["inference"], dict):
        raise ModelError(f"{path}: input_spec and inference must be objects")
