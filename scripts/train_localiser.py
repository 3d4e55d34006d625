"""Train the learned localiser on the split's ACDC training patients and phantom series; measure it.

The ACDC training part of the split is divided once more: ``--val`` patients (every fifth
one, by name) are kept out of training and measured, as the hand-made localiser is in
``scripts/measure_localiser_acdc.py`` (centre error on the labelled mid slice, RV
direction against the RV label). The test part is never read here.

    python scripts/train_localiser.py --out /work/lvquant-runs/localiser_l1 \\
        [--acdc ../shared/data/acdc] [--phantom-series 40] [--epochs 30]

Writes ``localiser.onnx`` + ``localiser.json`` (manifest with the provenance) to ``--out``;
copy both into ``src/lvquant/weights`` to ship.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from lvquant.analysis.localise_learned import LearnedLocaliser
from lvquant.datasets.acdc import LICENCE as ACDC_LICENCE, read_acdc_pack, read_patients_csv
from lvquant.datasets.collect import read_split
from lvquant.localiser_training import LocaliserTrainConfig, samples_from_phantom, samples_from_stack, \
    train_localiser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from measure_localiser_acdc import measure  # noqa: E402


def phantom_samples(n: int, seed: int, cache: Path | None) -> list:
    """Phantom series 0..n-1 of ``seed`` as samples, rendered once and kept in ``cache`` (an .npz of
    plain arrays, no pickle) when given."""
    from lvquant.localiser_training import LocaliserSample

    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            meta = json.loads(str(z["meta"]))
            if meta["n"] == n and meta["seed"] == seed:
                return [LocaliserSample(z[f"pair_{i}"], tuple(m["spacing"]), None if m["centre"] is None
                                        else tuple(m["centre"]), m["rv"], m["radius"], m["patient"])
                        for i, m in enumerate(meta["samples"])]
    out = []
    for i in range(n):
        out += samples_from_phantom(i, seed)
    if cache is not None:
        meta = {"n": n, "seed": seed, "samples": [
            {"spacing": list(s.spacing_mm), "centre": None if s.centre_mm is None else list(s.centre_mm),
             "rv": s.rv_angle_deg, "radius": s.radius_mm, "patient": s.patient} for s in out]}
        np.savez(cache, meta=json.dumps(meta), **{f"pair_{i}": s.pair for i, s in enumerate(out)})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--split", type=Path, default=ROOT / "splits" / "real_v1.json")
    ap.add_argument("--acdc", type=Path, default=ROOT.parent / "shared" / "data" / "acdc")
    ap.add_argument("--phantom-series", type=int, default=40)
    ap.add_argument("--phantom-seed", type=int, default=9100)
    ap.add_argument("--phantom-cache", type=Path, default=None, help="keep the rendered phantom slices here")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--all-train", action="store_true", help="train on every training patient (no validation)")
    args = ap.parse_args()

    table = read_patients_csv(args.acdc)
    train_part = sorted(read_split(args.split, "train")["acdc"])
    val = [] if args.all_train else train_part[::5]
    fit = [p for p in train_part if p not in val]
    t0 = time.perf_counter()
    samples = []
    for p in fit:
        samples += samples_from_stack(read_acdc_pack(args.acdc, p, table))
    n_acdc = len(samples)
    samples += phantom_samples(args.phantom_series, args.phantom_seed, args.phantom_cache)
    print(f"{len(samples)} slices ({n_acdc} ACDC from {len(fit)} patients, {len(samples) - n_acdc} phantom "
          f"from {args.phantom_series} series) in {time.perf_counter() - t0:.0f} s", flush=True)
    provenance = {
        "data": {
            "acdc": {"patients": fit, "licence": ACDC_LICENCE,
                     "frames": "ED and ES, every slice of the stack"},
            "phantom": {"series": args.phantom_series, "seed": args.phantom_seed, "licence": "generated (lvquant)"},
        },
        "split": {"file": args.split.name, "validation_patients": val,
                  "note": "the split's test patients are never read in training"},
    }
    cfg = LocaliserTrainConfig(epochs=args.epochs, threads=args.threads)
    train_localiser(samples, args.out, cfg=cfg, provenance=provenance, name=args.out.name,
                    progress=lambda e, loss: print(f"epoch {e + 1}/{cfg.epochs} loss {loss:.4f} "
                                                   f"({time.perf_counter() - t0:.0f} s)", flush=True))
    if val:
        loc = LearnedLocaliser.load(args.out / "localiser.json", threads=args.threads)
        rows = [measure(read_acdc_pack(args.acdc, p, table), loc) for p in val]
        found = [r for r in rows if r["found"]]
        c = np.array([r["centre_error_mm"] for r in found])
        a = np.array([r["rv_error_deg"] for r in found])
        for r in rows:
            print(r)
        summary = {"validation_patients": len(rows), "found": len(found), "centre_within_5mm": int((c <= 5).sum()),
                   "rv_within_30deg": int((a <= 30).sum()),
                   "centre_median_mm": float(np.median(c)) if len(c) else None,
                   "rv_median_deg": float(np.median(a)) if len(a) else None}
        print(json.dumps(summary))
        (args.out / "validation.json").write_text(json.dumps({"summary": summary, "patients": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
