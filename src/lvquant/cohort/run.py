"""Running a cohort on Dask: which studies to do, submitting them, time limits, dead workers, interrupts.

The client (this process) decides what is left to do, keeps two studies per
worker thread in flight (one running, one waiting), and turns everything that can go wrong with a
study into a line of ``failed.csv`` instead of an error:

* a study lvquant refuses (corrupt, not a cine, no LV found): the worker
  returns the one-line reason (:func:`~lvquant.cohort.work.analyse_study`);
* a study still running ``timeout_s`` after its worker started it (workers
  announce each start as a Dask event): the client cancels it and has the
  worker's nanny restart that worker process (a hung thread cannot be
  stopped any other way);
* a worker process that dies (killed, out of memory): Dask gives its study to
  another worker; a study that kills its worker ``ALLOWED_FAILURES`` times
  is failed;
* Ctrl-C or SIGTERM: running studies are cancelled, the cluster is closed,
  the tables are written for what is complete, and the interrupt is raised
  again; a next run does what was left.

Every study's report folder appears complete or not at all, so a study is
"done" exactly when its folder exists: that is what makes runs resumable and
shards writing into one output folder safe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError
from ..outputs import check_can_create, check_writable_dir, remove_debris, write_text_atomic
from .studies import Study, find_studies, select_shard
from .work import FAILED_DIR, QC_DIR, START_TOPIC, STUDIES_DIR, StudyOptions, analyse_study, is_complete

#: How many times a study may kill its worker before it is failed.
ALLOWED_FAILURES = 2
#: Default per-study time limit (s): a normal study takes about a second.
DEFAULT_TIMEOUT_S = 300.0
#: Temporary folders of other runs older than this are debris of a killed run and removed (s).
STALE_DEBRIS_S = 3600.0
#: Studies submitted per worker thread: one running and one waiting.
PER_THREAD = 2
#: How often the client looks at the cluster while studies run (s).
POLL_S = 0.25


@dataclass
class CohortSummary:
    """What one run did.

    Attributes:
        selected: studies in this run's selection (after ``--shard``).
        done: studies analysed by this run.
        skipped: studies whose complete report was already there.
        failed: studies that failed in this run (their reasons are in ``failed.csv``).
        left: studies not finished because the run was interrupted.
        failed_before: studies not tried because an earlier run failed them (see ``retry_failed``).
        seconds: wall time of the run.
        workers: worker processes used (0 when there was nothing to do).
        ignored: entries of the input folder that are not studies.
        interrupted: whether the run was stopped by Ctrl-C / SIGTERM.
    """

    selected: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    left: int = 0
    failed_before: int = 0
    seconds: float = 0.0
    workers: int = 0
    ignored: int = 0
    interrupted: bool = False
    outcomes: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def line(self) -> str:
        """The one-line summary the CLI prints."""
        rate = self.done / self.seconds if self.seconds > 0 else 0.0
        text = (f"{self.done} done, {self.skipped} skipped, {self.failed} failed"
                + (f", {self.left} left (run again to finish)" if self.left else "")
                + (f", {self.failed_before} failed before and not retried (--retry-failed)"
                   if self.failed_before else "")
                + f" of {self.selected} studies in {self.seconds:.1f} s ({rate:.2f} studies/s"
                + (f" on {self.workers} worker processes)" if self.workers else ")"))
        if self.ignored:
            text += f"; {self.ignored} input entries are not studies and were ignored"
        return text


def failure_path(out: str | os.PathLike, subject_id: str) -> Path:
    """Where the reason a study failed is kept (removed when it later succeeds)."""
    return Path(out) / FAILED_DIR / f"{subject_id}.txt"


def _record(out: Path, outcome: dict[str, Any]) -> None:
    """Keep a failure's reason, or forget an old one once the study is done."""
    path = failure_path(out, outcome["subject_id"])
    if outcome["status"] == "done":
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        write_text_atomic(path, outcome["reason"].replace("\n", " ") + "\n")


def prepare_output(out: str | os.PathLike) -> Path:
    """Create the cohort output folder and its sub-folders; remove stale debris of killed runs.

    Raises:
        OutputError: it cannot be created or written.
    """
    folder = check_writable_dir(out)
    for sub in (STUDIES_DIR, FAILED_DIR, QC_DIR):
        check_writable_dir(folder / sub)
    remove_debris(folder / STUDIES_DIR, older_than_s=STALE_DEBRIS_S)
    return folder


