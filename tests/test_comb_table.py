"""tts_model.runtime.harmonics.comb_table sums only the bins near each harmonic; the sums are the full ones."""

from __future__ import annotations

import numpy as np

from tts_model.runtime.harmonics import COMB_FLOOR, F0_GRID_HZ, F_MAX, N_FFT, SAMPLE_RATE, comb_table, mel_filterbank


def _comb_table_every_bin() -> np.ndarray:
    """The table as first written: every harmonic's kernel evaluated at all 513 bins."""
    bin_hz = SAMPLE_RATE / N_FFT
    n_bins = N_FFT // 2 + 1
    over = 64
    kernel = np.abs(np.fft.rfft(np.hanning(N_FFT + 1)[:-1], n=N_FFT * over)) ** 2
    offsets = np.arange(kernel.size) / over
    keep = offsets <= 4.0
    offsets, kernel = offsets[keep], kernel[keep] / kernel[0]
    bins = np.arange(n_bins, dtype=np.float64)
    power = np.zeros((F0_GRID_HZ.size, n_bins))
    for k in range(1, int(F_MAX / F0_GRID_HZ[0]) + 1):
        position = k * F0_GRID_HZ / bin_hz
        active = k * F0_GRID_HZ < F_MAX
        power += np.interp(np.abs(bins[None, :] - position[:, None]), offsets, kernel, right=0.0) * active[:, None]
    magnitude = np.sqrt(power)
    flat_level = magnitude[:, bins * bin_hz < F_MAX].mean(axis=1, keepdims=True)
    basis = mel_filterbank().astype(np.float64)
    ripple = np.log(magnitude @ basis.T + 1e-12) - np.log(flat_level * basis.sum(axis=1) + 1e-12)
    return np.maximum(ripple, COMB_FLOOR).astype(np.float32)


def test_comb_table_equals_the_every_bin_sum():
    np.testing.assert_allclose(comb_table(), _comb_table_every_bin(), rtol=0, atol=1e-6)
