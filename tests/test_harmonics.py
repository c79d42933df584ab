"""Harmonic sharpening (tts_model.runtime.harmonics): the ripple table's physics, frame F0, and its use at run time."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tts_model.runtime.audio import SAMPLE_RATE, log_mel, mel_centres_hz
from tts_model.runtime.config import ConfigError, VoiceConfig
from tts_model.text.frontend import PHONEME_TO_ID
from tts_model.runtime.harmonics import F0_GRID_HZ, frame_f0, ripple_table, sharpen


def test_ripple_peaks_on_harmonics_and_stays_in_its_band():
    from tts_model.runtime.harmonics import COMB_FLOOR, RIPPLE_BAND_HZ, band_weight, build_ripple

    table, centres = ripple_table(), mel_centres_hz()
    row = table[np.argmin(np.abs(F0_GRID_HZ - 150.0))]
    on = [np.argmin(np.abs(centres - h)) for h in (150.0, 300.0, 450.0)]
    between = [np.argmin(np.abs(centres - h)) for h in (225.0, 375.0)]
    assert row[on].min() > 0.5 and row[between].max() < -1.0
    below_f0 = row[np.argmin(np.abs(centres - 50.0))]
    assert below_f0 == pytest.approx(row.min()) and below_f0 < -1.0  # no energy below F0
    assert not table[:, centres >= RIPPLE_BAND_HZ[1]].any()  # first formant region and above untouched
    assert np.abs(table.sum(axis=1) / band_weight().sum()).max() < 1e-5  # zero mean in its band: moves harmonics, not level
    run3 = build_ripple(COMB_FLOOR, zero_mean=False)  # the first ripple lowered the whole band at speech F0s
    speech = (F0_GRID_HZ >= 150.0) & (F0_GRID_HZ <= 300.0)
    assert (run3[speech].sum(axis=1) / band_weight().sum()).max() < -0.5


def test_frame_f0_interpolates_between_voiced_phonemes_and_fades_at_edges():
    ids = [PHONEME_TO_ID[p] for p in ("S", "AA1", "T", "IY1", "<sp>")]
    pitch_st = np.array([9.0, 0.0, 9.0, 12.0, 0.0])
    durations = np.array([4, 10, 4, 10, 6])
    f0, weight = frame_f0(np.array(ids), pitch_st, durations, base_pitch_hz=100.0)
    assert f0.shape == weight.shape == (34,)
    assert f0[:9] == pytest.approx(100.0)  # flat before the first voiced centre
    assert f0[26:] == pytest.approx(200.0)  # flat after the last
    assert 100.0 < f0[15] < f0[20] < 200.0  # rising across the unvoiced T
    assert weight[:4].max() == 0.0 and weight[14:18].max() == 0.0 and weight[28:].max() == 0.0
    assert weight[6:12].min() == pytest.approx(1.0)


def test_frame_f0_with_nothing_voiced_is_all_zero():
    f0, weight = frame_f0(np.array([PHONEME_TO_ID["S"], PHONEME_TO_ID["T"]]), np.zeros(2), np.array([3, 2]), 200.0)
    assert f0.shape == (5,) and not f0.any() and not weight.any()


def test_phoneme_classes_decide_which_frames_get_harmonics():
    ids = np.array([PHONEME_TO_ID[p] for p in ("M", "AA1", "Z")])
    durations = np.array([6, 6, 6])
    voiced = {name: frame_f0(ids, np.zeros(3), durations, 200.0, name)[1] for name in ("vowels", "sonorants", "voiced")}
    assert voiced["vowels"][:6].max() == 0.0 and voiced["vowels"][6:12].max() > 0.0
    assert voiced["sonorants"][:6].max() > 0.0 and voiced["sonorants"][12:].max() == 0.0
    assert voiced["voiced"][12:].max() > 0.0
    with pytest.raises(ValueError, match="vowels"):
        frame_f0(ids, np.zeros(3), durations, 200.0, "stops")


def test_sharpening_restores_harmonic_detail_of_a_blurred_mel():
    """A harmonic tone's log-mel, blurred across frequency the way an L1-trained model blurs it, comes closer
    to the sharp original in the low bins once sharpened at the tone's own F0, and moves away at a wrong F0."""
    f0_hz, n = 180.0, SAMPLE_RATE // 2
    t = np.arange(n) / SAMPLE_RATE
    tone = sum(np.cos(2 * np.pi * k * f0_hz * t + k) / k for k in range(1, 40) if k * f0_hz < 8000)
    sharp = log_mel((0.1 * tone).astype(np.float32))
    kernel = np.ones(5) / 5
    blurred = np.stack([np.convolve(np.pad(row, 2, mode="edge"), kernel, mode="valid") for row in sharp])
    low = mel_centres_hz() < 500.0
    ones = np.ones(len(sharp), dtype=np.float32)

    def error(mel):
        return float(np.abs(mel - sharp)[:, low].mean())

    right = sharpen(blurred, np.full(len(sharp), f0_hz, np.float32), ones, 0.5)
    wrong = sharpen(blurred, np.full(len(sharp), f0_hz * 1.25, np.float32), ones, 0.5)
    assert error(right) < 0.9 * error(blurred)
    assert error(wrong) > error(blurred)
    assert np.array_equal(sharpen(blurred, ones * f0_hz, ones, 0.0), blurred.astype(np.float32))
    assert np.array_equal(sharpen(blurred, ones * f0_hz, ones, 0.5, table=ripple_table()), right)
    with pytest.raises(ValueError, match="frames"):
        sharpen(blurred, ones[:-1], ones[:-1], 0.3)


