"""Predict: the N-network DLA ensemble on ONNX Runtime, mean and spread per index.

Input: the model's crops (see :mod:`lvquant.analysis.convert`, built from the
model's :class:`~lvquant.analysis.spec.InputSpec`). The model folder's
``ensemble.onnx`` holds all N networks as one graph: one call gives every
member's 11 indices in normalised units (lengths divided by the crop side
``crop_pixels × pixel size``, areas by its square). The ensemble prediction is
the mean over the N members; the spread is their standard deviation, both
converted to mm / mm² with the crop's pixel size.

Determinism: ONNX Runtime partitions the work of each operator over its
threads without splitting any sum, so the outputs are bit-identical whatever
the number of threads (tested with 1, 2 and 3 in tests/test_predict_onnx.py);
the thread count is only a matter of speed. PyTorch is not imported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError, ModelError
from ..indices import Indices, normalised_to_mm
from ..weights_io import ONNX_NAME, read_manifest, sha256_bytes
from .spec import InputSpec

#: The ensemble shipped inside the package.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "weights"
#: Most threads one ensemble uses (more only costs time on these small convolutions).
MAX_THREADS = 4
#: Most crops one ONNX Runtime call takes (:func:`run_batched`). The outputs do not depend on how
#: the crops are grouped (tested bit for bit), but a large batch's activations outgrow the CPU's
#: caches: the whole heart's 180 crops took 0.5-1.2 s in one call against 0.35-0.42 s in calls
#: of 10 to 40 (2-core VM, ensemble of 5, docs/benchmarks.md).
ONNX_BATCH = 20


@dataclass(frozen=True)
class EnsemblePrediction:
    """Per-frame ensemble prediction in mm / mm².

    Attributes:
        mean: :class:`Indices` with batch (T,): the mean over the N models.
        spread: :class:`Indices` with batch (T,): the standard deviation across
            models (0 for a single model).
        members: (N, T, 11) every model's prediction in mm / mm².
    """

    mean: Indices
    spread: Indices
    members: np.ndarray


def default_threads() -> int:
    """Threads for ONNX Runtime: the CPUs this process may run on, at most :data:`MAX_THREADS`."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, MAX_THREADS))


