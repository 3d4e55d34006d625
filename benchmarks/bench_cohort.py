"""Benchmark: ``lvquant cohort`` on 200 phantom DICOM studies, 5 corrupt and 1 that hangs, a worker killed halfway.

Usage::

    .venv/bin/python benchmarks/bench_cohort.py [--studies 200] [--distinct 25] [--cache DIR] [--scaling 40]

The cohort: ``--distinct`` phantom subjects (seed 5000, 3-5 slices x 20
frames, full field of view) copied into ``--studies`` - 6 good study folders
with made-up identifiers planted in every header (PatientName, PatientID,
dates, AccessionNumber, InstitutionName, SeriesDescription), plus 5 corrupt
studies (a truncated file, garbage bytes, an empty folder, a text file, a
3-frame series that is no cine) and 1 study that hangs in its reader (a
Dask worker plugin makes it sleep; ``--timeout`` must stop it). Written to
``--cache`` (kept, reused) or a temporary folder.

Figures, each with its limit (the cohort issue):

1. throughput with reports on 2 local workers (>= 3 studies/s) and the
   speed-up from 1 to 2 workers (>= 1.7x), in the same run, on the first
   ``--scaling`` good studies, 1- and 2-worker runs alternating over two
   rounds, the best of each; counted from the first finished study to the
   last (cluster start-up is printed apart);
2. the whole cohort on a 2-worker LocalCluster with one worker process
   killed (SIGKILL) halfway: 194 complete, 6 in failed.csv, in one run;
3. a second run over the same output: nothing to do, under 5 s;
4. no planted identifier in cohort.csv, failed.csv, qc.html or any study file.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SPEEDUP_LIMIT = 1.7
THROUGHPUT_LIMIT = 3.0
RERUN_LIMIT_S = 5.0
TIMEOUT_S = 10.0
SEED = 5000
PLANTED = {"PatientName": "Doe^Jane^Planted", "PatientID": "MRN0077123", "PatientBirthDate": "19450321",
           "StudyDate": "20240517", "AccessionNumber": "ACC99812", "InstitutionName": "St Elsewhere Hospital",
           "SeriesDescription": "cine Doe Jane 2024-05-17"}
HANG = "S-HANG"


def _write_subject(args: tuple[str, int]) -> str:
    from lvquant.phantom import write_dicom_subject

    folder, index = args
    if not Path(folder).exists():
        write_dicom_subject(folder, index, SEED)
    return folder


def _plant(folder: Path) -> None:
    import pydicom

    for f in sorted(folder.glob("*.dcm")):
        ds = pydicom.dcmread(f)
        for key, value in PLANTED.items():
            setattr(ds, key, value)
        ds.save_as(f, enforce_file_format=True)


def build_cohort(root: Path, n_studies: int, n_distinct: int) -> Path:
    """The cohort input folder (built once per ``root``)."""
    studies = root / f"in{n_studies}"
    if (studies / ".complete").is_file():
        return studies
    src = root / "src"
    jobs = [(str(src / f"s{i:02d}"), i) for i in range(n_distinct)]
    with ProcessPoolExecutor(2) as pool:
        subjects = [Path(p) for p in pool.map(_write_subject, jobs)]
    shutil.rmtree(studies, ignore_errors=True)
    studies.mkdir(parents=True)
    n_good = n_studies - 6
    for k in range(n_good):
        dest = studies / f"S{k:04d}"
        shutil.copytree(subjects[k % n_distinct], dest, ignore=shutil.ignore_patterns("truth.json"))
        _plant(dest)
    first = sorted(subjects[0].glob("*.dcm"))
    (studies / "C1-truncated").mkdir()
    (studies / "C1-truncated" / "IM_0001.dcm").write_bytes(first[0].read_bytes()[:600])
    (studies / "C2-garbage").mkdir()
    (studies / "C2-garbage" / "IM_0001.dcm").write_bytes(os.urandom(4096))
    (studies / "C3-empty").mkdir()
    (studies / "C4-text").mkdir()
    (studies / "C4-text" / "notes.txt").write_text("not an image\n")
    (studies / "C5-not-a-cine").mkdir()
    for f in first[:3]:
        shutil.copy(f, studies / "C5-not-a-cine" / f.name)
    shutil.copytree(subjects[1], studies / HANG, ignore=shutil.ignore_patterns("truth.json"))
    (studies / ".complete").write_text("")
    return studies


def _hang_plugin():
    from distributed.diagnostics.plugin import WorkerPlugin

    class HangOne(WorkerPlugin):
        name = "lvquant-bench-hang"

        def setup(self, worker):
            import lvquant.io as io_module

            real = io_module.read_cine

            def read_or_hang(path, *args, **kwargs):
                if Path(path).name == HANG:
                    time.sleep(3600)
                return real(path, *args, **kwargs)

            io_module.read_cine = read_or_hang

    return HangOne()


class Clock:
    """Times of finished studies (for throughput from the first to the last)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, outcome: dict) -> None:
        self.times.append(time.perf_counter())

    def rate(self) -> float:
        return (len(self.times) - 1) / (self.times[-1] - self.times[0]) if len(self.times) > 1 else 0.0


