"""Which studies a cohort holds: a folder of studies or a CSV list, and the shard of them to run.

A study is one cine to analyse, named by a subject ID that comes from the
folder or file name, or from the CSV's ``subject_id`` column — never from a
DICOM header. The ID becomes a folder name in the cohort's output, so it is
limited to letters, digits, ``.``, ``_`` and ``-`` (not starting with ``.``).
"""

from __future__ import annotations

import csv
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

#: What a subject ID may look like (it names the study's report folder).
SUBJECT_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
#: File names taken as one NIfTI study each.
NIFTI_SUFFIXES = (".nii", ".nii.gz")
#: Short-axis cine file names taken from a study folder (UK Biobank's layout).
SHORT_AXIS_NAMES = ("sa.nii.gz", "sa.nii")
#: Most studies one cohort input may list (a header or a typo must not make the work unbounded).
MAX_STUDIES = 1_000_000


@dataclass(frozen=True)
class Study:
    """One study of a cohort.

    Attributes:
        subject_id: the study's name in every output (folder name or CSV column).
        path: the DICOM folder/file or NIfTI file to analyse (absolute).
        slice_index: the slice to measure (None: the mid-ventricular slice is chosen).
    """

    subject_id: str
    path: str
    slice_index: int | None = None


def _nifti_stem(name: str) -> str | None:
    low = name.lower()
    for suffix in NIFTI_SUFFIXES[::-1]:  # .nii.gz before .nii
        if low.endswith(suffix):
            return name[: -len(suffix)]
    return None


def check_subject_id(subject_id: str, where: str) -> str:
    """Return ``subject_id`` if it may name a report folder.

    Raises:
        InputError: it is empty, too long, or holds other characters than letters, digits, ``._-``.
    """
    if not SUBJECT_ID.fullmatch(subject_id):
        raise InputError(f"{where}: subject ID {subject_id[:40]!r} is not usable as a folder name (letters, digits, "
                         "'.', '_' and '-' only, at most 128, not starting with '.')")
    return subject_id


def _ukbb_short_axis(folder: Path) -> Path | None:
    """``folder/sa.nii.gz`` (or ``sa.nii``): the short-axis cine of UK Biobank's (and ukbb_cardiac's) layout."""
    for name in SHORT_AXIS_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def studies_in_folder(folder: Path) -> tuple[list[Study], int]:
    """Every sub-folder and NIfTI file of ``folder`` as a study, sorted by subject ID.

    A sub-folder holding ``sa.nii.gz`` (UK Biobank's layout, next to its
    long-axis ``la_*.nii.gz`` files) is that NIfTI file's study; any other
    sub-folder is read as DICOM. Hidden entries are skipped. Returns the studies and the number of other
    entries ignored (plain files that are not NIfTI, FIFOs, sockets, devices).
    """
    studies, ignored = [], 0
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        try:
            mode = entry.stat().st_mode  # follows links: a link to a study folder is a study
        except OSError:  # a broken link or a loop
            ignored += 1
            continue
        if stat.S_ISDIR(mode):
            sid = entry.name
            short_axis = _ukbb_short_axis(Path(entry.path))
            if short_axis is not None:  # UK Biobank's layout: <subject>/sa.nii.gz
                studies.append(Study(check_subject_id(sid, str(folder)), str(short_axis.absolute())))
                continue
        elif stat.S_ISREG(mode) and _nifti_stem(entry.name):
            sid = _nifti_stem(entry.name)
        else:
            ignored += 1
            continue
        studies.append(Study(check_subject_id(sid, str(folder)), str(Path(entry.path).absolute())))
        if len(studies) > MAX_STUDIES:
            raise InputError(f"{folder} holds more than {MAX_STUDIES} studies; split it")
    return studies, ignored


def studies_in_csv(path: Path) -> list[Study]:
    """The studies listed in a CSV with columns ``subject_id,path[,slice]``.

    Relative paths are taken relative to the CSV's folder.

    Raises:
        InputError: missing columns, an empty or bad subject ID, a bad slice number.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = [c.strip() for c in (reader.fieldnames or [])]
            if "subject_id" not in fields or "path" not in fields:
                raise InputError(f"{path}: a cohort CSV needs the columns subject_id,path[,slice]; "
                                 f"found {','.join(fields)[:80] or 'none'}")
            reader.fieldnames = fields
            studies = []
            for line, row in enumerate(reader, start=2):
                sid = (row.get("subject_id") or "").strip()
                p = (row.get("path") or "").strip()
                if not sid and not p:
                    continue  # blank line
                if not p:
                    raise InputError(f"{path}, line {line}: no path")
                slice_text = (row.get("slice") or "").strip()
                try:
                    slice_index = int(slice_text) if slice_text else None
                except ValueError:
                    raise InputError(f"{path}, line {line}: slice must be an integer; got {slice_text[:20]!r}") from None
                if slice_index is not None and not 0 <= slice_index < 10_000:
                    raise InputError(f"{path}, line {line}: slice must be from 0 to 9999; got {slice_index}")
                full = Path(p) if Path(p).is_absolute() else path.parent / p
                studies.append(Study(check_subject_id(sid, f"{path}, line {line}"), str(full.absolute()), slice_index))
                if len(studies) > MAX_STUDIES:
                    raise InputError(f"{path} lists more than {MAX_STUDIES} studies; split it")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a UTF-8 text CSV") from None
    except csv.Error as exc:
        raise InputError(f"{path} is not a readable CSV: {exc}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return studies


def find_studies(source: str | os.PathLike) -> tuple[list[Study], int]:
    """The studies of a cohort input (a folder of studies or a ``.csv`` list) and the entries ignored.

    Raises:
        InputError: the input does not exist, holds no study, or two studies share a subject ID.
    """
    path = Path(source)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        studies, ignored = studies_in_folder(path)
    elif stat.S_ISREG(mode) and path.suffix.lower() == ".csv":
        studies, ignored = studies_in_csv(path), 0
    else:
        raise InputError(f"{path} is neither a folder of studies nor a .csv list of them")
    if not studies:
        raise InputError(f"{path} holds no study (a sub-folder or NIfTI file per study, or CSV rows "
                         "subject_id,path[,slice])")
    seen: set[str] = set()
    for s in studies:
        if s.subject_id in seen:
            raise InputError(f"{path}: subject ID {s.subject_id!r} appears twice")
        seen.add(s.subject_id)
    return studies, ignored


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n), 0 <= i < n (the shard of a Slurm array job: ``$SLURM_ARRAY_TASK_ID/N``).

    Raises:
        InputError: not of that form.
    """
    m = re.fullmatch(r"\s*(\d{1,7})\s*/\s*(\d{1,7})\s*", text or "")
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        raise InputError(f"--shard must be i/n with 0 <= i < n (e.g. 0/4); got {text!r}")
    return int(m.group(1)), int(m.group(2))


def select_shard(studies: list[Study], shard: tuple[int, int] | None) -> list[Study]:
    """Every n-th study starting at the i-th (of the list sorted as found); all without a shard."""
    if shard is None:
        return list(studies)
    i, n = shard
    return list(studies[i::n])
