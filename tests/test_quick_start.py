"""Quick start (tts_model.runtime.quick_start): a small first vocoder window, the rest as before.

On the shipped voice: the first chunk needs one small vocoder call and the next one is at most about twice
as long; the concatenated audio has the normal length, segments after the first are identical, the first
segment keeps its planned level (within 0.1 dB) and its first piece is within 2 dB of the normal render;
segments with whole-segment post stages are not split."""

from __future__ import annotations

import numpy as np
import pytest

from tts_model.runtime import quick_start as quick
from tts_model.runtime.synthesizer import CONTEXT_FRAMES, Synthesizer

TEXT = [{"word": "Printing, in the only sense", "energy_rms": 0.03},
        {"word": "with which we are at present concerned,", "pause_after": 0.2},
        {"word": "differs from most if not from all the arts.", "energy_rms": 0.02}]


@pytest.fixture(scope="module")
def shipped():
    return Synthesizer.load("ljspeech", threads=1)


class _CountingVocoder:
    """Wraps the voice's vocoder and records the mel frames of every call."""

    def __init__(self, inner):
        self.inner, self.frames = inner, []
        self.hop_length, self.sample_rate = inner.hop_length, inner.sample_rate

    def vocode(self, log_mel, **trims):
        self.frames.append(int(np.asarray(log_mel).shape[0]))
        return self.inner.vocode(log_mel, **trims)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_first_chunk_comes_from_one_small_vocoder_call(shipped):
    counting = _CountingVocoder(shipped.vocoder)
    synth = Synthesizer(voice_id=shipped.voice_id, voice_dir=shipped.voice_dir, config=shipped.config,
                        acoustic=shipped.acoustic, vocoder=counting, frontend=shipped.frontend,
                        exemplars=shipped.exemplars)
    chunks = synth.synthesize(TEXT, quick_start=True)
    first = next(chunks)
    assert counting.frames == [quick.FIRST_WINDOW_FRAMES + CONTEXT_FRAMES]  # nothing else vocoded yet
    assert first.segment_index == 0 and not first.final
    assert first.audio.size == quick.FIRST_WINDOW_FRAMES * synth.vocoder.hop_length
    rest = list(chunks)
    assert [c.segment_index for c in rest if c.final] == [0, 1, 2]
    assert all(c.final for c in rest if c.segment_index > 0) and rest[0].segment_index == 0
    assert counting.frames[1] <= 2 * quick.FIRST_WINDOW_FRAMES + 2 * CONTEXT_FRAMES + quick.MIN_REST_FRAMES


def test_audio_matches_the_normal_render_within_the_stated_bounds(shipped):
    normal = list(shipped.synthesize(TEXT))
    fast = list(shipped.synthesize(TEXT, quick_start=True))
    head_pieces = [c for c in fast if c.segment_index == 0]
    assert len(head_pieces) >= 2 and len(fast) == len(normal) + len(head_pieces) - 1
    a0 = normal[0].audio
    b0 = np.concatenate([c.audio for c in head_pieces])
    assert b0.size == a0.size
    spoken = a0.size - int(round(normal[0].predicted["pause_after"] * shipped.sample_rate))
    assert abs(20 * np.log10(_rms(b0[:spoken]) / _rms(a0[:spoken]))) < 0.1  # the planned level is kept
    head = fast[0].audio.size
    assert abs(20 * np.log10(_rms(b0[:head]) / _rms(a0[:head]))) < 2.0  # the first piece's estimate
    assert np.corrcoef(a0, b0)[0, 1] > 0.98  # same waveform up to the level and the seam
    for a, b in zip(normal[1:], fast[len(head_pieces):]):
        assert a.segment_index == b.segment_index and a.audio.size == b.audio.size
        np.testing.assert_array_equal(a.audio[256:], b.audio[256:])  # only the entry ramp's start level moves


@pytest.mark.parametrize("extra", [{"pitch_range": 6.0}, {"voice_quality": "whisper"}])
def test_segments_with_whole_segment_stages_are_not_split(shipped, extra):
    segments = [{**TEXT[0], **extra}, *TEXT[1:]]
    normal = [c.audio for c in shipped.synthesize(segments)]
    fast = [c.audio for c in shipped.synthesize(segments, quick_start=True)]
    assert len(fast) == len(normal)
    for a, b in zip(normal, fast):
        np.testing.assert_array_equal(a, b)


def test_short_first_segment_is_not_split():
    assert quick.first_window({"word": "Hi."}, 30, 20) is None
    assert quick.first_window({"word": "Hello there."}, 80, 70) == quick.FIRST_WINDOW_FRAMES
    assert quick.first_window({"word": "Hello there.", "voice_quality": "modal"}, 80, 70) == quick.FIRST_WINDOW_FRAMES


def test_pieces_double_and_cover_the_segment():
    assert quick.piece_bounds(24, 200) == [(0, 24), (24, 72), (72, 168), (168, 200)]
    assert quick.piece_bounds(24, 80) == [(0, 24), (24, 80)]  # 72..80 would be under MIN_REST_FRAMES
    assert quick.piece_bounds(24, 36) == [(0, 24), (24, 36)]


