"""Reduced-budget ablations for docs/RESULTS.md: equalisation on/off, K-means vs contiguous folds.

Usage::

    python scripts/ablations.py --train TRAIN.npz --test TEST.npz --shifted TEST_SHIFTED.npz \
        [--epochs-eq 12] [--epochs-folds 6] [--out ablations.json]

Both ablations train ``dla-small`` with the shipped settings except the number
of epochs (a fraction of the shipped 40, to fit a 2-core CPU); compare the
variants with each other, not with the shipped ensemble.

1. **Equalisation**: one network with histogram equalisation and one with a
   linear 1-99th percentile normalisation, both trained on folds 1-4 of the
   K-means split (validated on fold 0), evaluated on the fresh test set and on
   the same test set with a strong per-subject monotone contrast change
   (``scripts/contrast_shift.py``).
2. **Folds**: all five folds of the K-means split and of the contiguous split
   (blocks of S/5 subjects); reported per fold: validation MAE (areas, dims,
   RWT) and how different the fold's subjects are from the rest (mean ED cavity
   area, mean ED wall thickness). Balanced folds give similar fold errors: a
   more trustworthy cross-validated estimate.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from lvquant.evaluate import lvquan_metrics
from lvquant.indices import normalised_to_mm
from lvquant.io.lvquan_mat import read_lvquan
from lvquant.nets.dla import create_dla
from lvquant.train import TrainConfig, _standardise, make_folds, predict_subjects, prepare, train_fold


def _net(state, cfg):
    net = create_dla(cfg.network)
    net.load_state_dict(state)
    return net


def _metrics(net, data, subjects, cfg, mean, std):
    pred = normalised_to_mm(predict_subjects(net, data, subjects, cfg, mean, std), data.crop_side_mm[subjects, None])
    true = data.targets_mm()[subjects]
    m = lvquan_metrics(pred, true, data.phase[subjects] if data.phase is not None else None)
    return {k: m[k] for k in ("areas_mae_mm2", "dims_mae_mm", "rwt_mae_mm", "phase_error")}


def equalisation(train, test, shifted, epochs: int) -> dict:
    folds = make_folds(train, 5, "kmeans", 0)
    tr, va = np.flatnonzero(folds != 0), np.flatnonzero(folds == 0)
    mean, std = _standardise(train)
    out = {}
    for intensity in ("equalize", "percentile"):
        cfg = TrainConfig(epochs=epochs, patience=epochs, intensity=intensity)
        t0 = time.perf_counter()
        res = train_fold(train, tr, va, cfg, fold=0, target_mean=mean, target_std=std)
        net = _net(res.state, cfg)
        out[intensity] = {
            "test": _metrics(net, test, np.arange(test.n_subjects), cfg, mean, std),
            "test_contrast_shifted": _metrics(net, shifted, np.arange(shifted.n_subjects), cfg, mean, std),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(intensity, json.dumps(out[intensity]), flush=True)
    return out


def fold_splits(train, epochs: int) -> dict:
    mean, std = _standardise(train)
    true = train.targets_mm()
    ed = np.argmax(true[:, :, 0], axis=1)
    ed_area = true[np.arange(train.n_subjects), ed, 0]
    ed_rwt = true[np.arange(train.n_subjects), ed, 5:].mean(1)
    out = {}
    for split in ("kmeans", "contiguous"):
        folds = make_folds(train, 5, split, 0)
        cfg = TrainConfig(epochs=epochs, patience=epochs)
        rows = []
        for k in range(5):
            tr, va = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            res = train_fold(train, tr, va, cfg, fold=k, target_mean=mean, target_std=std)
            m = _metrics(_net(res.state, cfg), train, va, cfg, mean, std)
            m.update({"fold": k, "n": int(len(va)), "mean_ed_area_mm2": float(ed_area[va].mean()),
                      "mean_ed_rwt_mm": float(ed_rwt[va].mean())})
            rows.append(m)
            print(split, json.dumps(m), flush=True)
        summary = {key: {"mean": float(np.mean([r[key] for r in rows])), "std": float(np.std([r[key] for r in rows]))}
                   for key in ("areas_mae_mm2", "dims_mae_mm", "rwt_mae_mm", "phase_error", "mean_ed_area_mm2",
                               "mean_ed_rwt_mm")}
        out[split] = {"folds": rows, "summary": summary}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--test", type=Path, required=True)
    ap.add_argument("--shifted", type=Path, required=True)
    ap.add_argument("--epochs-eq", type=int, default=12)
    ap.add_argument("--epochs-folds", type=int, default=6)
    ap.add_argument("--only", choices=("equalisation", "folds"), default=None)
    ap.add_argument("--out", type=Path, default=Path("ablations.json"))
    args = ap.parse_args()
    train = prepare(read_lvquan(args.train))
    test = prepare(read_lvquan(args.test))
    shifted = prepare(read_lvquan(args.shifted))
    result = {"epochs_equalisation": args.epochs_eq, "epochs_folds": args.epochs_folds}
    if args.only in (None, "equalisation"):
        result["equalisation"] = equalisation(train, test, shifted, args.epochs_eq)
    if args.only in (None, "folds"):
        result["folds"] = fold_splits(train, args.epochs_folds)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
