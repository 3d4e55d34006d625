"""Borders: the border network's cavity and myocardium masks on the regression networks' crops.

The regression ensemble (:mod:`lvquant.analysis.predict`) gives the method's 11 indices; it
draws nothing. The border network (:mod:`lvquant.nets.segnet`, shipped as
``weights/borders.onnx`` with its manifest ``borders.json``, run on ONNX Runtime) reads the
very same crops and labels every crop pixel background, LV cavity or LV myocardium. From its
masks this module gives:

* the **borders** to draw (:func:`border_polygons`): the 0.5 iso-lines of the cavity and of the
  epicardial region (cavity + myocardium), largest piece, holes filled;
* the **indices measured on the masks** (:func:`mask_indices`, :func:`lvquant.geometry.measure_masks`,
  the same definitions as the truth the regression learned), NaN in a frame whose masks hold
  no measurable LV;
* a **QC flag** per frame (:func:`disagreement`): the regressed and the mask-measured cavity or
  myocardium areas differ by more than :data:`AGREEMENT_TOLERANCE` of the regressed value.

What the network expects travels with it: its manifest holds the input spec it was trained on,
and it is refused with an ensemble of another spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, MaskError, ModelError
from ..geometry import mask_border, measure_masks
from ..image_ops import fill_holes, largest_piece
from ..indices import Indices
from .predict import checked_session, default_threads, read_graph_manifest, run_batched
from .spec import InputSpec

#: The border network shipped inside the package.
DEFAULT_BORDERS = Path(__file__).resolve().parent.parent / "weights" / "borders.json"
FORMAT = "lvquant-borders/1"
#: Relative difference between the regressed and the mask-measured cavity or myocardium area above
#: which a frame is flagged (see docs/analyze.md for how it was chosen).
AGREEMENT_TOLERANCE = 0.20
#: Label values of the masks.
CAVITY, MYOCARDIUM = 1, 2


class BorderModel:
    """The border network (ONNX) and the input spec it reads. Use :meth:`load`.

    Attributes:
        spec: the :class:`InputSpec` of its crops.
        manifest: the manifest.
    """

    def __init__(self, session: Any, spec: InputSpec, manifest: dict[str, Any]) -> None:
        self._session = session
        self.spec = spec
        self.manifest = manifest

    @classmethod
    def load(cls, manifest_path: str | Path | None = None, threads: int | None = None) -> "BorderModel":
        """Load ``borders.json`` and the ONNX graph it names (checksum verified); ``threads``: ONNX
        Runtime threads (default :func:`~lvquant.analysis.predict.default_threads`; the labels are the
        same whatever the number).

        Raises:
            ModelError: missing or unreadable files, checksum mismatch, bad manifest.
        """
        path = Path(manifest_path) if manifest_path is not None else DEFAULT_BORDERS
        manifest, onnx_file, digest = read_graph_manifest(path, FORMAT, "border network")
        try:
            spec = InputSpec.from_dict(manifest["input_spec"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: bad border network manifest ({exc})") from None
        n = default_threads() if threads is None else max(1, int(threads))
        return cls(checked_session(onnx_file, digest, n), spec, manifest)

    @property
    def identity(self) -> dict[str, Any]:
        t = self.manifest.get("training", {})
        return {"name": self.manifest.get("name"), "validation_dice": t.get("validation_dice"),
                "trained_on": t.get("data", {}).get("slices")}

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """(T, P, P) normalised crops -> (T, 3, P, P) probabilities of background, cavity, myocardium."""
        s = self.spec.crop_pixels
        x = np.ascontiguousarray(crops, dtype=np.float32)
        if x.ndim != 3 or x.shape[1:] != (s, s) or x.shape[0] == 0:
            raise InputError(f"the border network takes (T, {s}, {s}) crops; got shape {x.shape}")
        return np.asarray(run_batched(self._session, "crops", x, axis=0))

    def labels(self, crops: np.ndarray) -> np.ndarray:
        """(T, P, P) normalised crops -> (T, P, P) uint8 label maps (0, 1 cavity, 2 myocardium)."""
        return np.argmax(self.probabilities(crops), axis=1).astype(np.uint8)


def load_borders(threads: int | None = None) -> BorderModel | None:
    """The shipped border network (``threads``: ONNX Runtime threads, default as the ensemble's), or None
    when this installation has none."""
    if not DEFAULT_BORDERS.exists():
        return None
    return BorderModel.load(threads=threads)


def _clean(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected piece, holes filled."""
    return fill_holes(largest_piece(mask)[0])


def border_polygons(labels: np.ndarray) -> dict[str, np.ndarray | None]:
    """The borders of one label map, (N, 2) closed polygons (row, col) in crop pixels.

    Returns:
        ``cavity`` (the endocardial border) and ``epicardium``; None where the map holds none.
    """
    cav = labels == CAVITY
    epi = labels >= CAVITY
    out: dict[str, np.ndarray | None] = {}
    for name, m in (("cavity", cav), ("epicardium", epi)):
        out[name] = mask_border(_clean(m)) if m.sum() >= 3 else None
    return out


def mask_indices(labels: np.ndarray, pixel_mm: float) -> Indices:
    """The 11 indices measured on each frame's masks (:func:`lvquant.geometry.measure_masks`), mm / mm².

    Args:
        labels: (T, P, P) label maps.
        pixel_mm: crop pixel size, mm.

    Returns:
        :class:`Indices` with batch (T,); every index NaN in a frame whose cavity is empty or
        cannot be measured (a crescent, a cavity outside the epicardium).
    """
    rows = []
    for lab in labels:
        cav = _clean(lab == CAVITY) if (lab == CAVITY).any() else None
        try:
            if cav is None:
                raise MaskError("no cavity")
            rows.append(measure_masks(cav, _clean(lab >= CAVITY), pixel_mm).to_array())
        except MaskError:
            rows.append(np.full(11, np.nan))
    return Indices.from_array(np.stack(rows))


@dataclass(frozen=True)
class Agreement:
    """How the regressed indices and those measured on the border network's masks compare.

    Attributes:
        cavity_rel, myocardium_rel: (T,) (mask − regressed) / regressed areas.
        flagged: (T,) whether the frame is flagged (either beyond :data:`AGREEMENT_TOLERANCE`,
            or the masks hold no measurable LV).
    """

    cavity_rel: np.ndarray
    myocardium_rel: np.ndarray
    flagged: np.ndarray


def disagreement(regressed: Indices, measured: Indices, tolerance: float = AGREEMENT_TOLERANCE) -> Agreement:
    """Flag the frames where the two measurements of the areas part by more than ``tolerance``."""
    a1 = np.asarray(regressed.cavity_area_mm2, dtype=np.float64)
    a2 = np.asarray(regressed.myocardium_area_mm2, dtype=np.float64)
    r1 = (np.asarray(measured.cavity_area_mm2) - a1) / np.maximum(a1, 1e-6)
    r2 = (np.asarray(measured.myocardium_area_mm2) - a2) / np.maximum(a2, 1e-6)
    flagged = ~(np.isfinite(r1) & np.isfinite(r2)) | (np.abs(np.nan_to_num(r1)) > tolerance) | \
        (np.abs(np.nan_to_num(r2)) > tolerance)
    return Agreement(r1, r2, flagged)


@dataclass(frozen=True)
class Borders:
    """The border network on one slice's crops.

    Attributes:
        labels: (T, P, P) uint8 label maps of the crops (the M-frame cycle in an analysis).
        indices: :class:`Indices` batch (T,): measured on those maps, mm / mm².
        agreement: against the regressed indices of the same frames.
        model: the border network's identity.
    """

    labels: np.ndarray
    indices: Indices
    agreement: Agreement
    model: dict[str, Any]


def draw_borders(borders: BorderModel, crops: np.ndarray, pixel_mm: float, regressed: Indices) -> Borders:
    """Label maps, mask-measured indices and the agreement flags of one slice's crops (T, P, P)."""
    labels = borders.labels(crops)
    measured = mask_indices(labels, pixel_mm)
    return Borders(labels, measured, disagreement(regressed, measured), borders.identity)


def check_same_spec(borders: BorderModel, spec: InputSpec) -> None:
    """Refuse a border network trained on crops of another spec than the ensemble's.

    Raises:
        ModelError: the specs differ.
    """
    if borders.spec != spec:
        raise ModelError("the border network was trained on crops of another input spec than the ensemble's; "
                         "use the two that ship together, or train the border network on this ensemble's crops")


__all__ = ["Borders", "draw_borders", "check_same_spec", "BorderModel", "load_borders", "border_polygons", "mask_indices", "disagreement", "Agreement",
           "AGREEMENT_TOLERANCE", "DEFAULT_BORDERS"]
