"""feature_extract.utterance / voice_quality: the emotion benchmark's measures on synthetic signals with known truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from feature_extract.utterance import PROSODY_QUANTITIES, measure_utterance, relative, voiced_region

SAMPLE_RATE = 22050
SILENCE_S = 0.3


def pulse_train(f0_hz: float, seconds: float = 1.0, amplitude: float = 0.3) -> np.ndarray:
    """Band-limited pulse train (equal cosine harmonics up to Nyquist), float32 (n,)."""
    n = int(seconds * SAMPLE_RATE)
    phase = 2 * np.pi * f0_hz * np.arange(n) / SAMPLE_RATE
    signal = sum(np.cos(k * phase) for k in range(1, int(SAMPLE_RATE / 2 // f0_hz) + 1))
    return (amplitude * signal / np.abs(signal).max()).astype(np.float32)


def padded(signal: np.ndarray) -> np.ndarray:
    """``signal`` with SILENCE_S of digital silence either side, as RAVDESS clips and renders have."""
    silence = np.zeros(int(SILENCE_S * SAMPLE_RATE), np.float32)
    return np.concatenate([silence, signal.astype(np.float32), silence])


def noise(seconds: float = 1.0, rms: float = 0.05, seed: int = 0) -> np.ndarray:
    return (rms * np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


def test_silence_is_trimmed_and_a_steady_pulse_is_voiced():
    features = measure_utterance(padded(pulse_train(150.0)), SAMPLE_RATE)
    start_s, end_s = features["start_s"], features["end_s"]
    assert start_s == pytest.approx(SILENCE_S, abs=0.06) and end_s == pytest.approx(SILENCE_S + 1.0, abs=0.06)
    assert features["pitch_mean"] == pytest.approx(150.0, rel=0.005)
    assert abs(features["range_st"]) < 0.1
    assert features["voiced_fraction"] > 0.85
    assert features["cpp_db"] > 20.0 and features["hnr_db"] > 20.0


@pytest.mark.parametrize("base_hz, shift_st", [(150.0, 12.0), (110.0, 5.0), (220.0, -4.0)])
def test_raised_pulse_train_measures_its_shift_in_semitones(base_hz, shift_st):
    ref = measure_utterance(padded(pulse_train(base_hz)), SAMPLE_RATE)
    up = measure_utterance(padded(pulse_train(base_hz * 2 ** (shift_st / 12))), SAMPLE_RATE)
    change = relative(up, ref)
    assert change["pitch_st"] == pytest.approx(shift_st, abs=0.2)  # within 20 cents
    assert abs(change["range_st"]) < 0.2 and abs(change["slope_st_per_s"]) < 0.2
    assert change["rate_ratio"] == pytest.approx(1.0, abs=0.03)


def test_gain_moves_energy_only():
    base = pulse_train(180.0, amplitude=0.1)
    ref = measure_utterance(padded(base), SAMPLE_RATE)
    louder = measure_utterance(padded(base * 2.0), SAMPLE_RATE)
    change = relative(louder, ref)
    assert change["energy_db"] == pytest.approx(20 * math.log10(2.0), abs=0.05)
    for name in ("pitch_st", "centroid_st", "cpp_db", "alpha_ratio_db", "voiced_fraction"):
        assert abs(change[name]) < 0.05, name
    assert abs(change["hnr_db"]) < 0.5


def test_longer_utterance_reads_as_slower():
    ref = measure_utterance(padded(pulse_train(150.0, seconds=1.0)), SAMPLE_RATE)
    slow = measure_utterance(padded(pulse_train(150.0, seconds=1.5)), SAMPLE_RATE)
    assert relative(slow, ref)["rate_ratio"] == pytest.approx(1.06 / 1.56, abs=0.03)  # durations incl. 2 x 30 ms pad


def test_whisper_like_noise_has_no_voiced_frames():
    features = measure_utterance(padded(noise()), SAMPLE_RATE)
    assert features["voiced_fraction"] < 0.05
    assert math.isnan(features["cpp_db"]) and math.isnan(features["hnr_db"]) and math.isnan(features["pitch_mean"])
    assert features["energy_rms"] == pytest.approx(0.05, rel=0.1)  # still speech energy (the 30 ms pads are silent)


def test_added_noise_lowers_periodicity_measures():
    """HNR reads the signal-to-noise ratio of a pulse train plus white noise; CPP falls as the noise grows."""
    clean = pulse_train(150.0, amplitude=0.3)
    rms = float(np.sqrt(np.mean(clean.astype(np.float64) ** 2)))
    cpp = []
    for snr_db in (20.0, 10.0, 0.0):
        features = measure_utterance(padded(clean + noise(rms=rms * 10 ** (-snr_db / 20))), SAMPLE_RATE)
        assert features["voiced_fraction"] > 0.8
        assert features["hnr_db"] == pytest.approx(snr_db, abs=1.5)
        cpp.append(features["cpp_db"])
    assert cpp[0] > cpp[1] + 2.0 and cpp[1] > cpp[2] + 2.0


def test_alpha_ratio_follows_spectral_tilt():
    from scipy.signal import butter, sosfilt

    flat = pulse_train(150.0)
    dull = sosfilt(butter(2, 800.0, fs=SAMPLE_RATE, output="sos"), flat).astype(np.float32)
    a = measure_utterance(padded(flat), SAMPLE_RATE)
    b = measure_utterance(padded(dull * 5.0), SAMPLE_RATE)
    assert b["alpha_ratio_db"] < a["alpha_ratio_db"] - 10.0  # steeper tilt: less power above 1 kHz
    assert relative(b, a)["centroid_st"] < -12.0


def test_relative_against_itself_is_no_change():
    features = measure_utterance(padded(pulse_train(200.0)), SAMPLE_RATE)
    change = relative(features, features)
    assert set(PROSODY_QUANTITIES) <= set(change)
    for name, value in change.items():
        assert value == (1.0 if name == "rate_ratio" else 0.0) or math.isnan(value), name


def test_silent_clip_is_a_one_line_error():
    with pytest.raises(ValueError, match="silent"):
        voiced_region(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
