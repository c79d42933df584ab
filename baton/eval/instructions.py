"""Instruction following, judged on the PLAN: does the conductor turn an instruction into the right numbers?

The item sets are ``baton/data/instructions_dev.jsonl`` (tune on it), ``instructions_blind.jsonl`` (scored
once, then its misses were fixed), ``instructions_blind2.jsonl`` (written after that, scored once, then tuned
on) and ``instructions_blind3.jsonl`` (64 new phrasings written before the 2026-12-05 rule changes; its first
score is the honest one, docs/conductor.md). Each line: ``instruction``, ``text``, ``kind`` and what is expected:

* ``emotion`` (+ ``band``: ``"mild"`` level < 1, ``"normal"`` 1 <= level < 2, ``"strong"`` level >= 2) for
  ``kind == "emotion"``, and optionally on a control item that also names an emotion;
* ``word`` for the kinds ``pause`` and ``stress``.

A control item that names no emotion must plan none (``neutral``): "lower pitch" is not "angry".

Per kind, a measurable check on the plan (the neutral plan is the same text without an instruction):

=============  =====================================================================================
question       the last segment rises by >= 2 st from its start to its end (slope x duration)
pause          the segment ending in ``word`` has ``pause_after`` >= 0.35 s
monotone       within-segment pitch spread (max over segments of ``pitch_range``; where a plan leaves it to
               the voice, the voice's own 4.6 st or |slope| x duration if larger) and across-segment
               spread (max - min segment pitch) at most half the neutral plan's
whisper        every segment has ``voice_quality == "whisper"``
stress         the segment holding ``word`` lists it in ``emphasis`` and is above the other segments'
               mean in pitch and in energy
louder_end     last segment's energy >= first segment's + 3 dB (softer_end: <= -3 dB)
faster         total spoken duration <= neutral / 1.1 (slower: >= neutral x 1.1)
higher         duration-weighted mean pitch >= neutral + 1 st (lower: <= neutral - 1 st)
=============  =====================================================================================
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from baton.baseline import VoiceBaseline
from baton.conductors.embedded_compose import DEFAULT_COMPOSE
from baton.plan import Plan, Segment, text_words

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEV_PATH = DATA_DIR / "instructions_dev.jsonl"
BLIND_PATH = DATA_DIR / "instructions_blind.jsonl"
BLIND2_PATH = DATA_DIR / "instructions_blind2.jsonl"
"""Written after BLIND_PATH was scored once and used to fix rules (docs/conductor.md)."""
BLIND3_PATH = DATA_DIR / "instructions_blind3.jsonl"
"""Written on 2026-12-05 before any rule change of that day; scored once before tuning (docs/conductor.md)."""
BLIND4_PATH = DATA_DIR / "instructions_blind4.jsonl"
"""90 items written on 2026-12-05 by a writer who never read the rules, the other sets or their scores; scored
once, after the day's last rule change, and never tuned on (docs/conductor.md)."""
HOLDOUT_PATH = DATA_DIR / "instructions_dev_holdout.jsonl"
"""New phrasings written in batches of 20 before each rule change of the 2026-12-05 generalisation work, each
batch scored before and after that change and never tuned on (docs/conductor.md)."""
HOLDOUT_BATCHES = (20, 20, 20, 20, 20, 20, 20, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30)
"""Sizes of the held-out batches, in file order: each was written before one rule change and scored before
and after it (docs/conductor.md)."""
PARTS = (("dev", DEV_PATH), ("blind", BLIND_PATH), ("blind2", BLIND2_PATH), ("blind3", BLIND3_PATH),
         ("blind4", BLIND4_PATH), ("holdout", HOLDOUT_PATH))
"""Every item set, by name: dev for tuning, the blind parts for reporting separately."""
KINDS = ("emotion", "question", "pause", "monotone", "whisper", "stress", "louder_end", "softer_end",
         "faster", "slower", "higher", "lower")
BANDS = ("mild", "normal", "strong")

