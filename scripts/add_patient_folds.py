"""Record ``patient_folds`` in a model folder trained before manifests kept them.

``lvquant train --init DIR`` keeps the fold of every patient DIR's models know (so fold k's
model never validates on a patient it trained on, even when the data changed, e.g. corrected
labels). Folders trained before that was recorded hold only per-row folds; this rebuilds the
patient -> fold table from the crop file they were trained on (its SHA-256 must match the
manifest's) and writes it into ``manifest.json``::

    python scripts/add_patient_folds.py MODEL_DIR --data train_rings_ph.npz
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from lvquant.datasets.files import read_crops
from lvquant.train import patient_folds, prepare_crops
from lvquant.weights_io import write_manifest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", type=Path)
    ap.add_argument("--data", type=Path, required=True)
    args = ap.parse_args()
    path = args.models / "manifest.json"
    manifest = json.loads(path.read_text())
    training = manifest["training"]
    digest = hashlib.sha256(args.data.read_bytes()).hexdigest()
    if digest != training["data"]["sha256"]:
        print(f"{args.data} is not the file {args.models} was trained on (checksum differs)", file=sys.stderr)
        return 2
    data = prepare_crops(read_crops(args.data), sha256=digest)
    folds = np.asarray(training["folds"])
    if len(folds) != data.n_subjects:
        print("the manifest's folds do not match the file's rows", file=sys.stderr)
        return 2
    training["patient_folds"] = patient_folds(data, folds)
    write_manifest(args.models, manifest)
    print(f"wrote {len(training['patient_folds'])} patient folds into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