def test_voice_config_checks_harmonic_strength(tmp_path):
    from tts_model.train.testing import make_test_voice

    voice = make_test_voice(tmp_path / "v")
    data = json.loads((voice / "voice.json").read_text())
    legacy = {k: v for k, v in data.items() if k != "render_chain"}  # voice.json before the chain
    assert VoiceConfig.from_dict(data).stage("harmonics") is None  # voices exported before it existed
    assert VoiceConfig.from_dict({**legacy, "harmonic_strength": 0.5}).stage("harmonics").phonemes == "voiced"
    for bad in (-0.1, 2.5, "0.3", True):
        with pytest.raises(ConfigError, match="harmonic_strength"):
            VoiceConfig.from_dict({**legacy, "harmonic_strength": bad})
    with pytest.raises(ConfigError, match="harmonic_phonemes"):
        VoiceConfig.from_dict({**legacy, "harmonic_phonemes": "all"})


def test_runtime_sharpens_only_when_the_voice_asks(tmp_path):
    from tts_model.runtime.synthesizer import Synthesizer
    from tts_model.train.testing import make_test_voice

    plain = make_test_voice(tmp_path / "plain")
    sharp = tmp_path / "sharp"
    shutil.copytree(plain, sharp)
    data = json.loads((sharp / "voice.json").read_text())
    legacy = {k: v for k, v in data.items() if k != "render_chain"}  # voice.json before the chain
    (sharp / "voice.json").write_text(json.dumps({**legacy, "harmonic_strength": 0.5}))
    segments = [{"word": "Shall we go?", "pitch_mean": 220.0}, {"word": "Yes.", "pitch_mean": 180.0}]
    mel_a, frames_a, _ = Synthesizer.load(plain, threads=1).render_mel(segments)
    mel_b, frames_b, _ = Synthesizer.load(sharp, threads=1).render_mel(segments)
    assert np.array_equal(frames_a, frames_b)
    change = np.abs(mel_b - mel_a)
    low_change = change[:, mel_centres_hz() < 500.0].max()
    assert low_change > 0.5  # ripple added in the low bins
    assert change[:, mel_centres_hz() > 1000.0].max() == 0.0  # not in the high ones


