"""Configuration of the phantom generator: one object, defaults that match the method.

Everything that decides *what population* of synthetic subjects is drawn lives
here, so that a training set can be widened or narrowed without touching the
anatomy, motion or appearance code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..analysis.spec import InputSpec
from ..errors import InputError

#: The method's input spec: the phantom's LVQuan crops are cut as the analysis cuts its crops.
_SPEC = InputSpec()

#: Heart types and their default share of the population.
PATHOLOGIES: tuple[str, ...] = ("healthy", "hypertrophic", "dilated", "infarct")


#: Most frames per phantom cycle (cines have 16-50; more only costs time and memory).
MAX_FRAMES = 120


@dataclass(frozen=True)
class PhantomConfig:
    """Population and acquisition settings of the phantom.

    Attributes
    ----------
    n_frames : int
        Frames per cardiac cycle, M (default 20).
    crop_size : int
        Side of the LVQuan-layout crops in pixels (80).
    pathology_mix : dict
        Share of each heart type in :data:`PATHOLOGIES`; normalised to sum 1.
    spacing_mm : (float, float)
        Range of the native (scanner) pixel spacing, mm; drawn uniformly.
    crop_scale : (float, float)
        Range of k, crop side = k x the ED epicardial diameter (diameter of the
        disc with the area inside the ED epicardium); drawn uniformly.
    crop_jitter_mm : float
        Standard deviation of the crop centre's offset from the ED cavity
        centroid, mm (per axis, clipped at 2.5 sigma).
    crop_rotation_deg : float
        Largest residual rotation of the crop: the RV lies at 9 o'clock up to
        +/- this angle (uniform).
    heart_rotation_deg : float
        Largest in-plane rotation of the heart in the full field of view (DICOM):
        the RV direction is 9 o'clock +/- this angle (uniform).
    snr : (float, float)
        Range of blood signal-to-noise ratio (drawn log-uniformly).
    supersample : int
        Rendering resolution as a multiple of the native one (>= 4: partial
        volume comes from averaging the sub-pixels).
    dicom_slices_apical, dicom_slices_basal : (int, int)
        Ranges (inclusive) of the number of slices below (toward the apex) and
        above (toward the base) the mid-ventricular slice in a DICOM series.
    """

    n_frames: int = _SPEC.frames_per_cycle
    crop_size: int = _SPEC.crop_pixels
    pathology_mix: dict[str, float] = field(
        default_factory=lambda: {"healthy": 0.40, "hypertrophic": 0.15, "dilated": 0.20, "infarct": 0.25}
    )
    spacing_mm: tuple[float, float] = (1.2, 2.0)
    crop_scale: tuple[float, float] = (_SPEC.crop_scale - 0.3, _SPEC.crop_scale + 0.3)
    crop_jitter_mm: float = 2.0
    crop_rotation_deg: float = 8.0
    heart_rotation_deg: float = 40.0
    snr: tuple[float, float] = (18.0, 90.0)
    supersample: int = 4
    dicom_slices_apical: tuple[int, int] = (1, 2)
    dicom_slices_basal: tuple[int, int] = (1, 2)

    def __post_init__(self) -> None:
        if isinstance(self.n_frames, bool) or not isinstance(self.n_frames, int) or not 4 <= self.n_frames <= MAX_FRAMES:
            raise InputError(f"a phantom cycle needs 4 to {MAX_FRAMES} frames; got {self.n_frames!r}")
        if not isinstance(self.crop_size, int) or self.crop_size < 16:
            raise InputError(f"crop size must be an integer of at least 16 pixels; got {self.crop_size!r}")
        unknown = set(self.pathology_mix) - set(PATHOLOGIES)
        if unknown or not self.pathology_mix or any(v < 0 for v in self.pathology_mix.values()):
            raise InputError(f"pathology_mix must give non-negative shares of {PATHOLOGIES}; got {self.pathology_mix!r}")
        if sum(self.pathology_mix.values()) <= 0:
            raise InputError("pathology_mix shares sum to zero")
        lo, hi = self.spacing_mm
        if not 0.3 <= lo <= hi <= 4.0:
            raise InputError(f"native pixel spacing range must lie in 0.3-4 mm; got {self.spacing_mm!r}")
        if not 1.5 <= self.crop_scale[0] <= self.crop_scale[1] <= 5.0:
            raise InputError(f"crop scale range must lie in 1.5-5; got {self.crop_scale!r}")
        if not 1.0 < self.snr[0] <= self.snr[1]:
            raise InputError(f"SNR range must be above 1; got {self.snr!r}")
        if not isinstance(self.supersample, int) or self.supersample < 1:
            raise InputError(f"supersample must be a positive integer; got {self.supersample!r}")
        for name in ("dicom_slices_apical", "dicom_slices_basal"):
            a, b = getattr(self, name)
            if not 0 <= a <= b <= 6:
                raise InputError(f"{name} must be a range within 0-6; got {(a, b)!r}")

    def pathology_probabilities(self) -> list[float]:
        """Shares of :data:`PATHOLOGIES` in that order, summing to 1."""
        w = [float(self.pathology_mix.get(p, 0.0)) for p in PATHOLOGIES]
        s = sum(w)
        return [x / s for x in w]


def parse_pathology_mix(text: str) -> dict[str, float]:
    """``"hypertrophic=2,dilated=1"`` -> ``{"hypertrophic": 2.0, "dilated": 1.0}`` (heart types not named get 0).

    Raises:
        InputError: a term is not ``NAME=SHARE``, a name is not one of :data:`PATHOLOGIES`, a share is
            negative or not a number, a name repeats, or every share is 0.
    """
    mix: dict[str, float] = {}
    for term in str(text).split(","):
        name, sep, value = term.strip().partition("=")
        name = name.strip()
        if not sep or name not in PATHOLOGIES:
            raise InputError(f"a pathology mix is NAME=SHARE terms separated by commas, NAME one of "
                             f"{', '.join(PATHOLOGIES)}; got {term.strip()!r}")
        if name in mix:
            raise InputError(f"the pathology mix names {name} twice")
        try:
            share = float(value)
        except ValueError:
            share = float("nan")
        if not (share >= 0.0 and share != float("inf")):
            raise InputError(f"the share of {name} must be a non-negative number; got {value.strip()!r}")
        mix[name] = share
    if sum(mix.values()) <= 0.0:
        raise InputError("the pathology mix's shares sum to zero")
    return mix