def cluster_config() -> dict[str, Any]:
    """The Dask settings lvquant's local cluster runs with (``dask.config.set(cluster_config())``)."""
    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc hand memory
    # back to the system after every large array: a study takes 0.70 s instead of 0.51 s (measured
    # on one worker, same run). None keeps glibc's own adaptive threshold.
    return {"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
            "distributed.scheduler.worker-saturation": 1.0,
            "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
            "distributed.worker.memory.target": False, "distributed.worker.memory.spill": False}


@contextlib.contextmanager
def dask_client(scheduler: str | None, n_workers: int):
    """A Dask client: on ``scheduler`` (``tcp://HOST:PORT``) or on a new local cluster of
    ``n_workers`` single-threaded worker processes, closed on exit.

    Raises:
        InputError: the scheduler cannot be reached.
    """
    import dask
    from distributed import Client, LocalCluster

    quiet = [logging.getLogger(name) for name in ("distributed", "tornado")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL)
    cfg = cluster_config()
    try:
        with dask.config.set(cfg):
            if scheduler is not None:
                try:
                    client = Client(scheduler, timeout=10)
                except (OSError, TimeoutError) as exc:
                    raise InputError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
                cluster = None
            else:
                cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.CRITICAL,
                                       env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
                client = Client(cluster)
            try:
                yield client
            finally:
                with contextlib.suppress(Exception):
                    client.close(timeout=10)
                if cluster is not None:
                    with contextlib.suppress(Exception):
                        cluster.close(timeout=10)
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)


def _threads(client) -> int:
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:
        return 1


def _failed(study: Study, reason: str) -> dict[str, Any]:
    return {"subject_id": study.subject_id, "status": "failed", "reason": reason, "seconds": 0.0, "pid": 0,
            "model_loads": 0}


def _result_of(future, study: Study) -> dict[str, Any]:
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        return _failed(study, f"its worker process died {ALLOWED_FAILURES} times while analysing it "
                              "(a crash or out of memory)")
    except Exception as exc:  # analyse_study catches everything; this is the transport failing
        from .work import one_line

        return _failed(study, one_line(exc))


