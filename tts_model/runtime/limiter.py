"""A peak limiter without look-behind artefacts: loud segments keep their RMS target without clipping.

The gain at each sample is the smallest ``ceiling / |x|`` needed anywhere within ``HALF_WINDOW`` samples,
averaged over the same window, so it moves smoothly (no hard clipping's harmonics) and never lets a sample
exceed the ceiling: every sample the average covers is at most ``ceiling / |x(t)|``.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

HALF_WINDOW = 64
"""Samples each side (2.9 ms at 22.05 kHz): attack and release of the limiter."""


def limit_peaks(audio: np.ndarray, ceiling: float) -> np.ndarray:
    """``audio``: float32 (n,) -> float32 (n,) with max |sample| <= ``ceiling``; unchanged where it already is."""
    magnitude = np.abs(audio.astype(np.float64))
    if audio.size == 0 or magnitude.max() <= ceiling:
        return audio
    size = 2 * HALF_WINDOW + 1
    envelope = maximum_filter1d(magnitude, size=size, mode="nearest")
    gain = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-12))
    gain = uniform_filter1d(gain, size=size, mode="nearest")
    return np.clip(audio * gain, -ceiling, ceiling).astype(np.float32)


__all__ = ["limit_peaks", "HALF_WINDOW"]
