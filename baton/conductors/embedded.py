"""The embedded conductor: offline, fast, the default (ARCHITECTURE.md, Contract 2).

instruction --rules / sentence embeddings--> :class:`Intent` --measured prosody table--> :class:`Effect`
--text-aware composition--> plan in absolute numbers for the voice's baseline.

* Rules (:mod:`embedded_intent`) read modifiers, intensity words and emotion words; when they find no
  emotion word but the instruction still has content ("like someone who just heard terrible news"), the
  sentence-embedding classifier (:mod:`embedded_embed`) picks the nearest emotion. The model is loaded
  only then, once per process (in NumPy: no torch).
* The emotion's effect at the asked intensity comes from the RAVDESS-measured table
  (:mod:`baton.prosody_table`); explicit modifiers and styles are added on top.
* :mod:`embedded_compose` segments the text and writes the numbers.

``*word*`` in the text marks emphasis (the stars are removed from the plan's words).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from functools import lru_cache

from baton.baseline import VoiceBaseline
from baton.conductors import embedded_compose as comp
from baton.conductors.base import ConductorError
from baton.conductors.embedded_intent import CONTROL_RESIDUAL_WORDS, CONTROL_WORDS, Intent, parse_rules
from baton.conductors.embedded_profiles import profile_for
from baton.plan import Plan, text_words
from baton.prosody_table import Effect, ProsodyTable, default_table

# Whisper is not in RAVDESS: these are rules, not measurements (BatonTTS has no voicing control, so a
# whisper is approximated as much quieter, brighter, slightly lower and flatter speech).
WHISPER = Effect(pitch_st=-1.0, energy_db=-15.0, rate_ratio=0.92, centroid_st=4.0, range_st=-2.0)
# Restraint ("furious but trying to stay polite"): the emotion's pitch, loudness, range and tempo effects
# are held to these fractions (loudness most: holding it in is mostly not raising the voice); its voice
# quality (centroid) stays.
# Past RAVDESS's strong row ("extremely", level 2.6) loudness is held inside the strong row's spread: the voice
# renders planned energy within 0.3 dB, and the extrapolation put strong fearful at +22.8 dB (RAVDESS q75 +22.0)
# and surprised at +12.4 (q75 +12.3) (benchmarks/emotion_render.py, docs/emotion.md, 2026-12-05). Pitch is not
# held: the voice renders +12 st plans about 3 st short, so the plan's margin keeps the render inside.
HOLD_INSIDE = ("energy_db",)
RESTRAINT = 0.45
RESTRAINT_ENERGY = 0.3
SECONDARY_WEIGHT = 0.35
# Sentence embeddings weigh topic over valence ("terrible news" sits next to "wonderful news"), so an
# instruction with clearly negative words may not land on a pleasant emotion.
_NEGATIVE_VALENCE = re.compile(r"\b(?:terrible|awful|horrible|tragic|tragedy|dreadful|worst|bad news|died|death|dead|"
                               r"funeral|lost|loss|disaster|ruined|hopeless)\b")
VALENCE_PENALTY = 0.15
_NEGATED = re.compile(r"\b(?:not|don'?t|do not|never|without|no|isn'?t|aren'?t)\b")
_PLEASANT = ("happy", "calm")
_STAR = re.compile(r"(?<!\S)\*([^*\s][^*]*?)\*(?=[\s.,;:!?\")]|$)")


def _yield_to_explicit(effect: Effect, intent: Intent) -> Effect:
    """An explicit control wins over the emotion's change in the other direction: "angrily and fast" is
    faster than neutral although anger alone slows down (docs/conductor.md); likewise pitch and loudness."""
    if (intent.rate_ratio - 1.0) * (effect.rate_ratio - 1.0) < 0:
        effect = replace(effect, rate_ratio=1.0)
    if intent.pitch_st * effect.pitch_st < 0:
        effect = replace(effect, pitch_st=0.0)
    if intent.volume_db * effect.energy_db < 0:
        effect = replace(effect, energy_db=0.0)
    return effect


@dataclass(frozen=True)
class EmbeddedConfig:
    """Options of the embedded conductor."""

    use_embeddings: bool = True
    """Use the sentence-embedding model for instructions the rules do not resolve (loads the model once)."""
    compose: comp.ComposeConfig = comp.DEFAULT_COMPOSE


class EmbeddedConductor:
    """``EmbeddedConductor(use_embeddings=True, table_path=None)``; see the module docstring."""

    name = "embedded"

    def __init__(self, use_embeddings: bool = True, table_path: str | None = None,
                 config: EmbeddedConfig | None = None):
        self.config = config or EmbeddedConfig(use_embeddings=use_embeddings)
        self._table_path = table_path
        self._classifier = None
        self._lock = threading.Lock()

    @property
    def table(self) -> ProsodyTable:
        return default_table() if self._table_path is None else _table_at(self._table_path)

    # --- the Conductor protocol ----------------------------------------------------------------------
    def plan(self, text: str, instruction: str | None, baseline: VoiceBaseline) -> Plan:
        if not text_words(text):
            raise ConductorError("the text has no words to plan; pass some text to speak")
        plain, starred = _stars(text)
        intent = self.understand(instruction)
        words = text_words(plain)
        emphasis = set(starred)
        for named in intent.emphasis:
            emphasis.update(i for i, w in enumerate(words) if w == named)
        emphasis.update(i % len(words) for i in intent.emphasis_index if -len(words) <= i < len(words))
        breaks: dict[int, float] = {}
        for named, seconds in intent.pauses:
            for i, w in enumerate(words):
                if w == named:
                    breaks[i] = max(breaks.get(i, 0.0), seconds)
        effect = self.effect(intent)
        pieces = comp.segment_text(plain, emphasis, baseline.speaking_rate_sps * effect.rate_ratio,
                                   self.config.compose, breaks=breaks)
        if intent.question and pieces:
            pieces[-1] = replace(pieces[-1], question=True)
        profile = profile_for(intent.emotion, intent.level, style=intent.style, restrained=intent.restrained)
        segments = comp.compose(pieces, effect, baseline, profile=profile, range_scale=intent.range_scale,
                                energy_ramp_db=intent.energy_ramp_db, end_rate_ratio=intent.end_rate_ratio,
                                config=self.config.compose)
        plan = Plan.from_segments([s.to_dict() for s in segments])
        plan.check_text(text)
        return plan

    # --- the two stages, public for tests, the CLI's explain output and other conductors' fallbacks ---
    def understand(self, instruction: str | None) -> Intent:
        """The :class:`Intent` of ``instruction`` (cached per instruction string)."""
        return self._understand_cached(instruction or "")

    def effect(self, intent: Intent) -> Effect:
        """The relative prosody change for ``intent``: table effect, secondary emotion, restraint, style,
        explicit modifiers."""
        table = self.table
        effect = table.effect(intent.emotion, intent.level, follow_strong=True, hold_inside=HOLD_INSIDE)
        if intent.secondary:
            effect = effect.plus(table.effect(intent.secondary, 1.0), SECONDARY_WEIGHT)
        if intent.restrained:
            effect = replace(effect, pitch_st=effect.pitch_st * RESTRAINT,
                             energy_db=effect.energy_db * RESTRAINT_ENERGY,
                             rate_ratio=effect.rate_ratio ** RESTRAINT, range_st=effect.range_st * RESTRAINT,
                             slope_st_per_s=effect.slope_st_per_s * RESTRAINT)
        if intent.style == "whisper":
            effect = effect.plus(WHISPER)
        effect = _yield_to_explicit(effect, intent)
        return effect.plus(Effect(pitch_st=intent.pitch_st, energy_db=intent.volume_db,
                                  rate_ratio=intent.rate_ratio,
                                  centroid_st=intent.centroid_st + 0.25 * intent.volume_db))

    @lru_cache(maxsize=512)
    def _understand_cached(self, instruction: str) -> Intent:
        intent, residual = parse_rules(instruction)
        if intent.source == "keyword" or not residual or not self.config.use_embeddings:
            return intent
        if intent.has_controls and len([w for w in residual.split() if w not in CONTROL_WORDS]) \
                <= CONTROL_RESIDUAL_WORDS:
            return intent  # "lower pitch", "hold a beat after 'door'": left-over wording, not a feeling
        classifier = self._get_classifier()
        # A negated emotion word ("not angry, just tired") would pull the embedding towards that emotion:
        # then only the residual (what the rules did not consume) is embedded.
        scores = classifier.scores(residual if _NEGATED.search(instruction.lower()) else instruction)
        if _NEGATIVE_VALENCE.search(instruction.lower()):
            scores = {k: v - VALENCE_PENALTY if k in _PLEASANT else v for k, v in scores.items()}
        emotion = max(scores, key=scores.get)
        if scores[emotion] < classifier.config.min_similarity:
            emotion = "neutral"
        return replace(intent, emotion=emotion, source="embedding", scores=scores)

    def _get_classifier(self):
        with self._lock:
            if self._classifier is None:
                from baton.conductors.embedded_embed import PrototypeClassifier

                self._classifier = PrototypeClassifier.load()
            return self._classifier

    def warm_up(self) -> None:
        """Load the table and the embedding model now (the first free-form instruction otherwise pays)."""
        _ = self.table
        if self.config.use_embeddings:
            self._get_classifier()


@lru_cache(maxsize=4)
def _table_at(path: str) -> ProsodyTable:
    return ProsodyTable.load(path)


def _stars(text: str) -> tuple[str, list[int]]:
    """Remove ``*word*`` markers; return the plain text and the starred words' positions."""
    positions: list[int] = []
    out, last = [], 0
    for match in _STAR.finditer(text):
        out.append(text[last:match.start()])
        before = len(text_words("".join(out)))
        inner = match.group(1)
        positions.extend(range(before, before + len(text_words(inner))))
        out.append(inner)
        last = match.end()
    out.append(text[last:])
    plain = "".join(out)
    if text_words(plain) != text_words(text):  # a star glued inside a token ("*1*:1"): not emphasis markup
        return text, []
    return plain, positions


__all__ = ["EmbeddedConductor", "EmbeddedConfig", "WHISPER"]
