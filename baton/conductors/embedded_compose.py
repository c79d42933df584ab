"""Text-aware plan composition for the embedded conductor, plus the plan edits the input syntax reuses.

Segmentation: phrases end at punctuation (``, ; : — . ! ? …``); a phrase longer than ``max_segment_s`` at
the planned rate is cut into pieces of about ``target_segment_s``, preferably before a function word; an
emphasised word becomes its own segment. Each segment's numbers are the baseline moved by the intent's
effect plus sentence-level intonation (declination, final fall, yes/no-question rise), phrase-final
lengthening and pauses, ramps across the utterance and emphasis. All rules and constants are in
:class:`ComposeConfig`; the emotion numbers come from the measured prosody table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence

from baton.baseline import VoiceBaseline
from baton.plan import NUMERIC_FIELDS, PITCH_RANGE, Segment, text_words
from baton.conductors.embedded_profiles import NEUTRAL, NEUTRAL_SEGMENT_RANGE_ST, Profile
from baton.prosody_table import Effect
from tts_model.text.textnorm import context, normalize_token

_LN2_12 = math.log(2.0) / 12.0  # d(Hz)/d(st) per Hz


@dataclass(frozen=True)
class ComposeConfig:
    """Intonation and timing rules (not measured; conventional values, see docs/conductor.md)."""

    target_segment_s: float = 1.0
    """Preferred segment length when a phrase must be cut."""
    max_segment_s: float = 1.5
    """Phrases planned longer than this are cut."""
    declination_st: float = 1.5
    """Pitch drop from the first to the last segment of a sentence [st] (scaled by the pitch range)."""
    final_fall_st_per_s: float = -4.0
    """Pitch slope of a statement's last segment [st/s]."""
    question_rise_st_per_s: float = 12.0
    """Pitch slope of a yes/no question's last segment [st/s]."""
    question_pitch_st: float = 1.5
    """Extra mean pitch of a yes/no question's last segment [st]."""
    final_lengthening_syllables: float = 0.6
    """Extra syllable-durations added to a phrase-final segment."""
    final_energy_slope_db_per_s: float = -8.0
    """Intensity slope of a sentence's last segment [dB/s]."""
    comma_pause: float = 1.0
    """Pause after a phrase (comma, semicolon, colon, dash), in units of the baseline's pause_s."""
    sentence_pause: float = 2.0
    """Pause after a sentence inside the text, in units of the baseline's pause_s."""
    emphasis_pitch_st: float = 3.0
    emphasis_energy_db: float = 4.0
    emphasis_duration: float = 1.2
    """Duration multiplier of an emphasised word."""
    trend_span_s: float = 2.0
    """The span over which the table's utterance slopes move the segments' levels [s]: about the voiced length
    of a RAVDESS statement ("Kids are talking by the door"), where the slopes were measured."""
    max_pitch_st: float = 12.0
    """Cap on the total pitch shift from the baseline [st] (either direction)."""
    max_energy_db: float = 24.0
    """Cap on the energy increase [dB]: the renderable limit (baton.pipeline.RenderLimits; the shipped voices
    render neutral 10 dB under their recordings and limit peaks). RAVDESS strong anger measures +21.6 dB."""
    min_energy_db: float = -30.0
    segment_range_st: float = NEUTRAL_SEGMENT_RANGE_ST
    """A neutral segment's own F0 spread (10th-90th percentile) [st], which an emotion's range change moves
    (the shipped voice's, measured: embedded_profiles.NEUTRAL_SEGMENT_RANGE_ST)."""


DEFAULT_COMPOSE = ComposeConfig()
_PHRASE_END = re.compile(r"(?:[,;:\u2014\u2013)]+|^-+|--)[\"'\u201d\u2019]*$")
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)]*$")
_FUNCTION_WORDS = frozenset("and but or so because that which who when while if than then to of in on at for "
                            "with from by as the a an into about after before".split())
_WH_WORDS = frozenset("who what where when why how which whose whom".split())


def _ends_sentence(tokens: list[str], index: int) -> bool:
    """Whether token ``index`` closes a sentence: its spoken form (the front-end's normalisation, which reads
    the tokens around it) ends in . ! ? or …. So "Mr.", an initial ("F. Kennedy"), "No. 5" and "U.S. army" go on,
    as the front-end reads them without a pause, while "He said no." ends."""
    return bool(_SENTENCE_END.search(normalize_token(*context(tokens, index))))


