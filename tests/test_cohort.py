"""lvquant cohort: studies found, analysed on a real Dask cluster, faults kept out of the way, tables and QC page.

The end-to-end tests run real 2-worker ``LocalCluster``s (worker processes
with nannies): one started by the test (so it can inject a hanging study
through a worker plugin and kill a worker process mid-run) and the one the
CLI starts by default.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from lvquant.cli import main
from lvquant.cohort import Study, find_studies, parse_shard, run_cohort, select_shard
from lvquant.cohort.tables import add_flags, robust_z
from lvquant.errors import InputError, OutputError
from lvquant.outputs import remove_debris, write_folder_atomic
from lvquant.phantom import PhantomConfig, write_dicom_subject
from lvquant.report import REPORT_FILES

from dicom_fixtures import rewrite

SMALL = PhantomConfig(dicom_slices_apical=(1, 1), dicom_slices_basal=(0, 0))
#: Header values planted in every good study: none may reach any output.
PLANTED = {"PatientName": "Doe^Jane^Planted", "PatientID": "MRN0077123", "PatientBirthDate": "19450321",
           "StudyDate": "20240517", "AccessionNumber": "ACC99812", "InstitutionName": "St Elsewhere Hospital",
           "SeriesDescription": "cine Doe Jane 2024-05-17", "ProtocolName": "Doe protocol MRN0077123"}
GOOD = [f"P{k:03d}" for k in range(8)]
BAD = {"CORRUPT": "DICOM", "ONEFRAME": "frames", "Z-HANG": "time limit"}
TIMEOUT_S = 12.0


def _lines(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def cohort_input(tmp_path_factory) -> Path:
    """8 good studies (copies of 3 phantom subjects, planted identifiers), 3 bad ones and a stray file."""
    root = tmp_path_factory.mktemp("cohort")
    src = [write_dicom_subject(root / "src" / f"s{i}", i, 77, SMALL) for i in range(3)]
    studies = root / "in"
    studies.mkdir()
    for k, sid in enumerate(GOOD):
        shutil.copytree(src[k % 3], studies / sid, ignore=shutil.ignore_patterns("truth.json"))
        for f in sorted((studies / sid).glob("*.dcm")):
            rewrite(f, **PLANTED)
    (studies / "CORRUPT").mkdir()
    first = sorted(src[0].glob("*.dcm"))[0].read_bytes()
    (studies / "CORRUPT" / "IM_0001.dcm").write_bytes(first[:400])
    (studies / "ONEFRAME").mkdir()
    for f in sorted(src[1].glob("*.dcm"))[:3]:
        shutil.copy(f, studies / "ONEFRAME" / f.name)
    shutil.copytree(src[2], studies / "Z-HANG")
    (studies / "notes.txt").write_text("not a study\n")
    return studies


def _hang_plugin():
    """A worker plugin making the study named Z-HANG hang in its reader (defined here: pickled by value)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class HangOnZ(WorkerPlugin):
        name = "lvquant-test-hang"

        def setup(self, worker):
            import lvquant.io as io_module

            real = io_module.read_cine

            def read_or_hang(path, *args, **kwargs):
                if Path(path).name == "Z-HANG":
                    time.sleep(3600)
                return real(path, *args, **kwargs)

            io_module.read_cine = read_or_hang

    return HangOnZ()


@pytest.fixture(scope="module")
def cohort_run(cohort_input, tmp_path_factory):
    """One run on a test-owned 2-worker LocalCluster, a worker killed mid-run, a study that hangs."""
    from distributed import Client, LocalCluster

    out = tmp_path_factory.mktemp("cohort-out") / "run"
    killed: list[int] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        client.register_plugin(_hang_plugin())
        pids = set(client.run(os.getpid).values())
        done: list[dict] = []

        def kill_the_other_worker(outcome: dict) -> None:
            done.append(outcome)
            if len([o for o in done if o["status"] == "done"]) == 2 and not killed:
                victim = next(p for p in pids if p != outcome["pid"])  # busy with its own study
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        summary = run_cohort(cohort_input, out, scheduler=cluster.scheduler_address, timeout_s=TIMEOUT_S,
                             on_outcome=kill_the_other_worker)
    return out, summary, killed, pids


