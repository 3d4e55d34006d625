"""Benchmark: the model stage, 20 frames × N models, ONNX Runtime against the old NumPy engine.

Usage::

    .venv/bin/python benchmarks/bench_inference.py [--models DIR] [--repeat N]

Times one ensemble prediction of 20 equalised 80×80 frames (the shipped
ensemble, or ``--models``) on ONNX Runtime, what ``lvquant analyze`` runs.

The reference, measured in the same run on the same weights: the hand-written
NumPy engine that lvquant used before (``nets/numpy_dla.py``, removed in the
commit that brought ONNX Runtime). It is taken from the git history
(``git show REF:src/lvquant/nets/numpy_dla.py``, ``--reference-commit``), so
this needs a git checkout; without one only the ONNX figure is printed.

The issue's limits: median ≤ 40 ms, and ≥ 2.5× faster than the NumPy engine.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from timing import median_best_ms

LIMIT_MS = 40.0
MIN_SPEEDUP = 2.5
#: The last commit with the NumPy engine.
REFERENCE_COMMIT = "e926cf5"
ROOT = Path(__file__).resolve().parents[1]


def _old_numpy_engine(commit: str, models: Path):
    """The NumPy ensemble of ``commit`` on the folder's safetensors weights, or None without git."""
    try:
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:src/lvquant/nets/numpy_dla.py"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    from safetensors.numpy import load_file

    from lvquant.nets.config import DLAConfig
    from lvquant.weights_io import read_manifest

    tmp = Path(tempfile.mkdtemp()) / "old_numpy_dla.py"
    # the old module imported its config relatively; give it the same table
    tmp.write_text(source.replace("from .config import DLAConfig", "from lvquant.nets.config import DLAConfig"))
    spec = importlib.util.spec_from_file_location("old_numpy_dla", tmp)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    manifest = read_manifest(models)
    c = manifest["network_config"]
    config = DLAConfig(tuple(c["levels"]), tuple(c["channels"]), c["head_channels"], c["hidden"], c["dropout"])
    nets = [module.NumpyDLA(config, load_file(str(models / m["file"]))) for m in manifest["models"]]
    return lambda x: module.run_networks(nets, x)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, help="model folder (default: the shipped ensemble)")
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--reference-commit", default=REFERENCE_COMMIT)
    args = ap.parse_args()
    from lvquant.analysis.predict import DEFAULT_MODEL_DIR, Ensemble, default_threads

    models = args.models or DEFAULT_MODEL_DIR
    ens = Ensemble.load(models)
    crops = np.random.default_rng(0).random((20, 80, 80), dtype=np.float32)
    med, best = median_best_ms(lambda: ens.predict(crops, 1.5), args.repeat, warmup=5)
    print(f"model stage, 20 frames x {ens.identity['network']} x{len(ens)}, ONNX Runtime "
          f"({default_threads()} threads): median {med:.1f} ms, best {best:.1f} ms over {args.repeat} runs "
          f"(limit {LIMIT_MS:.0f} ms)")
    ok = med <= LIMIT_MS
    old = _old_numpy_engine(args.reference_commit, models)
    if old is None:
        print("reference: no git history here, the old NumPy engine was not measured")
        return 0 if ok else 1
    ref_med, ref_best = median_best_ms(lambda: old(crops), args.repeat, warmup=5)
    speedup = ref_med / med
    print(f"reference, the NumPy engine of {args.reference_commit}, same weights, same run: median {ref_med:.1f} ms, "
          f"best {ref_best:.1f} ms -> ONNX Runtime {speedup:.2f}x faster (at least {MIN_SPEEDUP}x wanted)")
    return 0 if ok and speedup >= MIN_SPEEDUP else 1


if __name__ == "__main__":
    sys.exit(main())
