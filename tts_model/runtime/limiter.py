"""A peak limiter without look-behind artefacts: loud segments keep their RMS target without clipping.

The gain at each sample is the smallest ``ceiling / |x|`` needed anywhere within ``HALF_WINDOW`` samples,
averaged over the same window, so it moves smoothly (no hard clipping's harmonics) and never lets a sample
exceed the ceiling: every sample the average covers is at most ``ceiling / |x(t)|``.

The two window filters are written in NumPy (a running maximum by doubling, a moving average by cumulative
sums), with the edges held as scipy.ndimage's ``mode="nearest"`` holds them: they were scipy.ndimage's
``maximum_filter1d`` and ``uniform_filter1d``, whose import cost 0.25-0.3 s of every cold ``baton speak``.
tests/test_limiter.py checks both against scipy.
"""

from __future__ import annotations

import numpy as np

HALF_WINDOW = 64
"""Samples each side (2.9 ms at 22.05 kHz): attack and release of the limiter."""


def running_max(x: np.ndarray, half_window: int) -> np.ndarray:
    """float64 (n,) -> (n,): the maximum of ``x`` over ``[i - half_window, i + half_window]``, the edge samples
    repeated beyond the ends (scipy.ndimage.maximum_filter1d with size 2 * half_window + 1, mode "nearest")."""
    size = 2 * half_window + 1
    padded = np.pad(x, half_window, mode="edge")
    span, best = 1, padded  # best[i] = max(padded[i : i + span])
    while 2 * span <= size:
        best = np.maximum(best[:-span], best[span:])
        span *= 2
    if span < size:  # two overlapping windows of length span cover i .. i + size - 1
        best = np.maximum(best[:best.size - (size - span)], best[size - span:])
    return best[:x.size]


def moving_average(x: np.ndarray, half_window: int) -> np.ndarray:
    """float64 (n,) -> (n,): the mean of ``x`` over ``[i - half_window, i + half_window]``, edges repeated
    (scipy.ndimage.uniform_filter1d with size 2 * half_window + 1, mode "nearest")."""
    size = 2 * half_window + 1
    sums = np.concatenate([[0.0], np.cumsum(np.pad(x, half_window, mode="edge"))])
    return (sums[size:] - sums[:-size]) / size


def limit_peaks(audio: np.ndarray, ceiling: float) -> np.ndarray:
    """``audio``: float32 (n,) -> float32 (n,) with max |sample| <= ``ceiling``; unchanged where it already is."""
    magnitude = np.abs(audio.astype(np.float64))
    if audio.size == 0 or magnitude.max() <= ceiling:
        return audio
    envelope = running_max(magnitude, HALF_WINDOW)
    gain = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-12))
    gain = moving_average(gain, HALF_WINDOW)
    return np.clip(audio * gain, -ceiling, ceiling).astype(np.float32)


__all__ = ["limit_peaks", "running_max", "moving_average", "HALF_WINDOW"]