# ------------------------------------------------------------------ end to end
def test_every_good_study_completes_and_every_bad_one_is_failed_with_its_reason(cohort_run):
    out, summary, killed, _ = cohort_run
    assert killed, "the test did not kill a worker"
    assert (summary.done, summary.failed, summary.skipped, summary.left) == (len(GOOD), len(BAD), 0, 0)
    assert summary.ignored == 1  # notes.txt
    assert sorted(r["subject_id"] for r in _lines(out / "cohort.csv")) == GOOD
    failed = {r["subject_id"]: r["reason"] for r in _lines(out / "failed.csv")}
    assert sorted(failed) == sorted(BAD)
    for sid, word in BAD.items():
        assert word in failed[sid], (sid, failed[sid])
        assert "\n" not in failed[sid]


def test_study_folders_are_complete_and_nothing_half_written_is_left(cohort_run):
    out = cohort_run[0]
    studies = out / "studies"
    assert sorted(p.name for p in studies.iterdir()) == GOOD  # no hidden .part debris, no bad study folder
    for sid in GOOD:
        assert sorted(p.name for p in (studies / sid).iterdir()) == sorted(REPORT_FILES)


def test_models_load_once_per_worker_process_even_after_a_worker_is_replaced(cohort_run):
    _, summary, killed, pids = cohort_run
    outcomes = [o for o in summary.outcomes if o["status"] == "done"]
    assert {o["model_loads"] for o in outcomes} == {1}
    assert {o["pid"] for o in outcomes} - pids, "no study ran on the worker that replaced the killed one"


def test_no_header_identifier_reaches_any_output(cohort_run):
    out = cohort_run[0]
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in PLANTED.values():
                for token in {value, *value.replace("^", " ").split()}:
                    if len(token) >= 6:
                        assert token.encode() not in data, (path, token)


def test_a_study_folder_is_exactly_what_analyze_writes(cohort_run, cohort_input, tmp_path):
    out = cohort_run[0]
    assert main(["analyze", str(cohort_input / "P001"), "--out", str(tmp_path / "one")]) == 0
    ours = json.loads((out / "studies" / "P001" / "result.json").read_text())
    theirs = json.loads((tmp_path / "one" / "result.json").read_text())
    for key in ("timings_ms",):
        ours.pop(key), theirs.pop(key)
    assert ours == theirs
    rows = {r["subject_id"]: r for r in _lines(out / "cohort.csv")}
    assert float(rows["P001"]["ed_cavity_area_mm2"]) == pytest.approx(
        theirs["frames"][theirs["ed_frame"]]["cavity_area_mm2"], abs=5e-4)


def test_a_second_run_skips_everything_without_starting_a_cluster(cohort_run, cohort_input):
    out = cohort_run[0]
    before = (out / "cohort.csv").read_text()
    t0 = time.perf_counter()
    again = run_cohort(cohort_input, out, timeout_s=TIMEOUT_S)
    assert time.perf_counter() - t0 < 5.0
    assert (again.done, again.skipped, again.failed_before, again.workers) == (0, len(GOOD), len(BAD), 0)
    assert (out / "cohort.csv").read_text() == before
    assert sorted(r["subject_id"] for r in _lines(out / "failed.csv")) == sorted(BAD)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _dump_dom(page: Path, fragment: str, profile: Path) -> str:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--dump-dom", page.as_uri() + fragment]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout


def _cards(dom: str) -> list[tuple[str, bool, bool]]:
    """(subject, flagged, visible) of each card, in page order."""
    import re

    cards = []
    for m in re.finditer(r'<div class="card[^"]*"([^>]*)>', dom):
        attrs = m.group(1)
        sid = re.search(r'data-subject="([^"]+)"', attrs).group(1)
        flagged = 'data-flagged="1"' in attrs
        visible = "display: none" not in attrs
        cards.append((sid, flagged, visible))
    return cards


