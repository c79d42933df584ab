"""Copying a recording's prosody: the checked path from an audio file + transcript to plan segments.

Forced alignment always places every word somewhere, even in pure silence or in a recording of other words
(pocketsphinx with wide beams reaches the end of almost any transcript), so a plan measured from a failed
recording looks like any other. :func:`plan_from_recording` therefore checks, before measuring, that

1. the recording holds voiced speech: at least :data:`MIN_VOICED_S` of frames where Praat finds a pitch
   (silence, noise and whispering have none), and
2. the aligned words cover the speech: at least :data:`MIN_VOICED_COVERAGE` of the voiced frames fall inside
   the transcript's words. When the transcript is much shorter than what was said, the aligner squeezes its
   words into a small part of the recording and labels the rest silence. With espeak-ng speech (tests):
   matching transcripts cover 0.90-1.00 of the voiced frames; other words, half of the words or a transcript
   missing the sentence's end, 0.12-0.54;
3. the words are not crammed: when a transcript of about the right length holds other words, the aligner
   spreads it over the speech but squeezes many phones to its 30 ms minimum (3 frames) and stretches others.
   A recording is refused when at least :data:`MAX_MIN_LENGTH_PHONES` of its phones have the minimum length
   while its mean phone is at least :data:`NOT_FAST_PHONE_S` long (fast speech has many short phones
   honestly). LJSpeech clips, ``benchmarks/from_audio_check.py``: own transcripts 0.03-0.13 of phones at
   the minimum, another clip's transcript of similar length 0.19-0.54.

These are checks against gross failures, not a guarantee: a wrong transcript that happens to fit (similar
words, similar length) still passes.

Every error names the file and is an :class:`feature_extract.align.AlignmentError` (one line, cause and fix).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from feature_extract.align import Alignment, AlignmentError, align
from feature_extract.audio import load_audio
from feature_extract.measure import Tracks

MIN_VOICED_S = 0.05
"""Least voiced time [s] (frames with a pitch) that counts as speech: a single short syllable has more."""
MIN_VOICED_COVERAGE = 0.6
"""Least fraction of the recording's voiced frames that must lie inside the aligned words."""
MIN_PHONE_S = 0.03
"""The aligner's shortest phone: 3 HMM states of one 10 ms frame each."""
MAX_MIN_LENGTH_PHONES = 0.25
"""Most fraction of phones at MIN_PHONE_S that an alignment of speech that is not fast may have."""
NOT_FAST_PHONE_S = 0.05
"""Mean phone length [s] from which speech is not fast (espeak-ng at 175 wpm: 0.082 s, 260 wpm: 0.054 s, 350
wpm: 0.042 s; wrong transcripts of LJSpeech clips: 0.059-0.110 s)."""
MIN_PHONES_FOR_CRAMMING = 10
"""Fewer phones than this are too few to judge cramming."""


class NoSpeechError(AlignmentError):
    """A recording with no voiced speech in it (silence, noise, whispering)."""


@dataclass(frozen=True)
class SpeechCheck:
    """What :func:`check_speech` measured (NaN where it was not measured)."""

    voiced_s: float
    """Voiced time in the whole recording [s]."""
    coverage: float
    """Fraction of the voiced frames that lie inside the aligned words."""
    min_length_phones: float = float("nan")
    """Fraction of the aligned phones that have the aligner's minimum length, MIN_PHONE_S."""
    mean_phone_s: float = float("nan")
    """Mean length of the aligned phones [s]."""


