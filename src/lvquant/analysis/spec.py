"""What a model expects of its input: the one place that says how crops are cut.

An :class:`InputSpec` travels with every trained ensemble: training writes it
into the model folder's ``manifest.json`` (``input_spec``), and the analysis
reads it back and cuts, turns and normalises its crops from it
(:func:`lvquant.analysis.convert.convert_frames`). Nothing else in lvquant
holds these numbers, so training and inference cannot drift apart; a model
whose spec this version cannot honour is refused when it is loaded.

The method's spec (the default) is: an 80 × 80 crop centred on the LV, its
side 2.5 × the end-diastolic epicardial diameter, turned so that the RV lies
at 9 o'clock (the image's left), histogram-equalised to 256 grey levels, 20
frames per cardiac cycle.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import ModelError

#: Crop rules this version can build. ``ed_epicardial_diameter``: the crop side
#: is ``crop_scale`` × the diameter of the disc whose area is the epicardial
#: area (cavity + myocardium) at end-diastole.
CROP_RULES = ("ed_epicardial_diameter",)
#: Intensity normalisations this version can apply (see :func:`lvquant.analysis.convert.normalize_intensity`).
INTENSITY_METHODS = ("equalize", "percentile")
#: The networks halve the resolution four times: the crop side must be a multiple of this.
CROP_PIXELS_MULTIPLE = 16


@dataclass(frozen=True)
class InputSpec:
    """The crops a network was trained on, and so the crops it must be given.

    Attributes:
        crop_pixels: crop side in pixels (square crops); a multiple of 16.
        crop_rule: how the crop side in mm is chosen (one of :data:`CROP_RULES`).
        crop_scale: the rule's factor: side = ``crop_scale`` × ED epicardial diameter.
        rv_angle_deg: where the RV lies in the crop, degrees clockwise from 12
            o'clock (270: 9 o'clock, the image's left, the LVQuan convention
            that defines the six segments).
        intensity: intensity normalisation (one of :data:`INTENSITY_METHODS`).
        grey_levels: number of grey levels of the equalised crop (values
            ``k / (grey_levels - 1)`` in [0, 1]); used by ``"equalize"``.
        frames_per_cycle: M, frames of one cardiac cycle the networks and the
            phase rule see (the cine is resampled in time to M frames).
    """

    crop_pixels: int = 80
    crop_rule: str = "ed_epicardial_diameter"
    crop_scale: float = 2.5
    rv_angle_deg: float = 270.0
    intensity: str = "equalize"
    grey_levels: int = 256
    frames_per_cycle: int = 20

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ModelError(f"this input spec cannot be honoured: {problems[0]}")

    def problems(self) -> list[str]:
        """Why this version could not build such crops (empty when it can)."""
        out = []
        if not (isinstance(self.crop_pixels, int) and self.crop_pixels >= CROP_PIXELS_MULTIPLE
                and self.crop_pixels % CROP_PIXELS_MULTIPLE == 0):
            out.append(f"crop_pixels must be a positive multiple of {CROP_PIXELS_MULTIPLE}; got {self.crop_pixels!r}")
        if self.crop_rule not in CROP_RULES:
            out.append(f"crop rule {self.crop_rule!r} is unknown to this lvquant (it knows {', '.join(CROP_RULES)})")
        if not (_is_number(self.crop_scale) and 1.0 <= self.crop_scale <= 10.0):
            out.append(f"crop_scale must be a number in [1, 10]; got {self.crop_scale!r}")
        if not (_is_number(self.rv_angle_deg) and 0.0 <= self.rv_angle_deg < 360.0):
            out.append(f"rv_angle_deg must be a number in [0, 360); got {self.rv_angle_deg!r}")
        if self.intensity not in INTENSITY_METHODS:
            out.append(f"intensity {self.intensity!r} is unknown to this lvquant (it knows {', '.join(INTENSITY_METHODS)})")
        if not (isinstance(self.grey_levels, int) and 2 <= self.grey_levels <= 65536):
            out.append(f"grey_levels must be an integer in [2, 65536]; got {self.grey_levels!r}")
        if not (isinstance(self.frames_per_cycle, int) and 10 <= self.frames_per_cycle <= 200):
            out.append(f"frames_per_cycle must be an integer in [10, 200]; got {self.frames_per_cycle!r}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, as written into ``manifest.json``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "InputSpec":
        """The spec a manifest records.

        Raises:
            ModelError: not a mapping, an unknown or missing field, a value of the
                wrong type, or a rule this version cannot build.
        """
        if not isinstance(data, dict):
            raise ModelError(f"the manifest's input_spec must be a JSON object; got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ModelError(f"the manifest's input_spec has fields this lvquant does not know ({', '.join(unknown)}): "
                             "the model needs a newer lvquant")
        missing = sorted(names - set(data))
        if missing:
            raise ModelError(f"the manifest's input_spec lacks {', '.join(missing)}")
        values = dict(data)
        for key in ("crop_scale", "rv_angle_deg"):  # JSON may store 2.5 as 2.5 or 3 as 3
            if isinstance(values[key], int) and not isinstance(values[key], bool):
                values[key] = float(values[key])
        for key in ("crop_pixels", "grey_levels", "frames_per_cycle"):
            if isinstance(values[key], bool):
                values[key] = None  # refused below: True is not a size
        return cls(**values)

    def crop_side_mm(self, ed_epicardial_area_mm2: float) -> float:
        """Crop side in mm for an end-diastolic epicardial area (cavity + myocardium), by :attr:`crop_rule`."""
        area = max(float(ed_epicardial_area_mm2), 1.0)
        return self.crop_scale * 2.0 * math.sqrt(area / math.pi)

    def crop_side_from_radius(self, epicardial_radius_mm: float) -> float:
        """Crop side in mm for an epicardial radius (the localiser's first size estimate)."""
        return self.crop_scale * 2.0 * float(epicardial_radius_mm)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