def test_pitch_control_gains_calibrate_the_model_input_and_sharpen_at_the_planned_pitch(tmp_path, monkeypatch):
    """pitch_control_gain_down g and _up h: the acoustic model renders a given pitch x semitones below the
    baseline as if x * g were asked and one above it as x * h (exactly what gains 1 render for the expanded
    plan), while the harmonic template stays on the planned contour; segments without a pitch and the reported
    plan values are untouched."""
    import dataclasses

    import tts_model.runtime.chain as runtime
    from tts_model.runtime.chain import Harmonics, PitchCalibration
    from tts_model.runtime.synthesizer import Synthesizer
    from tts_model.train.testing import make_test_voice

    voice = make_test_voice(tmp_path / "v")
    data = json.loads((voice / "voice.json").read_text())
    legacy = {k: v for k, v in data.items() if k != "render_chain"}  # voice.json before the chain
    for name in ("pitch_control_gain_down", "pitch_control_gain_up"):
        for bad in (0.4, 2.5, "1.1", True):
            with pytest.raises(ConfigError, match=name):
                VoiceConfig.from_dict({**legacy, name: bad})
    base = Synthesizer.load(voice, threads=1)
    base_hz = base.config.baseline["pitch_mean_hz"]
    down, up, low_st, high_st = 1.25, 0.8, -6.0, 4.0

    def plan(low_gain: float, high_gain: float) -> list[dict]:
        return [{"word": "Shall we go?", "pitch_mean": base_hz * 2 ** (low_gain * low_st / 12)}, {"word": "Yes."},
                {"word": "Now.", "pitch_mean": base_hz * 2 ** (high_gain * high_st / 12)}]

    asked, expanded = plan(1.0, 1.0), plan(down, up)
    calibrated = dataclasses.replace(base, config=base.config.with_stage(PitchCalibration(gain_down=down, gain_up=up)))
    mel_cal, frames_cal, predicted = calibrated.render_mel(asked)
    mel_exp, frames_exp, _ = base.render_mel(expanded)
    assert np.array_equal(frames_cal, frames_exp) and np.allclose(mel_cal, mel_exp, atol=1e-5)
    assert [p["pitch_mean"] for p in predicted[::2]] == [a["pitch_mean"] for a in asked[::2]]  # as asked, not fed
    only_down = dataclasses.replace(base, config=base.config.with_stage(PitchCalibration(gain_down=down)))
    assert np.allclose(only_down.render_mel(asked)[0], base.render_mel(plan(down, 1.0))[0], atol=1e-5)
    uncalibrated = base.render_mel(asked)[0]  # the gains do change the render
    assert uncalibrated.shape != mel_cal.shape or not np.allclose(mel_cal, uncalibrated, atol=1e-3)

    seen = {}
    real_frame_f0 = runtime.frame_f0

    def spy(phoneme_ids, pitch_st, durations, *args):
        seen[len(seen)] = (np.array(pitch_st), np.array(durations), np.array(phoneme_ids))
        return real_frame_f0(phoneme_ids, pitch_st, durations, *args)

    monkeypatch.setattr(runtime, "frame_f0", spy)
    for synth in (base, calibrated):
        sharp = dataclasses.replace(synth, config=synth.config.with_stage(Harmonics(strength=0.5)))
        sharp.render_mel(asked if synth is calibrated else expanded)
    (exp_st, exp_dur, ids), (cal_st, cal_dur, _) = seen[0], seen[1]
    segment = np.cumsum(ids == base.config.model.pause_id)  # each segment's phones end with a pause
    phones = ids >= base.config.model.first_phone_id
    # The template's contour is the model's contour for the expanded plan, moved back by the added semitones.
    assert np.array_equal(exp_dur, cal_dur)
    for index, added_st in ((0, (down - 1.0) * low_st), (1, 0.0), (2, (up - 1.0) * high_st)):
        here = phones & (segment == index)
        assert here.any()
        np.testing.assert_allclose(cal_st[here], exp_st[here] - added_st, atol=1e-3)


def test_tune_harmonics_reads_gain_pairs():
    import argparse

    from recipes.tune_harmonics import gain_pair

    assert gain_pair("1.2/1") == (1.2, 1.0) and gain_pair("1.1") == (1.1, 1.1)
    for bad in ("", "a/1", "1/1/1", "1,2"):
        with pytest.raises(argparse.ArgumentTypeError, match="DOWN/UP"):
            gain_pair(bad)