def _spelling_syllables(token: str) -> float:
    """Syllables guessed from the spelling (vowel groups; digits ~1.5 each), for tokens the front-end rejects."""
    word = re.sub(r"[^a-z0-9']", "", token.lower())
    if not word:
        return 0.0
    digits = sum(c.isdigit() for c in word)
    letters = re.sub(r"[0-9']", "", word)
    count = len(re.findall(r"[aeiouy]+", letters))
    if letters.endswith("e") and not letters.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    total = max(1.0 if letters else 0.0, float(count)) + 1.5 * digits
    return total or 0.5  # an apostrophe-only "word" still takes a little time


@lru_cache(maxsize=1)
def _frontend():
    from tts_model.text.frontend import Frontend

    return Frontend()


@lru_cache(maxsize=8192)
def syllables(token: str) -> float:
    """Syllables of one whitespace token as a voice speaks it: the vowel phonemes of its normalised, phonemised
    form ("Mr." 2, "1810" 3, "£5" 2), the same count the voice's measured speaking rate divides by
    (recipes/prepare_batontts.py). Tokens the front-end cannot speak fall back to a spelling guess; a token
    without words counts 0."""
    from tts_model.text.frontend import FrontendError

    if not text_words(token):
        return 0.0
    try:
        phonemes = _frontend().phonemize(token).phonemes
    except FrontendError:
        return _spelling_syllables(token)
    return float(max(1, sum(p[-1:].isdigit() for p in phonemes)))


@dataclass(frozen=True)
class Piece:
    """A planned segment before numbers: its tokens and its place in the text."""

    tokens: tuple[str, ...]
    syllables: float
    sentence: int
    phrase_final: bool
    sentence_final: bool
    emphasised: bool
    question: bool
    break_after_s: float = 0.0
    """A pause asked for after this piece's last word ("hold a beat after 'door'") [s]."""


def segment_text(text: str, emphasis: set[int], rate_sps: float,
                 config: ComposeConfig = DEFAULT_COMPOSE, breaks: dict[int, float] | None = None) -> list[Piece]:
    """Cut ``text`` into pieces. ``emphasis``: word positions (in ``text_words`` order) to isolate;
    ``rate_sps``: planned syllables per second (decides where long phrases are cut); ``breaks``: word
    position -> pause [s] asked for after that word (a piece ends there)."""
    breaks = breaks or {}
    tokens = text.split()
    word_index, positions = 0, []
    for token in tokens:  # map each token to its word position (None for punctuation-only tokens)
        positions.append(word_index if text_words(token) else None)
        word_index += len(text_words(token))
    sentences: list[list[int]] = [[]]
    for i in range(len(tokens)):
        sentences[-1].append(i)
        if i < len(tokens) - 1 and _ends_sentence(tokens, i):
            sentences.append([])
    pieces: list[Piece] = []
    for s_index, sentence in enumerate(sentences):
        if not sentence:
            continue
        last = tokens[sentence[-1]]
        first_word = text_words(tokens[sentence[0]])[:1]
        question = last.rstrip("\"')\u201d\u2019").endswith("?") and not (first_word and first_word[0] in _WH_WORDS)
        phrases, current = [], []
        for i in sentence:
            current.append(i)
            if _PHRASE_END.search(tokens[i]) or i == sentence[-1]:
                phrases.append(current)
                current = []
        for p_index, phrase in enumerate(phrases):
            groups = _cut(phrase, tokens, positions, emphasis, rate_sps, config, breaks)
            for g_index, group in enumerate(groups):
                ends = [positions[i] for i in group if positions[i] is not None]
                phrase_final = g_index == len(groups) - 1
                sentence_final = phrase_final and p_index == len(phrases) - 1
                pieces.append(Piece(
                    tokens=tuple(tokens[i] for i in group),
                    syllables=sum(syllables(tokens[i]) for i in group),
                    sentence=s_index, phrase_final=phrase_final, sentence_final=sentence_final,
                    emphasised=any(positions[i] is not None and positions[i] in emphasis for i in group),
                    question=question and sentence_final,
                    break_after_s=breaks.get(ends[-1], 0.0) if ends else 0.0))
    # A punctuation-only leading piece cannot stand alone: merge such pieces into their neighbour.
    merged: list[Piece] = []
    for piece in pieces:
        if merged and not text_words(" ".join(piece.tokens)):
            prev = merged[-1]
            merged[-1] = replace(prev, tokens=prev.tokens + piece.tokens, phrase_final=piece.phrase_final,
                                 sentence_final=piece.sentence_final, question=prev.question or piece.question,
                                 break_after_s=max(prev.break_after_s, piece.break_after_s))
        elif merged and not text_words(" ".join(merged[-1].tokens)):
            prev = merged.pop()
            merged.append(replace(piece, tokens=prev.tokens + piece.tokens))
        else:
            merged.append(piece)
    return merged


