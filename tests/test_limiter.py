"""tts_model.runtime.limiter: the NumPy window filters equal scipy.ndimage's, and the limiter holds its ceiling."""

from __future__ import annotations

import numpy as np
import pytest

from tts_model.runtime.limiter import HALF_WINDOW, limit_peaks, moving_average, running_max


@pytest.mark.parametrize("n", [1, 5, 64, 129, 130, 1000, 22050])
@pytest.mark.parametrize("half_window", [0, 1, 3, 64])
def test_filters_equal_scipy_ndimage(n, half_window):
    ndimage = pytest.importorskip("scipy.ndimage")
    x = np.random.default_rng(n + half_window).standard_normal(n) ** 3
    size = 2 * half_window + 1
    np.testing.assert_array_equal(running_max(x, half_window),
                                  ndimage.maximum_filter1d(x, size=size, mode="nearest"))
    np.testing.assert_allclose(moving_average(x, half_window),
                               ndimage.uniform_filter1d(x, size=size, mode="nearest"), rtol=0, atol=1e-12)


def test_limiter_output_matches_the_scipy_formulation():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(3)
    audio = (rng.standard_normal(8000) * 0.6).astype(np.float32)
    size = 2 * HALF_WINDOW + 1
    magnitude = np.abs(audio.astype(np.float64))
    gain = np.minimum(1.0, 0.99 / np.maximum(ndimage.maximum_filter1d(magnitude, size=size, mode="nearest"), 1e-12))
    expected = np.clip(audio * ndimage.uniform_filter1d(gain, size=size, mode="nearest"), -0.99, 0.99)
    got = limit_peaks(audio, 0.99)
    assert np.abs(got).max() <= 0.99
    np.testing.assert_allclose(got, expected.astype(np.float32), rtol=0, atol=1e-6)
