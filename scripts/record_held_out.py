"""Write the held-out figures into a model folder's manifest (``held_out`` entry), from measurement JSON files.

The final measurement on the split's test patients is made by the commands below (docs/RESULTS.md,
"Real patients"); this script only copies their figures into ``manifest.json`` so that the
shipped weights carry them::

    lvquant evaluate --data test_rings.npz --models DIR --json > held_out_real.json
    lvquant evaluate --data test50_s2000.npz --models DIR --json > held_out_phantom.json
    python scripts/measure_localiser_acdc.py --part test --localiser DIR/localiser.json --json > held_out_loc.json
    python scripts/record_held_out.py DIR --real held_out_real.json --phantom held_out_phantom.json \\
        --localiser held_out_loc.json

A ``localiser.json`` in the same folder gets the localiser's figures too. The manifest is rewritten atomically; no other file of the folder changes (the checksums in the
manifest cover the weight files, not the manifest itself).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lvquant.datasets.collect import read_split
from lvquant.outputs import write_text_atomic
from lvquant.weights_io import read_manifest, write_manifest

ROOT = Path(__file__).resolve().parents[1]


def _summary(block: dict) -> dict:
    names = ("A1", "A2")
    out = {k: block[k] for k in ("areas_mae_mm2", "dims_mae_mm", "rwt_mae_mm", "n_subjects", "n_frames")}
    for key in ("mae", "bias", "relative_bias", "relative_mae"):
        out[key] = {n: block[key][n] for n in names if n in block[key]}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", type=Path)
    ap.add_argument("--real", type=Path, required=True, help="lvquant evaluate --json on the test crops")
    ap.add_argument("--phantom", type=Path, required=True, help="lvquant evaluate --json on the fresh phantoms")
    ap.add_argument("--localiser", type=Path, help="scripts/measure_localiser_acdc.py --json on the test part")
    ap.add_argument("--sunnybrook-corrected", type=Path,
                    help="lvquant evaluate --json on test crops whose Sunnybrook truth takes the masks' fill back")
    ap.add_argument("--split", type=Path, default=ROOT / "splits" / "real_v1.json")
    args = ap.parse_args()
    real = json.loads(args.real.read_text())
    phantom = json.loads(args.phantom.read_text())
    held = {
        "split": {"file": args.split.name, "part": "test", "patients": read_split(args.split, "test")},
        "protocol": "mid-ventricular slice at ED and ES, crops cut from the labels by the model's input spec "
                    "(lvquant dataset --part test --slices rings); every figure by patient, ensemble mean",
        "acdc_mid": _summary(real["by_source"]["acdc"]["mid"]),
        "sunnybrook_mid": _summary(real["by_source"]["sunnybrook"]["mid"]),
        "all_ring_slices": _summary(real["all_rows"]),
        "by_group": real["by_group"],
        "phantom_fresh": {k: phantom[k] for k in ("areas_mae_mm2", "dims_mae_mm", "rwt_mae_mm",
                                                         "phase_error", "n_subjects")},
    }
    if args.sunnybrook_corrected is not None:
        corrected = json.loads(args.sunnybrook_corrected.read_text())
        held["sunnybrook_mid_mask_edge_corrected"] = _summary(corrected["by_source"]["sunnybrook"]["mid"])
    if args.localiser is not None:
        held["localiser_acdc"] = json.loads(args.localiser.read_text())["summary"]
    manifest = read_manifest(args.models)
    manifest["held_out"] = held
    print(f"wrote held_out into {write_manifest(args.models, manifest)}")
    loc_path = args.models / "localiser.json"
    if args.localiser is not None and loc_path.is_file():
        loc = json.loads(loc_path.read_text())
        loc["held_out"] = {"split": held["split"], "acdc": held["localiser_acdc"],
                           "protocol": "scripts/measure_localiser_acdc.py --part test: the whole stack at ED and "
                                       "ES; centre error on the labelled mid slice, RV direction against the RV label"}
        write_text_atomic(loc_path, json.dumps(loc, indent=1, allow_nan=False) + "\n")
        print(f"wrote held_out into {loc_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
