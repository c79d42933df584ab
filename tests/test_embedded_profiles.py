"""Emotion profiles in the embedded conductor's plans (issue #22 item 2): level shifts on RAVDESS's medians at
the asked intensity, and each emotion's own shape (contour, stressed words, pauses, range, voice quality)."""

from __future__ import annotations

import math

import pytest

from baton.baseline import DEFAULT_BASELINE as B
from baton.conductors.embedded import EmbeddedConductor
from baton.conductors.embedded_compose import DEFAULT_COMPOSE
from baton.conductors.embedded_profiles import PROFILES, VOICE_QUALITIES, Profile, profile_for
from baton.eval.instructions import segment_rise_st
from baton.prosody_table import default_table

TEXT = "I never thought it would end like this, but here we are, waiting for the last train home."
EMOTIONS = ("happy", "sad", "angry", "fearful", "surprised", "calm", "disgust")
ADVERB = {"normal": "", "strong": "very"}


@pytest.fixture(scope="module")
def conductor() -> EmbeddedConductor:
    return EmbeddedConductor(use_embeddings=False)


def means(plan) -> dict[str, float]:
    """Duration-weighted pitch [st] and energy [dB] relative to the baseline, spoken time [s]."""
    total = sum(s.duration for s in plan.segments)
    return {"pitch_st": sum(s.duration / total * 12 * math.log2(s.pitch_mean / B.pitch_mean_hz) for s in plan.segments),
            "energy_db": sum(s.duration / total * 20 * math.log10(s.energy_rms / B.energy_rms) for s in plan.segments),
            "spoken_s": total}


@pytest.mark.parametrize("emotion", EMOTIONS)
@pytest.mark.parametrize("intensity", ("normal", "strong"))
def test_levels_are_ravdess_medians_at_the_asked_intensity(conductor, emotion, intensity):
    """Pitch, loudness and rate land on the table's median for that intensity (within the plan's caps), also
    where strong reverses normal (strong sad: higher and louder)."""
    table = default_table()
    instruction = f"{ADVERB[intensity]} {emotion}".strip()
    got, neutral = means(conductor.plan(TEXT, instruction, B)), means(conductor.plan(TEXT, None, B))
    cfg = DEFAULT_COMPOSE
    want_pitch = min(table.median(emotion, intensity, "pitch_st"), cfg.max_pitch_st)
    want_energy = min(table.median(emotion, intensity, "energy_db"), cfg.max_energy_db)
    if want_pitch < cfg.max_pitch_st - 4.0:
        assert got["pitch_st"] - neutral["pitch_st"] == pytest.approx(want_pitch, abs=1.0)
    else:  # near the cap the level gives way to keep the rising trend whole (test below), by at most 4 st
        assert want_pitch - 4.0 <= got["pitch_st"] - neutral["pitch_st"] <= want_pitch + 1.0
    assert got["energy_db"] - neutral["energy_db"] == pytest.approx(want_energy, abs=1.0)
    rate = neutral["spoken_s"] / got["spoken_s"]
    assert rate == pytest.approx(table.median(emotion, intensity, "rate_ratio"), rel=0.03)


@pytest.mark.parametrize("emotion", ("happy", "angry", "fearful", "surprised"))
def test_strong_high_emotions_keep_their_rise_under_the_pitch_cap(conductor, emotion):
    """The table's strong level plus its rising trend would pass the +12 st cap; the level is lowered instead
    of the trend being cut, so the utterance still climbs, from start to end, and no segment is clipped."""
    cap = DEFAULT_COMPOSE.max_pitch_st
    segments = conductor.plan(TEXT, f"very {emotion}", B).segments
    pitch_st = [12 * math.log2(s.pitch_mean / B.pitch_mean_hz) for s in segments]
    assert max(pitch_st) < cap - 0.5
    assert pitch_st[-1] - pitch_st[0] >= 0.9
    assert all(b > a for a, b in zip(pitch_st, pitch_st[1:]))


def test_strong_sad_is_higher_and_slower_not_just_quiet(conductor):
    sad, very = means(conductor.plan(TEXT, "sad", B)), means(conductor.plan(TEXT, "very sad", B))
    neutral = means(conductor.plan(TEXT, None, B))
    assert very["pitch_st"] - neutral["pitch_st"] > 4.0 and very["spoken_s"] > sad["spoken_s"] > neutral["spoken_s"]


def test_surprise_rises_at_the_end_of_a_statement(conductor):
    assert segment_rise_st(conductor.plan("You came back.", "surprised", B).segments[-1]) >= 2.0
    assert segment_rise_st(conductor.plan("You came back.", None, B).segments[-1]) < 0


def test_anger_falls_hard_on_stressed_words(conductor):
    text = "I told you *never* to come back here."
    angry = next(s for s in conductor.plan(text, "angry", B).segments if s.emphasis)
    neutral = next(s for s in conductor.plan(text, None, B).segments if s.emphasis)
    assert segment_rise_st(angry) < segment_rise_st(neutral) - 2.0
    happy = next(s for s in conductor.plan(text, "happy", B).segments if s.emphasis)
    assert segment_rise_st(happy) > 0  # happiness: upward inflections on stressed words


def test_sadness_falls_and_pauses_longer(conductor):
    sad, neutral = conductor.plan(TEXT, "sad", B), conductor.plan(TEXT, None, B)
    assert segment_rise_st(sad.segments[-1]) < segment_rise_st(neutral.segments[-1])
    pauses = [(a.pause_after, b.pause_after) for a, b in zip(sad.segments, neutral.segments) if b.pause_after]
    assert pauses and all(a > 1.2 * b for a, b in pauses)


def test_intensity_scales_the_shape():
    mild, plain, strong = (profile_for("angry", level) for level in (0.5, 1.0, 2.0))
    assert abs(mild.emphasis_slope_st_per_s) < abs(plain.emphasis_slope_st_per_s) < abs(strong.emphasis_slope_st_per_s)
    # anger turns tense from level 1.5: RAVDESS's normal anger tilts +2.9 dB, closer to modal (docs/emotion.md)
    assert (mild.voice_quality, plain.voice_quality, strong.voice_quality) == ("modal", "modal", "tense")
    assert profile_for("sad", 2.0).voice_quality == profile_for("fearful", 2.0).voice_quality == "modal"
    assert profile_for("happy", 1.0, style="whisper").voice_quality == "whisper"


def test_profiles_are_valid():
    assert {p.voice_quality for p in PROFILES.values()} <= set(VOICE_QUALITIES)
    with pytest.raises(ValueError, match="valid: modal, breathy, whisper, tense"):
        Profile(voice_quality="creaky")
