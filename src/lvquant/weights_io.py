"""Model files: safetensors tensors + a JSON manifest (never pickle).

A model folder holds::

    manifest.json          what the ensemble is and how it was trained
    fold_0.safetensors     one network's state (parameters and BN buffers)
    ...

Loading reads tensors only (safetensors cannot run code) and checks each file's
SHA-256 against the manifest, so a swapped or truncated file is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError

if TYPE_CHECKING:  # only for annotations: loading weights for NumPy inference must not import torch
    import torch

from .errors import InputError, OutputError

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "lvquant-ensemble/1"


class ModelError(InputError):
    """A model folder, manifest or weight file is missing, corrupt or inconsistent."""


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_state(state: "dict[str, torch.Tensor]", path: str | Path, metadata: dict[str, str] | None = None) -> str:
    """Write tensors to ``path`` (via a temporary file) and return the file's SHA-256."""
    from safetensors.torch import save_file

    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(tmp), metadata=metadata)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write model file {path}: {exc.strerror or exc}") from None
    return sha256_file(path)


def load_state(path: str | Path, expected_sha256: str | None = None, *, numpy: bool = False) -> dict[str, Any]:
    """Read tensors from a safetensors file, optionally checking its SHA-256.

    With ``numpy=True`` the tensors come back as NumPy arrays and PyTorch is
    not imported (fast inference start-up); otherwise as ``torch.Tensor``.
    """
    if numpy:
        from safetensors.numpy import load_file
    else:
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
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ModelError(f"{path} is not an lvquant ensemble manifest (format {MANIFEST_FORMAT!r} expected)")
    for key in ("network", "network_config", "targets", "models"):
        if key not in manifest:
            raise ModelError(f"{path} lacks the {key!r} entry")
    if not manifest["models"]:
        raise ModelError(f"{path} lists no models")
    return manifest