def scaling(studies: Path, n: int, work: Path, rounds: int = 2) -> tuple[float, float]:
    """Throughput (studies/s) with 1 and with 2 local workers on the first ``n`` good studies.

    The runs alternate (1, 2, 1, 2, ...) over ``rounds`` rounds so that the machine's slow and fast
    minutes fall on both; each figure is the best of its runs.
    """
    from lvquant.cohort import run_cohort

    listing = work / "scaling.csv"
    names = sorted(p.name for p in studies.iterdir() if p.name.startswith("S0"))[:n]
    listing.write_text("subject_id,path\n" + "".join(f"{s},{studies / s}\n" for s in names))
    for name in names:  # the same warm file cache for every run (the first would otherwise pay the disk reads)
        for f in (studies / name).rglob("*"):
            if f.is_file():
                f.read_bytes()
    best = {1: 0.0, 2: 0.0}
    for r in range(rounds):
        for workers in (1, 2):
            clock = Clock()
            t0 = time.perf_counter()
            summary = run_cohort(listing, work / f"scaling{workers}-{r}", n_workers=workers, on_outcome=clock)
            assert summary.done == n, summary.line()
            best[workers] = max(best[workers], clock.rate())
            print(f"  round {r + 1}, {workers} worker(s): {clock.rate():.2f} studies/s from first to last; wall "
                  f"{summary.seconds:.1f} s (cluster start and first model load {clock.times[0] - t0:.1f} s)")
    return best[1], best[2]


def full_run(studies: Path, out: Path) -> tuple[object, float, list[int]]:
    from distributed import Client, LocalCluster

    from lvquant.cohort import run_cohort

    n_total = sum(1 for p in studies.iterdir() if not p.name.startswith("."))
    killed: list[int] = []
    clock = Clock()
    import dask

    from lvquant.cohort.run import cluster_config

    with dask.config.set(cluster_config()), LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                         dashboard_address=None, silence_logs=50) as cluster, \
            Client(cluster) as client:
        client.register_plugin(_hang_plugin())

        def on_outcome(outcome: dict) -> None:
            clock(outcome)
            if len(clock.times) == n_total // 2 and not killed:
                live = set(client.run(os.getpid).values())  # a worker may have been replaced already
                victim = next(p for p in live if p != outcome["pid"])
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        summary = run_cohort(studies, out, scheduler=cluster.scheduler_address, timeout_s=TIMEOUT_S,
                             on_outcome=on_outcome)
    return summary, clock.rate(), killed


def leaks(out: Path) -> list[str]:
    found = []
    tokens = {t for v in PLANTED.values() for t in {v, *v.replace("^", " ").split()} if len(t) >= 6}
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {t}" for t in tokens if t.encode() in data]
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=200)
    ap.add_argument("--distinct", type=int, default=25)
    ap.add_argument("--scaling", type=int, default=40)
    ap.add_argument("--cache", type=Path, default=None, help="keep the cohort input here (reused next time)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lvquant-bench-cohort-"))
    root = args.cache or tmp
    ok = True
    try:
        t0 = time.perf_counter()
        studies = build_cohort(root, args.studies, args.distinct)
        print(f"cohort: {args.studies} studies ({args.distinct} distinct phantom subjects, 5 corrupt, 1 hanging) "
              f"in {studies} ({time.perf_counter() - t0:.0f} s to prepare)")
        print(f"1. speed-up from 1 to 2 workers, {args.scaling} studies, best of 2 alternating rounds:")
        one, two = scaling(studies, args.scaling, tmp)
        speedup = two / one
        ok &= speedup >= SPEEDUP_LIMIT
        print(f"   speed-up {speedup:.2f}x (limit >= {SPEEDUP_LIMIT}x); throughput with reports on 2 workers "
              f"{two:.2f} studies/s (limit >= {THROUGHPUT_LIMIT})")
        out = tmp / "cohort"
        summary, rate, killed = full_run(studies, out)
        with open(out / "failed.csv", newline="") as f:
            failed = list(csv.DictReader(f))
        with open(out / "cohort.csv", newline="") as f:
            n_rows = len(list(csv.DictReader(f)))
        print(f"2. whole cohort, 2 workers, worker {killed[0] if killed else '-'} killed halfway: {summary.line()}")
        print(f"   cohort.csv {n_rows} rows, failed.csv {len(failed)} rows (limits 194 and 6); {rate:.2f} studies/s "
              f"from first to last, {summary.done / summary.seconds:.2f} studies/s wall, both including the "
              f"{TIMEOUT_S:g} s one worker spent on the hanging study and the replacement of the killed one")
        for row in failed:
            print(f"   failed {row['subject_id']}: {row['reason'][:110]}")
        ok &= n_rows == args.studies - 6 and len(failed) == 6 and bool(killed) and two >= THROUGHPUT_LIMIT
        from lvquant.cohort import run_cohort

        t1 = time.perf_counter()
        again = run_cohort(studies, out, timeout_s=TIMEOUT_S)
        rerun_s = time.perf_counter() - t1
        ok &= again.done == 0 and rerun_s < RERUN_LIMIT_S
        print(f"3. second run: {again.line()}; {rerun_s:.2f} s (limit < {RERUN_LIMIT_S:g} s)")
        found = leaks(out)
        ok &= not found
        print(f"4. planted identifiers found in the outputs: {len(found)} {found[:3]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("within limits" if ok else "LIMITS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
