"""Extract: one cardiac cycle of M frames of the mid-ventricular slice.

A stage of the analysis (read → localise → **extract** → convert → predict →
phase → report; see :mod:`lvquant.analysis.pipeline`):

* the slice: given by the user (position in the order ``lvquant info``
  prints), or the one :func:`lvquant.analysis.localise.locate_lv_in_stack`
  chose (the middle of the slices where the LV is found);
* the cycle: a cine from a retrospectively gated acquisition holds one
  cardiac cycle; its frames, ordered by trigger time, are taken as one cycle.
  When there are not exactly M frames (the model's input spec says how many:
  20 for the method), the cycle is resampled to M frames by periodic linear
  interpolation in time (see :func:`resample_cycle`), and the results are
  mapped back to the original frames with the same interpolation
  (:func:`to_source_frames`).

Fewer than :data:`MIN_FRAMES` frames do not cover a cycle well enough to find
end-diastole and end-systole, and are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

#: Fewest source frames accepted for one cycle.
MIN_FRAMES = 10


@dataclass(frozen=True)
class Cycle:
    """One slice over one cycle, resampled to M frames.

    Attributes:
        frames: (M, H, W) float32 images of the chosen slice.
        positions: (M,) where each of the M frames lies in the source cycle, in
            source-frame units (0 .. T, periodic; frame k of the source is at k).
        n_source_frames: T, the number of frames of the source slice.
        source_times_ms: (T,) trigger times of the source frames (frame
            numbers times a nominal interval when the source has none).
        resampled: whether M differs from T (frames interpolated in time).
    """

    frames: np.ndarray
    positions: np.ndarray
    n_source_frames: int
    source_times_ms: np.ndarray
    resampled: bool

    def values(self, per_cycle_frame: np.ndarray) -> np.ndarray:
        """(M, ...) values per cycle frame -> (T, ...) per source frame (:func:`to_source_frames`)."""
        return to_source_frames(per_cycle_frame, self.n_source_frames)

    def frame(self, cycle_frame: int) -> int:
        """The source frame nearest to a cycle frame."""
        return int(np.round(self.positions[int(cycle_frame)])) % self.n_source_frames


def _weights(positions: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Periodic linear interpolation: lower frame, upper frame and upper weight of each position."""
    p = np.mod(np.asarray(positions, dtype=np.float64), n)
    lo = np.floor(p).astype(int) % n
    hi = (lo + 1) % n
    w = p - np.floor(p)
    return lo, hi, w


def check_cycle_length(n_frames: int) -> None:
    """Refuse a cycle of fewer than :data:`MIN_FRAMES` frames with a message saying why.

    Raises:
        InputError: too few frames.
    """
    if n_frames < MIN_FRAMES:
        raise InputError(
            f"this slice has {n_frames} frame(s); at least {MIN_FRAMES} frames covering one heartbeat are needed "
            "to find end-diastole and end-systole"
        )


def resample_cycle(frames: np.ndarray, times_ms: np.ndarray | None, m: int) -> Cycle:
    """Bring one slice's cycle to ``m`` frames.

    Frame j of the result lies at ``j * T / m`` in source-frame units (the
    cycle is periodic: the frame after the last is the first), and is the
    linear blend of the two source frames around it. With T == m the frames
    are returned unchanged.

    Args:
        frames: (T, H, W) images, T >= :data:`MIN_FRAMES`.
        times_ms: (T,) trigger times, ms (optional, for reporting).
        m: frames wanted (>= 4): the model's ``InputSpec.frames_per_cycle``.

    Raises:
        InputError: fewer than :data:`MIN_FRAMES` frames, or not (T, H, W).
    """
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim != 3:
        raise InputError(f"one slice over the cycle must be (frames, rows, columns); got shape {x.shape}")
    t = x.shape[0]
    check_cycle_length(t)
    if m < 4:
        raise InputError(f"the cycle must be resampled to at least 4 frames; got {m}")
    times = np.arange(t, dtype=np.float64) if times_ms is None else np.asarray(times_ms, dtype=np.float64)
    if t == m:
        return Cycle(x.copy(), np.arange(m, dtype=np.float64), t, times, False)
    positions = np.arange(m, dtype=np.float64) * t / m
    lo, hi, w = _weights(positions, t)
    out = (x[lo] * (1.0 - w)[:, None, None] + x[hi] * w[:, None, None]).astype(np.float32)
    return Cycle(out, positions, t, times, True)


def to_source_frames(values: np.ndarray, n_source: int) -> np.ndarray:
    """Map per-frame values of the M-frame cycle back to the T source frames.

    Source frame k lies at ``k * M / T`` in the M-frame cycle; its value is the
    periodic linear interpolation of the two M-frame values around it. With
    T == M the values are returned unchanged.

    Args:
        values: (M, ...) values per resampled frame.
        n_source: T.

    Returns:
        (T, ...) values per source frame.
    """
    v = np.asarray(values, dtype=np.float64)
    m = v.shape[0]
    if n_source == m:
        return v.copy()
    lo, hi, w = _weights(np.arange(n_source) * m / n_source, m)
    shape = (-1,) + (1,) * (v.ndim - 1)
    return v[lo] * (1.0 - w).reshape(shape) + v[hi] * w.reshape(shape)