def check_speech(audio: np.ndarray, sample_rate: int, alignment: Alignment | None,
                 tracks: Tracks | None = None) -> SpeechCheck:
    """Check that ``audio`` (float32 (n,), [-1, 1]) holds voiced speech and that ``alignment`` covers it.

    Raises :class:`NoSpeechError` when there is under :data:`MIN_VOICED_S` of voiced speech, and
    :class:`AlignmentError` when under :data:`MIN_VOICED_COVERAGE` of it lies inside the aligned words.
    ``alignment`` None checks only the first (so that it can run before aligning); ``tracks``: Praat tracks
    of ``audio`` when already computed.
    """
    tracks = tracks or Tracks.compute(audio, sample_rate)
    voiced = np.isfinite(tracks.f0_hz)
    hop_s = float(np.median(np.diff(tracks.pitch_times_s))) if tracks.pitch_times_s.size > 1 else 0.01
    voiced_s = float(voiced.sum()) * hop_s
    if voiced_s < MIN_VOICED_S:
        level = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0
        level_text = f"{20 * np.log10(level):.0f} dBFS" if level > 0 else "digital silence"
        raise NoSpeechError(
            f"no speech found: {voiced_s:.2f} s of voiced sound (Praat finds no pitch) in "
            f"{audio.size / sample_rate:.2f} s of audio at {level_text} (silence, noise or whispering); use a "
            "recording of the transcript's words spoken aloud")
    if alignment is None:
        return SpeechCheck(voiced_s=voiced_s, coverage=float("nan"))
    inside = np.zeros(voiced.shape, dtype=bool)
    for word in alignment.words:
        if word.phones:
            inside |= (tracks.pitch_times_s >= word.start_s) & (tracks.pitch_times_s < word.end_s)
    coverage = float((voiced & inside).sum() / voiced.sum())
    if coverage < MIN_VOICED_COVERAGE:
        raise AlignmentError(
            f"alignment failed: the transcript's words cover only {coverage:.0%} of the {voiced_s:.2f} s of voiced "
            f"speech (need {MIN_VOICED_COVERAGE:.0%}); the recording says other or more words than the "
            "transcript: give the exact words spoken, or trim the recording to them")
    lengths_s = np.array([p.end_s - p.start_s for w in alignment.words for p in w.phones])
    squeezed = float(np.mean(lengths_s <= MIN_PHONE_S + 1e-3)) if lengths_s.size else float("nan")
    mean_phone_s = float(np.mean(lengths_s)) if lengths_s.size else float("nan")
    if (lengths_s.size >= MIN_PHONES_FOR_CRAMMING and squeezed >= MAX_MIN_LENGTH_PHONES
            and mean_phone_s >= NOT_FAST_PHONE_S):
        raise AlignmentError(
            f"alignment failed: {squeezed:.0%} of the transcript's phones are squeezed to the aligner's "
            f"{MIN_PHONE_S * 1000:.0f} ms minimum in speech that is not fast (mean phone "
            f"{mean_phone_s * 1000:.0f} ms); the recording says other words than the transcript: give the exact "
            "words spoken")
    return SpeechCheck(voiced_s=voiced_s, coverage=coverage, min_length_phones=squeezed, mean_phone_s=mean_phone_s)


def plan_from_recording(path: str | Path, transcript: str, per_word: bool = False) -> list[dict[str, Any]]:
    """The plan segments a recording realises (:func:`feature_extract.segment.extract_plan`), checked.

    ``path``: an audio file libsndfile reads; ``transcript``: the words spoken. Returns the bare-list plan
    segments (NaN where a value is undefined). Raises FileNotFoundError / AudioError for a file that cannot be
    read, and :class:`AlignmentError` (or :class:`NoSpeechError`) naming ``path`` when the words cannot be
    aligned, the recording holds no speech, or the alignment does not cover it (:func:`check_speech`).
    """
    from feature_extract.segment import extract_plan

    audio, sample_rate = load_audio(path)
    tracks = Tracks.compute(audio, sample_rate)
    try:
        check_speech(audio, sample_rate, None, tracks)  # no speech: say so, whatever the aligner would do
        alignment = align(audio, sample_rate, transcript)
        check_speech(audio, sample_rate, alignment, tracks)
    except AlignmentError as err:
        raise type(err)(f"recording '{path}': {' '.join(str(err).split())}") from None
    return extract_plan(audio, sample_rate, transcript, per_word=per_word, alignment=alignment)


__all__ = ["MIN_VOICED_S", "MIN_VOICED_COVERAGE", "NoSpeechError", "SpeechCheck", "check_speech",
           "plan_from_recording"]
