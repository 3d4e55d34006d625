"""Upgrade a model folder written by an older lvquant (manifest format lvquant-ensemble/1) in place.

Format 1 folders hold the networks as safetensors only, with half of the input
contract in ``manifest.json`` (``input: {size, intensity}``). This script adds
what format 2 needs and changes no weight:

* ``ensemble.onnx``: the N networks exported as one ONNX graph (what the
  analysis runs on ONNX Runtime), from the folder's own safetensors files;
* ``input_spec``: the crops the networks were trained on. Format 1 folders
  were all trained on crops cut by the method's spec (80 × 80, side 2.5 ×
  the ED epicardial diameter, RV at 9 o'clock, 20 frames), so that spec is
  written, with the folder's recorded size and intensity method;
* ``inference``: the graph's file, checksum and tensor layout.

Needs PyTorch (``pip install 'lvquant[train]'``)::

    python scripts/upgrade_model_folder.py path/to/models
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from lvquant.analysis.spec import InputSpec
from lvquant.errors import LvquantError, ModelError
from lvquant.train import write_inference_graph
from lvquant.weights_io import MANIFEST_FORMAT, MANIFEST_NAME, load_state, write_manifest


def upgrade(folder: Path) -> dict:
    """Upgrade ``folder`` in place; returns the new manifest."""
    path = folder / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from None
    if manifest.get("format") == MANIFEST_FORMAT:
        raise ModelError(f"{folder} is already in format {MANIFEST_FORMAT}")
    if manifest.get("format") != "lvquant-ensemble/1":
        raise ModelError(f"{path} is not an lvquant ensemble manifest")
    old_input = manifest.pop("input", {})
    spec = replace(InputSpec(), crop_pixels=int(old_input.get("size", 80)),
                   intensity=str(old_input.get("intensity", "equalize")))
    models = sorted(manifest["models"], key=lambda m: m["fold"])
    states = [load_state(folder / m["file"], m.get("sha256")) for m in models]
    inference = write_inference_graph(folder, states, manifest["network"], spec,
                                      manifest["targets"]["mean"], manifest["targets"]["std"])
    upgraded = {"format": MANIFEST_FORMAT}
    for key, value in manifest.items():
        if key == "format":
            continue
        upgraded[key] = value
        if key == "network_config":  # keep the manifest readable: the contract next to the network
            upgraded["input_spec"] = spec.to_dict()
            upgraded["inference"] = inference
    upgraded["models"] = models
    upgraded["upgraded_from"] = "lvquant-ensemble/1 (scripts/upgrade_model_folder.py: ONNX graph exported "\
                                "from the same safetensors weights; input spec of the method)"
    write_manifest(folder, upgraded)
    return upgraded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="model folder (manifest.json + fold_k.safetensors)")
    args = parser.parse_args(argv)
    try:
        manifest = upgrade(args.folder)
    except LvquantError as exc:
        print(f"upgrade_model_folder: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.folder}: {MANIFEST_FORMAT}, {len(manifest['models'])} models, "
          f"graph {manifest['inference']['file']} ({manifest['inference']['sha256'][:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
