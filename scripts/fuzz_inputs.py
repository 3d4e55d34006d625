"""Fuzz harness: mutated DICOM, NIfTI, LVQuan .mat and .npz inputs through the readers and the pipeline.

Usage::

    .venv/bin/python scripts/fuzz_inputs.py [--mutations 10000] [--seed 0] [--pipeline-every 10]
                                            [--time-limit 10] [--quiet]

Starts from valid inputs written into a temporary folder (a one-slice,
20-frame phantom DICOM cine; the same cine as a 4-D NIfTI; a two-subject
LVQuan .mat and .npz) and applies, one mutant at a time, one of:

* ``flip``: 1-16 random bytes changed in the file's header region;
* ``truncate``: the file cut at a random length;
* ``delete``: a random header element (DICOM), key (.mat/.npz) or header field (NIfTI) removed;
* ``absurd``: a size, spacing, rescale, position, timing or frame-count field set to 0, -1, a huge
  number, NaN or 2^31-1, in one file or in every file of the series.

Each mutant goes through the reader (``read_cine`` / ``read_lvquan``) and, for
every ``--pipeline-every``-th readable one, through the analysis
(``analyze_cine`` / ``analyze_crops`` and ``result_dict``), each call bounded
by ``--time-limit`` seconds. A mutant fails the run when it raises anything
but lvquant's own errors, runs past the limit, or is measured with a
non-finite or non-positive area, or a result that is not valid JSON (the
sanity gates must have stopped it). Prints the counts and every failure
(with its mutant number, to reproduce it with the same ``--seed``); exit 1
when there was any.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import math
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KINDS = ("flip", "truncate", "delete", "absurd")
ABSURD = (0, -1, 1e30, float("nan"), 2**31 - 1, 65535, 1e-30)
#: DICOM attributes the "absurd" mutation sets.
DICOM_FIELDS = ("Rows", "Columns", "NumberOfFrames", "BitsAllocated", "BitsStored", "PixelRepresentation",
                "SamplesPerPixel", "PixelSpacing", "RescaleSlope", "RescaleIntercept", "ImagePositionPatient",
                "ImageOrientationPatient", "TriggerTime", "SliceThickness", "SliceLocation", "InstanceNumber")
INT_FIELDS = {"Rows", "Columns", "NumberOfFrames", "BitsAllocated", "BitsStored", "PixelRepresentation",
              "SamplesPerPixel", "InstanceNumber"}


class TimeLimit(Exception):
    """A call ran past the time limit."""


@contextlib.contextmanager
def time_limit(seconds: float):
    def expire(signum, frame):  # noqa: ARG001
        raise TimeLimit

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


# ----------------------------------------------------------------- valid inputs
def make_inputs(root: Path) -> dict[str, Path]:
    from lvquant.io import read_cine
    from lvquant.phantom import PhantomConfig, write_dicom_subject, write_phantoms
    import nibabel as nib

    one_slice = PhantomConfig(dicom_slices_apical=(0, 0), dicom_slices_basal=(0, 0))
    dicom = write_dicom_subject(root / "dicom", 0, 77, one_slice)
    (dicom / "truth.json").unlink()
    cine = read_cine(dicom)
    vol = np.transpose(cine.frames[0], (2, 1, 0))[:, :, None, :]  # (x, y, 1, t)
    img = nib.Nifti1Image(vol.astype(np.int16), np.diag([cine.spacing_mm[1], cine.spacing_mm[0], 8.0, 1.0]))
    img.header.set_xyzt_units("mm", "msec")
    img.header["pixdim"][4] = 40.0
    nib.save(img, str(root / "cine.nii.gz"))
    npz = write_phantoms(root / "two.npz", 2, 77, "npz", workers=1)
    mat = write_phantoms(root / "two.mat", 2, 77, "mat", workers=1)
    return {"dicom": dicom, "nifti": root / "cine.nii.gz", "npz": npz, "mat": mat}


# ------------------------------------------------------------------ mutations
def _flip(data: bytes, rng: np.random.Generator, header_end: int) -> bytes:
    raw = bytearray(data)
    for _ in range(int(rng.integers(1, 17))):
        raw[int(rng.integers(0, max(1, min(header_end, len(raw)))))] = int(rng.integers(0, 256))
    return bytes(raw)


def mutate_dicom(folder: Path, work: Path, rng: np.random.Generator, kind: str) -> str:
    """Write a mutated copy of the series into ``work`` (emptied first); returns what was done."""
    import pydicom

    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(folder, work)
    files = sorted(work.glob("*.dcm"))
    target = files[int(rng.integers(len(files)))]
    if kind == "flip":
        target.write_bytes(_flip(target.read_bytes(), rng, 1200))
        return f"flip {target.name}"
    if kind == "truncate":
        data = target.read_bytes()
        target.write_bytes(data[: int(rng.integers(0, len(data)))])
        return f"truncate {target.name}"
    ds = pydicom.dcmread(target)
    if kind == "delete":
        tags = [e.tag for e in ds if e.tag != 0x7FE00010]
        tag = tags[int(rng.integers(len(tags)))]
        del ds[tag]
        ds.save_as(target)
        return f"delete {tag} in {target.name}"
    name = DICOM_FIELDS[int(rng.integers(len(DICOM_FIELDS)))]
    value = ABSURD[int(rng.integers(len(ABSURD)))]
    every = bool(rng.integers(2))
    for f in files if every else [target]:
        d = ds if f == target else pydicom.dcmread(f)
        with contextlib.suppress(Exception):
            if name in INT_FIELDS:
                v = int(value) if math.isfinite(value) and abs(value) < 2**32 else 0
                setattr(d, name, max(0, min(v, 65535)) if name != "NumberOfFrames" else str(v))
            elif name in ("PixelSpacing",):
                setattr(d, name, [repr(float(value))] * 2)
            elif name in ("ImagePositionPatient", "ImageOrientationPatient"):
                setattr(d, name, [repr(float(value))] * (3 if name == "ImagePositionPatient" else 6))
            else:
                setattr(d, name, repr(float(value)))
            d.save_as(f)
    return f"absurd {name}={value} in {'every file' if every else target.name}"


def mutate_nifti(path: Path, work: Path, rng: np.random.Generator, kind: str) -> tuple[Path, str]:
    import nibabel as nib

    raw = gzip.decompress(path.read_bytes())
    out = work / "m.nii"
    work.mkdir(parents=True, exist_ok=True)
    if kind == "flip":
        out.write_bytes(_flip(raw, rng, 352))
        return out, "flip header"
    if kind == "truncate":
        out.write_bytes(raw[: int(rng.integers(0, len(raw)))])
        return out, "truncate"
    img = nib.load(str(path))
    hdr = img.header.copy()
    fields = ["dim", "pixdim", "datatype", "bitpix", "scl_slope", "scl_inter", "xyzt_units", "vox_offset",
              "qform_code", "sform_code"]
    name = fields[int(rng.integers(len(fields)))]
    value = ABSURD[int(rng.integers(len(ABSURD)))] if kind == "absurd" else 0
    with contextlib.suppress(Exception):
        arr = np.array(hdr[name])
        if arr.shape:
            arr[int(rng.integers(len(arr)))] = value
        else:
            arr = np.array(value)
        hdr[name] = arr
    data = hdr.binaryblock + b"\0" * 4 + raw[352:]
    out.write_bytes(data)
    return out, f"{kind} {name}={value}"


def mutate_lvquan(path: Path, work: Path, rng: np.random.Generator, kind: str) -> tuple[Path, str]:
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"m{path.suffix}"
    data = path.read_bytes()
    if kind == "flip":
        out.write_bytes(_flip(data, rng, len(data)))
        return out, "flip"
    if kind == "truncate":
        out.write_bytes(data[: int(rng.integers(0, len(data)))])
        return out, "truncate"
    if path.suffix == ".npz":
        arrays = dict(np.load(path, allow_pickle=False))
    else:
        from scipy.io import loadmat

        arrays = {k: v for k, v in loadmat(path).items() if not k.startswith("__")}
    key = sorted(arrays)[int(rng.integers(len(arrays)))]
    if kind == "delete":
        del arrays[key]
        what = f"delete {key}"
    else:
        value = ABSURD[int(rng.integers(len(ABSURD)))]
        a = np.array(arrays[key], dtype=float)
        if rng.integers(2) and a.size:
            a.flat[int(rng.integers(a.size))] = value
        else:
            a = np.full(a.shape if rng.integers(2) else (3,), value)
        arrays[key] = a
        what = f"absurd {key}={value}"
    if path.suffix == ".npz":
        np.savez(out, **arrays)
    else:
        from scipy.io import savemat

        savemat(out, arrays)
    return out, what


# ------------------------------------------------------------------- checks
def check_result(result: dict) -> str | None:
    """Why a measured result should not have passed the sanity gates, or None."""
    try:
        json.dumps(result, allow_nan=False)
    except ValueError:
        return "result holds NaN or infinity"
    for f in result["frames"]:
        areas = (f["cavity_area_mm2"], f["myocardium_area_mm2"])
        if not all(math.isfinite(v) and v > 0 for v in areas):
            return f"frame {f['frame']}: areas {areas}"
        if not all(math.isfinite(v) for v in f["dims_mm"] + f["rwt_mm"]):
            return f"frame {f['frame']}: non-finite dimension or wall thickness"
    return None


def run_one(fmt: str, path: Path, ensemble, finder, pipeline: bool, limit: float, tally: Tally, label: str) -> None:
    from lvquant.analysis.pipeline import analyze_cine, analyze_crops
    from lvquant.errors import LvquantError
    from lvquant.io import read_cine
    from lvquant.io.lvquan_mat import read_lvquan
    from lvquant.report import result_dict

    def bounded(stage: str, call):
        """(True, value) when ``call`` returned within the limit; (False, None) after counting why not."""
        try:
            with time_limit(limit):
                return True, call()
        except LvquantError:
            tally.counts[f"{fmt} refused by the {stage}"] += 1
        except TimeLimit:
            tally.failures.append(f"{label}: the {stage} ran past {limit:g} s")
        except Exception as exc:
            tally.failures.append(f"{label}: the {stage} raised {type(exc).__name__}: {str(exc)[:160]}")
        return False, None

    ok, data = bounded("reader", lambda: read_lvquan(path) if fmt in ("npz", "mat") else read_cine(path))
    if not ok:
        return
    tally.counts[f"{fmt} read"] += 1
    if not pipeline:
        return

    def analyse():
        if fmt in ("npz", "mat"):
            a = analyze_crops(data.images[0], float(data.pixel_size_mm[0]), ensemble=ensemble)
        else:
            a = analyze_cine(data, ensemble=ensemble, localiser=finder)
        return check_result(result_dict(a))

    ok, problem = bounded("analysis", analyse)
    if not ok:
        return
    if problem:
        tally.failures.append(f"{label}: measured although {problem}")
    else:
        tally.counts[f"{fmt} measured"] += 1


def fuzz(n_mutations: int, seed: int = 0, pipeline_every: int = 10, limit: float = 10.0,
         progress=None) -> Tally:
    """Run ``n_mutations`` mutants (formats in turn) and return the tally."""
    import warnings

    from lvquant.analysis.localise_learned import load_localiser
    from lvquant.analysis.predict import Ensemble
    from lvquant.io.quiet import quiet_library

    rng = np.random.default_rng(seed)
    tally = Tally()
    ensemble, finder = Ensemble.load(threads=1), load_localiser("learned")
    with tempfile.TemporaryDirectory(prefix="lvquant-fuzz-") as tmp, warnings.catch_warnings(), \
            np.errstate(all="ignore"), quiet_library("pydicom"):
        warnings.simplefilter("ignore")
        root = Path(tmp)
        inputs = make_inputs(root / "valid")
        formats = ("dicom", "nifti", "npz", "mat")
        readable = Counter()
        for i in range(n_mutations):
            fmt = formats[i % len(formats)]
            kind = KINDS[int(rng.integers(len(KINDS)))]
            work = root / "work"
            shutil.rmtree(work, ignore_errors=True)
            try:
                if fmt == "dicom":
                    what = mutate_dicom(inputs["dicom"], work, rng, kind)
                    path = work
                elif fmt == "nifti":
                    path, what = mutate_nifti(inputs["nifti"], work, rng, kind)
                else:
                    path, what = mutate_lvquan(inputs[fmt], work, rng, kind)
            except Exception:  # the mutation itself could not be written: not a finding
                tally.counts["mutation not writable"] += 1
                continue
            tally.counts[f"mutations {fmt}/{kind}"] += 1
            before = tally.counts[f"{fmt} read"]
            run_one(fmt, path, ensemble, finder, pipeline=(readable[fmt] % pipeline_every == 0), limit=limit,
                    tally=tally, label=f"mutant {i} ({fmt}, {what})")
            if tally.counts[f"{fmt} read"] > before:
                readable[fmt] += 1
            if progress is not None:
                progress(1)
    return tally


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutations", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pipeline-every", type=int, default=10, help="analyse every k-th readable mutant (default 10)")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per reader or analysis call")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=args.mutations, unit="mutant", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        tally = fuzz(args.mutations, args.seed, args.pipeline_every, args.time_limit,
                     progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    print(f"{args.mutations} mutants (seed {args.seed}) in {time.perf_counter() - t0:.0f} s")
    for key in sorted(tally.counts):
        print(f"  {key}: {tally.counts[key]}")
    print(f"failures: {len(tally.failures)}")
    for line in tally.failures[:50]:
        print(f"  {line}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