def _cut(phrase: list[int], tokens: list[str], positions: list[int | None], emphasis: set[int],
         rate_sps: float, config: ComposeConfig, breaks: dict[int, float]) -> list[list[int]]:
    """Split one phrase (token indices) at emphasised words and after words with a pause asked for, and,
    if long, into ~target-length groups."""
    groups: list[list[int]] = [[]]
    for i in phrase:
        word_count = len(text_words(tokens[i]))
        last_word = None if positions[i] is None else positions[i] + word_count - 1
        if positions[i] is not None and positions[i] in emphasis:
            if groups[-1]:
                groups.append([])
            groups[-1].append(i)
            groups.append([])
        else:
            groups[-1].append(i)
            if last_word is not None and last_word in breaks:
                groups.append([])
    groups = [g for g in groups if g]
    out: list[list[int]] = []
    for group in groups:
        out.extend(_split_long(group, tokens, rate_sps, config))
    return out


def _split_long(group: list[int], tokens: list[str], rate_sps: float, config: ComposeConfig) -> list[list[int]]:
    durations = [syllables(tokens[i]) / rate_sps for i in group]
    if sum(durations) <= config.max_segment_s or len(group) < 2:
        return [group]
    best, best_cost, elapsed = 1, math.inf, 0.0
    for cut in range(1, len(group)):
        elapsed += durations[cut - 1]
        rest = sum(durations[cut:])
        cost = abs(elapsed - config.target_segment_s) + (0.0 if rest >= 0.4 else 1.0)
        if text_words(tokens[group[cut]])[:1] and text_words(tokens[group[cut]])[0] in _FUNCTION_WORDS:
            cost -= 0.25
        if cost < best_cost:
            best, best_cost = cut, cost
    return [group[:best], *_split_long(group[best:], tokens, rate_sps, config)]


