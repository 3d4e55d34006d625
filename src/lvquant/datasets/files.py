"""A :class:`~lvquant.datasets.CropSet` on disk: one ``.npz`` (arrays only, no pickle) with its input spec.

Such a file holds image crops of real patients: keep it out of the repository (ACDC's
licence forbids committing anything its images can be rebuilt from).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ..analysis.spec import InputSpec
from ..errors import ModelError, ReaderError
from ..outputs import write_npz_atomic
from . import acdc, sunnybrook
from .builder import CropSet

#: Marker array of the format (its value is the format name).
FORMAT_KEY = "lvquant_crops"
FORMAT = "lvquant-crops/1"
#: Licence of each source, written into the files and the manifests of networks trained on them.
LICENCES = {
    "acdc": acdc.LICENCE,
    "sunnybrook": sunnybrook.LICENCE,
    "phantom": "lvquant's synthetic phantom (generated, MIT like lvquant)",
}


def is_crop_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an ``.npz`` written by :func:`save_crops`."""
    p = Path(path)
    if not p.is_file() or p.suffix.lower() != ".npz":
        return False
    try:
        with np.load(p, allow_pickle=False) as z:
            return FORMAT_KEY in z.files
    except (OSError, ValueError, zipfile.BadZipFile):
        return False


def save_crops(crops: CropSet, path: str | os.PathLike) -> Path:
    """Write ``crops`` to ``path`` (all or nothing)."""
    path = Path(path)
    arrays = {
        FORMAT_KEY: np.array(FORMAT), "images": crops.images.astype(np.float32), "indices": crops.indices,
        "pixel_mm": crops.pixel_mm, "phase": crops.phase, "subjects": np.array(crops.subjects),
        "sources": np.array(crops.sources), "groups": np.array(crops.groups), "slices": crops.slices,
        "mid": crops.mid, "spec": np.array(json.dumps(crops.spec.to_dict())),
        "licences": np.array(json.dumps(licences_of(crops))),
    }
    return write_npz_atomic(path, arrays)


def read_npz(path: Path, key: str, fmt: str, what: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` whose marker array ``key`` holds the format name ``fmt``.

    Raises:
        ReaderError: unreadable, or not such a file (``what`` says what it should have been).
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            if key not in z.files or str(z[key]) != fmt:
                raise ReaderError(f"{path} is not {what} ({fmt})")
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ReaderError(f"cannot read {path}: {exc}") from None


def read_crops(path: str | os.PathLike) -> CropSet:
    """Read a file written by :func:`save_crops`.

    Raises:
        ReaderError: not such a file, or its arrays do not fit together.
    """
    path = Path(path)
    a = read_npz(path, FORMAT_KEY, FORMAT, "an lvquant crop file: write one with 'lvquant dataset'")
    try:
        spec = InputSpec.from_dict(json.loads(str(a["spec"])))
        n = a["images"].shape[0]
        crops = CropSet(a["images"], a["indices"].astype(np.float64), a["pixel_mm"].astype(np.float64),
                        a["phase"].astype(np.int64), tuple(a["subjects"].tolist()), tuple(a["sources"].tolist()),
                        tuple(a["groups"].tolist()), a["slices"].astype(np.int64), a["mid"].astype(bool), spec)
    except (KeyError, ValueError, ModelError) as exc:
        raise ReaderError(f"{path}: not a complete crop file ({exc})") from None
    if a["indices"].shape != (n, a["images"].shape[1], 11) or any(len(v) != n for v in
                                                                 (crops.subjects, crops.sources, crops.pixel_mm)):
        raise ReaderError(f"{path}: its arrays do not describe the same {n} rows")
    return crops


def licences_of(crops: CropSet) -> dict[str, str]:
    """The licence of each source in ``crops``."""
    return {s: LICENCES.get(s, "unknown") for s in sorted(set(crops.sources))}
