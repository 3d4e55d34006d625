"""Benchmark: how long reading DICOM cines takes.

Usage::

    .venv/bin/python benchmarks/bench_read_dicom.py [--repeat N]

Prints the median and best wall time of:

* one 20-frame 256x256 slice (20 files) — the figure the project promises
  to keep under 0.5 s — from the Sunnybrook data in ../shared when present
  (slice 1 of SCD0000101, files 1..20.dcm), plus the same for a synthetic slice
  written to a temporary folder (always available);
* a whole Sunnybrook patient folder (12 slices x 20 frames = 240 files), when present.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lvquant.io import read_dicom

SUNNYBROOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "sunnybrook" / "dicoms"
LIMIT_S = 0.5


def _write_synthetic_slice(folder: Path, n_frames: int = 20, size: int = 256) -> list[Path]:
    """20 single-frame 256x256 int16 MR images of one slice (minimal valid headers)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    rng = np.random.default_rng(0)
    series = generate_uid()
    files = []
    for t in range(n_frames):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.Modality = "MR"
        ds.SeriesInstanceUID = series
        ds.InstanceNumber = t + 1
        ds.TriggerTime = str(20.0 + 37.5 * t)
        ds.ImagePositionPatient = ["-120", "-100", "30"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.PixelSpacing = ["1.37", "1.37"]
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.PixelData = rng.integers(0, 1500, size=(size, size)).astype(np.int16).tobytes()
        path = folder / f"{t:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def _time(label: str, target, repeat: int, expect: tuple[int, ...], limit: float | None = None) -> float:
    read_dicom(target)  # warm-up (imports, file cache)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        cine = read_dicom(target)
        times.append(time.perf_counter() - t0)
    assert cine.frames.shape == expect, cine.frames.shape
    med = statistics.median(times)
    verdict = "" if limit is None else ("  OK (< %.1f s)" % limit if med < limit else "  TOO SLOW (limit %.1f s)" % limit)
    print(f"{label:<52} median {med:6.3f} s   best {min(times):6.3f} s   ({repeat} runs){verdict}")
    return med


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    slow = False
    with tempfile.TemporaryDirectory() as d:
        _write_synthetic_slice(Path(d))
        slow |= _time("synthetic slice, 20 frames 256x256 (folder)", Path(d), args.repeat, (1, 20, 256, 256), LIMIT_S) >= LIMIT_S
    patient = SUNNYBROOK / "SCD0000101"
    if patient.is_dir():
        one_slice = [patient / f"{n}.dcm" for n in range(1, 21)]
        slow |= _time("Sunnybrook SCD0000101 slice 1, 20 frames (files)", one_slice, args.repeat, (1, 20, 256, 256), LIMIT_S) >= LIMIT_S
        _time("Sunnybrook SCD0000101 whole folder, 240 files", patient, args.repeat, (12, 20, 256, 256))
    else:
        print(f"(Sunnybrook data not found at {SUNNYBROOK}: real-data figures skipped)")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