def test_piece_gains_meet_the_target_over_the_whole_segment():
    """Three pieces with a wrong mel prediction: the early gains are off, the total still meets the target."""
    rng = np.random.default_rng(0)
    pieces = [(rng.standard_normal(n) * s).astype(np.float32) for n, s in ((2000, 0.05), (4000, 0.02), (6000, 0.03))]
    predicted = [1.0, 3.0, 2.0]  # per piece, not proportional to the true energies
    target, spoken = 0.04, sum(p.size for p in pieces)
    emitted, raw_so_far, out = 0.0, 0.0, []
    for i, piece in enumerate(pieces):
        raw_piece = float(np.sum(np.square(piece, dtype=np.float64)))
        raw_so_far += raw_piece
        gain = quick.piece_gain(target, spoken, emitted, raw_so_far, sum(predicted[:i + 1]), sum(predicted[i + 1:]),
                                raw_piece, 0.01, 100.0)
        out.append(piece * gain)
        emitted += float(np.sum(np.square(out[-1], dtype=np.float64)))
    assert _rms(np.concatenate(out)) == pytest.approx(target, rel=1e-4)
    assert quick.piece_gain(0.001, 100, 1.0, 1.0, 1.0, 0.0, 1.0, 0.5, 100.0) == 0.5  # already too loud: lowest
    assert quick.piece_gain(0.04, 100, 0.0, 0.0, 1.0, 1.0, 0.0, 0.5, 3.0) is None  # silence: keep the gain before


def test_frame_power_follows_the_audio_level():
    from tts_model.runtime.audio import log_mel, mel_filterbank

    rng = np.random.default_rng(1)
    loud, quiet = rng.standard_normal(256 * 40) * 0.2, rng.standard_normal(256 * 120) * 0.05
    power = quick.frame_power(log_mel(np.concatenate([loud, quiet]).astype(np.float32)), mel_filterbank())
    expected = np.sum(loud ** 2) / np.sum(quiet ** 2)
    assert power[:40].sum() / power[40:].sum() == pytest.approx(expected, rel=0.2)


def test_pipeline_stream_marks_the_split_piece():
    from baton.pipeline import Pipeline

    pipe = Pipeline.load()
    text = "Printing, in the only sense with which we are at present concerned, differs from most arts."
    pieces = list(pipe.stream(text, seed=0, quick_start=True))
    assert pieces[0].segment_index == 0 and not pieces[0].final and pieces[1].segment_index == 0
    whole = list(pipe.stream(text, seed=0))
    assert sum(p.audio.size for p in pieces) == sum(p.audio.size for p in whole)
    assert all(p.final for p in whole)


def _mel_stages(synth: Synthesizer, *leave_out: str) -> list:
    return [s for s in synth.config.render_chain if s.phase == "mel" and s.name not in leave_out]


def test_first_piece_mel_is_the_whole_render_up_to_the_tilt_estimate(shipped):
    """The projection and harmonics are frame-local: on the head's phonemes they give the whole render's frames
    exactly; the full chain's first piece differs only by a shelf tilt (the utterance tilt estimated with the
    rest unprojected), which is small."""
    frames = quick.FIRST_WINDOW_FRAMES + CONTEXT_FRAMES
    stages = _mel_stages(shipped, "centroid_tilt")
    assert [s.name for s in stages] == ["exemplars", "harmonics"]
    state = shipped.model_mel(TEXT)
    raw = state.mel.copy()
    head = quick.first_piece_mel(stages, state, frames)
    np.testing.assert_array_equal(state.mel, raw)  # the state is left for the full stages
    for stage in stages:
        stage.apply(state)
    assert head.shape == (frames, raw.shape[1]) and state.mel.shape[0] > 3 * frames
    np.testing.assert_array_equal(head, state.mel[:frames])

    from tts_model.runtime.tilt import tilt_profile

    state = shipped.model_mel(TEXT)
    head = quick.first_piece_mel(_mel_stages(shipped), state, frames)
    whole, _, _ = shipped.render_mel(TEXT)
    diff = (head - whole[:frames]).astype(np.float64)
    alpha = float(diff[0] @ tilt_profile() / (tilt_profile() @ tilt_profile()))
    np.testing.assert_allclose(diff, alpha * np.tile(tilt_profile(), (frames, 1)), atol=1e-4)
    assert abs(alpha) < 0.1  # natural-log units per octave; the stage's limit is 0.8


def test_the_first_piece_leaves_before_the_whole_projection(shipped, monkeypatch):
    from tts_model.runtime import chain

    projected: list[int] = []

    def recording(mel, *args, **kwargs):
        projected.append(int(np.asarray(mel).shape[0]))
        return inner(mel, *args, **kwargs)

    inner = chain.project
    monkeypatch.setattr(chain, "project", recording)
    chunks = shipped.synthesize(TEXT, quick_start=True)
    next(chunks)
    whole = int(shipped.model_mel(TEXT).mel.shape[0])
    assert len(projected) == 1 and projected[0] < whole // 3  # the head only
    list(chunks)
    assert projected[1:] == [whole]  # then the whole utterance, once
    projected.clear()
    shipped.synthesize_all(TEXT)
    assert projected == [whole]  # without quick start: once, as before
