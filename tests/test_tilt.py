"""Centroid tilt (tts_model.runtime.tilt): the mel estimate of the centroid, the tilt search, and its use at run time."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from feature_extract.measure import spectral_centroid_hz
from tts_model.runtime.audio import SAMPLE_RATE, log_mel
from tts_model.runtime.chain import CentroidTilt
from tts_model.runtime.config import ConfigError, VoiceConfig
from tts_model.runtime.tilt import SMOOTH_FRAMES, estimate_centroid_hz, follow_centroid, segment_tilt, tilt_profile


def _st(a_hz: float, b_hz: float) -> float:
    return 12.0 * math.log2(a_hz / b_hz)


def _coloured_noise(exponent: float, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Noise whose magnitude spectrum goes as f**exponent (0 = white; negative = darker) up to 8 kHz, the top
    of the mel filterbank, and stays at that level above it."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    spectrum *= np.clip(freqs, 50.0, 8000.0) ** exponent
    audio = np.fft.irfft(spectrum, n)
    return (0.1 * audio / np.abs(audio).max()).astype(np.float32)


@pytest.mark.parametrize("exponent", [0.0, -0.5])
def test_the_mel_estimate_tracks_the_measured_centroid_of_broadband_sound(exponent):
    """For noise that stays above 8 kHz at the level of the top mel filter (what the estimate assumes), the
    centroid estimated from the log-mel is within half a semitone of what feature_extract measures on the
    audio. (The estimate spreads each filter's level evenly over its band, so for steeper spectra it reads
    high, about 1.2 st for 1/f noise; a voice's calibration absorbs that, and how its vocoder fills the band
    above 8 kHz.)"""
    audio = _coloured_noise(exponent)
    measured = spectral_centroid_hz(audio, SAMPLE_RATE)
    assert abs(_st(estimate_centroid_hz(log_mel(audio)), measured)) < 0.5


def test_the_estimate_orders_sounds_by_brightness_and_rejects_empty_input():
    estimates = [estimate_centroid_hz(log_mel(_coloured_noise(e))) for e in (-1.5, -1.0, -0.5, 0.0)]
    assert all(a < b for a, b in zip(estimates, estimates[1:]))
    with pytest.raises(ValueError, match="frames >= 1"):
        estimate_centroid_hz(np.zeros((0, 80)))


def test_segment_tilt_reaches_a_reachable_target_and_stops_at_the_limit_otherwise():
    mel = log_mel(_coloured_noise(-1.0))
    here = estimate_centroid_hz(mel)
    identity, base_hz = (1.0, 0.0), 2000.0
    tilts = []
    for shift_st in (-3.0, 0.0, 3.0):
        alpha = segment_tilt(mel, here * 2 ** (shift_st / 12), identity, base_hz, max_tilt=1.0)
        reached = estimate_centroid_hz(mel + alpha * tilt_profile()[None, :])
        assert abs(_st(reached, here) - shift_st) < 0.01
        tilts.append(alpha)
    assert tilts[0] < 0.0 < tilts[2] and abs(tilts[1]) < 1e-3
    assert segment_tilt(mel, 20000.0, identity, base_hz, max_tilt=0.3) == pytest.approx(0.3, abs=1e-6)
    assert segment_tilt(mel, 100.0, identity, base_hz, max_tilt=0.3) == pytest.approx(-0.3, abs=1e-6)
    # The calibration maps the estimate to the measurement: with measured = 2 * estimated + 1 (st re base_hz),
    # asking for a measured target means asking the estimate for (target - 1) / 2.
    target_hz = here * 2 ** (2.0 / 12)
    alpha = segment_tilt(mel, target_hz, (2.0, 1.0), base_hz, max_tilt=1.0)
    reached = estimate_centroid_hz(mel + alpha * tilt_profile()[None, :])
    assert _st(reached, base_hz) == pytest.approx((_st(target_hz, base_hz) - 1.0) / 2.0, abs=0.01)


def test_follow_centroid_tilts_each_segment_and_smooths_the_steps():
    mel = np.concatenate([log_mel(_coloured_noise(-1.0, 0.5, seed=1)), log_mel(_coloured_noise(-1.0, 0.5, seed=2)),
                          log_mel(_coloured_noise(-1.0, 0.05, seed=3))])
    frames = np.array([44, 44, mel.shape[0] - 88])
    here = estimate_centroid_hz(mel[:44])
    targets = [here * 2 ** (2 / 12), here * 2 ** (-2 / 12), here * 2 ** (5 / 12)]
    spoken = [40, 40, 2]  # the last segment is too short to estimate: it keeps the tilt before it
    tilted, alphas = follow_centroid(mel, frames, spoken, targets, (1.0, 0.0), here, max_tilt=1.0, scope="segment")
    assert tilted.shape == mel.shape and tilted.dtype == np.float32
    assert alphas[0] > 0.0 > alphas[1] and alphas[2] == alphas[1]
    assert abs(_st(estimate_centroid_hz(tilted[4:40]), here) - 2.0) < 0.3  # inside the segment, away from the ramp
    per_frame = (tilted - mel)[:, -1] / tilt_profile()[-1]
    assert np.abs(np.diff(per_frame)).max() <= (alphas[0] - alphas[1]) / SMOOTH_FRAMES + 1e-6
    with pytest.raises(ValueError, match="segments"):
        follow_centroid(mel, frames[:2], spoken, targets, (1.0, 0.0), here, max_tilt=1.0)


def test_utterance_scope_moves_all_segments_together_to_their_mean_target():
    """scope "utterance": one tilt for every segment, chosen so that the spoken-frame-weighted mean of the
    segments' estimates (in st) meets the same mean of their targets; the segments keep their differences."""
    from tts_model.runtime.tilt import shared_tilt

    dark, bright = log_mel(_coloured_noise(-1.0, 0.5, seed=1)), log_mel(_coloured_noise(-0.3, 0.3, seed=2))
    mel = np.concatenate([dark, bright])
    frames = np.array([dark.shape[0], bright.shape[0]])
    base_hz = 2000.0
    st_before = [_st(estimate_centroid_hz(m), base_hz) for m in (dark, bright)]
    targets = [base_hz * 2 ** ((st_before[0] + 3.0) / 12), base_hz * 2 ** ((st_before[1] + 1.0) / 12)]
    tilted, alphas = follow_centroid(mel, frames, frames, targets, (1.0, 0.0), base_hz, 1.0, scope="utterance")
    assert alphas[0] == alphas[1] > 0.0
    st_after = [_st(estimate_centroid_hz(tilted[:frames[0]]), base_hz), _st(estimate_centroid_hz(tilted[frames[0]:]), base_hz)]
    weights = frames / frames.sum()
    assert float(np.dot(weights, st_after)) == pytest.approx(float(np.dot(weights, [st_before[0] + 3, st_before[1] + 1])),
                                                              abs=0.01)
    assert (st_after[1] - st_after[0]) == pytest.approx(st_before[1] - st_before[0], abs=1.5)  # kept apart
    assert alphas[0] == pytest.approx(shared_tilt([dark, bright], targets, frames, (1.0, 0.0), base_hz, 1.0))
    with pytest.raises(ValueError, match="scope"):
        follow_centroid(mel, frames, frames, targets, (1.0, 0.0), base_hz, 1.0, scope="word")