@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (make test installs it)")
def test_qc_page_in_a_real_browser_lists_every_study_outliers_first_and_sorts_and_filters(cohort_run, tmp_path):
    out = cohort_run[0]
    page = out / "qc.html"
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # nothing to fetch: opens offline
    default = _cards(_dump_dom(page, "", tmp_path / "p1"))
    assert sorted(c[0] for c in default) == GOOD and all(c[2] for c in default)
    flags = [c[1] for c in default]
    assert any(flags) and flags == sorted(flags, reverse=True)  # outliers first
    by_subject = _cards(_dump_dom(page, "#sort=subject", tmp_path / "p2"))
    assert [c[0] for c in by_subject] == GOOD
    only_flagged = _cards(_dump_dom(page, "#flagged=1", tmp_path / "p3"))
    assert {c[0] for c in only_flagged if c[2]} == {c[0] for c in default if c[1]}
    filtered = _cards(_dump_dom(page, "#q=p00", tmp_path / "p4"))
    assert sorted(c[0] for c in filtered if c[2]) == GOOD  # all P00x
    one = _cards(_dump_dom(page, "#q=P003", tmp_path / "p5"))
    assert [c[0] for c in one if c[2]] == ["P003"]
    dom = _dump_dom(page, "", tmp_path / "p6")
    assert f"Failed: {len(BAD)}" in dom and all(sid in dom for sid in BAD)


# ------------------------------------------------------------ the CLI's own cluster
def test_cli_shards_on_its_local_cluster_and_merges_them(cohort_input, tmp_path, capsys):
    listing = tmp_path / "cohort.csv"
    rows = ["subject_id,path,slice", "alpha,in/P000,", "beta,in/P001,1", "gamma,in/CORRUPT,"]
    (tmp_path / "in").symlink_to(cohort_input)
    listing.write_text("\n".join(rows) + "\n")
    for i in (0, 1):
        code = main(["cohort", str(listing), "--out", str(tmp_path / f"shard{i}"), "--shard", f"{i}/2",
                     "--workers", "2", "--quiet"])
        assert code == 0
    printed = capsys.readouterr().out
    assert "1 done, 0 skipped, 1 failed of 2 studies" in printed and "1 done, 0 skipped, 0 failed of 1" in printed
    assert [r["subject_id"] for r in _lines(tmp_path / "shard0" / "cohort.csv")] == ["alpha"]
    assert json.loads((tmp_path / "shard1" / "studies" / "beta" / "result.json").read_text())["slice"]["index"] == 1
    assert main(["cohort", "--merge", str(tmp_path / "shard0"), str(tmp_path / "shard1"),
                 "--out", str(tmp_path / "all")]) == 0
    assert sorted(r["subject_id"] for r in _lines(tmp_path / "all" / "cohort.csv")) == ["alpha", "beta"]
    assert [r["subject_id"] for r in _lines(tmp_path / "all" / "failed.csv")] == ["gamma"]
    assert "../shard1/studies/beta/report.html" in (tmp_path / "all" / "qc.html").read_text()