class Ensemble:
    """N trained networks (one ONNX graph) and the input spec they share.

    Use :meth:`load`; the constructor takes an ONNX Runtime session already built.

    Attributes:
        spec: the :class:`InputSpec` the networks were trained with.
        manifest: the model folder's manifest.
        folder: the model folder.
        members: positions (in the manifest's model list) whose outputs are kept.
    """

    def __init__(self, session: Any, spec: InputSpec, manifest: dict[str, Any], folder: Path | None,
                 members: Sequence[int]) -> None:
        self._session = session
        self.spec = spec
        self.manifest = manifest
        self.folder = folder
        self.members = tuple(int(m) for m in members)
        if not self.members:
            raise ModelError("an ensemble needs at least one network")

    @classmethod
    def load(cls, folder: str | Path | None = None, *, members: Sequence[int] | None = None,
             threads: int | None = None) -> "Ensemble":
        """Load the ensemble of a model folder (default: the shipped weights).

        Args:
            folder: folder holding ``manifest.json`` and ``ensemble.onnx``.
            members: positions in the manifest's model list to keep (default all),
                e.g. ``[0]`` for a single-model ablation. The graph computes all
                N networks; the others' outputs are dropped.
            threads: ONNX Runtime threads (default :func:`default_threads`); the
                results do not depend on it.

        Raises:
            ModelError: missing or tampered files, an input spec this version
                cannot build, a graph that does not fit the manifest.
        """
        folder = Path(folder) if folder is not None else DEFAULT_MODEL_DIR
        manifest = read_manifest(folder)
        spec = InputSpec.from_dict(manifest["input_spec"])
        n = len(manifest["models"])
        if threads is None:
            threads = default_threads()
        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 256:
            raise InputError(f"threads must be an integer from 1 to 256; got {threads!r}")
        if members is not None:  # refused before the graph is built
            _check_members(members, n, f"model folder {folder}")
        session = _session(folder, manifest, threads)
        _check_graph(session, spec, n, folder)
        return cls(session, spec, manifest, folder, range(n) if members is None else members)

    def subset(self, members: Sequence[int]) -> "Ensemble":
        """The same graph keeping only the outputs of ``members`` (positions in the manifest's list)."""
        _check_members(members, len(self.manifest["models"]), "this ensemble")
        return Ensemble(self._session, self.spec, self.manifest, self.folder, members)

    def __len__(self) -> int:
        return len(self.members)

    @property
    def identity(self) -> dict[str, Any]:
        """Short description for reports: network, members, training data and seed."""
        m = self.manifest
        return {
            "name": m.get("name", "custom"),
            "network": m.get("network"),
            "n_models": len(self),
            "trained_on": m.get("training", {}).get("data", {}).get("description"),
            "seed": m.get("training", {}).get("seed"),
            "folder": str(self.folder) if self.folder else None,
        }

    def predict_raw(self, raw_crops: np.ndarray, pixel_size_mm: float) -> EnsemblePrediction:
        """Like :meth:`predict`, for raw crops of one subject (T, S, S): normalises their
        intensity by the spec first."""
        from .convert import normalize_intensity

        return self.predict(normalize_intensity(raw_crops, self.spec), pixel_size_mm)

    def predict_normalised(self, crops: np.ndarray) -> np.ndarray:
        """Every kept member's prediction in normalised units.

        Args:
            crops: (T, S, S) normalised crops, S = ``spec.crop_pixels``.

        Returns:
            (N, T, 11) float64 normalised indices.
        """
        s = self.spec.crop_pixels
        x = np.ascontiguousarray(crops, dtype=np.float32)
        if x.ndim != 3 or x.shape[1:] != (s, s) or x.shape[0] == 0:
            raise InputError(f"the networks take (T, {s}, {s}) crops; got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise InputError("crops contain NaN or infinite values")
        out = run_batched(self._session, self._session.get_inputs()[0].name, x, axis=1)
        return np.asarray(out, dtype=np.float64)[list(self.members)]

    def predict(self, crops: np.ndarray, pixel_size_mm: float) -> EnsemblePrediction:
        """Ensemble mean and spread in mm / mm².

        Args:
            crops: (T, S, S) normalised crops.
            pixel_size_mm: the crop's (isotropic) pixel size in mm, so that the
                crop side is ``S * pixel_size_mm``.
        """
        return predict_many(self, [np.asarray(crops)], [pixel_size_mm])[0]


def run_batched(session: Any, input_name: str, x: np.ndarray, axis: int) -> np.ndarray:
    """``session``'s single output for the input ``x`` (B, ...), run :data:`ONNX_BATCH` items at a
    time and joined along the output's batch axis ``axis`` (1 for the ensemble's (N, B, 11), 0 for
    the border network's (B, 3, P, P))."""
    parts = [session.run(None, {input_name: x[i:i + ONNX_BATCH]})[0] for i in range(0, x.shape[0], ONNX_BATCH)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def predict_many(ensemble: "Ensemble", crops: Sequence[np.ndarray], pixel_sizes_mm: Sequence[float]
                 ) -> list[EnsemblePrediction]:
    """:meth:`Ensemble.predict` of several slices' crops together, :data:`ONNX_BATCH` crops an ONNX call
    (faster than one call per slice of a few crops, and than one call of hundreds).

    Args:
        crops: per slice (T_k, S, S) normalised crops; pixel_sizes_mm: per slice, mm.
    """
    if not crops:
        return []
    for p in pixel_sizes_mm:
        if not (np.isfinite(p) and p > 0):
            raise InputError(f"pixel size must be a positive number of mm; got {p!r}")
    raw = ensemble.predict_normalised(np.concatenate(list(crops)))
    out, start = [], 0
    for c, p in zip(crops, pixel_sizes_mm):
        members = normalised_to_mm(raw[:, start:start + c.shape[0]], ensemble.spec.crop_pixels * float(p))
        start += c.shape[0]
        out.append(EnsemblePrediction(Indices.from_array(members.mean(0)), Indices.from_array(members.std(0)), members))
    return out


def _check_members(members: Sequence[int], n: int, where: str) -> None:
    """Refuse member positions that are not whole numbers in 0..n-1 (negative ones included)."""
    members = list(members)
    if not members or any(isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 0 <= m < n
                          for m in members):
        raise ModelError(f"{where} has {n} models (0 to {n - 1}); asked for {members}")


def _session(folder: Path, manifest: dict[str, Any], threads: int) -> Any:
    """An ONNX Runtime session of the folder's graph, its checksum checked first."""
    entry = manifest["inference"]
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        raise ModelError(f"{folder}/manifest.json: 'inference' must name the graph file")
    return checked_session(folder / Path(entry["file"]).name, entry.get("sha256"), threads)


def read_graph_manifest(path: Path, fmt: str, what: str) -> tuple[dict[str, Any], Path, str]:
    """A JSON manifest of one ONNX graph beside it (``format``, ``file``, ``sha256``; the localiser's and
    the border network's): (manifest, the graph's path, its SHA-256).

    Raises:
        ModelError: an unreadable file, another format, a missing file name or checksum.
    """
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read the {what} manifest {path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != fmt:
        raise ModelError(f"{path} is not a {what} manifest ({fmt})")
    try:
        return manifest, path.parent / Path(str(manifest["file"])).name, str(manifest["sha256"])
    except KeyError as exc:
        raise ModelError(f"{path}: bad {what} manifest ({exc})") from None


def checked_session(path: Path, sha256: str | None, threads: int) -> Any:
    """An ONNX Runtime session of the graph file ``path`` whose SHA-256 must be ``sha256``.

    The one place lvquant builds a session (the ensemble and the learned localiser): one
    thread pool of ``threads`` for each operator, sequential execution and deterministic
    kernels, so outputs do not depend on the thread count.

    Raises:
        ModelError: a missing or unreadable file, a checksum mismatch, a graph ONNX Runtime
            cannot load.
    """
    import onnxruntime as ort

    if not path.is_file():
        raise ModelError(f"model file {path} is missing")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    if sha256 != sha256_bytes(data):
        raise ModelError(f"model file {path} does not match its manifest (checksum differs): re-train or re-install")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.use_deterministic_compute = True
    options.log_severity_level = 3  # errors only: ONNX Runtime's notices are not the user's business
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own (pybind) exception types
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"model file {path} is not a usable ONNX graph (not a loadable ONNX file: "
                         f"{first[:200]})") from None


def _check_graph(session: Any, spec: InputSpec, n_models: int, folder: Path) -> None:
    """Refuse a graph whose input or output does not match the spec and the manifest."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    s = spec.crop_pixels
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(f"{folder}/{ONNX_NAME} must have one input and one output")
    if list(inputs[0].shape[1:]) != [s, s] or inputs[0].type != "tensor(float)":
        raise ModelError(f"{folder}/{ONNX_NAME} takes {inputs[0].shape} {inputs[0].type}; "
                         f"the manifest's input spec says (batch, {s}, {s}) float")
    shape = outputs[0].shape
    if len(shape) != 3 or shape[0] != n_models or shape[2] != 11:
        raise ModelError(f"{folder}/{ONNX_NAME} gives {shape}; the manifest lists {n_models} models "
                         "of 11 indices each")
