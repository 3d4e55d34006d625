"""Extract: one cycle of M frames, and results mapped back to the source frames (issue 5)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvquant.errors import InputError
from lvquant.analysis.extract import MIN_FRAMES, resample_cycle, to_source_frames


def _cycle(t: int) -> np.ndarray:
    """A smooth periodic (T, 4, 4) image sequence: value = cos(2 pi k / T) + pixel offset."""
    k = np.arange(t)[:, None, None]
    return (np.cos(2 * np.pi * k / t) + np.arange(16).reshape(1, 4, 4)).astype(np.float32)


def test_twenty_frames_pass_unchanged():
    x = _cycle(20)
    c = resample_cycle(x, np.arange(20) * 40.0, 20)
    assert not c.resampled and np.array_equal(c.frames, x)
    assert np.array_equal(c.positions, np.arange(20))
    assert np.array_equal(c.source_times_ms, np.arange(20) * 40.0)


@pytest.mark.parametrize("t", [10, 16, 25, 30, 40])
def test_other_frame_counts_are_resampled_over_the_same_cycle(t):
    c = resample_cycle(_cycle(t), None, 20)
    assert c.resampled and c.frames.shape == (20, 4, 4) and c.n_source_frames == t
    # Frame j sits at phase j/20 of the cycle: its value is close to cos(2 pi j / 20).
    expected = np.cos(2 * np.pi * np.arange(20) / 20)
    err = np.abs(c.frames[:, 0, 0] - expected).max()
    assert err < (2 * np.pi / t) ** 2 / 8 + 1e-5  # linear interpolation error bound
    assert c.positions[0] == 0 and c.positions[-1] == pytest.approx(19 * t / 20)


def test_too_few_frames_are_refused_with_a_clear_message():
    with pytest.raises(InputError, match=f"at least {MIN_FRAMES} frames"):
        resample_cycle(_cycle(MIN_FRAMES - 1), None, 20)
    with pytest.raises(InputError, match="1 frame"):
        resample_cycle(_cycle(1), None, 20)
    with pytest.raises(InputError):
        resample_cycle(np.zeros((20, 8)), None, 20)


@settings(max_examples=40, deadline=None)
@given(t=st.integers(10, 60), m=st.integers(8, 40))
def test_mapping_back_recovers_smooth_values(t, m):
    """Values sampled on the M-frame cycle and mapped back match the source frames' values."""
    phase_m = np.arange(m) / m
    values = np.stack([np.sin(2 * np.pi * phase_m), np.cos(2 * np.pi * phase_m)], 1)
    back = to_source_frames(values, t)
    phase_t = np.arange(t) / t
    truth = np.stack([np.sin(2 * np.pi * phase_t), np.cos(2 * np.pi * phase_t)], 1)
    assert back.shape == (t, 2)
    assert np.abs(back - truth).max() <= (2 * np.pi / m) ** 2 / 8 + 1e-9


def test_mapping_back_is_exact_on_shared_frames():
    values = np.random.default_rng(0).random((20, 11))
    assert np.array_equal(to_source_frames(values, 20), values)
    back = to_source_frames(values, 40)  # every other source frame is a cycle frame
    assert np.allclose(back[::2], values)
    assert np.allclose(back[1::2], (values + np.roll(values, -1, 0)) / 2)