def run_studies(client, studies: list[Study], out: Path, options: StudyOptions, *, timeout_s: float,
                on_outcome: Callable[[dict[str, Any]], Any] | None = None) -> list[dict[str, Any]]:
    """Analyse ``studies`` on ``client``'s cluster; returns one outcome dict per finished study.

    At most :data:`PER_THREAD` studies per worker thread are submitted at a
    time (one running, the next waiting, so a worker never idles while the
    client hears of its result). Each worker announces when it starts a
    study (a Dask event, :data:`~lvquant.cohort.work.START_TOPIC`); the
    time limit counts from then. On KeyboardInterrupt the submitted studies
    are cancelled and the interrupt is raised again (outcomes so far went to
    ``on_outcome``).
    """
    from distributed import wait

    pending = deque(studies)
    running: dict[Any, Study] = {}
    started: dict[str, tuple[str, float]] = {}  # task key -> (worker, client time it started there)
    outcomes: list[dict[str, Any]] = []

    def on_start(event) -> None:
        _, msg = event
        started[msg["key"]] = (msg["worker"], time.monotonic())

    def finish(outcome: dict[str, Any]) -> None:
        _record(out, outcome)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    client.subscribe_topic(START_TOPIC, on_start)
    try:
        while pending or running:
            capacity = PER_THREAD * _threads(client)
            while pending and len(running) < capacity:
                s = pending.popleft()
                fut = client.submit(analyse_study, s, str(out), options, pure=False,
                                    key=f"lvquant-study-{s.subject_id}-{secrets.token_hex(4)}")
                running[fut] = s
            try:
                done, _ = wait(list(running), timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for fut in done:
                started.pop(fut.key, None)
                finish(_result_of(fut, running.pop(fut)))
            if timeout_s and running:
                _stop_overdue(client, running, started, timeout_s, finish)
    except BaseException:
        for fut in running:
            fut.cancel()
        raise
    finally:
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(START_TOPIC)
    return outcomes


def _stop_overdue(client, running: dict[Any, Study], started: dict[str, tuple[str, float]], timeout_s: float,
                  finish: Callable[[dict[str, Any]], None]) -> None:
    """Fail the studies running longer than ``timeout_s`` and restart their workers."""
    now = time.monotonic()
    overdue = [(fut, started[fut.key][0]) for fut in running
               if fut.key in started and now - started[fut.key][1] > timeout_s]
    for fut, worker in overdue:
        study = running.pop(fut)
        started.pop(fut.key, None)
        fut.cancel()
        with contextlib.suppress(Exception):
            client.restart_workers([worker], raise_for_error=False)
        finish(_failed(study, f"still running after the time limit of {timeout_s:g} s (--timeout); stopped"))


def run_cohort(source: str | os.PathLike, out: str | os.PathLike, *, options: StudyOptions | None = None,
               retry_failed: bool = False, shard: tuple[int, int] | None = None, scheduler: str | None = None, n_workers: int | None = None,
               timeout_s: float = DEFAULT_TIMEOUT_S,
               on_outcome: Callable[[dict[str, Any]], Any] | None = None,
               on_plan: Callable[[int, int], Any] | None = None) -> CohortSummary:
    """Analyse every study of a cohort into ``out`` and write its tables.

    Args:
        source: a folder with one sub-folder or NIfTI file per study, or a CSV
            ``subject_id,path[,slice]``.
        out: the cohort output folder (created; may hold an earlier run's output).
        options: how each study is analysed (:class:`StudyOptions`).
        retry_failed: also try the studies an earlier run failed (default:
            they keep their failure; ``options.overwrite`` redoes everything).
        shard: ``(i, n)``: only every n-th study from the i-th.
        scheduler: address of an existing Dask scheduler; default a local
            cluster of ``n_workers`` processes (default: one per core).
        timeout_s: per-study time limit (0: none).
        on_outcome: called with each finished study's outcome dict.
        on_plan: called once with (studies to do, studies skipped) before work starts.

    Returns:
        A :class:`CohortSummary`; ``interrupted`` is set when Ctrl-C/SIGTERM stopped it.

    Raises:
        InputError: bad input, options or scheduler address.
        OutputError: the output folder cannot be written.
    """
    from .tables import write_tables

    t0 = time.perf_counter()
    options = options or StudyOptions()
    if not (isinstance(timeout_s, (int, float)) and 0 <= timeout_s <= 86400):
        raise InputError(f"--timeout must be from 0 (none) to 86400 s; got {timeout_s!r}")
    if n_workers is not None and not (isinstance(n_workers, int) and 1 <= n_workers <= 512):
        raise InputError(f"--workers must be from 1 to 512; got {n_workers!r}")
    studies, ignored = find_studies(source)
    selected = select_shard(studies, shard)
    if not selected:
        raise InputError(f"shard {shard[0]}/{shard[1]} of {len(studies)} studies is empty")
    folder = check_can_create(out)  # nothing is created before the cluster is up
    options = StudyOptions(**{**options.__dict__, "run_tag": f"run{secrets.token_hex(4)}."})
    todo, skipped, failed_before = [], 0, 0
    for s in selected:
        if options.overwrite:
            todo.append(s)
        elif is_complete(folder, s.subject_id):
            skipped += 1
        elif not retry_failed and failure_path(folder, s.subject_id).is_file():
            failed_before += 1
        else:
            todo.append(s)
    summary = CohortSummary(selected=len(selected), skipped=skipped, failed_before=failed_before, ignored=ignored)
    if on_plan is not None:
        on_plan(len(todo), summary.skipped)
    prepared = False
    try:
        if todo:
            summary.workers = n_workers or os.cpu_count() or 1
            with dask_client(scheduler, summary.workers) as client:
                prepare_output(folder)
                prepared = True

                def collect(outcome: dict[str, Any]) -> None:
                    summary.outcomes.append(outcome)
                    if on_outcome is not None:
                        on_outcome(outcome)

                run_studies(client, todo, folder, options, timeout_s=timeout_s, on_outcome=collect)
        else:
            prepare_output(folder)
            prepared = True
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if scheduler is not None:  # workers come and go on a shared cluster: count those that worked
            summary.workers = len({o["pid"] for o in summary.outcomes if o["pid"]})
        summary.done = sum(o["status"] == "done" for o in summary.outcomes)
        summary.failed = sum(o["status"] != "done" for o in summary.outcomes)
        summary.left = len(todo) - len(summary.outcomes)
        if prepared:
            # every study of this run is finished or cancelled: what its workers left half-written is debris
            remove_debris(folder / STUDIES_DIR, tag=options.run_tag)
            write_tables([folder], folder)
        summary.seconds = time.perf_counter() - t0
    return summary


def check_output_folder(out: str | os.PathLike) -> Path:
    """``out`` as a cohort output folder (one that ``run_cohort`` wrote), for ``--merge``.

    Raises:
        InputError: it is not one.
    """
    path = Path(out)
    if not (path / STUDIES_DIR).is_dir():
        raise InputError(f"{path} is not a cohort output folder (no {STUDIES_DIR}/ in it)")
    return path


__all__ = ["CohortSummary", "run_cohort", "run_studies", "dask_client", "prepare_output", "failure_path",
           "check_output_folder"]