def compose(pieces: Sequence[Piece], effect: Effect, baseline: VoiceBaseline, *, profile: Profile = NEUTRAL,
            range_scale: float = 1.0, energy_ramp_db: float = 0.0, end_rate_ratio: float = 1.0,
            config: ComposeConfig = DEFAULT_COMPOSE) -> list[Segment]:
    """Numbers for every piece: baseline moved by ``effect`` plus intonation, timing, ramps and emphasis, shaped
    by the emotion's ``profile`` (contour, pauses, voice quality). ``range_scale`` < 1 (monotone) shrinks every
    pitch movement: declination, contours, the table's slope and the within-segment range."""
    rate_sps = baseline.speaking_rate_sps * effect.rate_ratio
    spread = max(0.2, range_scale * (1.0 + effect.range_st / max(baseline.pitch_range_st, 1.0) / 2.0))
    n = len(pieces)
    by_sentence: dict[int, list[int]] = {}
    for i, piece in enumerate(pieces):
        by_sentence.setdefault(piece.sentence, []).append(i)
    total_s = sum(p.syllables for p in pieces) / rate_sps or 1.0
    # The table's slopes are utterance-level changes (a line fitted over the whole RAVDESS clip), so they also
    # move each segment's level along the utterance, not only its own slope: offset of each segment's centre
    # from the utterance's middle [s], at the planned rate, compressed so that the whole movement is what the
    # slope gives over a RAVDESS clip (config.trend_span_s), however long the text.
    squeeze = min(1.0, config.trend_span_s / total_s)
    # The trend is kept whole inside the pitch cap, as the energy ramp below is: a high emotion's level is
    # lowered by up to half of the trend's movement first, so that the top of the utterance, not its slope,
    # meets the cap.
    half_trend_st = abs(effect.slope_st_per_s * range_scale) * squeeze * total_s / 2.0
    level_st = _clip(effect.pitch_st, -config.max_pitch_st + half_trend_st, config.max_pitch_st - half_trend_st) \
        if half_trend_st < config.max_pitch_st else 0.0
    centres_s = [squeeze * (sum(p.syllables for p in pieces[:i]) + 0.5 * piece.syllables) / rate_sps
                 for i, piece in enumerate(pieces)]
    segments = []
    for i, piece in enumerate(pieces):
        trend_s = centres_s[i] - 0.5 * squeeze * total_s
        where = i / (n - 1) if n > 1 else 1.0  # 0 at the first segment, 1 at the last
        members = by_sentence[piece.sentence]
        in_sentence = members.index(i) / (len(members) - 1) if len(members) > 1 else 0.5
        local_rate = rate_sps * end_rate_ratio ** where
        pitch_st = level_st + spread * config.declination_st * (0.5 - in_sentence) \
            + effect.slope_st_per_s * range_scale * trend_s
        slope_st = effect.slope_st_per_s * range_scale + spread * (-config.declination_st / max(total_s, 0.5))
        # the ramp is kept whole inside the caps: a loud emotion is lowered by up to half of it first
        half_ramp = abs(energy_ramp_db) / 2.0
        energy_db = _clip(effect.energy_db, config.min_energy_db + half_ramp, config.max_energy_db - half_ramp) \
            + energy_ramp_db * (where - 0.5) + effect.energy_slope_db_per_s * trend_s
        energy_slope = effect.energy_slope_db_per_s + energy_ramp_db / total_s
        syll = piece.syllables + (config.final_lengthening_syllables if piece.phrase_final else 0.0)
        duration = max(syll, 0.5) / local_rate
        if piece.question:
            pitch_st += config.question_pitch_st * spread
            slope_st = config.question_rise_st_per_s * spread + effect.slope_st_per_s * range_scale
        elif piece.sentence_final:
            slope_st = config.final_fall_st_per_s * spread + \
                (profile.final_slope_st_per_s + effect.slope_st_per_s) * range_scale
        if piece.sentence_final:
            energy_slope += config.final_energy_slope_db_per_s
        emphasis: tuple[str, ...] = ()
        if piece.emphasised:
            pitch_st += config.emphasis_pitch_st * max(spread, 0.5) + profile.emphasis_pitch_st * range_scale
            slope_st += profile.emphasis_slope_st_per_s * range_scale
            energy_db += config.emphasis_energy_db
            duration *= config.emphasis_duration
            emphasis = tuple(t for t in piece.tokens if text_words(t))
        pause = None
        if i < n - 1:
            base = config.sentence_pause if piece.sentence_final else config.comma_pause if piece.phrase_final else 0
            pause = base * baseline.pause_s * profile.pause_scale / \
                min(max(effect.rate_ratio * end_rate_ratio ** where, 0.5), 2.0)
            pause = max(pause, piece.break_after_s)
        pitch_st = _clip(pitch_st, -config.max_pitch_st, config.max_pitch_st)
        pitch_hz = baseline.pitch_hz(pitch_st)
        pitch_range = None
        if effect.range_st or range_scale != 1.0:  # neutral: the voice's own within-segment range
            own = max(0.0, config.segment_range_st + effect.range_st) * range_scale
            pitch_range = max(own, 0.8 * abs(slope_st) * duration)  # a slope spans ~80 % of its own movement
        energy_db = _clip(energy_db, config.min_energy_db, config.max_energy_db)
        segments.append(_segment(
            word=" ".join(piece.tokens),
            pitch_mean=pitch_hz, pitch_slope=slope_st * pitch_hz * _LN2_12,
            energy_rms=baseline.rms(energy_db), energy_slope=energy_slope,
            spectral_centroid=baseline.centroid_hz(2.0 ** (effect.centroid_st / 12.0)),
            duration=duration, pause_after=pause, emphasis=emphasis, pitch_range=pitch_range,
            voice_quality=None if profile.voice_quality == "modal" else profile.voice_quality))
    return segments


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _segment(**values) -> Segment:
    """A Segment with every number clipped into the plan's valid range."""
    for name, spec in NUMERIC_FIELDS.items():
        if values.get(name) is not None:
            values[name] = _clip(float(values[name]), spec.minimum, spec.maximum)
    if values.get("pitch_range") is not None:
        values["pitch_range"] = _clip(float(values["pitch_range"]), PITCH_RANGE.minimum, PITCH_RANGE.maximum)
    return Segment(**values)