QUESTION_RISE_ST = 2.0
NAMED_PAUSE_S = 0.35
MONOTONE_FRACTION = 0.5
RAMP_DB = 3.0
RATE_RATIO = 1.1
PITCH_SHIFT_ST = 1.0


@dataclass(frozen=True)
class Item:
    instruction: str
    text: str
    kind: str
    emotion: str | None = None
    band: str | None = None
    word: str | None = None


@dataclass(frozen=True)
class Verdict:
    """One item's result: ``ok`` and, when not, ``why`` (one line)."""

    item: Item
    ok: bool
    why: str = ""


def load_items(path: str | Path) -> list[Item]:
    """Read a JSONL item file; raises ValueError naming the line when an item is malformed."""
    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        data = json.loads(line)
        item = Item(**data)
        if item.kind not in KINDS:
            raise ValueError(f"{path}:{number}: kind {item.kind!r} is not valid; valid: {', '.join(KINDS)}")
        if item.emotion is not None and item.band not in BANDS:
            raise ValueError(f"{path}:{number}: band {item.band!r} is not valid; valid: {', '.join(BANDS)}")
        if item.kind in ("pause", "stress") and (not item.word or item.word not in text_words(item.text)):
            raise ValueError(f"{path}:{number}: kind {item.kind} needs a 'word' of the text")
        items.append(item)
    return items


def band(level: float) -> str:
    """The intensity band of a conductor level (0.5 slight, 1 normal, 2 strong)."""
    return "mild" if level < 1.0 else "normal" if level < 2.0 else "strong"


# --- plan measures -----------------------------------------------------------------------------------
def _st(ratio: float) -> float:
    return 12.0 * math.log2(ratio)


def _slope_st_per_s(seg: Segment) -> float:
    return (seg.pitch_slope or 0.0) / (seg.pitch_mean * math.log(2.0) / 12.0)


def segment_rise_st(seg: Segment) -> float:
    """Pitch change from the segment's start to its end [st] (linear slope over its duration)."""
    return _slope_st_per_s(seg) * seg.duration


def within_spread_st(plan: Plan, own_range_st: float = DEFAULT_COMPOSE.segment_range_st) -> float:
    """Largest within-segment pitch spread [st]: the segment's ``pitch_range``, or where the plan leaves it to
    the voice, ``own_range_st`` (the voice's own spread in neutral segments) or |slope| x duration if larger."""
    return max(s.pitch_range if s.pitch_range is not None else max(abs(segment_rise_st(s)), own_range_st)
               for s in plan.segments)


def across_spread_st(plan: Plan) -> float:
    pitches = [s.pitch_mean for s in plan.segments]
    return _st(max(pitches) / min(pitches))


def mean_pitch_st(plan: Plan, baseline: VoiceBaseline) -> float:
    total = sum(s.duration for s in plan.segments)
    return sum(s.duration / total * _st(s.pitch_mean / baseline.pitch_mean_hz) for s in plan.segments)


def spoken_s(plan: Plan) -> float:
    return sum(s.duration for s in plan.segments)


