"""Writing phantom populations: LVQuan-layout .mat / .npz and DICOM series with truth.json.

:func:`write_phantoms` is the one entry point the CLI calls. Subjects are
generated in a process pool (``workers``); each subject depends only on
``(seed, index)``, so the output is identical for any number of workers.
Outputs appear complete or not at all: the .mat/.npz file is written to a
temporary file and renamed, each DICOM subject folder is written under a
temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import InputError, OutputError
from ..indices import Indices
from ..outputs import check_can_create, check_writable_dir, staged_folder
from .config import PhantomConfig
from .series import DicomSeries, render_series
from .subject import PhantomSubject, generate_subject

FORMATS = ("mat", "npz", "dicom")
Progress = Callable[[int], Any] | None


def default_workers() -> int:
    """min(2, number of CPUs)."""
    return max(1, min(2, os.cpu_count() or 1))


def _check_count(n_subjects: Any, workers: Any) -> tuple[int, int]:
    if isinstance(n_subjects, bool) or not isinstance(n_subjects, (int, np.integer)) or n_subjects < 1:
        raise InputError(f"the number of phantom subjects must be a positive integer; got {n_subjects!r}")
    if workers is None:
        workers = default_workers()
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InputError(f"workers must be a positive integer; got {workers!r}")
    return int(n_subjects), int(workers)


def _pool_map(fn: Callable, items: list, workers: int, progress: Progress) -> Iterable:
    """Ordered map over ``items``, in a process pool when ``workers > 1``; calls ``progress(1)`` per item."""
    if workers == 1 or len(items) == 1:
        for it in items:
            out = fn(*it)
            if progress:
                progress(1)
            yield out
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    pool = ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx)
    try:
        futures = [pool.submit(fn, *it) for it in items]
        for f in futures:
            out = f.result()
            if progress:
                progress(1)
            yield out
    finally:  # on an error or an interrupt: what has not started never starts
        pool.shutdown(wait=True, cancel_futures=True)


def generate_subjects(n_subjects: int, seed: int = 0, config: PhantomConfig | None = None, *,
                      workers: int | None = None, progress: Progress = None, start: int = 0) -> list[PhantomSubject]:
    """Generate subjects ``start .. start + n_subjects - 1`` in the LVQuan layout.

    Parameters
    ----------
    n_subjects : int
    seed : int
    config : PhantomConfig, optional
    workers : int, optional
        Worker processes (default :func:`default_workers`); 1 runs in-process.
    progress : callable, optional
        Called with 1 after each finished subject.
    start : int
        Index of the first subject.

    Returns
    -------
    list of PhantomSubject, in index order.
    """
    n, w = _check_count(n_subjects, workers)
    config = config or PhantomConfig()
    items = [(start + i, seed, config) for i in range(n)]
    return list(_pool_map(generate_subject, items, w, progress))


def to_dataset(subjects: list[PhantomSubject]):
    """Stack phantom subjects into an :class:`~lvquant.io.lvquan_mat.LVQuanDataset` (mm / mm² inside)."""
    from ..io.lvquan_mat import LVQuanDataset

    return LVQuanDataset(
        images=np.stack([s.images for s in subjects]),
        pix_spa=np.array([s.pix_spa for s in subjects]),
        ratio_resize_inverse=np.array([s.ratio_resize_inverse for s in subjects]),
        endo=np.stack([s.endo for s in subjects]),
        epi=np.stack([s.epi for s in subjects]),
        indices=Indices.from_array(np.stack([s.indices.to_array() for s in subjects])),
        phase=np.stack([s.phase for s in subjects]),
        subject_ids=tuple(f"phantom-s{s.seed}-{s.index:04d}" for s in subjects),
    )


def generate_lvquan_dataset(n_subjects: int, seed: int = 0, config: PhantomConfig | None = None, *,
                            workers: int | None = None, progress: Progress = None, start: int = 0):
    """Generate a phantom population as an :class:`~lvquant.io.lvquan_mat.LVQuanDataset`.

    Same parameters as :func:`generate_subjects`. Images (S, T, 80, 80) float32,
    endo/epi masks, indices (S, T) in mm / mm², phase, ``pix_spa`` and
    ``ratio_resize_inverse`` per subject.
    """
    return to_dataset(generate_subjects(n_subjects, seed, config, workers=workers, progress=progress, start=start))


# ---------------------------------------------------------------------- DICOM


def _uid(seed: int, index: int, *parts: Any) -> str:
    from pydicom.uid import generate_uid

    return generate_uid(entropy_srcs=["lvquant-phantom", str(seed), str(index), *map(str, parts)])


def patient_name(index: int) -> str:
    """The made-up PatientName of subject ``index``: ``Phantom^Subject0003``."""
    return f"Phantom^Subject{index:04d}"


def _dicom_files(series: DicomSeries, seed: int, index: int) -> Iterable[tuple[str, Any]]:
    """(file name, pydicom Dataset) for every image of the series."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, PYDICOM_IMPLEMENTATION_UID

    s_count, t_count, rows, cols = series.pixels.shape
    study_uid, series_uid, frame_uid = (_uid(seed, index, k) for k in ("study", "series", "frame-of-reference"))
    signed = series.pixels.dtype == np.int16
    hi = int(series.pixels.max()) if series.pixels.size else 0
    spacing = f"{series.spacing_mm:.6f}"
    # Files in acquisition order: base to apex (slices are stored apex to base).
    instance = 0
    for k in reversed(range(s_count)):
        for t in range(t_count):
            instance += 1
            sop_uid = _uid(seed, index, "image", k, t)
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = MRImageStorage
            meta.MediaStorageSOPInstanceUID = sop_uid
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
            ds = Dataset()
            ds.file_meta = meta
            ds.SpecificCharacterSet = "ISO_IR 100"
            ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
            ds.SOPClassUID = MRImageStorage
            ds.SOPInstanceUID = sop_uid
            ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20000101"
            ds.StudyTime = ds.SeriesTime = "120000"
            ds.Modality = "MR"
            ds.Manufacturer = "lvquant phantom"
            ds.ManufacturerModelName = "synthetic bSSFP"
            ds.StudyDescription = "Cardiac phantom"
            ds.SeriesDescription = "SA cine bSSFP (phantom)"
            ds.ProtocolName = "SA cine"
            ds.PatientName = patient_name(index)
            ds.PatientID = f"LVQP-{seed}-{index}"
            ds.PatientBirthDate = ""
            ds.PatientSex = "O"
            ds.BodyPartExamined = "HEART"
            ds.ScanningSequence = "GR"
            ds.SequenceVariant = "SS"
            ds.MRAcquisitionType = "2D"
            ds.SliceThickness = f"{series.slice_thickness_mm:.3f}"
            ds.SpacingBetweenSlices = f"{series.slice_spacing_mm:.3f}"
            ds.RepetitionTime = "3.2"
            ds.EchoTime = "1.4"
            ds.FlipAngle = "50"
            ds.MagneticFieldStrength = "1.5"
            ds.TriggerTime = f"{series.trigger_times_ms[t]:.3f}"
            ds.NominalInterval = str(int(round(60000.0 / series.heart_rate_bpm)))
            ds.HeartRate = str(int(round(series.heart_rate_bpm)))
            ds.CardiacNumberOfImages = t_count
            ds.StudyInstanceUID = study_uid
            ds.SeriesInstanceUID = series_uid
            ds.FrameOfReferenceUID = frame_uid
            ds.StudyID = "1"
            ds.SeriesNumber = 1
            ds.AcquisitionNumber = 1
            ds.InstanceNumber = instance
            ds.ImagePositionPatient = [f"{v:.4f}" for v in series.positions[k]]
            ds.ImageOrientationPatient = [f"{v:.6f}" for v in series.orientation]
            ds.SliceLocation = f"{series.slice_locations[k]:.4f}"
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.Rows = rows
            ds.Columns = cols
            ds.PixelSpacing = [spacing, spacing]
            ds.BitsAllocated = 16
            ds.BitsStored = 16
            ds.HighBit = 15
            ds.PixelRepresentation = 1 if signed else 0
            ds.RescaleSlope = f"{series.rescale_slope:g}"
            ds.RescaleIntercept = "0"
            ds.RescaleType = "US"
            ds.WindowCenter = str(max(hi // 2, 1))
            ds.WindowWidth = str(max(hi, 1))
            ds.PixelData = np.ascontiguousarray(series.pixels[k, t]).astype("<i2" if signed else "<u2").tobytes()
            yield f"IM_{instance:04d}.dcm", ds


def write_dicom_subject(folder: str | os.PathLike, index: int, seed: int = 0, config: PhantomConfig | None = None) -> Path:
    """Render subject ``index`` as a DICOM cine series with ``truth.json`` in ``folder``.

    ``folder`` must not exist; the subject is written under a temporary name
    beside it and renamed when complete.

    Parameters
    ----------
    folder : path
        Output folder for this subject (e.g. ``out/subject_0003``).
    index, seed : int
    config : PhantomConfig, optional

    Returns
    -------
    Path
        The folder, holding ``IM_0001.dcm`` ... and ``truth.json``.

    Raises
    ------
    OutputError
        The folder exists or cannot be written.
    """
    folder = Path(folder)
    if folder.exists():
        raise OutputError(f"{folder} already exists; choose another output folder or delete it")
    parent = folder.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write in {parent}: {exc.strerror or exc}") from None
    try:
        series = render_series(index, seed, config)
        for name, ds in _dicom_files(series, seed, index):
            ds.save_as(tmp / name, enforce_file_format=True)
        (tmp / "truth.json").write_text(json.dumps(series.truth, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, folder)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None
        raise
    return folder


def _dicom_job(folder: str, index: int, seed: int, config: PhantomConfig) -> str:
    return str(write_dicom_subject(folder, index, seed, config))


# ------------------------------------------------------------------- public


def write_phantoms(out: str | os.PathLike, n_subjects: int = 1, seed: int = 0, fmt: str = "npz", *,
                   workers: int | None = None, n_frames: int | None = None, progress: Progress = None,
                   config: PhantomConfig | None = None) -> Path:
    """Generate ``n_subjects`` phantom subjects and write them to ``out``.

    Parameters
    ----------
    out : path
        ``fmt="mat"`` / ``"npz"``: the output file (must not exist; its folder is
        created). ``fmt="dicom"``: a folder (must not exist, or be empty) that
        receives one sub-folder per subject, ``subject_0000`` ..., each holding a
        DICOM cine series and ``truth.json``.
    n_subjects : int
        Number of subjects (subjects 0 .. n-1 of the population ``seed``).
    seed : int
        Population seed, >= 0.
    fmt : {"mat", "npz", "dicom"}
    workers : int, optional
        Worker processes; default min(2, CPUs). The output does not depend on it.
    n_frames : int, optional
        Frames per cycle (overrides ``config.n_frames``; default 20).
    progress : callable, optional
        Called with 1 after each finished subject (e.g. ``tqdm.update``).
    config : PhantomConfig, optional

    Returns
    -------
    Path
        The file or folder written.

    Raises
    ------
    InputError
        Bad count, seed, format or frame count.
    OutputError
        ``out`` exists (non-empty folder for DICOM) or cannot be written.
    """
    if fmt not in FORMATS:
        raise InputError(f"phantom format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    n, w = _check_count(n_subjects, workers)
    config = config or PhantomConfig()
    if n_frames is not None and n_frames != config.n_frames:
        from dataclasses import replace

        config = replace(config, n_frames=n_frames)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"the phantom seed must be a non-negative integer; got {seed!r}")
    out = Path(out)
    if fmt == "dicom":
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise OutputError(f"{out} already exists and is not an empty folder; choose another output folder")
        check_can_create(out)
        with staged_folder(out) as staged:  # every subject appears at once, or none
            items = [(str(staged / f"subject_{i:04d}"), i, int(seed), config) for i in range(n)]
            for _ in _pool_map(_dicom_job, items, w, progress):
                pass
        return out

    if out.exists():
        raise OutputError(f"{out} already exists; choose another output file or delete it")
    if out.suffix.lower() != f".{fmt}":
        raise OutputError(f"the output file for --format {fmt} must end in .{fmt}; got {out.name}")
    parent = out.parent if str(out.parent) else Path(".")
    check_can_create(parent)  # nothing is created before the work is done
    from ..io.lvquan_mat import write_lvquan_mat, write_lvquan_npz

    dataset = generate_lvquan_dataset(n, int(seed), config, workers=w, progress=progress)
    check_writable_dir(parent)
    if fmt == "mat":
        return write_lvquan_mat(dataset, out)
    return write_lvquan_npz(dataset, out)
