"""feature_extract.align / segment / text: real pocketsphinx alignment of speech made at test time (espeak-ng),
plan extraction, transcript normalisation, and error paths."""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pytest

from baton.plan import NUMERIC_FIELDS, load_plan, text_words
from feature_extract import extract_plan
from feature_extract.align import Alignment, AlignmentError, PhoneTiming, WordTiming, align
from feature_extract.audio import load_audio, resample
from feature_extract import segment as segment_module
from feature_extract.segment import group_words
from feature_extract.text import ARPABET, letter_pronunciation, number_words, spoken_words

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (apt install espeak-ng); "
                                                          "it synthesises the speech these tests align")

SENTENCE = "The quick brown fox jumps over the lazy dog. Then, in 1998, Zorblat the wizard ran away!"


def espeak(path, text, voice="en"):
    subprocess.run([ESPEAK, "-v", voice, "-w", str(path), text], check=True, capture_output=True, timeout=60)
    return load_audio(path)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed (apt install espeak-ng); it synthesises the speech to align")
    return espeak(tmp_path_factory.mktemp("speech") / "sentence.wav", SENTENCE)


@pytest.fixture(scope="module")
def alignment(speech):
    audio, sample_rate = speech
    return align(audio, sample_rate, SENTENCE)


def speech_bounds_s(audio, sample_rate, threshold_db=-35.0):
    """First and last time the 10 ms frame level is within threshold_db of the loudest frame."""
    hop = sample_rate // 100
    frames = audio[: audio.size // hop * hop].reshape(-1, hop)
    level_db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(level_db > level_db.max() + threshold_db)
    return loud[0] * hop / sample_rate, (loud[-1] + 1) * hop / sample_rate


@needs_espeak
def test_every_token_present_in_order_with_sane_times(speech, alignment):
    audio, sample_rate = speech
    assert isinstance(alignment, Alignment)
    assert [w.word for w in alignment.words] == SENTENCE.split()
    assert alignment.duration_s == pytest.approx(audio.size / sample_rate)
    previous_end = 0.0
    for word in alignment.words:
        assert isinstance(word, WordTiming) and word.phones, word
        assert previous_end - 1e-9 <= word.start_s < word.end_s <= alignment.duration_s + 1e-9
        assert word.end_s - word.start_s >= 0.03
        assert word.phones[0].start_s == pytest.approx(word.start_s)
        assert word.phones[-1].end_s == pytest.approx(word.end_s)
        for phone in word.phones:
            assert isinstance(phone, PhoneTiming) and phone.phone in ARPABET
            assert phone.end_s > phone.start_s
        previous_end = word.end_s
    # the words cover the speech: alignment and signal energy agree on where speech starts and ends
    onset_s, offset_s = speech_bounds_s(audio, sample_rate)
    assert abs(alignment.words[0].start_s - onset_s) < 0.12
    assert abs(alignment.words[-1].end_s - offset_s) < 0.2


@needs_espeak
def test_numbers_and_unknown_words_are_aligned_under_their_own_token(alignment):
    by_word = {w.word: w for w in alignment.words}
    year = [p.phone for p in by_word["1998,"].phones]
    assert len(year) >= 10  # "nineteen ninety eight"
    assert year[:2] == ["N", "AY"]
    assert [p.phone for p in by_word["Zorblat"].phones] == letter_pronunciation("zorblat").split()
    # the sentence-final pause after "dog." shows up as a gap before "Then,"
    assert by_word["Then,"].start_s - by_word["dog."].end_s > 0.1


@needs_espeak
def test_alignment_does_not_depend_on_sample_rate(speech, alignment):
    audio, sample_rate = speech
    other = align(resample(audio, sample_rate, 16000), 16000, SENTENCE)
    starts = np.array([w.start_s for w in alignment.words])
    other_starts = np.array([w.start_s for w in other.words])
    assert np.median(np.abs(starts - other_starts)) <= 0.02


@needs_espeak
def test_extract_plan_segments_reproduce_text_and_load_as_a_plan(speech, alignment):
    audio, sample_rate = speech
    segments = extract_plan(audio, sample_rate, SENTENCE, alignment=alignment)
    assert " ".join(s["word"] for s in segments) == SENTENCE
    assert 3 <= len(segments) <= 10
    for segment in segments:
        assert set(segment) == {"word", *NUMERIC_FIELDS}
        assert 0.03 <= segment["duration"] <= 2.5 or len(segment["word"].split()) == 1
        assert segment["pause_after"] >= 0
    voiced = [s["pitch_mean"] for s in segments if not math.isnan(s["pitch_mean"])]
    assert voiced and all(60 < f0 < 300 for f0 in voiced)  # espeak's default male voice
    total_s = sum(s["duration"] + s["pause_after"] for s in segments)
    assert total_s == pytest.approx(alignment.duration_s - alignment.words[0].start_s, abs=0.01)
    plan = load_plan(segments, text=SENTENCE)
    assert [seg.word for seg in plan.segments] == [s["word"] for s in segments]
    assert "dog." in [s["word"].split()[-1] for s in segments]  # sentence end is a segment boundary


@needs_espeak
def test_extract_plan_per_word(speech, alignment):
    audio, sample_rate = speech
    segments = extract_plan(audio, sample_rate, SENTENCE, per_word=True, alignment=alignment)
    assert [s["word"] for s in segments] == SENTENCE.split()
    assert text_words(" ".join(s["word"] for s in segments)) == text_words(SENTENCE)
    load_plan(segments, text=SENTENCE)


@needs_espeak
def test_extract_plan_aligns_when_no_alignment_is_given(tmp_path):
    audio, sample_rate = espeak(tmp_path / "short.wav", "Hello -- world")
    segments = extract_plan(audio, sample_rate, "Hello -- world", per_word=True)
    assert [s["word"] for s in segments] == ["Hello --", "world"]  # punctuation joins the word before


def test_extract_plan_rejects_an_alignment_of_another_text():
    words = [WordTiming("hello", 0.1, 0.4, [PhoneTiming("HH", 0.1, 0.4)])]
    with pytest.raises(ValueError, match="different transcript"):
        extract_plan(np.zeros(16000, np.float32), 16000, "goodbye", alignment=Alignment(words, 1.0))


def test_group_words_phrases_break_at_pauses_and_punctuation():
    def word(text, start_s, end_s):
        return WordTiming(text, start_s, end_s, [PhoneTiming("AH", start_s, end_s)])

    words = [word("one", 0.0, 0.3), word("two", 0.3, 0.6), word("three,", 0.6, 1.0), word("four", 1.0, 1.3),
             word("five", 1.3, 1.6), word("six", 1.6, 1.9), word("seven", 2.5, 2.8), word("eight.", 2.8, 3.2)]
    groups = group_words(words)
    assert groups == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert group_words(words, per_word=True) == [[i] for i in range(8)]


def test_measured_values_are_clipped_into_the_plan_contract():
    """Extraction clips into the contract's own ranges (no copy of them): every extracted plan loads."""
    assert segment_module.NUMERIC_FIELDS is NUMERIC_FIELDS
    below = {name: spec.minimum - 1.0 for name, spec in NUMERIC_FIELDS.items()}
    above = {name: spec.maximum + 1.0 for name, spec in NUMERIC_FIELDS.items()}
    assert segment_module._clip(below) == {name: spec.minimum for name, spec in NUMERIC_FIELDS.items()}
    assert segment_module._clip(above) == {name: spec.maximum for name, spec in NUMERIC_FIELDS.items()}
    assert all(math.isnan(v) for v in segment_module._clip({name: math.nan for name in NUMERIC_FIELDS}).values())
    load_plan([{"word": "hi", **segment_module._clip(above)}])


@pytest.mark.parametrize("token, words", [
    ("1845,", ["eighteen", "forty", "five"]), ("1,000", ["one", "thousand"]), ("22nd", ["twenty", "second"]),
    ("$5", ["five", "dollars"]), ("3.5", ["three", "point", "five"]), ("Mr.", ["mister"]),
    ("U.S.", ["u", "s"]), ("well-known", ["well", "known"]), ("--", []), ('"Don\u2019t!"', ["don't"]),
    ("2005", ["two", "thousand", "five"]), ("1900", ["nineteen", "hundred"]), ("1880s", ["eighteen", "eighties"]),
])
def test_spoken_words(token, words):
    assert spoken_words(token) == words


def test_number_words_large_values():
    assert number_words("1234567") == ("one million two hundred thirty four thousand five hundred sixty "
                                       "seven").split()


def test_letter_pronunciation_uses_arpabet_only():
    for word in ("zorblat", "xkcd", "schwarzenegger", "q", "knightley"):
        phones = letter_pronunciation(word).split()
        assert phones and set(phones) <= ARPABET, word
    with pytest.raises(ValueError, match="no letters"):
        letter_pronunciation("123")


@pytest.mark.parametrize("transcript, message", [
    ("", "transcript is empty"), ("   ", "transcript is empty"), ("-- ...", "no speakable words"),
])
def test_align_rejects_bad_transcripts(transcript, message):
    with pytest.raises(AlignmentError, match=message):
        align(np.zeros(16000, np.float32), 16000, transcript)


def test_align_rejects_audio_too_short():
    with pytest.raises(AlignmentError, match="too short"):
        align(np.zeros(160, np.float32), 16000, "hello world")


def test_align_reports_a_mismatch_clearly():
    noise = (0.01 * np.random.default_rng(0).standard_normal(4000)).astype(np.float32)  # 0.25 s of noise
    long_text = " ".join(["extraordinarily"] * 12)
    with pytest.raises(AlignmentError, match="did not reach the end"):
        align(noise, 16000, long_text)


@needs_espeak
def test_an_alignment_does_not_depend_on_the_audio_aligned_before(speech):
    """The cached decoder's front-end adapts to what it hears; each alignment must start afresh. Found when a
    loud, high-pitched render aligned first made a 0.27 s pause in this sentence vanish."""
    from baton import Pipeline

    audio, sample_rate = speech
    first = align(audio, sample_rate, SENTENCE)
    text = "I talked to my sister today."
    loud = Pipeline.load().speak(text, "extremely happily")
    align(loud.audio, loud.sample_rate, text)
    again = align(audio, sample_rate, SENTENCE)
    assert [(w.start_s, w.end_s) for w in again.words] == [(w.start_s, w.end_s) for w in first.words]