# --- checks ------------------------------------------------------------------------------------------
def check_control(item: Item, plan: Plan, neutral: Plan, baseline: VoiceBaseline) -> str:
    """'' when the plan does what ``item.kind`` asks, else the reason (one line)."""
    segs = plan.segments
    kind = item.kind
    if kind == "question":
        rise = segment_rise_st(segs[-1])
        return "" if rise >= QUESTION_RISE_ST else f"last segment rises {rise:+.1f} st (< {QUESTION_RISE_ST})"
    if kind == "pause":
        ends = [s for s in segs if s.words and s.words[-1] == item.word]
        if not ends:
            return f"no segment ends in {item.word!r}"
        pause = max(s.pause_after or 0.0 for s in ends)
        return "" if pause >= NAMED_PAUSE_S else f"pause after {item.word!r} is {pause:.2f} s (< {NAMED_PAUSE_S})"
    if kind == "monotone":
        within, across = within_spread_st(plan), across_spread_st(plan)
        n_within, n_across = within_spread_st(neutral), across_spread_st(neutral)
        if within <= MONOTONE_FRACTION * n_within and across <= MONOTONE_FRACTION * n_across:
            return ""
        return f"spread within {within:.2f} st (neutral {n_within:.2f}), across {across:.2f} st (neutral {n_across:.2f})"
    if kind == "whisper":
        qualities = [s.voice_quality for s in segs]
        return "" if all(q == "whisper" for q in qualities) else f"voice_quality {qualities}"
    if kind == "stress":
        hits = [i for i, s in enumerate(segs) if item.word in s.words]
        if not hits:
            return f"{item.word!r} not in any segment"
        i = hits[0]
        if item.word not in [w.lower().strip(".,;:!?\"'") for w in segs[i].emphasis]:
            return f"{item.word!r} not in emphasis {segs[i].emphasis}"
        others = [s for j, s in enumerate(segs) if j != i]
        if not others:
            return ""
        pitch = sum(s.pitch_mean for s in others) / len(others)
        energy = sum(s.energy_rms for s in others) / len(others)
        if segs[i].pitch_mean > pitch and segs[i].energy_rms > energy:
            return ""
        return f"{item.word!r} not above the rest in pitch and energy"
    if kind in ("louder_end", "softer_end"):
        ramp = 20.0 * math.log10(segs[-1].energy_rms / segs[0].energy_rms)
        ok = ramp >= RAMP_DB if kind == "louder_end" else ramp <= -RAMP_DB
        return "" if ok else f"last vs first segment {ramp:+.1f} dB"
    if kind in ("faster", "slower"):
        ratio = spoken_s(plan) / spoken_s(neutral)
        ok = ratio <= 1 / RATE_RATIO if kind == "faster" else ratio >= RATE_RATIO
        return "" if ok else f"duration x{ratio:.2f} of neutral"
    if kind in ("higher", "lower"):
        shift = mean_pitch_st(plan, baseline) - mean_pitch_st(neutral, baseline)
        ok = shift >= PITCH_SHIFT_ST if kind == "higher" else shift <= -PITCH_SHIFT_ST
        return "" if ok else f"mean pitch {shift:+.1f} st vs neutral"
    raise ValueError(f"kind {kind!r} has no plan check; valid: {', '.join(KINDS[1:])}")


def judge(item: Item, conductor, baseline: VoiceBaseline,
          plan_input: Callable[[str, str | None], Plan]) -> Verdict:
    """Check one item. ``plan_input(text, instruction)`` plans as the pipeline does (baton.syntax)."""
    intent = conductor.understand(item.instruction)
    if item.emotion is not None:
        got = (intent.emotion, band(intent.level))
        if intent.emotion != item.emotion or (item.emotion != "neutral" and got[1] != item.band):
            return Verdict(item, False, f"emotion {got[0]}/{got[1]}, wanted {item.emotion}/{item.band}")
    elif intent.emotion != "neutral":  # "lower pitch" asks for no feeling
        return Verdict(item, False, f"emotion {intent.emotion} planned, none asked for")
    if item.kind == "emotion":
        return Verdict(item, True)
    plan = plan_input(item.text, item.instruction)
    why = check_control(item, plan, plan_input(item.text, None), baseline)
    return Verdict(item, not why, why)


def score(items: Iterable[Item], conductor, baseline: VoiceBaseline,
          plan_input: Callable[[str, str | None], Plan]) -> list[Verdict]:
    return [judge(item, conductor, baseline, plan_input) for item in items]


__all__ = ["Item", "Verdict", "load_items", "band", "check_control", "judge", "score", "KINDS", "BANDS",
           "DEV_PATH", "BLIND_PATH", "BLIND2_PATH", "BLIND3_PATH", "BLIND4_PATH", "HOLDOUT_PATH", "HOLDOUT_BATCHES", "PARTS"]
