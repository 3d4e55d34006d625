"""Is a fine-tuned ensemble better than the one it started from? Compare them on the same new subjects.

When ``lvquant train --init OLD`` fine-tunes on a file of subjects OLD never saw,
the fair comparison, made before any test set is looked at, is on those
subjects: OLD's network 0 (a single network, never trained on them) against
NEW's cross-validated predictions (each subject predicted by the one network
that did not train on it; ``cv_predictions.npz`` in NEW's folder). Both are
single-network figures on identical subjects.

Usage::

    python scripts/compare_on_new_subjects.py DATA OLD_MODELS NEW_MODELS [--subjects N]

DATA is the file NEW was trained on (LVQuan layout); ``--subjects N`` uses the
first N subjects (default: all). Prints the LVQuan metrics of both; writes
nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lvquant.evaluate import evaluate_dataset, lvquan_metrics
from lvquant.io.lvquan_mat import read_lvquan
from lvquant.analysis.predict import Ensemble

KEYS = ("areas_mae_mm2", "dims_mae_mm", "rwt_mae_mm", "phase_error")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="the LVQuan-layout file NEW was trained on")
    ap.add_argument("old", help="model folder fine-tuning started from")
    ap.add_argument("new", help="model folder of the fine-tuned ensemble (with cv_predictions.npz)")
    ap.add_argument("--subjects", type=int, default=None, help="use the first N subjects (default: all)")
    args = ap.parse_args()

    data = read_lvquan(args.data)
    n = data.n_subjects if args.subjects is None else min(args.subjects, data.n_subjects)
    cv = np.load(Path(args.new) / "cv_predictions.npz")["predictions_mm"]
    if cv.shape[0] != data.n_subjects:
        raise SystemExit(f"{args.new} has cross-validated predictions for {cv.shape[0]} subjects, "
                         f"{args.data} holds {data.n_subjects}: not the file it was trained on")
    first = data.subset(np.arange(n))
    results = {
        f"{args.old}, network 0": evaluate_dataset(first, Ensemble.load(args.old, members=[0])),
        f"{args.new}, cross-validated": lvquan_metrics(cv[:n], first.indices.to_array(), first.phase),
    }
    for name, m in results.items():
        print(f"{name} on subjects 0-{n - 1}: " + ", ".join(f"{k} {m[k]:.3f}" for k in KEYS))


if __name__ == "__main__":
    main()
