"""Benchmark: localise the LV in one 20-frame slice (the demo's mid slice, full field of view).

Usage::

    .venv/bin/python benchmarks/bench_localise.py [--repeat N]

Times :func:`lvquant.analysis.localise.locate_lv` on the bundled demo series'
mid-ventricular slice (20 frames, 192 × 208 pixels), and, as a reference in
the same run, one full-resolution Gaussian blur of those 20 frames
(``scipy.ndimage.gaussian_filter``, sigma 2 pixels): the ratio says how many
such blurs the localiser costs, which moves less with the machine's speed than
milliseconds do. Also times the whole stack search
(:func:`~lvquant.analysis.localise.locate_lv_in_stack`, 3 slices).
The issue's limit: median ≤ 120 ms for one slice.

Both localisers are timed: the learned one (``lvquant analyze``'s default,
:class:`~lvquant.analysis.localise_learned.LearnedLocaliser`) and the hand-made one
(``--localiser classic``); the exit status follows the default.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path

from timing import median_best_ms

LIMIT_MS = 120.0
ZIP = Path(__file__).resolve().parents[1] / "src" / "lvquant" / "data" / "demo_series.zip"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    import json

    from scipy import ndimage as ndi

    from lvquant.analysis.localise import locate_lv, locate_lv_in_stack
    from lvquant.analysis.localise_learned import LearnedLocaliser
    from lvquant.io import read_cine

    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(ZIP) as z:
            z.extractall(tmp)
        cine = read_cine(tmp)
        truth = json.loads((Path(tmp) / "truth.json").read_text())
    k = min(range(cine.frames.shape[0]),
            key=lambda i: abs(cine.slice_positions_mm[i] - truth["slice_locations_mm"][truth["mid_slice"]]))
    frames, spacing = cine.frames[k], cine.spacing_mm
    learned = LearnedLocaliser.load()
    ref, _ = median_best_ms(lambda: ndi.gaussian_filter(frames, (0, 2, 2)), args.repeat)
    result = {}
    for name, one, many in (("learned", learned.locate, learned.locate_stack),
                            ("classic", locate_lv, locate_lv_in_stack)):
        med, best = median_best_ms(lambda: one(frames, spacing), args.repeat)
        stack, _ = median_best_ms(lambda: many(cine.frames, spacing), max(3, args.repeat // 4))
        print(f"{name}: localise one slice ({frames.shape[0]} frames, {frames.shape[1]} x {frames.shape[2]} px): "
              f"median {med:.1f} ms, best {best:.1f} ms over {args.repeat} runs (limit {LIMIT_MS:.0f} ms); "
              f"= {med / ref:.1f} x one Gaussian blur of the slice ({ref:.1f} ms, same run); "
              f"the stack ({cine.frames.shape[0]} slices): median {stack:.1f} ms")
        result[name] = med
    return 0 if result["learned"] <= LIMIT_MS else 1


if __name__ == "__main__":
    sys.exit(main())
