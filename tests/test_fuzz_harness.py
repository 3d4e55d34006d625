"""The short form of scripts/fuzz_inputs.py (the on-demand harness runs 10,000 mutants; docs/io.md)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fuzz_inputs.py"


def _harness():
    spec = importlib.util.spec_from_file_location("fuzz_inputs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_inputs", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_mutated_inputs_are_refused_or_measured_sanely_in_bounded_time():
    harness = _harness()
    tally = harness.fuzz(120, seed=1, pipeline_every=4, limit=20.0)
    assert tally.failures == []
    for fmt in ("dicom", "nifti", "npz", "mat"):
        assert sum(v for k, v in tally.counts.items() if k.startswith(f"mutations {fmt}/")) == 30
        assert tally.counts[f"{fmt} refused by the reader"] > 0  # the mutations do break things
        assert tally.counts[f"{fmt} read"] > 0  # and some stay readable
    assert sum(v for k, v in tally.counts.items() if k.endswith("measured")) > 0  # the pipeline ran


def test_a_failure_is_reported_as_one(tmp_path, monkeypatch):
    """The harness's own check: a reader raising a foreign exception is a failure, not a pass."""
    harness = _harness()
    import lvquant.io

    def broken(path, *args, **kwargs):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(lvquant.io, "read_cine", broken)
    tally = harness.Tally()
    harness.run_one("dicom", tmp_path, None, None, pipeline=False, limit=5.0, tally=tally, label="planted")
    assert tally.failures and "ZeroDivisionError" in tally.failures[0]