def test_sigterm_stops_the_cohort_cleanly_and_the_next_run_finishes_it(cohort_input, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "lvquant.cli", "cohort", str(cohort_input), "--out", str(out), "--workers", "2",
           "--quiet", "--timeout", str(TIMEOUT_S)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any((out / "studies").glob("P*/result.json")):
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    studies = sorted((out / "studies").iterdir())
    everything = sorted(GOOD + ["Z-HANG"])  # no hang without the test plugin
    assert studies and all(p.name in everything for p in studies)  # no debris
    assert all(sorted(q.name for q in p.iterdir()) == sorted(REPORT_FILES) for p in studies)
    n_first = len(studies)
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{n_first} skipped" in rerun.stdout
    assert sorted(p.name for p in (out / "studies").iterdir()) == everything


@pytest.mark.parametrize("argv, message", [
    (["cohort", "{missing}", "--out", "{out}"], "cannot read"),
    (["cohort", "{input}", "--out", "{out}", "--shard", "2/2"], "--shard must be i/n"),
    (["cohort", "{input}", "--out", "{out}", "--shard", "x"], "--shard must be i/n"),
    (["cohort", "{input}", "--out", "{out}", "--timeout", "-1"], "--timeout must be"),
    (["cohort", "{input}", "--out", "{out}", "--timeout", "nan"], "--timeout must be"),
    (["cohort", "{input}", "--out", "{out}", "--workers", "0"], "--workers must be"),
    (["cohort", "--merge", "{input}", "--out", "{out}"], "not a cohort output folder"),
    (["cohort", "--out", "{out}"], "give a cohort INPUT"),
    (["cohort", "{empty}", "--out", "{out}"], "holds no study"),
    (["cohort", "{input}", "--out", "{file}"], "not a folder"),
])
def test_cli_refuses_bad_cohort_requests_in_one_line(argv, message, tmp_path, capsys):
    (tmp_path / "in" / "S1").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    values = {"missing": str(tmp_path / "nope"), "out": str(tmp_path / "out"), "input": str(tmp_path / "in"),
              "empty": str(tmp_path / "empty"), "file": str(tmp_path / "file")}
    code = main([a.format(**values) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


# ------------------------------------------------------------------ the parts
def test_studies_from_a_folder_skip_hidden_entries_and_count_what_is_ignored(tmp_path):
    for name in ("B", "A", ".hidden"):
        (tmp_path / name).mkdir()
    (tmp_path / "C.nii.gz").write_bytes(b"")
    (tmp_path / "D.nii").write_bytes(b"")
    (tmp_path / "readme.md").write_text("x")
    os.mkfifo(tmp_path / "pipe")
    studies, ignored = find_studies(tmp_path)
    assert [s.subject_id for s in studies] == ["A", "B", "C", "D"] and ignored == 2
    assert all(Path(s.path).is_absolute() for s in studies)


def test_studies_from_a_csv_resolve_relative_paths_and_read_the_slice(tmp_path):
    (tmp_path / "list.csv").write_text("subject_id,path,slice\nS1,a/b,2\nS2,/abs/x.nii.gz,\n\n")
    studies, _ = find_studies(tmp_path / "list.csv")
    assert studies == [Study("S1", str(tmp_path / "a" / "b"), 2), Study("S2", "/abs/x.nii.gz", None)]


@pytest.mark.parametrize("text, message", [
    ("id,path\nS1,a\n", "needs the columns"),
    ("subject_id,path\n../up,a\n", "not usable as a folder name"),
    ("subject_id,path\nS1,a\nS1,b\n", "appears twice"),
    ("subject_id,path,slice\nS1,a,two\n", "slice must be an integer"),
    ("subject_id,path,slice\nS1,a,-1\n", "slice must be from 0"),
    ("subject_id,path\nS1,\n", "no path"),
    ("subject_id,path\n", "holds no study"),
])
def test_bad_cohort_csvs_are_refused(tmp_path, text, message):
    (tmp_path / "list.csv").write_text(text)
    with pytest.raises(InputError, match=message):
        find_studies(tmp_path / "list.csv")


@given(n=st.integers(1, 60), shards=st.integers(1, 9))
def test_shards_partition_the_studies(n, shards):
    studies = [Study(f"S{k}", f"/x/{k}") for k in range(n)]
    parts = [select_shard(studies, parse_shard(f"{i}/{shards}")) for i in range(shards)]
    assert sorted((s for p in parts for s in p), key=lambda s: int(s.subject_id[1:])) == studies


def test_folder_writes_are_all_or_nothing(tmp_path, monkeypatch):
    target = tmp_path / "study"
    write_folder_atomic(target, {"a.txt": b"1", "b.txt": b"2"})
    with pytest.raises(OutputError, match="already exists"):
        write_folder_atomic(target, {"a.txt": b"3"})
    real = Path.write_bytes
    calls = {"n": 0}

    def interrupted_on_second(self, data):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", interrupted_on_second)
    with pytest.raises(KeyboardInterrupt):
        write_folder_atomic(target, {"a.txt": b"new", "b.txt": b"new"}, replace=True)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]  # no debris
    assert (target / "a.txt").read_bytes() == b"1" and (target / "b.txt").read_bytes() == b"2"  # untouched
    write_folder_atomic(target, {"c.txt": b"x"}, replace=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]
    assert [p.name for p in target.iterdir()] == ["c.txt"]


def test_debris_of_a_killed_writer_is_found_by_its_tag_only(tmp_path):
    (tmp_path / ".S1.runA.xyz.part").mkdir()
    (tmp_path / ".S2.runB.xyz.part").mkdir()
    (tmp_path / "S3").mkdir()
    assert remove_debris(tmp_path, tag="runA.") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".S2.runB.xyz.part", "S3"]
    assert remove_debris(tmp_path, older_than_s=3600) == 0  # too young: another run may be writing it


def _row(sid: str, cav: float, spread: float = 1.0, warnings: int = 0) -> dict:
    return {"subject_id": sid, "ed_cavity_area_mm2": cav, "es_cavity_area_mm2": cav / 2,
            "ed_myocardium_area_mm2": 1000.0, "fac_percent": 50.0, "ed_mean_wall_mm": 7.0,
            "spread_cavity_percent": spread, "spread_myocardium_percent": 1.0, "n_warnings": warnings,
            "qc_flags": ""}


def test_flags_put_outliers_first():
    rows = [_row(f"S{k:02d}", 2000.0 + 10 * k) for k in range(12)]
    rows += [_row("BIG", 9000.0), _row("SPREAD", 2050.0, spread=25.0), _row("WARN", 2040.0, warnings=1)]
    ranked = add_flags(rows)
    assert ranked[0]["subject_id"] == "BIG" and "z:ed_cavity_area_mm2" in ranked[0]["qc_flags"]
    assert {r["subject_id"] for r in ranked[:3]} == {"BIG", "SPREAD", "WARN"}
    assert all(r["qc_flags"] == "" for r in ranked[3:])


def test_robust_z_needs_enough_studies_and_spread():
    assert not robust_z([1.0, 100.0, 3.0]).any()  # too few
    assert not robust_z([5.0] * 20).any()  # no spread at all
    z = robust_z([1.0] * 5 + [2.0] * 5 + [50.0])
    assert abs(z[-1]) > 3 and (abs(z[:-1]) < 3).all()


def test_array_job_recipe_two_shards_at_once_into_one_folder_then_merge(cohort_input, tmp_path):
    """docs/cohort.md's Slurm array recipe: shards run concurrently into one DIR, then one merge."""
    out = tmp_path / "shared-out"
    listing = tmp_path / "list.csv"
    listing.write_text("subject_id,path\n" + "".join(f"{s},{cohort_input / s}\n" for s in GOOD[:4] + ["CORRUPT"]))
    procs = [subprocess.Popen([sys.executable, "-m", "lvquant.cli", "cohort", str(listing), "--out", str(out),
                               "--shard", f"{i}/2", "--workers", "1", "--quiet"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (0, 1)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert main(["cohort", "--merge", str(out), "--out", str(out)]) == 0
    assert sorted(r["subject_id"] for r in _lines(out / "cohort.csv")) == GOOD[:4]
    assert [r["subject_id"] for r in _lines(out / "failed.csv")] == ["CORRUPT"]
    assert sorted(p.name for p in (out / "studies").iterdir()) == GOOD[:4]


FAKE_SBATCH = """#!/bin/bash
# A stand-in for Slurm's sbatch: runs the job script as a background process; the job ID is its PID.
cp "${@: -1}" "$FAKE_SLURM/job.$$.sh"  # like sbatch, keep the script: the caller deletes its file
setsid bash "$FAKE_SLURM/job.$$.sh" >"$FAKE_SLURM/job.$$.log" 2>&1 < /dev/null &
echo "Submitted batch job $!"
"""
FAKE_SCANCEL = """#!/bin/bash
kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null || true
"""


def test_slurm_recipe_runs_the_cohort_on_dask_jobqueue_workers(cohort_input, tmp_path):
    """scripts/cohort_on_slurm.py end to end, with sbatch/scancel stand-ins that start the job scripts locally."""
    pytest.importorskip("dask_jobqueue")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("scancel", FAKE_SCANCEL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    listing = tmp_path / "list.csv"
    listing.write_text("subject_id,path\n" + "".join(f"{s},{cohort_input / s}\n" for s in GOOD[:3]))
    env = {**os.environ, "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
           "FAKE_SLURM": str(tmp_path)}
    script = Path(__file__).resolve().parents[1] / "scripts" / "cohort_on_slurm.py"
    run = subprocess.run([sys.executable, str(script), str(listing), "--out", str(tmp_path / "out"), "--jobs", "1",
                          "--processes", "2", "--memory", "4GB"], capture_output=True, text=True, timeout=180, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "3 done, 0 skipped, 0 failed of 3 studies" in run.stdout and "on 2 worker processes" in run.stdout
    assert sorted(r["subject_id"] for r in _lines(tmp_path / "out" / "cohort.csv")) == GOOD[:3]
    job_script = next(tmp_path.glob("job.*.sh")).read_text()
    assert "#SBATCH --cpus-per-task=2" in job_script and "OMP_NUM_THREADS=1" in job_script  # ran through sbatch


def test_cli_runs_on_an_existing_scheduler_and_refuses_an_unreachable_one(cohort_input, tmp_path, capsys):
    from distributed import LocalCluster

    listing = tmp_path / "two.csv"
    listing.write_text("subject_id,path\n" + "".join(f"{s},{cohort_input / s}\n" for s in GOOD[:2]))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster:
        code = main(["cohort", str(listing), "--out", str(tmp_path / "out"), "--scheduler",
                     cluster.scheduler_address, "--quiet"])
    assert code == 0
    assert "2 done, 0 skipped, 0 failed of 2 studies" in capsys.readouterr().out
    code = main(["cohort", str(listing), "--out", str(tmp_path / "out2"), "--scheduler", "tcp://127.0.0.1:9",
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out2" / "studies").exists() or not any((tmp_path / "out2" / "studies").iterdir())


def test_nifti_studies_as_files_and_in_uk_biobank_folders(cohort_input, tmp_path):
    """A cohort of NIfTI cines: ``P.nii.gz`` files and UK Biobank's ``<subject>/sa.nii.gz`` folders."""
    import nibabel as nib
    import numpy as np

    from lvquant.io import read_cine

    cine = read_cine(cohort_input / "P000")
    vol = np.transpose(cine.frames, (3, 2, 0, 1))  # (x, y, slice, t)
    img = nib.Nifti1Image(vol.astype(np.int16), np.diag([cine.spacing_mm[1], cine.spacing_mm[0], 8.0, 1.0]))
    img.header.set_xyzt_units("mm", "msec")
    studies = tmp_path / "in"
    (studies / "UKB1").mkdir(parents=True)
    nib.save(img, str(studies / "UKB1" / "sa.nii.gz"))
    nib.save(img, str(studies / "UKB1" / "la_4ch.nii.gz"))  # a long-axis file beside it is not the study
    nib.save(img, str(studies / "NIF2.nii.gz"))
    found, _ = find_studies(studies)
    assert [(s.subject_id, Path(s.path).name) for s in found] == [("NIF2", "NIF2.nii.gz"), ("UKB1", "sa.nii.gz")]
    summary = run_cohort(studies, tmp_path / "out", n_workers=1)
    assert (summary.done, summary.failed) == (2, 0), summary.line()
    rows = {r["subject_id"]: r for r in _lines(tmp_path / "out" / "cohort.csv")}
    assert rows["UKB1"]["ed_cavity_area_mm2"] == rows["NIF2"]["ed_cavity_area_mm2"]
