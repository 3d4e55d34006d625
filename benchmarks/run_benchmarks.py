"""Run every benchmark script in this folder and print their figures.

Usage::

    make bench            # or: .venv/bin/python benchmarks/run_benchmarks.py

Each script prints its own figures and exits non-zero when it misses its
limit; this runner reports which ones did.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)]).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"over their limits: {', '.join(failed)}")
        return 1
    print("all benchmarks within their limits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
