"""What a cohort worker does with one study: read, analyse, write its report folder.

This module runs inside Dask worker processes. The networks are loaded once
per worker process (:func:`worker_models`) and reused for every study it is
given; what travels back to the client is a small :class:`Outcome` dict, never
images. A study's report folder (exactly what ``lvquant analyze --out``
writes) is written beside its final place and renamed into it in one step
(:func:`~lvquant.outputs.write_folder_atomic`), so it is complete or absent;
``qc/<subject>.jpg`` (the contact-sheet thumbnail) is written before it.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import LvquantError, OutputError
from .studies import Study

#: Sub-folders of a cohort output folder.
STUDIES_DIR, FAILED_DIR, QC_DIR = "studies", "failed", "qc"
#: Dask event topic a worker logs when it starts a study (the client's time limits count from it).
START_TOPIC = "lvquant-study-start"
#: Width of a contact-sheet thumbnail (pixels; the overlay is 700 x 380).
THUMB_WIDTH = 280


@dataclass(frozen=True)
class StudyOptions:
    """How every study of a cohort is analysed (the options of ``lvquant analyze``).

    Attributes:
        models: model folder (None: the shipped ensemble).
        localiser: ``"learned"`` or ``"classic"``.
        phase_method: ``"poly"`` or ``"argmax"``.
        overwrite: redo a study whose report folder exists.
        run_tag: a token of this run in temporary folder names (to find its debris).
        whole_heart: measure every LV slice too (volumes, EF, mass, AHA segments).
        borders: run the border network (borders, QC flag), as ``analyze`` does by default.
    """

    models: str | None = None
    localiser: str = "learned"
    phase_method: str = "poly"
    overwrite: bool = False
    run_tag: str = ""
    whole_heart: bool = False
    borders: bool = True


#: Per worker process: (models, localiser) -> (ensemble, localiser); and how many loads it took.
_LOADED: dict[tuple[str | None, str], tuple[Any, Any]] = {}
_LOADS = {"count": 0}


def worker_models(models: str | None, localiser: str):
    """The ensemble, localiser, border network (or None) and the note on a missing border network
    of this worker process, loaded on first use (one ONNX thread each)."""
    key = (models, localiser)
    if key not in _LOADED:
        from ..analysis.localise_learned import load_localiser
        from ..analysis.predict import Ensemble
        from ..analyze_cmd import load_border_model

        ensemble = Ensemble.load(models, threads=1)
        borders, note = load_border_model(models, ensemble, threads=1)
        _LOADED[key] = (ensemble, load_localiser(localiser, threads=1), borders, note)
        _LOADS["count"] += 1
    return _LOADED[key]


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line (lvquant's messages carry no header values)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, LvquantError):
        text = f"internal error: {type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def thumbnail_jpeg(overlay_png: bytes, width: int = THUMB_WIDTH) -> bytes:
    """The overlay figure scaled to ``width`` pixels wide, as JPEG bytes (a few kB)."""
    from PIL import Image

    with Image.open(io.BytesIO(overlay_png)) as im:
        rgb = im.convert("RGB")
        height = max(1, round(rgb.height * width / rgb.width))
        small = rgb.resize((width, height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=82, optimize=True)
    return buf.getvalue()


def study_folder(out: str | os.PathLike, subject_id: str) -> Path:
    """Where a study's report folder lives in a cohort output."""
    return Path(out) / STUDIES_DIR / subject_id


def is_complete(out: str | os.PathLike, subject_id: str) -> bool:
    """Whether a study's complete report is in ``out`` (its folder only ever appears complete)."""
    return (study_folder(out, subject_id) / "result.json").is_file()


def announce_start() -> None:
    """Tell the client this worker starts the current task now (a no-op outside a Dask worker)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return
    worker.log_event(START_TOPIC, {"key": worker.get_current_task(), "worker": worker.address})


def analyse_study(study: Study, out: str, options: StudyOptions) -> dict[str, Any]:
    """Analyse one study and write its report folder into ``out/studies/``; never raises for a bad study.

    Returns:
        An :class:`Outcome` as a dict: ``status`` ``"done"`` (or ``"failed"``
        with a one-line ``reason``), seconds spent, the worker's process ID and
        how many times this process has loaded the networks.
    """
    from ..analysis.pipeline import analyze_cine
    from ..io import read_cine
    from ..outputs import write_bytes_atomic, write_folder_atomic
    from ..report import render_report

    t0 = time.perf_counter()
    status, reason = "done", ""
    announce_start()
    try:
        ensemble, finder, borders, note = worker_models(options.models, options.localiser)
        cine = read_cine(study.path)
        a = analyze_cine(cine, slice_index=study.slice_index, ensemble=ensemble, phase_method=options.phase_method,
                         localiser=finder, whole_heart=options.whole_heart,
                         borders=borders if options.borders else None)
        a.warnings = list(cine.source.extra.get("warnings", [])) + a.warnings + \
            ([note] if note and options.borders else [])
        contents = render_report(a)
        write_bytes_atomic(Path(out) / QC_DIR / f"{study.subject_id}.jpg", thumbnail_jpeg(contents["overlay.png"]))
        try:
            write_folder_atomic(study_folder(out, study.subject_id), contents, replace=options.overwrite,
                                tag=options.run_tag)
        except OutputError:
            if not is_complete(out, study.subject_id):
                raise
            reason = "completed meanwhile by another run writing to the same folder; its report is kept"
    except Exception as exc:  # a bad study must not stop the cohort: its reason goes back to the client
        status, reason = "failed", one_line(exc)
    return asdict(Outcome(study.subject_id, status, reason, time.perf_counter() - t0, os.getpid(), _LOADS["count"]))


@dataclass(frozen=True)
class Outcome:
    """What comes back from a worker for one study (small: no images)."""

    subject_id: str
    status: str
    reason: str
    seconds: float
    pid: int
    model_loads: int
