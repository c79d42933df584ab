"""Slopes over RAVDESS-length windows (issue 22, strong intensity): how the emotion benchmark fits a slope on a
sentence longer than a RAVDESS clip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from feature_extract.utterance import SLOPE_SPAN_S, measure_utterance, slope_windows

SAMPLE_RATE = 16000


def glide(pitch_st_at, seconds: float) -> np.ndarray:
    """Band-limited pulse train whose F0 [Hz] = 150 * 2**(pitch_st_at(t) / 12), with 0.3 s of silence either
    side; float32 (n,)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0_hz = 150.0 * 2.0 ** (pitch_st_at(t) / 12.0)
    phase = 2 * np.pi * np.cumsum(f0_hz) / SAMPLE_RATE
    signal = sum(np.cos(k * phase) for k in range(1, int(SAMPLE_RATE / 2 // f0_hz.max())))
    silence = np.zeros(int(0.3 * SAMPLE_RATE))
    return (0.3 * np.concatenate([silence, signal / np.abs(signal).max(), silence])).astype(np.float32)


def slope_st_per_s(features: dict) -> float:
    return features["pitch_slope"] * 12.0 / (math.log(2.0) * features["pitch_mean"])


def test_windows_are_equal_and_no_longer_than_the_span():
    assert slope_windows(0.5, 2.3) == [(0.5, 2.3)]  # a RAVDESS-length region is one window
    assert slope_windows(0.0, SLOPE_SPAN_S) == [(0.0, SLOPE_SPAN_S)]
    windows = slope_windows(0.0, 6.0)
    assert len(windows) == 2 and windows[0] == (0.0, 3.0) and windows[1] == (3.0, 6.0)
    assert len(slope_windows(1.0, 1.0 + 2 * SLOPE_SPAN_S + 0.1)) == 3


def test_a_short_ramp_is_fitted_as_one_line():
    features = measure_utterance(glide(lambda t: 2.0 * t, 2.0), SAMPLE_RATE)
    assert slope_st_per_s(features) == pytest.approx(2.0, abs=0.15)


def test_a_long_sentence_of_two_rising_phrases_reads_as_rising():
    """Two 3 s phrases that each rise 2 st/s (a rise per statement, reset between them): one line over the 6 s
    reads about a quarter of the rise; the RAVDESS-length windows read each phrase's rise."""
    features = measure_utterance(glide(lambda t: 2.0 * (t % 3.0) - 3.0, 6.0), SAMPLE_RATE)
    assert features["end_s"] - features["start_s"] > SLOPE_SPAN_S
    assert slope_st_per_s(features) == pytest.approx(2.0, abs=0.3)
