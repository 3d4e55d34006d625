"""Localise with a network: the LV centre, its size and the RV direction in every slice, learned from labels.

The hand-made localiser (:mod:`lvquant.analysis.localise`) knows only that the
blood pool is bright, round and moving. On real scanners (ACDC) it put the
centre within 5 mm in 77 % of the training patients and the RV within 30° in
73 %. This one is a small fully convolutional network trained on labelled
full field-of-view slices (ACDC, the phantom): it sees the whole slice and
answers, per slice, where the LV is, how big it is and where the RV lies.

Input of the network (:func:`localiser_input`), built the same way in training
and analysis, so that a 2-frame ACDC stack (ED and ES only) and a 30-frame
cine look alike:

* two frames of the slice: the first (the cycle's start, end-diastole on
  ECG-triggered cines) and the one that differs most from it (end-systole,
  roughly); ACDC gives exactly ED and ES;
* resampled (anti-aliased) to a square grid of ``grid_pixels`` pixels of
  ``pixel_mm`` centred on the image centre (2.5 mm × 128 = 320 mm: every
  cardiac field of view seen holds its heart within it);
* two channels: the mean of the two frames less its 1st percentile (0 outside the image) and
  their absolute difference, both divided by the mean's 1st-to-99th percentile range: the
  same input whatever the scanner's intensity offset and scale (RescaleIntercept, signed
  pixels).

Output (``heat``, ``offset``, ``rv``, ``radius``) on a coarse grid of cells
(``stride`` grid pixels each): the probability that the LV centre lies in the
cell, the centre's offset inside the cell, the RV direction as (cos, sin)
of its angle, and the log of the epicardial radius at ED (``log(r / 30 mm)``).
The decoded peak gives a :class:`~lvquant.analysis.localise.LVLocation` with
the same conventions as the hand-made localiser.

The file ``localiser.onnx`` and its manifest ``localiser.json`` ship in the
package's weights folder; the manifest holds the grid (what the network
expects travels with the network), the presence threshold and how it was
trained. Training is :mod:`lvquant.localiser_training` (PyTorch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, LocalisationError, ModelError
from ..image_ops import gaussian_filter, map_linear
from ..spacing import check_pixel_spacing
from .localise import ClassicLocaliser, LVLocation, mid_ventricular_slice, stack_consensus_mm

__all__ = [
    "LOCALISERS",
    "load_localiser",
    "GridSpec",
    "LearnedLocaliser",
    "localiser_input",
    "sample_grid",
    "pick_frames",
    "DEFAULT_LOCALISER",
]

#: The localiser shipped inside the package (manifest next to it).
DEFAULT_LOCALISER = Path(__file__).resolve().parent.parent / "weights" / "localiser.json"
#: Manifest format of a localiser.
FORMAT = "lvquant-localiser/1"
#: Slices whose centre lies farther than this from the stack's consensus are decoded again near it.
STACK_RADIUS_MM = 15.0
#: Radius (mm) the log-radius output is relative to.
RADIUS_REF_MM = 30.0


@dataclass(frozen=True)
class GridSpec:
    """The grid the localiser network reads.

    Attributes:
        grid_pixels: side of the input grid, pixels (a multiple of ``stride``).
        pixel_mm: size of a grid pixel, mm.
        stride: grid pixels per output cell.
    """

    grid_pixels: int = 128
    pixel_mm: float = 2.5
    stride: int = 4

    def __post_init__(self) -> None:
        if not (isinstance(self.grid_pixels, int) and isinstance(self.stride, int)) or self.stride < 1 \
                or self.grid_pixels < self.stride or self.grid_pixels % self.stride:
            raise ModelError("localiser grid: grid_pixels must be a positive multiple of stride")
        if not (isinstance(self.pixel_mm, (int, float)) and 0.1 <= float(self.pixel_mm) <= 20.0):
            raise ModelError("localiser grid: pixel_mm must be between 0.1 and 20 mm")

    @property
    def cells(self) -> int:
        return self.grid_pixels // self.stride

    def to_dict(self) -> dict[str, Any]:
        return {"grid_pixels": self.grid_pixels, "pixel_mm": float(self.pixel_mm), "stride": self.stride}

    def to_image_mm(self, grid_px: tuple[float, float], shape: tuple[int, int],
                    spacing: tuple[float, float]) -> np.ndarray:
        """(row, col) mm in the image of a grid pixel position, the grid centred on the image centre."""
        return image_centre_mm(shape, spacing) + (np.asarray(grid_px, float) - (self.grid_pixels - 1) / 2.0) \
            * self.pixel_mm

    def cell_of(self, image_mm: np.ndarray, shape: tuple[int, int], spacing: tuple[float, float]) -> tuple[int, int]:
        """The output cell (row, col) holding an image position (mm), clipped to the grid."""
        grid_px = (np.asarray(image_mm, float) - image_centre_mm(shape, spacing)) / self.pixel_mm \
            + (self.grid_pixels - 1) / 2.0
        i, j = np.clip(np.floor(grid_px / self.stride), 0, self.cells - 1).astype(int)
        return int(i), int(j)


def image_centre_mm(shape: tuple[int, int], spacing: tuple[float, float]) -> np.ndarray:
    """(row, col) mm of an image's centre, from the first pixel's centre."""
    return np.array([(shape[0] - 1) / 2.0 * spacing[0], (shape[1] - 1) / 2.0 * spacing[1]])


def pick_frames(frames: np.ndarray) -> tuple[int, int]:
    """The two frames the localiser reads: the first, and the one that differs most from it.

    Args:
        frames: (T, H, W), T >= 1.

    Returns:
        ``(0, k)``; ``k = 0`` when T is 1.
    """
    f = np.asarray(frames, dtype=np.float32)
    if f.shape[0] < 2:
        return 0, 0
    diff = np.abs(f[1:] - f[0]).reshape(f.shape[0] - 1, -1).mean(axis=1)
    return 0, int(np.argmax(diff)) + 1


def _grid_coordinates(spacing_mm: tuple[float, float], centre_mm: tuple[float, float], grid: GridSpec, *,
                      rotation_deg: float, zoom: float, flip: bool) -> np.ndarray:
    """(2, G, G) image pixel coordinates (row, col) of the grid pixels (see :func:`sample_grid`)."""
    step = grid.pixel_mm * zoom
    g = grid.grid_pixels
    off = (np.arange(g, dtype=np.float64) - (g - 1) / 2.0) * step
    u, v = np.meshgrid(off, off, indexing="ij")
    if flip:
        v = -v
    a = np.deg2rad(rotation_deg)
    ru = np.cos(a) * u - np.sin(a) * v
    rv = np.sin(a) * u + np.cos(a) * v
    return np.stack([(centre_mm[0] + ru) / float(spacing_mm[0]), (centre_mm[1] + rv) / float(spacing_mm[1])])


def _sample(image: np.ndarray, spacing_mm: tuple[float, float], coords: np.ndarray, step_mm: float) -> np.ndarray:
    """Bilinear samples of ``image`` at ``coords`` after an anti-alias blur for ``step_mm``; 0 outside."""
    img = np.asarray(image, dtype=np.float32)
    sigma = [max(0.0, 0.42 * (step_mm / float(s) - 1.0)) for s in spacing_mm]
    if max(sigma) > 0.05:
        img = gaussian_filter(img, sigma)
    return map_linear(img, coords, mode="constant").astype(np.float32)


def sample_grid(image: np.ndarray, spacing_mm: tuple[float, float], centre_mm: tuple[float, float],
                grid: GridSpec, *, rotation_deg: float = 0.0, zoom: float = 1.0, flip: bool = False) -> np.ndarray:
    """Resample one image onto the localiser's grid (bilinear after an anti-alias blur).

    Grid pixel ``(i, j)`` sits at ``centre_mm + R (zoom · (u, v))`` in the image, where ``(u, v)``
    is its offset from the grid centre in mm (row, col), ``R`` turns by ``rotation_deg``
    and ``flip`` mirrors columns first; outside the image is 0.

    Args:
        image: (H, W).
        spacing_mm: (row, col) pixel spacing of the image.
        centre_mm: (row, col) of the grid centre in the image, mm from the first pixel's centre.

    Returns:
        (G, G) float32.
    """
    coords = _grid_coordinates(spacing_mm, centre_mm, grid, rotation_deg=rotation_deg, zoom=zoom, flip=flip)
    return _sample(image, spacing_mm, coords, grid.pixel_mm * zoom)


def localiser_input(pair: np.ndarray, spacing_mm: tuple[float, float], grid: GridSpec, *,
                    centre_mm: tuple[float, float] | None = None, rotation_deg: float = 0.0, zoom: float = 1.0,
                    flip: bool = False) -> np.ndarray:
    """The network's 2-channel input from two frames of one slice.

    Args:
        pair: (2, H, W) the two frames (see :func:`pick_frames`), any intensity scale.
        spacing_mm: (row, col) mm.
        grid: the network's grid.
        centre_mm: grid centre in the image (default: the image centre); rotation, zoom,
            flip: as :func:`sample_grid` (training augmentation; analysis uses none).

    Returns:
        (2, G, G) float32: the mean of the two frames less its 1st percentile (0 outside the
        image) and their absolute difference, both divided by the mean's 1st-99th percentile
        range (invariant to an intensity offset and a positive scale).

    Raises:
        LocalisationError: constant frames.
    """
    p = np.asarray(pair, dtype=np.float32)
    if centre_mm is None:
        centre_mm = tuple(image_centre_mm(p.shape[1:], spacing_mm))
    coords = _grid_coordinates(spacing_mm, centre_mm, grid, rotation_deg=rotation_deg, zoom=zoom, flip=flip)
    step = grid.pixel_mm * zoom
    a = _sample(p[0], spacing_mm, coords, step)
    b = _sample(p[1], spacing_mm, coords, step)
    both = 0.5 * (p[0] + p[1])
    lo, hi = (float(v) for v in np.percentile(both, (1.0, 99.0)))
    ref = hi - lo
    if not np.isfinite(ref) or ref <= 0:
        raise LocalisationError("the frames are constant (no contrast to find the heart in)")
    inside = map_linear(np.ones(p.shape[1:], np.float32), coords, mode="constant") > 0.5
    mean = np.where(inside, 0.5 * (a + b) - lo, 0.0)
    return np.stack([mean / ref, np.abs(a - b) / ref]).astype(np.float32)


def _cell_centre(i: float, stride: int) -> float:
    """Grid-pixel coordinate of the centre of cell ``i``."""
    return i * stride + (stride - 1) / 2.0


class LearnedLocaliser:
    """The localiser network (ONNX) and the grid it reads. Use :meth:`load`.

    Attributes:
        grid: the :class:`GridSpec`.
        threshold: peak probability above which a slice holds the LV.
        manifest: the manifest.
    """

    name = "learned"

    def __init__(self, session: Any, grid: GridSpec, threshold: float, manifest: dict[str, Any]) -> None:
        self._session = session
        self.grid = grid
        self.threshold = threshold
        self.manifest = manifest

    @classmethod
    def load(cls, manifest_path: str | Path | None = None, threads: int = 1) -> "LearnedLocaliser":
        """Load ``localiser.json`` and the ONNX graph it names (checksum verified).

        Raises:
            ModelError: missing or unreadable files, checksum mismatch, bad manifest.
        """
        from .predict import checked_session, read_graph_manifest

        path = Path(manifest_path) if manifest_path is not None else DEFAULT_LOCALISER
        manifest, onnx_file, digest = read_graph_manifest(path, FORMAT, "localiser")
        try:
            grid = GridSpec(**manifest["grid"])
            threshold = float(manifest["threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: bad localiser manifest ({exc})") from None
        if not 0.0 < threshold < 1.0:
            raise ModelError(f"{path}: the threshold must lie between 0 and 1")
        session = checked_session(onnx_file, digest, max(1, int(threads)))
        return cls(session, grid, threshold, manifest)

    def run(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """The raw network outputs for (B, 2, G, G) inputs: heat (B, C, C) probabilities,
        offset (B, 2, C, C), rv (B, 2, C, C), radius (B, C, C) log(r / 30 mm)."""
        x = np.ascontiguousarray(inputs, dtype=np.float32)
        heat, offset, rv, radius = self._session.run(None, {"slices": x})
        return {"heat": heat[:, 0], "offset": offset, "rv": rv, "radius": radius[:, 0]}

    def _decode(self, out: dict[str, np.ndarray], b: int, shape: tuple[int, int], spacing: tuple[float, float],
                near_cell: tuple[int, int] | None = None) -> LVLocation | None:
        heat = out["heat"][b]
        if near_cell is not None:  # the peak within 2 cells of the stack's consensus
            mask = np.zeros_like(heat, dtype=bool)
            i0, j0 = near_cell
            mask[max(0, i0 - 2):i0 + 3, max(0, j0 - 2):j0 + 3] = True
            heat = np.where(mask, heat, 0.0)
        if not np.all(np.isfinite(heat)):
            raise LocalisationError("the localiser network gave a non-finite output")
        i, j = np.unravel_index(int(np.argmax(heat)), heat.shape)
        score = float(heat[i, j])
        if score < self.threshold:
            return None
        st = self.grid.stride
        gi = _cell_centre(i, st) + float(out["offset"][b, 0, i, j]) * st
        gj = _cell_centre(j, st) + float(out["offset"][b, 1, i, j]) * st
        row_mm, col_mm = self.grid.to_image_mm((gi, gj), shape, spacing)
        c, s = float(out["rv"][b, 0, i, j]), float(out["rv"][b, 1, i, j])
        angle = float(np.degrees(np.arctan2(s, c)) % 360.0)
        r_mm = RADIUS_REF_MM * float(np.exp(np.clip(out["radius"][b, i, j], -3.0, 3.0)))
        mean_px = float(np.sqrt(spacing[0] * spacing[1]))
        return LVLocation(
            centre_px=(float(row_mm) / spacing[0], float(col_mm) / spacing[1]),
            cavity_radius_px=0.6 * r_mm / mean_px,
            epi_radius_px=r_mm / mean_px,
            rv_angle_deg=angle,
            score=score,
            method=f"learned localiser ({self.manifest.get('name', 'unnamed')}): peak of the network's LV-centre map",
        )

    def inputs_for_stack(self, stack: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
        """(S, T, H, W) frames -> (S, 2, G, G) network inputs."""
        xs = []
        for frames in stack:
            a, b = pick_frames(frames)
            xs.append(localiser_input(frames[[a, b]], spacing, self.grid))
        return np.stack(xs)

    def locate_stack(self, stack: np.ndarray, spacing_mm) -> tuple[int, list[LVLocation | None]]:
        """Find the LV in every slice of a stack and choose the mid-ventricular slice.

        Same contract as :func:`lvquant.analysis.localise.locate_lv_in_stack`: per-slice
        locations (None where the LV is not found) and the middle of the longest run of
        slices with the LV (gaps of one slice bridged). Slices whose peak lies more than
        15 mm from the stack's score-weighted consensus are decoded again at the peak
        near the consensus.

        Args:
            stack: (S, T, H, W), T >= 1.
            spacing_mm: pixel spacing (row, col) mm or one number.

        Raises:
            LocalisationError: no slice holds the LV, or the input is unusable.
        """
        spacing = check_pixel_spacing(spacing_mm, error=LocalisationError)
        arr = np.asarray(stack)
        if arr.ndim != 4 or 0 in arr.shape:
            raise LocalisationError(f"cine frames must be a non-empty (S, T, H, W) array; got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise LocalisationError("the frames hold non-finite values (NaN or infinity)")
        shape = arr.shape[2:]
        out = self.run(self.inputs_for_stack(arr, spacing))
        locs = [self._decode(out, b, shape, spacing) for b in range(arr.shape[0])]
        found = [s for s, loc in enumerate(locs) if loc is not None]
        if not found:
            raise LocalisationError("the left ventricle could not be found in any slice of the stack")
        mm = {s: np.array(locs[s].centre_px) * spacing for s in found}
        consensus = stack_consensus_mm(locs, spacing, STACK_RADIUS_MM)
        cell = self.grid.cell_of(consensus, shape, spacing)
        for s in range(arr.shape[0]):
            if locs[s] is not None and np.linalg.norm(mm[s] - consensus) > STACK_RADIUS_MM:
                locs[s] = self._decode(out, s, shape, spacing, near_cell=cell)
        return mid_ventricular_slice(locs), locs

    def locate(self, frames: np.ndarray, spacing_mm) -> LVLocation:
        """The LV in one slice (T, H, W).

        Raises:
            LocalisationError: the LV is not found (peak below the threshold) or bad input.
        """
        arr = np.asarray(frames)
        if arr.ndim != 3:
            raise LocalisationError(f"frames must be a (T, H, W) array; got shape {arr.shape}")
        _, locs = self.locate_stack(arr[None], spacing_mm)
        return locs[0]


#: The localisers ``lvquant analyze --localiser`` offers.
LOCALISERS = ("learned", "classic")


def load_localiser(kind: str = "learned", threads: int = 1) -> "LearnedLocaliser | ClassicLocaliser":
    """The shipped learned localiser (``"learned"``, the default) or the hand-made one (``"classic"``).

    Raises:
        InputError: an unknown kind.
        ModelError: the learned localiser's files cannot be loaded.
    """
    if kind == "classic":
        return ClassicLocaliser()
    if kind == "learned":
        return LearnedLocaliser.load(threads=threads)
    raise InputError(f"unknown localiser {kind!r}; choose one of {', '.join(LOCALISERS)}")