# --- edits shared with baton.syntax.compose (they work on any conductor's segments) -------------------
def emphasise(segments: Sequence[Segment], positions: Sequence[int], baseline: VoiceBaseline,
              config: ComposeConfig = DEFAULT_COMPOSE) -> list[Segment]:
    """Isolate each emphasised word (positions in the segments' word order) as its own segment and raise
    its pitch, energy and duration. Fields the conductor left empty start from the baseline."""
    wanted = set(positions)
    out: list[Segment] = []
    position = 0
    for seg in segments:
        tokens = seg.word.split()
        token_pos, groups, current = position, [], []
        for token in tokens:
            count = len(text_words(token))
            hit = count and any(p in wanted for p in range(token_pos, token_pos + count))
            if not count and groups and not current:
                groups[-1][0].append(token)  # punctuation-only token: stays with the word before it
            elif hit:
                if current:
                    groups.append((current, False))
                groups.append(([token], True))
                current = []
            else:
                current.append(token)
            token_pos += count
        if current:
            groups.append((current, False))
        groups = _merge_wordless(groups)
        position = token_pos
        if not any(flag for _, flag in groups):
            out.append(seg)
            continue
        total_syll = sum(syllables(t) for t in tokens) or 1.0
        for index, (group, flag) in enumerate(groups):
            share = sum(syllables(t) for t in group) / total_syll
            duration = seg.duration * share if seg.duration is not None else None
            pause = seg.pause_after if index == len(groups) - 1 else 0.0
            part = _segment(**{**_fields(seg), "word": " ".join(group), "duration": duration,
                               "pause_after": pause, "emphasis": tuple(
                                   w for w in seg.emphasis if set(text_words(w)) <= set(text_words(" ".join(group))))})
            if flag:
                pitch = (seg.pitch_mean or baseline.pitch_mean_hz) * 2.0 ** (config.emphasis_pitch_st / 12.0)
                energy = (seg.energy_rms or baseline.energy_rms) * 10.0 ** (config.emphasis_energy_db / 20.0)
                part = _segment(**{**_fields(part), "pitch_mean": pitch, "energy_rms": energy,
                                   "duration": duration * config.emphasis_duration if duration else None,
                                   "emphasis": tuple(w for w in group if text_words(w))})
            out.append(part)
    return out


def _merge_wordless(groups: list[tuple[list[str], bool]]) -> list[tuple[list[str], bool]]:
    """Attach punctuation-only groups to the following group (or the previous one at the end)."""
    out: list[tuple[list[str], bool]] = []
    pending: list[str] = []
    for tokens, flag in groups:
        if not text_words(" ".join(tokens)):
            pending.extend(tokens)
            continue
        out.append((pending + tokens, flag))
        pending = []
    if pending and out:
        out[-1] = (out[-1][0] + pending, out[-1][1])
    return out


def apply_overrides(segments: Sequence[Segment], overrides, baseline: VoiceBaseline) -> list[Segment]:
    """Apply SSML ``<prosody>`` overrides (:class:`baton.syntax.Overrides`) to planned segments."""
    out = []
    for seg in segments:
        values = _fields(seg)
        pitch = seg.pitch_mean or baseline.pitch_mean_hz
        new_pitch = overrides.pitch_hz if overrides.pitch_hz is not None else pitch * 2.0 ** (overrides.pitch_st / 12)
        if overrides.pitch_hz is not None or overrides.pitch_st:
            values["pitch_mean"] = new_pitch
            if seg.pitch_slope is not None:
                values["pitch_slope"] = seg.pitch_slope * new_pitch / pitch
        if overrides.volume_db:
            values["energy_rms"] = (seg.energy_rms or baseline.energy_rms) * 10.0 ** (overrides.volume_db / 20.0)
        if overrides.rate_ratio != 1.0:
            duration = seg.duration if seg.duration is not None else \
                max(sum(syllables(t) for t in seg.word.split()), 0.5) / baseline.speaking_rate_sps
            values["duration"] = duration / overrides.rate_ratio
            if seg.pause_after:
                values["pause_after"] = seg.pause_after / overrides.rate_ratio
        out.append(_segment(**values))
    return out


def _fields(seg: Segment) -> dict:
    return {"word": seg.word, **seg.controls(), **seg.render_options(), "emphasis": seg.emphasis}


__all__ = ["ComposeConfig", "DEFAULT_COMPOSE", "Piece", "segment_text", "compose", "syllables", "emphasise",
           "apply_overrides"]
