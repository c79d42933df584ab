"""Pipeline: the embedded conductor + a tiny random-weight voice made from the real classes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from baton.baseline import VoiceBaseline
from baton.pipeline import (Pipeline, check_renderable, count_syllables, load_synthesizer, save_audio,
                            sentence_groups)
from baton.plan import Plan, PlanError, load_plan, text_words



@pytest.fixture(scope="module")
def pipe(test_voice_dir) -> Pipeline:
    from baton.conductors import get_conductor

    return Pipeline(get_conductor("embedded"), load_synthesizer(str(test_voice_dir)))


TEXT = "I told you not to touch that! Why did you do it anyway?"


def test_load_builds_both_parts(test_voice_dir):
    voice = test_voice_dir
    pipe = Pipeline.load(voice=str(voice))
    assert pipe.voice_id == "test-voice"
    assert pipe.sample_rate == 22050
    assert pipe.baseline == VoiceBaseline.from_dict(pipe.synthesizer.baseline)


def test_plan_reproduces_text_and_names_voice(pipe):
    plan = pipe.plan("angrily: " + TEXT)
    assert plan.words == text_words(TEXT)  # the instruction prefix is not spoken
    assert plan.voice == "test-voice"
    neutral = pipe.plan(TEXT)
    mean = lambda p: np.mean([s.pitch_mean for s in p.segments if s.pitch_mean is not None])  # noqa: E731
    assert mean(plan) > mean(neutral)  # the instruction reaches the conductor


def test_plan_understands_markup(pipe):
    plan = pipe.plan("[sad] It is over. [angry] And you *laughed* at me.")
    assert plan.words == text_words("It is over. And you laughed at me.")
    assert any("laughed" in s.emphasis for s in plan.segments)


def test_speak_returns_consistent_speech(pipe):
    speech = pipe.speak(TEXT, "happily", seed=3)
    assert speech.audio.dtype == np.float32 and speech.audio.ndim == 1
    assert speech.sample_rate == 22050
    assert len(speech.pieces) == len(speech.plan.segments)
    assert sum(p.audio.size for p in speech.pieces) == speech.audio.size
    assert [p.segment_index for p in speech.pieces] == list(range(len(speech.plan.segments)))
    assert speech.segment_bounds_s[-1][1] == pytest.approx(speech.duration_s)
    assert np.all(np.isfinite(speech.audio)) and np.abs(speech.audio).max() <= 1.0
    assert 0 < speech.time_to_first_audio_s <= speech.synthesis_s
    assert speech.real_time_factor > 0 and speech.seed == 3


def test_stream_yields_the_same_audio_as_speak(pipe):
    speech = pipe.speak(TEXT, seed=5)
    pieces = list(pipe.stream(TEXT, seed=5))
    assert [p.segment_index for p in pieces] == list(range(len(speech.plan.segments)))
    np.testing.assert_array_equal(np.concatenate([p.audio for p in pieces]), speech.audio)


def test_hand_edited_plan_values_reach_the_model(pipe):
    plan = pipe.plan(TEXT)
    edited = plan.replace_segments([plan.segments[0].with_values(pitch_mean=260.0, energy_rms=0.03),
                                    *plan.segments[1:]])
    speech = pipe.speak(TEXT, plan=edited, seed=0)
    assert speech.pieces[0].predicted["pitch_mean"] == pytest.approx(260.0)
    assert speech.pieces[0].predicted["energy_rms"] == pytest.approx(0.03)
    assert speech.rendered_plan().segments[0].pitch_mean == pytest.approx(260.0)


def test_plan_as_json_document_is_accepted(pipe):
    plan = pipe.plan(TEXT)
    speech = pipe.speak(plan=plan.to_json(), seed=0)  # JSON text, no text: the plan's own words
    assert len(speech.pieces) == len(plan.segments)


def test_plan_must_match_the_text(pipe):
    plan = load_plan([{"word": "I told you not to touch this!"}])
    with pytest.raises(PlanError, match="'this' where the text has 'that'"):
        pipe.speak("I told you not to touch that!", plan=plan)


@pytest.mark.parametrize("field, value, needle", [
    ("pitch_mean", 700.0, "this voice renders"),
    ("energy_rms", 2e-5, "dB from this voice"),  # -70 dB; the loud end (+24 dB) is past 1.0 for this voice
    ("duration", 0.05, "speaking rate"),
])
def test_values_the_voice_cannot_render_are_one_clear_error(pipe, field, value, needle):
    plan = load_plan([{"word": "I told you not to touch that!", field: value}])
    with pytest.raises(PlanError) as info:
        pipe.speak("I told you not to touch that!", plan=plan)
    message = str(info.value)
    assert needle in message and f"field '{field}'" in message and "segment 0" in message
    assert "\n" not in message


def test_empty_text_and_missing_voice_are_errors(pipe):
    with pytest.raises(PlanError, match="empty"):
        pipe.plan("   ")
    with pytest.raises(PlanError, match="no voice is loaded"):
        Pipeline(pipe.conductor).speak("Hello there.")


def test_long_input_renders_per_sentence_with_one_seed_and_progress(pipe):
    text = ("The first paragraph has two sentences. Here is the second one.\n\n"
            "A new paragraph starts here. It ends with a question, doesn't it?")
    seeds: list[int | None] = []
    real = pipe.synthesizer

    class Spy:  # records the seed of every synthesis call, delegates everything to the real voice
        voice_id, sample_rate, baseline = real.voice_id, real.sample_rate, real.baseline

        def synthesize(self, segments, seed=None):
            seeds.append(seed)
            return real.synthesize(segments, seed=seed)

    spied = Pipeline(pipe.conductor, Spy())
    progress: list[tuple[int, int]] = []
    speech = spied.speak(text, progress=lambda done, total: progress.append((done, total)))
    assert len(seeds) >= 4 and len(set(seeds)) == 1 and seeds[0] == speech.seed  # one voice throughout
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert progress[-1] == (len(speech.plan.segments), len(speech.plan.segments))
    # the segment that ends the first paragraph gets a paragraph pause
    ends_para = [s for s in speech.plan.segments if s.word.rstrip().endswith("second one.")]
    assert ends_para and ends_para[0].pause_after >= 3 * pipe.baseline.pause_s - 1e-6


def test_sentence_groups_cut_at_sentence_ends_and_cap_length():
    plan = load_plan([{"word": w} for w in ["Hello there.", "How are", "you?", *(["and"] * 20)]])
    groups = list(sentence_groups(plan.segments))
    assert [(first, len(g)) for first, g in groups][:2] == [(0, 1), (1, 2)]
    assert all(len(g) <= 8 for _, g in groups)
    assert sum(len(g) for _, g in groups) == len(plan.segments)


def test_count_syllables():
    assert [count_syllables(w) for w in ["cat", "table", "banana", "make", "rhythm", "1984"]] == [1, 2, 3, 1, 1, 4]


def test_check_renderable_accepts_the_baseline_itself():
    base = VoiceBaseline(pitch_mean_hz=120.0, energy_rms=0.05, spectral_centroid_hz=1500.0, speaking_rate_sps=4.0)
    check_renderable(Plan.from_segments([{"word": "fine words", "pitch_mean": 120.0, "energy_rms": 0.05,
                                          "duration": 0.5}]), base)
    with pytest.raises(PlanError, match="pitch_mean"):
        check_renderable(Plan.from_segments([{"word": "fine", "pitch_mean": 600.0}]), base)


def test_save_audio_by_extension(tmp_path):
    import soundfile

    tone = (0.3 * np.sin(np.arange(2205) * 2 * math.pi * 220 / 22050)).astype(np.float32)
    for name, fmt in (("a.wav", "WAV"), ("a.flac", "FLAC")):
        save_audio(tmp_path / name, tone, 22050)
        info = soundfile.info(str(tmp_path / name))
        assert (info.format, info.samplerate, info.frames) == (fmt, 22050, 2205)
    with pytest.raises(ValueError, match="use a .wav or .flac"):
        save_audio(tmp_path / "a.mp3", tone, 22050)
