"""Grouping aligned words into plan segments, and measuring every plan field per segment.

Segments are phrase-like runs of about one second (BatonVoice's unit), or single words on request.
Phrases come from a small dynamic programme (:func:`_phrases`): segment lengths near ``target_s`` are
cheap, breaks at long pauses are free, breaks at punctuation or short pauses are cheap and breaks
between fluent words are dear, and no segment of several words may exceed ``max_s``.
Punctuation-only tokens (``"--"``) never form a segment of their own: they join the segment before (the
one after, at the start), so every segment has at least one word and the segments reproduce the text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from feature_extract import text as text_mod
from feature_extract.align import Alignment, WordTiming, align
from feature_extract.audio import check_audio
from feature_extract.measure import FIELDS, Tracks, measure_with_tracks
from plan_contract import NUMERIC_FIELDS

# Breaking right after one of these (before the word it introduces) splits a phrase unnaturally.
_LEANING_WORDS = frozenset(
    "a an the of to in on at for from with by into onto upon and or but nor as than that which who whom "
    "whose is was are were be been has have had his her its their my our your this these those".split())
_BREAK_PUNCTUATION = (",", ".", ";", ":", "!", "?", "--", "\u2014", "\u2013", "...", "\u2026", ")")


@dataclass(frozen=True)
class SegmentConfig:
    """Phrase grouping thresholds, all in seconds."""

    target_s: float = 1.0
    """Preferred segment length."""
    max_s: float = 2.0
    """No segment of more than one word may be longer."""
    long_pause_s: float = 0.25
    """A silence at least this long is a free break (and costly to leave inside a segment)."""
    short_pause_s: float = 0.08
    """A silence at least this long is a likely break."""
    punct_break_cost: float = 0.1
    pause_break_cost: float = 0.3
    plain_break_cost: float = 0.6
    """Break costs, in units of the length cost (a segment 100 % off target costs 1)."""
    leaning_break_cost: float = 1.0
    """Extra cost of a break right after an article, preposition, conjunction or auxiliary."""
    unbroken_pause_cost: float = 3.0
    """Cost of a long pause left inside a segment (practically forces a break there)."""


DEFAULT_SEGMENTS = SegmentConfig()


def extract_plan(audio: np.ndarray, sample_rate: int, transcript: str, per_word: bool = False,
                 alignment: Alignment | None = None,
                 config: SegmentConfig = DEFAULT_SEGMENTS) -> list[dict[str, Any]]:
    """Measure the plan a recording realises.

    ``audio``: float32, shape (n_samples,), [-1, 1]; ``sample_rate`` in Hz; ``transcript``: the words
    spoken. ``alignment``: reuse one from :func:`feature_extract.align.align` (it must be of the same
    transcript); aligned here when None. Returns plan segments in the bare-list form: dicts with ``word``
    (the transcript's tokens, verbatim, space-joined) and every numeric plan field (``pitch_mean`` Hz,
    ``pitch_slope`` Hz/s, ``energy_rms`` linear, ``energy_slope`` dB/s, ``spectral_centroid`` Hz,
    ``duration`` s, ``pause_after`` s) as floats, NaN where undefined. ``pause_after`` of the last segment
    is the audio left after its last word. Finite values are clipped into the plan contract's ranges
    (``plan_contract.NUMERIC_FIELDS``), so the result always loads as a plan.
    """
    audio = check_audio(audio, sample_rate)
    if alignment is None:
        alignment = align(audio, sample_rate, transcript)
    elif [w.word for w in alignment.words] != text_mod.tokens(transcript):
        raise ValueError("the alignment passed in is of a different transcript; align this transcript "
                         "or pass alignment=None")
    groups = group_words(alignment.words, per_word=per_word, config=config)
    tracks = Tracks.compute(audio, sample_rate)
    total_s = audio.size / sample_rate
    segments: list[dict[str, Any]] = []
    for index, group in enumerate(groups):
        words = [alignment.words[i] for i in group]
        start_s, end_s = _span(words)
        next_start_s = _span([alignment.words[i] for i in groups[index + 1]])[0] \
            if index + 1 < len(groups) else total_s
        values = measure_with_tracks(audio, sample_rate, tracks, start_s, end_s) if end_s > start_s \
            else {name: math.nan for name in FIELDS}
        values["duration"] = end_s - start_s
        values["pause_after"] = max(0.0, next_start_s - end_s)
        segments.append({"word": " ".join(w.word for w in words), **_clip(values)})
    return segments


def _clip(values: dict[str, float]) -> dict[str, float]:
    """Clip finite values into the plan contract's ranges (NaN stays NaN).

    Measured values beyond them, in practice only the slopes of very short segments (a 30 dB onset inside a
    70 ms word is 430 dB/s), are clipped so that every extracted plan loads."""
    out = {}
    for name, value in values.items():
        low, high = NUMERIC_FIELDS[name].minimum, NUMERIC_FIELDS[name].maximum
        out[name] = float(min(max(value, low), high)) if math.isfinite(value) else math.nan
    return out


def group_words(words: list[WordTiming], per_word: bool = False,
                config: SegmentConfig = DEFAULT_SEGMENTS) -> list[list[int]]:
    """Indices of ``words`` grouped into segments, in order; every index appears exactly once."""
    spoken = [i for i, w in enumerate(words) if w.phones]
    if not spoken:
        raise ValueError("no aligned words to group; the alignment holds only punctuation tokens")
    if per_word:
        groups = [[i] for i in spoken]
    else:
        groups = _phrases(words, spoken, config)
    return _attach_punctuation(groups, len(words))


def _phrases(words: list[WordTiming], spoken: list[int], config: SegmentConfig) -> list[list[int]]:
    """Best segmentation of the spoken words by dynamic programming over break points.

    Cost = sum over segments of ((length - target) / target)^2, plus a cost per break that depends on
    what follows the word before it (long pause 0, punctuation ``punct_break_cost``, short pause
    ``pause_break_cost``, nothing ``plain_break_cost``), plus ``unbroken_pause_cost`` for every long pause
    left inside a segment. Segments over ``max_s`` (with more than one word) are not allowed.
    """
    n = len(spoken)
    starts = [words[i].start_s for i in spoken]
    ends = [words[i].end_s for i in spoken]
    after = [_break_cost(words, spoken, k, config) for k in range(n)]  # cost of a break after word k
    long_gap = [k + 1 < n and starts[k + 1] - ends[k] >= config.long_pause_s for k in range(n)]
    best = [0.0] + [math.inf] * n  # best[j]: cost of segmenting words[:j]
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        inner_pauses = 0
        for i in range(j - 1, -1, -1):  # segment = words i .. j-1
            if i < j - 1 and long_gap[i]:
                inner_pauses += 1
            length_s = ends[j - 1] - starts[i]
            if length_s > config.max_s and i < j - 1:
                break
            cost = (best[i] + ((length_s - config.target_s) / config.target_s) ** 2
                    + inner_pauses * config.unbroken_pause_cost + (after[j - 1] if j < n else 0.0))
            if cost < best[j]:
                best[j], back[j] = cost, i
    groups: list[list[int]] = []
    j = n
    while j > 0:
        groups.append(spoken[back[j]: j])
        j = back[j]
    return groups[::-1]


def _break_cost(words: list[WordTiming], spoken: list[int], k: int, config: SegmentConfig) -> float:
    if k + 1 >= len(spoken):
        return 0.0
    gap_s = words[spoken[k + 1]].start_s - words[spoken[k]].end_s
    if gap_s >= config.long_pause_s:
        return 0.0
    tokens = " ".join(w.word for w in words[spoken[k]: spoken[k + 1]])  # the word plus punctuation tokens
    if tokens.rstrip("\"'\u201d\u2019").endswith(_BREAK_PUNCTUATION):
        return config.punct_break_cost
    leaning = words[spoken[k]].word.lower().strip("\"'()[]") in _LEANING_WORDS
    extra = config.leaning_break_cost if leaning else 0.0
    if gap_s >= config.short_pause_s:
        return config.pause_break_cost + extra
    return config.plain_break_cost + extra


def _attach_punctuation(groups: list[list[int]], n_words: int) -> list[list[int]]:
    """Add the punctuation-only tokens (indices missing from ``groups``) to a neighbouring group."""
    owner = {i: g for g, group in enumerate(groups) for i in group}
    for i in range(n_words):
        if i not in owner:
            owner[i] = owner[i - 1] if i > 0 and (i - 1) in owner else None
    result: list[list[int]] = [[] for _ in groups]
    for i in range(n_words):
        result[owner[i] if owner[i] is not None else 0].append(i)
    return result


def _span(words: list[WordTiming]) -> tuple[float, float]:
    spoken = [w for w in words if w.phones] or words
    return spoken[0].start_s, spoken[-1].end_s