def test_runtime_follows_the_planned_centroid_only_with_a_calibration(tmp_path):
    from tts_model.runtime.synthesizer import Synthesizer
    from tts_model.train.testing import make_test_voice

    voice = make_test_voice(tmp_path / "v")
    data = json.loads((voice / "voice.json").read_text())
    legacy = {k: v for k, v in data.items() if k != "render_chain"}  # voice.json before the chain
    assert VoiceConfig.from_dict(data).stage("centroid_tilt") is None  # off unless fitted
    for bad in ([1.0], [0.1, 0.0], ["1", 0], [1.0, float("nan")], 3.0, [True, 0.0]):
        with pytest.raises(ConfigError, match="centroid_calibration"):
            VoiceConfig.from_dict({**legacy, "centroid_calibration": bad})
    for bad in (0.0, 2.5, "0.5", True):
        with pytest.raises(ConfigError, match="centroid_max_tilt"):
            VoiceConfig.from_dict({**legacy, "centroid_max_tilt": bad})
    with pytest.raises(ConfigError, match="centroid_scope"):
        VoiceConfig.from_dict({**legacy, "centroid_scope": "word"})
    assert VoiceConfig.from_dict({**legacy, "centroid_calibration": [1, 0]}).stage("centroid_tilt").calibration == (1.0, 0.0)

    base = Synthesizer.load(voice, threads=1)
    base_hz = base.config.baseline["spectral_centroid_hz"]
    segments = [{"word": "Shall we go?", "spectral_centroid": base_hz * 2 ** (3 / 12)},
                {"word": "Yes, now.", "spectral_centroid": base_hz * 2 ** (-3 / 12)}]
    plain_mel, frames, predicted = base.render_mel(segments)
    following = dataclasses.replace(base, config=base.config.with_stage(
        CentroidTilt(calibration=(1.0, 0.0), max_tilt=2.0, scope="segment")))
    mel, frames_f, predicted_f = following.render_mel(segments)
    assert np.array_equal(frames, frames_f) and predicted == predicted_f  # timing and reported plan untouched
    assert np.array_equal(mel[:, tilt_profile() == 0.0], plain_mel[:, tilt_profile() == 0.0])  # below the shelf
    starts = np.cumsum(frames) - frames
    pause = [int(round(p["pause_after"] * base.sample_rate / base.config.hop_length)) for p in predicted]
    for s, seg in enumerate(segments):
        inner = slice(starts[s] + SMOOTH_FRAMES, starts[s] + frames[s] - pause[s])  # away from the ramp
        before = abs(_st(estimate_centroid_hz(plain_mel[inner]), seg["spectral_centroid"]))
        after = abs(_st(estimate_centroid_hz(mel[inner]), seg["spectral_centroid"]))
        alpha = float(np.median((mel - plain_mel)[inner, -1])) / tilt_profile()[-1]
        assert after < before
        assert after < 0.5 or abs(alpha) == pytest.approx(2.0, abs=1e-3)  # reached, or stopped at the limit
    assert np.isfinite(following.synthesize_all(segments)).all()
