"""onnxruntime synthesis with the random-weight test voice: streaming per segment, controls, every error path."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import plan_contract
from baton.plan import NUMERIC_FIELDS
from tts_model.runtime import controls as controls_module
from tts_model.runtime.controls import check_control
from tts_model.runtime.synthesizer import SynthChunk, SynthesisError, Synthesizer, find_voice, list_voices
from tts_model.train.testing import make_test_voice

ROOT = Path(__file__).resolve().parents[1]
SEGMENTS = [{"word": "Hello there, Dr. Smith!", "pitch_mean": 250.0, "emphasis": ["there"]},
            {"word": "It costs $5.", "duration": 0.9, "pause_after": 0.3}]


@pytest.fixture(scope="module")
def voice_dir(tmp_path_factory) -> Path:
    return make_test_voice(tmp_path_factory.mktemp("voices") / "test-voice")


@pytest.fixture(scope="module")
def synth(voice_dir) -> Synthesizer:
    return Synthesizer.load(voice_dir, threads=1)


def test_synthesize_streams_one_chunk_per_segment(synth):
    chunks = list(synth.synthesize(SEGMENTS))
    assert [c.segment_index for c in chunks] == [0, 1]
    assert all(isinstance(c, SynthChunk) and c.audio.dtype == np.float32 and c.audio.ndim == 1 for c in chunks)
    assert all(np.abs(c.audio).max() <= 1.0 and c.audio.size > 0 for c in chunks)
    # segment 1: duration 0.9 s + pause 0.3 s, to within rounding of its tokens' frames
    assert chunks[1].audio.size / synth.sample_rate == pytest.approx(1.2, abs=0.06)
    assert chunks[0].predicted["pitch_mean"] == 250.0  # given values come back verbatim
    assert chunks[1].predicted["duration"] == 0.9
    for chunk in chunks:
        assert set(chunk.predicted) == set(NUMERIC_FIELDS)
        assert all(np.isfinite(v) for v in chunk.predicted.values())


def test_streamed_windows_match_vocoding_the_whole_utterance(synth):
    """Segment 0 is vocoded alone, the rest in windows of >= MIN_WINDOW_FRAMES; with CONTEXT_FRAMES of context
    on each side the joined stream equals one vocoder call over the whole mel (the test vocoder's receptive
    field is shorter than the context)."""
    from tts_model.runtime import synthesizer as runtime

    segments = [{"word": w, "duration": 0.4} for w in ("One two,", "three four,", "five six,", "seven eight,",
                                                        "nine ten,", "eleven twelve.")]
    chunks = list(synth.synthesize(segments))
    mel, seg_frames, _ = synth.render_mel(segments)
    assert [c.audio.size for c in chunks] == [int(f) * synth.vocoder.hop_length for f in seg_frames]
    assert sum(seg_frames[1:]) > runtime.MIN_WINDOW_FRAMES  # so more than one window is used
    whole = np.clip(synth.vocoder.vocode(mel), -1.0, 1.0)
    assert np.abs(np.concatenate([c.audio for c in chunks]) - whole).max() < 1e-4


def test_energy_gain_stage_meets_the_plan_rms_and_never_clips(synth, monkeypatch):
    from tts_model.runtime import synthesizer as runtime

    words = [("Quiet words here,", 0.2, 0.5), ("and louder ones.", 0.1, 1.3), ("Left to the model.", None, None)]
    free = list(synth.synthesize([{"word": w, **({"pause_after": p} if p else {})} for w, p, _ in words]))

    def spoken_rms(chunk, pause_s):
        spoken = chunk.audio[: chunk.audio.size - int(round(pause_s * synth.sample_rate))]
        return float(np.sqrt(np.mean(spoken.astype(np.float64) ** 2)))

    targets = [spoken_rms(c, p) * f for c, (_, p, f) in zip(free[:2], words)]  # -6 dB and +2.3 dB
    segments = [{"word": w, "pause_after": p, "energy_rms": t} for (w, p, _), t in zip(words[:2], targets)]
    chunks = list(synth.synthesize(segments + [{"word": words[2][0]}]))
    for chunk, seg in zip(chunks[:2], segments):
        # exact up to the 256-sample ramp from the previous segment's gain
        assert 20 * np.log10(spoken_rms(chunk, seg["pause_after"]) / seg["energy_rms"]) == pytest.approx(0.0, abs=0.3)
    # a segment without energy_rms keeps the model's level once the ramp from the previous gain is over
    import dataclasses

    ungained = dataclasses.replace(synth, config=synth.config.without_stages("segment_gain"))  # the gain stage off
    monkeypatch.setattr(runtime, "PEAK_LIMIT", 1e9)
    raw = list(ungained.synthesize(segments + [{"word": words[2][0]}]))
    monkeypatch.undo()
    assert not np.allclose(raw[0].audio, chunks[0].audio)
    tail = runtime.GAIN_RAMP_SAMPLES
    assert np.allclose(chunks[2].audio[tail:], raw[2].audio[tail:], atol=1e-6)
    loud = synth.synthesize_all([{"word": "As loud as can be.", "energy_rms": 1.0}])
    assert np.abs(loud).max() <= runtime.PEAK_LIMIT + 1e-6


def test_durations_scale_audio(synth):
    short = synth.synthesize_all([{"word": "one two three four", "duration": 0.6, "pause_after": 0.0}])
    long = synth.synthesize_all([{"word": "one two three four", "duration": 1.8, "pause_after": 0.0}])
    assert long.size / short.size == pytest.approx(3.0, rel=0.1)


def test_generator_is_lazy_but_validates_first(synth):
    stream = synth.synthesize([{"word": "fine"}, {"word": "bad", "energy_rms": 7.0}])
    with pytest.raises(SynthesisError, match="energy_rms"):
        next(stream)


def test_properties(synth, voice_dir):
    assert synth.sample_rate == 22050
    assert synth.voice_id == "test-voice"
    assert synth.baseline["pitch_mean_hz"] > 0
    assert synth.config.model.d_model == 16


def test_control_ranges_are_the_plan_contract():
    """The runtime's range check reads the contract's own specs: no copy of the ranges to drift."""
    assert controls_module.NUMERIC_FIELDS is plan_contract.NUMERIC_FIELDS is NUMERIC_FIELDS
    assert controls_module.CONTROL_NAMES is plan_contract.CONTROL_NAMES
    for name, spec in NUMERIC_FIELDS.items():
        assert check_control(name, spec.minimum, 0) == spec.minimum
        assert check_control(name, np.float32(spec.maximum), 0) == pytest.approx(spec.maximum)
        for beyond in (spec.minimum - 1e-3 * (spec.maximum - spec.minimum),
                       spec.maximum + 1e-3 * (spec.maximum - spec.minimum)):
            with pytest.raises(ValueError, match=f"'{name}' = .* outside {spec.minimum:g}..{spec.maximum:g}"):
                check_control(name, beyond, 3)


@pytest.mark.parametrize("segments, fragment", [
    ([], "non-empty list"),
    ("hello", "non-empty list"),
    ([{"pitch_mean": 200}], "no 'word'"),
    ([{"word": "你好"}], "cannot speak"),
    ([{"word": "..."}], "no words"),
    ([{"word": "hi", "pitch_mean": 5000}], "pitch_mean"),
    ([{"word": "hi", "duration": -1}], "duration"),
    ([{"word": "hi", "pitch_slope": "up"}], "not a number"),
    ([{"word": "hi", "loudness": 3}], "unknown field"),
])
def test_bad_input_is_one_clear_line(synth, segments, fragment):
    with pytest.raises(SynthesisError) as info:
        list(synth.synthesize(segments))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_missing_and_corrupt_files(voice_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("BATON_CACHE_DIR", str(tmp_path / "empty-cache"))  # no fallback vocoder
    broken = tmp_path / "broken"
    shutil.copytree(voice_dir, broken)
    (broken / "acoustic.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(SynthesisError, match="corrupt"):
        Synthesizer.load(broken)
    (broken / "acoustic.onnx").unlink()
    with pytest.raises(SynthesisError, match="missing"):
        Synthesizer.load(broken)
    shutil.copy(voice_dir / "acoustic.onnx", broken / "acoustic.onnx")
    (broken / "vocoder.onnx").unlink()
    with pytest.raises(SynthesisError, match="vocoder"):
        Synthesizer.load(broken)
    (broken / "voice.json").write_text("{not json")
    with pytest.raises(SynthesisError, match="invalid"):
        Synthesizer.load(broken)
    with pytest.raises(SynthesisError, match="not found"):
        Synthesizer.load(tmp_path / "no-such-voice")
    with pytest.raises(SynthesisError, match="'ljspeech-fast' is no longer shipped: .*'ljspeech-v1'; available: "):
        Synthesizer.load("ljspeech-fast")


def test_a_voice_can_share_a_siblings_acoustic_model_and_name_its_own_vocoder(voice_dir, tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("BATON_CACHE_DIR", str(tmp_path / "empty-cache"))  # no fallback vocoder
    shutil.copytree(voice_dir, tmp_path / "base")
    fast = tmp_path / "fast"
    fast.mkdir()
    config = json.loads((voice_dir / "voice.json").read_text())
    config.update(voice_id="fast", acoustic_file="../base/acoustic.onnx", vocoder_file="student.onnx")
    (fast / "voice.json").write_text(json.dumps(config))
    with pytest.raises(SynthesisError, match="student.onnx"):  # a named vocoder never falls back to another one
        Synthesizer.load(fast)
    shutil.copy(voice_dir / "vocoder.onnx", fast / "student.onnx")
    lonely = tmp_path / "lonely"  # the sibling folder is missing: the error says where the shared file belongs
    shutil.copytree(fast, lonely)
    (lonely / "voice.json").write_text(json.dumps({**config, "acoustic_file": "../gone/acoustic.onnx"}))
    with pytest.raises(SynthesisError, match=r"gone/acoustic.onnx is missing; this voice shares it .* side by side"):
        Synthesizer.load(lonely)
    synth = Synthesizer.load(fast, threads=1)
    assert synth.voice_id == "fast" and synth.vocoder.path == fast / "student.onnx"
    assert synth.synthesize_all([{"word": "hi there"}]).size > 0


def test_voice_search_path(voice_dir, monkeypatch):
    monkeypatch.setenv("BATON_VOICE_PATH", str(voice_dir.parent))
    assert "test-voice" in list_voices()
    assert find_voice("test-voice") == voice_dir
    with pytest.raises(SynthesisError, match="available"):
        find_voice("nobody")


def test_runtime_does_not_import_torch(voice_dir):
    code = ("import sys; from tts_model.runtime.synthesizer import Synthesizer; "
            f"s = Synthesizer.load({str(voice_dir)!r}, threads=1); a = s.synthesize_all([{{'word': 'hi there'}}]); "
            "assert a.size > 0; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


VOICES = ROOT / "tts_model/voices"
SHIPPED = VOICES / "ljspeech"


@pytest.mark.skipif(not (SHIPPED / "voice.json").is_file(), reason="the default voice is not in this checkout")
def test_shipped_voice_fits_the_budget_and_speaks():
    sizes = {p.relative_to(VOICES): p.stat().st_size for p in VOICES.rglob("*") if p.is_file()}
    assert sum(sizes.values()) <= 30e6 and sizes[Path("ljspeech/acoustic.onnx")] <= 8e6  # every shipped voice
    synth = Synthesizer.load("ljspeech", threads=1)
    assert synth.voice_id == "ljspeech" and synth.config.licence.startswith("public domain")
    audio = synth.synthesize_all([{"word": "Printing, in the only sense", "duration": 1.5, "pause_after": 0.2}])
    assert audio.size / synth.sample_rate == pytest.approx(1.7, abs=0.08)
    assert 0.005 < float(np.sqrt(np.mean(audio ** 2))) < 0.5


@pytest.mark.skipif(not (SHIPPED / "voice.json").is_file(), reason="the default voice is not in this checkout")
def test_shipped_voice_follows_the_planned_spectral_centroid():
    """Run 13: asked for 0.8 x and 1.25 x its baseline centroid (7.7 st apart), the default voice lands within
    1.5 st of each request; its acoustic model alone (no centroid calibration) misses one of them by more than
    2 st (it renders dark and moves about a fifth of a requested change; docs/training.md)."""
    import dataclasses

    from feature_extract.measure import spectral_centroid_hz

    synth = Synthesizer.load("ljspeech", threads=1)
    assert synth.config.stage("centroid_tilt") is not None and synth.config.stage("centroid_tilt").scope == "utterance"
    base_hz = synth.config.baseline["spectral_centroid_hz"]
    words = "The printers of the fifteenth century were careful workmen"

    def errors_st(voice: Synthesizer) -> list[float]:
        out = []
        for factor in (0.8, 1.25):
            audio = voice.synthesize_all([{"word": words, "spectral_centroid": base_hz * factor, "pause_after": 0.0}])
            out.append(12 * np.log2(spectral_centroid_hz(audio, voice.sample_rate) / (base_hz * factor)))
        return out

    assert max(abs(e) for e in errors_st(synth)) < 1.5
    untilted = dataclasses.replace(synth, config=synth.config.without_stages("centroid_tilt"))
    assert max(abs(e) for e in errors_st(untilted)) > 2.0


@pytest.mark.skipif(not (VOICES / "ljspeech-v1" / "voice.json").is_file(), reason="the V1 voice is not in this checkout")
def test_v1_voice_shares_the_default_acoustic_model_and_has_the_larger_vocoder():
    onnx = pytest.importorskip("onnx")
    v1, default = Synthesizer.load("ljspeech-v1", threads=1), Synthesizer.load("ljspeech", threads=1)
    # run 12: one acoustic model and one pitch calibration; the voices differ only in the vocoder
    assert (v1.voice_dir / v1.config.acoustic_file).resolve() == (SHIPPED / "acoustic.onnx").resolve()
    assert not (v1.voice_dir / "acoustic.onnx").exists()
    assert v1.config.model == default.config.model and v1.config.baseline == default.config.baseline
    assert v1.config.stage("harmonics") == default.config.stage("harmonics")
    assert v1.config.stage("pitch_calibration").gain_down == default.config.stage("pitch_calibration").gain_down == 1.3
    assert v1.config.stage("pitch_calibration").gain_up == default.config.stage("pitch_calibration").gain_up == 1.0
    assert v1.config.training_step == default.config.training_step
    convs = [sum(n.op_type == "Conv" for n in onnx.load(str(s.vocoder.path)).graph.node) for s in (default, v1)]
    assert convs[0] < 0.6 * convs[1]  # the default's 1/1/1/012 student keeps 6 of V1's 12 residual blocks
    segments = [{"word": "Printing, in the only sense", "duration": 1.5, "pause_after": 0.2}]
    audio = v1.synthesize_all(segments)
    assert audio.size == default.synthesize_all(segments).size  # one acoustic model: the same frames
    assert audio.size / v1.sample_rate == pytest.approx(1.7, abs=0.08)
    assert 0.005 < float(np.sqrt(np.mean(audio ** 2))) < 0.5
    from baton.pipeline import load_synthesizer

    assert load_synthesizer(None).voice_id == "ljspeech"  # the default: the faster vocoder (run 12)


@pytest.mark.skipif(not (SHIPPED / "voice.json").is_file(), reason="the default voice is not in this checkout")
def test_shipped_voice_is_heard_better_with_its_exemplar_bank():
    """Run 14: the default voice replaces its acoustic model's frames by means of recorded frames (exemplar bank).
    On sentences it never trained on, Whisper tiny.en finds the right words more likely with the bank than
    without it (validation clips: NLL per token 0.81 -> 0.68; docs/training.md). Since run 15 the match also
    prefers bank frames recorded between the same neighbouring phonemes, so the bank carries them."""
    import dataclasses

    from baton.asr import reference_nll

    synth = Synthesizer.load("ljspeech", threads=1)
    assert synth.exemplars is not None and synth.config.stage("exemplars").envelope_bins > 0
    assert synth.config.stage("exemplars").context_weight > 0 and synth.exemplars.left_ids.any()
    assert np.mean(synth.exemplars.left_ids != synth.exemplars.right_ids) > 0.5  # real neighbours, not one filler
    plain = dataclasses.replace(synth, exemplars=None)
    sentences = ["The keeper of the prison kept a careful list of the debtors and their fees.",
                 "A boy was sent to the magistrate for a debt of one penny.",
                 "The rooms were hired out at high rates to the richest prisoners."]

    def nll(voice: Synthesizer) -> float:
        scores = [reference_nll(voice.synthesize_all([{"word": s}]), voice.sample_rate, s) for s in sentences]
        return sum(v * n for v, n in scores) / sum(n for _, n in scores)

    assert nll(synth) < nll(plain)
