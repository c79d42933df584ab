"""feature_extract.measure / praat / audio: synthetic signals with known truth, NaN safety, error paths."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from feature_extract import praat
from feature_extract.audio import AudioError, load_audio, resample
from feature_extract.measure import FIELDS, measure_span, spectral_centroid_hz

SAMPLE_RATE = 16000


def pulse_train(f0_hz, seconds=1.0, sample_rate=SAMPLE_RATE, amplitude=0.5, max_hz=None):
    """Band-limited pulse train: equal-amplitude cosine harmonics of f0 up to Nyquist, float32 (n,).

    ``f0_hz`` may be an array (one value per sample) for glides; phase is integrated, so harmonics stay
    locked to the fundamental."""
    n = int(seconds * sample_rate)
    f0 = np.broadcast_to(np.asarray(f0_hz, dtype=np.float64), (n,))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    n_harmonics = int((max_hz or sample_rate / 2) // f0.max())
    signal = sum(np.cos(k * phase) for k in range(1, n_harmonics + 1))
    return (amplitude * signal / np.abs(signal).max()).astype(np.float32)


def cents(measured_hz, true_hz):
    return 1200.0 * math.log2(measured_hz / true_hz)


@pytest.mark.parametrize("f0_hz", [80, 100, 130, 175, 220, 260, 330, 400])
def test_pulse_train_pitch_within_20_cents(f0_hz):
    values = measure_span(pulse_train(f0_hz), SAMPLE_RATE, 0.1, 0.9)
    assert abs(cents(values["pitch_mean"], f0_hz)) < 20.0
    assert abs(values["pitch_slope"]) < 5.0  # steady pitch: no slope


@pytest.mark.parametrize("gain", [0.1, 0.5, 2.0])
def test_gain_changes_energy_by_its_db_and_leaves_f0(gain):
    base = pulse_train(150.0, amplitude=0.2)
    ref = measure_span(base, SAMPLE_RATE, 0.1, 0.9)
    scaled = measure_span((base * gain).astype(np.float32), SAMPLE_RATE, 0.1, 0.9)
    assert 20 * math.log10(scaled["energy_rms"] / ref["energy_rms"]) == pytest.approx(20 * math.log10(gain), abs=0.1)
    assert abs(cents(scaled["pitch_mean"], ref["pitch_mean"])) < 1.0
    assert scaled["spectral_centroid"] == pytest.approx(ref["spectral_centroid"], rel=1e-3)
    assert scaled["energy_slope"] == pytest.approx(ref["energy_slope"], abs=0.5)


@pytest.mark.parametrize("start_hz, end_hz", [(120.0, 240.0), (300.0, 180.0), (200.0, 230.0)])
def test_glide_slope_sign_and_magnitude(start_hz, end_hz):
    seconds = 1.5
    n = int(seconds * SAMPLE_RATE)
    glide = pulse_train(np.linspace(start_hz, end_hz, n), seconds=seconds)
    true_slope = (end_hz - start_hz) / seconds
    values = measure_span(glide, SAMPLE_RATE, 0.2, 1.3)
    assert np.sign(values["pitch_slope"]) == np.sign(true_slope)
    assert values["pitch_slope"] == pytest.approx(true_slope, rel=0.10)
    midpoint_hz = start_hz + (end_hz - start_hz) * (0.75 / seconds)
    assert values["pitch_mean"] == pytest.approx(midpoint_hz, rel=0.03)


def test_energy_ramp_gives_intensity_slope():
    seconds = 1.0
    n = int(seconds * SAMPLE_RATE)
    ramp_db = np.linspace(-30.0, 0.0, n)  # +30 dB over 1 s
    signal = pulse_train(150.0, amplitude=0.3) * (10 ** (ramp_db / 20)).astype(np.float32)
    values = measure_span(signal.astype(np.float32), SAMPLE_RATE, 0.15, 0.85)
    assert values["energy_slope"] == pytest.approx(30.0, rel=0.10)


@pytest.mark.parametrize("seconds", [1.0, 0.02])
def test_silence_gives_nan_not_an_exception(seconds):
    values = measure_span(np.zeros(int(seconds * SAMPLE_RATE), np.float32), SAMPLE_RATE, 0.0, seconds)
    assert set(values) == set(FIELDS)
    for name in ("pitch_mean", "pitch_slope", "energy_rms", "energy_slope", "spectral_centroid"):
        assert math.isnan(values[name]), name
    assert values["duration"] == pytest.approx(seconds)


def test_unvoiced_noise_has_energy_but_no_pitch():
    noise = (0.05 * np.random.default_rng(1).standard_normal(SAMPLE_RATE)).astype(np.float32)
    values = measure_span(noise, SAMPLE_RATE, 0.1, 0.9)
    assert math.isnan(values["pitch_mean"]) and math.isnan(values["pitch_slope"])
    assert values["energy_rms"] == pytest.approx(0.05, rel=0.05)
    assert values["spectral_centroid"] == pytest.approx(SAMPLE_RATE / 4, rel=0.05)  # white noise: Nyquist / 2


def test_praat_sentinels_never_escape():
    audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), pulse_train(200.0, seconds=0.5)])
    _, f0 = praat.pitch_track(audio, SAMPLE_RATE)
    _, db = praat.intensity_track(audio, SAMPLE_RATE)
    assert not np.any(f0 == 0) and np.isnan(f0).any() and np.isfinite(f0).any()
    assert not np.any(db <= -100) and np.isnan(db).any() and np.isfinite(db).any()


def test_spectral_centroid_of_a_sine():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    assert spectral_centroid_hz(np.sin(2 * np.pi * 1000 * t), SAMPLE_RATE) == pytest.approx(1000, rel=0.01)


def test_measure_span_at_other_sample_rate_agrees():
    at_16k = pulse_train(180.0, max_hz=6000)  # below the resampler's transition band
    at_22k = resample(at_16k, SAMPLE_RATE, 22050)
    a = measure_span(at_16k, SAMPLE_RATE, 0.1, 0.9)
    b = measure_span(at_22k, 22050, 0.1, 0.9)
    assert abs(cents(a["pitch_mean"], b["pitch_mean"])) < 5
    assert a["energy_rms"] == pytest.approx(b["energy_rms"], rel=0.01)


@pytest.mark.parametrize("start_s, end_s, message", [
    (0.5, 0.5, "empty"), (0.6, 0.2, "empty"), (-0.1, 0.2, "starts before 0"), (2.0, 3.0, "after the end"),
    (float("nan"), 0.5, "not finite"),
])
def test_bad_spans_raise_one_clear_error(start_s, end_s, message):
    with pytest.raises(ValueError, match=message):
        measure_span(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE, start_s, end_s)


@pytest.mark.parametrize("audio, sample_rate, message", [
    (np.zeros((2, 100), np.float32), SAMPLE_RATE, "mono"),
    (np.zeros(100, np.int16), SAMPLE_RATE, "floating point"),
    (np.zeros(100, np.float32), 0, "sample_rate"),
    (np.array([0.0, np.nan], np.float32), SAMPLE_RATE, "NaN"),
])
def test_bad_audio_arrays_raise_audio_error(audio, sample_rate, message):
    with pytest.raises(AudioError, match=message):
        measure_span(audio, sample_rate, 0.0, 0.001)


def test_load_audio_resamples_and_mixes(tmp_path):
    stereo = np.stack([pulse_train(200.0), pulse_train(200.0)], axis=1)
    path = tmp_path / "x.flac"
    sf.write(path, stereo, SAMPLE_RATE)
    audio, sample_rate = load_audio(path, 22050)
    assert sample_rate == 22050 and audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size == 22050


def test_load_audio_error_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_audio(tmp_path / "missing.wav")
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF not really a wave file" * 10)
    with pytest.raises(AudioError, match="cannot decode"):
        load_audio(garbage)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), SAMPLE_RATE)
    with pytest.raises(AudioError, match="no samples"):
        load_audio(empty)
