"""Index prediction: the N-model DLA ensemble, mean and spread per index.

Input: equalised 80×80 LV-centred crops (see :mod:`lvquant.convert`). Each
network regresses the 11 indices in normalised units (lengths divided by the
crop side ``80 × pixel size``, areas by its square), standardised with the
training set's mean and standard deviation recorded in the manifest. The
ensemble prediction is the mean over the N networks; the spread is their
standard deviation, both converted to mm / mm² with the crop's pixel size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import InputError
from .indices import Indices, normalised_to_mm
from .nets.config import INPUT_SIZE, DLAConfig
from .nets.numpy_dla import NumpyDLA, run_networks
from .weights_io import ModelError, load_state, read_manifest

#: The ensemble shipped inside the package.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "weights"


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


def network_config(manifest: dict[str, Any]) -> DLAConfig:
    """The :class:`DLAConfig` a manifest records."""
    cfg = manifest["network_config"]
    try:
        config = DLAConfig(levels=tuple(cfg["levels"]), channels=tuple(cfg["channels"]),
                           head_channels=int(cfg["head_channels"]), hidden=int(cfg["hidden"]),
                           dropout=float(cfg.get("dropout", 0.0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"manifest network_config is incomplete ({exc})") from None
    return config


def build_network(manifest: dict[str, Any]):
    """An untrained PyTorch :class:`~lvquant.nets.dla.DLA` of the manifest's architecture."""
    from .nets.dla import DLA

    return DLA(network_config(manifest))


class Ensemble:
    """N trained networks and the target standardisation they share.

    ``networks`` are either :class:`~lvquant.nets.numpy_dla.NumpyDLA` (what
    :meth:`load` builds by default: no PyTorch import, about a second saved at
    start-up) or PyTorch :class:`~lvquant.nets.dla.DLA` modules (training, and
    ``engine="torch"``); both give the same outputs to float32 rounding.
    """

    def __init__(self, networks: Sequence[Any], target_mean: np.ndarray, target_std: np.ndarray,
                 manifest: dict[str, Any] | None = None, folder: Path | None = None) -> None:
        if not networks:
            raise ModelError("an ensemble needs at least one network")
        self.networks = [n if isinstance(n, NumpyDLA) else n.eval() for n in networks]
        self.target_mean = np.asarray(target_mean, dtype=np.float64).reshape(11)
        self.target_std = np.asarray(target_std, dtype=np.float64).reshape(11)
        self.manifest = manifest or {}
        self.folder = folder

    @classmethod
    def load(cls, folder: str | Path | None = None, *, members: Sequence[int] | None = None,
             engine: str = "numpy") -> "Ensemble":
        """Load the ensemble of a model folder (default: the shipped weights).

        Args:
            folder: folder holding ``manifest.json`` and the safetensors files.
            members: positions in the manifest's model list to keep (default all),
                e.g. ``[0]`` for a single-model ablation.
            engine: ``"numpy"`` (default) or ``"torch"`` (batch norms folded
                into the convolutions, :func:`lvquant.nets.dla.fuse_for_inference`).

        Raises:
            ModelError: missing or tampered files, weights that do not fit the manifest.
        """
        if engine not in ("numpy", "torch"):
            raise InputError(f"engine must be 'numpy' or 'torch'; got {engine!r}")
        folder = Path(folder) if folder is not None else DEFAULT_MODEL_DIR
        manifest = read_manifest(folder)
        entries = manifest["models"]
        if members is not None:
            try:
                entries = [entries[i] for i in members]
            except IndexError:
                raise ModelError(f"model folder {folder} has {len(manifest['models'])} models; asked for {list(members)}") from None
        config = network_config(manifest)
        networks = []
        for entry in entries:
            state = load_state(folder / entry["file"], entry.get("sha256"), numpy=engine == "numpy")
            if engine == "numpy":
                try:
                    networks.append(NumpyDLA(config, state, INPUT_SIZE))
                except (KeyError, ValueError) as exc:
                    raise ModelError(f"{entry['file']} does not fit the manifest's network ({exc})") from None
                continue
            from .nets.dla import fuse_for_inference

            net = build_network(manifest)
            try:
                net.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise ModelError(f"{entry['file']} does not fit the manifest's network ({str(exc).splitlines()[0]})") from None
            networks.append(fuse_for_inference(net))
        targets = manifest["targets"]
        return cls(networks, targets["mean"], targets["std"], manifest, folder)

    def first(self, n: int) -> "Ensemble":
        """The ensemble of its first ``n`` networks (shares the networks; e.g. a quick size estimate)."""
        if not 1 <= n <= len(self.networks):
            raise InputError(f"an ensemble of {len(self.networks)} networks has no first {n}")
        return Ensemble(self.networks[:n], self.target_mean, self.target_std, self.manifest, self.folder)

    def __len__(self) -> int:
        return len(self.networks)

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

    @property
    def intensity(self) -> str:
        """Intensity normalisation the networks were trained with (``"equalize"`` by default)."""
        return str(self.manifest.get("input", {}).get("intensity", "equalize"))

    def predict_raw(self, raw_crops: np.ndarray, pixel_size_mm: float) -> EnsemblePrediction:
        """Like :meth:`predict`, for raw 80×80 crops of one subject (T, 80, 80): applies the
        intensity normalisation the ensemble was trained with first."""
        from .convert import normalize_intensity

        return self.predict(normalize_intensity(raw_crops, self.intensity), pixel_size_mm)

    def predict_normalised(self, crops: np.ndarray) -> np.ndarray:
        """Every member's prediction in normalised units.

        Args:
            crops: (T, 80, 80) equalised crops with values in [0, 1].

        Returns:
            (N, T, 11) normalised indices.
        """
        x = np.asarray(crops, dtype=np.float32)
        if x.ndim != 3 or x.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
            raise InputError(f"the networks take (T, {INPUT_SIZE}, {INPUT_SIZE}) crops; got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise InputError("crops contain NaN or infinite values")
        if all(isinstance(net, NumpyDLA) for net in self.networks):
            outputs = run_networks(list(self.networks), x)
        else:
            outputs = [self._run(net, x) for net in self.networks]
        z = np.stack(outputs).astype(np.float64)
        return z * self.target_std + self.target_mean

    @staticmethod
    def _run(net: Any, x: np.ndarray) -> np.ndarray:
        """(T, 80, 80) -> (T, 11) standardised outputs of one network."""
        if isinstance(net, NumpyDLA):
            return net(x)
        import torch

        with torch.inference_mode():
            return net(torch.from_numpy(np.ascontiguousarray(x))[:, None]).numpy()

    def predict(self, crops: np.ndarray, pixel_size_mm: float) -> EnsemblePrediction:
        """Ensemble mean and spread in mm / mm².

        Args:
            crops: (T, 80, 80) equalised crops.
            pixel_size_mm: the crop's (isotropic) pixel size in mm, so that the
                crop side is ``80 * pixel_size_mm``.
        """
        if not (np.isfinite(pixel_size_mm) and pixel_size_mm > 0):
            raise InputError(f"pixel size must be a positive number of mm; got {pixel_size_mm!r}")
        members = normalised_to_mm(self.predict_normalised(crops), INPUT_SIZE * float(pixel_size_mm))
        return EnsemblePrediction(Indices.from_array(members.mean(0)), Indices.from_array(members.std(0)), members)
