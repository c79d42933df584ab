"""The prompt that LLM conductors send: schema, plan rules, voice baseline and worked examples.

An LLM conductor asks a chat model for a plan (Contract 1) in the document form ``{"segments": [...]}``.
The prompt follows BatonVoice's idea of telling the model the voice's neutral baseline, and asks it to
think relative to that baseline (semitones, dB, rate ratios) while writing absolute numbers.

The worked examples are ours: each is a *relative* recipe (semitones, dB, centroid ratio, rate ratio,
slopes) that :func:`worked_examples` turns into absolute numbers for the baseline in use, so the examples
always show the arithmetic the model should do for this voice. Small models copy examples closely; a
suggested segmentation of the actual text is given too, which makes reproducing the words easy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from baton.baseline import VoiceBaseline
from baton.conductors.embedded_profiles import NEUTRAL_SEGMENT_RANGE_ST
from baton.plan import NUMERIC_FIELDS, Plan, plan_json_schema

_VOWEL_GROUPS = re.compile(r"[aeiouy]+")
_PHRASE_END = re.compile(r"[,;:.!?\u2014]$|--$")

# The assistant turn starts with this prefix where a backend can prefill it (in-process transformers):
# it commits even a tiny model to the document form. Servers without prefill get the same shape from
# the examples and from JSON / JSON-schema response formats.
RESPONSE_PREFIX = '{"segments": [{"word": "'


@dataclass(frozen=True)
class RelativeSegment:
    """A worked-example segment in relative terms; converted to absolute numbers per baseline."""

    word: str
    pitch_st: float
    """Pitch mean relative to the baseline [semitones]."""
    energy_db: float
    """Energy RMS relative to the baseline [dB]."""
    centroid_ratio: float
    """Spectral centroid relative to the baseline [ratio]."""
    rate_ratio: float
    """Speaking rate relative to the baseline [ratio; > 1 is faster]."""
    pitch_slope_hz_s: float
    energy_slope_db_s: float
    pause_after_s: float | None = None
    emphasis: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkedExample:
    instruction: str
    text: str
    reasoning: str
    """One line of relative thinking shown to the model, e.g. '+4 st, +5 dB, faster'."""
    segments: tuple[RelativeSegment, ...]


WORKED_EXAMPLES: tuple[WorkedExample, ...] = (
    WorkedExample(
        instruction="sound thrilled, like you just won something",
        text="We won the whole thing, can you believe it?",
        reasoning="excited: about +4 st higher, +5 dB louder, brighter (x1.25), 12 % faster; rising at the question",
        segments=(
            RelativeSegment("We won the whole thing,", 4.0, 5.0, 1.25, 1.12, 60.0, 10.0, 0.15),
            RelativeSegment("can you believe it?", 5.0, 4.0, 1.25, 1.12, 180.0, -10.0),
        ),
    ),
    WorkedExample(
        instruction="quietly, as if you just heard terrible news",
        text="I never thought it would end like this.",
        reasoning="sad and quiet: about -3 st lower, -7 dB quieter, darker (x0.85), 20 % slower, falling",
        segments=(
            RelativeSegment("I never thought", -3.0, -7.0, 0.85, 0.8, -40.0, -8.0, 0.4),
            RelativeSegment("it would end like this.", -4.0, -9.0, 0.82, 0.78, -90.0, -20.0),
        ),
    ),
    WorkedExample(
        instruction="calm, but stress the word tomorrow",
        text="The meeting is tomorrow at nine.",
        reasoning="neutral: baseline numbers; the stressed word's segment +2 st and +3 dB",
        segments=(
            RelativeSegment("The meeting is", 0.0, 0.0, 1.0, 1.0, -10.0, 0.0, 0.1),
            RelativeSegment("tomorrow at nine.", 2.0, 3.0, 1.08, 0.95, -70.0, -15.0, emphasis=("tomorrow",)),
        ),
    ),
)


def count_syllables(text: str) -> int:
    """Rough English syllable count (vowel groups per word, at least one per word)."""
    total = 0
    for word in re.findall(r"[A-Za-z']+", text.lower()):
        groups = len(_VOWEL_GROUPS.findall(word))
        if word.endswith("e") and groups > 1 and not word.endswith(("le", "ee")):
            groups -= 1
        total += max(1, groups)
    return max(1, total)


def suggest_segments(text: str, max_words: int = 5) -> list[str]:
    """Cut ``text`` into phrase-sized chunks, verbatim: at punctuation, long phrases split evenly into
    parts of at most ``max_words`` words, one-word chunks merged into a neighbour.

    The chunks joined with single spaces reproduce the text's whitespace tokens in order.
    """
    phrases: list[list[str]] = [[]]
    for token in text.split():
        phrases[-1].append(token)
        if _PHRASE_END.search(token):
            phrases.append([])
    chunks: list[list[str]] = []
    for phrase in (p for p in phrases if p):
        n_parts = -(-len(phrase) // max_words)
        size = -(-len(phrase) // n_parts)
        chunks.extend(phrase[i:i + size] for i in range(0, len(phrase), size))
    merged: list[list[str]] = []
    for chunk in chunks:
        if merged and (len(chunk) == 1 or len(merged[-1]) == 1) and len(merged[-1]) + len(chunk) <= max_words + 1:
            merged[-1] = merged[-1] + chunk
        else:
            merged.append(chunk)
    return [" ".join(chunk) for chunk in merged]


def reply_token_budget(text: str, max_new_tokens: int) -> int:
    """Tokens to allow for a plan of ``text``: about 70 per suggested segment plus 40, at most
    ``max_new_tokens`` (a runaway reply that repeats segments stops early)."""
    return min(max_new_tokens, 40 + 70 * len(suggest_segments(text)))


def absolute_segment(seg: RelativeSegment, baseline: VoiceBaseline) -> dict:
    """The relative recipe ``seg`` as absolute plan numbers for ``baseline`` (plan JSON names)."""
    rate_sps = baseline.speaking_rate_sps * seg.rate_ratio
    out: dict = {
        "word": seg.word,
        "pitch_mean": round(baseline.pitch_hz(seg.pitch_st)),
        "pitch_slope": round(seg.pitch_slope_hz_s),
        "energy_rms": round(baseline.rms(seg.energy_db), 4),
        "energy_slope": round(seg.energy_slope_db_s),
        "spectral_centroid": round(baseline.centroid_hz(seg.centroid_ratio)),
        "duration": round(count_syllables(seg.word) / rate_sps, 2),
    }
    if seg.pause_after_s is not None:
        out["pause_after"] = seg.pause_after_s
    if seg.emphasis:
        out["emphasis"] = list(seg.emphasis)
    return out


def worked_examples(baseline: VoiceBaseline) -> list[tuple[WorkedExample, dict]]:
    """Each worked example with its plan document in absolute numbers for ``baseline`` (validated)."""
    out = []
    for example in WORKED_EXAMPLES:
        doc = {"segments": [absolute_segment(s, baseline) for s in example.segments]}
        Plan.from_segments(doc["segments"]).check_text(example.text)  # examples must obey the rules too
        out.append((example, doc))
    return out


def _compact_schema() -> str:
    return json.dumps(plan_json_schema(), separators=(",", ":"))


def system_prompt(baseline: VoiceBaseline, n_examples: int = len(WORKED_EXAMPLES)) -> str:
    """The system message: task, rules, schema, baseline, the relative-to-absolute arithmetic and the
    relative thinking behind the first ``n_examples`` worked examples (which follow as chat turns)."""
    b = baseline
    thinking = "\n".join(f"{i + 1}. \"{ex.instruction}\": {ex.reasoning}."
                          for i, ex in enumerate(WORKED_EXAMPLES[:n_examples]))
    fields = "\n".join(f"  - {spec.name} [{spec.unit}], {spec.minimum:g} to {spec.maximum:g}: {spec.meaning}"
                       for spec in NUMERIC_FIELDS.values())
    return f"""You are the conductor of a text-to-speech voice. You write a prosody plan for a text.
Reply with one JSON object and nothing else: {{"segments": [...]}}. JSON schema:
{_compact_schema()}

Rules:
- Cut the text into segments of about one second (2 to 6 words), usually at punctuation.
- "word" holds the segment's words copied exactly from the text, punctuation included. The segments
  together must reproduce the whole text in order: never leave out, change or add a word.
- All numbers are absolute values in these units and ranges:
{fields}
- emphasis: optional list of words of that segment to stress.
- pitch_range: optional, semitones from 0 to 24: how far the pitch moves inside the segment (about
  {NEUTRAL_SEGMENT_RANGE_ST:g} in neutral speech; 1 to 2 for a monotone, 3 for sad or tired speech,
  7 to 10 for surprise or excitement).
- voice_quality: optional, one of "modal" (the normal voice), "breathy" (sad, fearful, intimate), "whisper"
  (no voice at all, for whispering) or "tense" (pressed, angry). Leave it out for the normal voice.
- Leave a field out to let the voice decide it.

This voice's neutral baseline: pitch_mean {b.pitch_mean_hz:g} Hz, energy_rms {b.energy_rms:g},
spectral_centroid {b.spectral_centroid_hz:g} Hz, speaking rate {b.speaking_rate_sps:g} syllables/s,
typical pitch spread {b.pitch_range_st:g} semitones, pause at a phrase break {b.pause_s:g} s.

Think relative to the baseline, then write absolute numbers:
- pitch_mean = {b.pitch_mean_hz:g} x 2^(semitones/12): +3 st = {b.pitch_hz(3):.0f} Hz, -3 st = {b.pitch_hz(-3):.0f} Hz.
- energy_rms = {b.energy_rms:g} x 10^(dB/20): +6 dB = {b.rms(6):.3f}, -6 dB = {b.rms(-6):.3f}.
- spectral_centroid: more vocal effort is brighter (x1.1 to x1.4), soft or sad speech is darker (x0.8 to x0.95).
- duration = syllables / rate; slower speech means longer segments.
- pitch_slope rises (positive) for questions and excitement, falls (negative) at the end of statements,
  typically -150 to +150 Hz/s. energy_slope typically -40 to +40 dB/s.""" + (
        f"\n\nThe worked examples that follow were planned like this:\n{thinking}" if thinking else "")


def user_prompt(text: str, instruction: str | None, suggestion: list[str] | None = None) -> str:
    """The user message for one request: instruction, text and a suggested segmentation."""
    how = instruction.strip() if instruction and instruction.strip() else "neutral, natural reading"
    suggestion = json.dumps(suggestion or suggest_segments(text), ensure_ascii=False)
    return f"Instruction: {how}\nText: {text}\nSuggested segments: {suggestion}"


def build_messages(text: str, instruction: str | None, baseline: VoiceBaseline,
                   n_examples: int = len(WORKED_EXAMPLES)) -> list[dict[str, str]]:
    """Chat messages (OpenAI format) asking for a plan of ``text``; examples as earlier turns."""
    messages = [{"role": "system", "content": system_prompt(baseline, n_examples)}]
    for example, doc in worked_examples(baseline)[:n_examples]:
        messages.append({"role": "user", "content": user_prompt(
            example.text, example.instruction, [s["word"] for s in doc["segments"]])})
        messages.append({"role": "assistant", "content": json.dumps(doc, ensure_ascii=False)})
    messages.append({"role": "user", "content": user_prompt(text, instruction)})
    return messages


def reask_message(error: str) -> dict[str, str]:
    """The single follow-up turn sent after an invalid plan: the validation error, verbatim."""
    return {"role": "user", "content": f"That plan is invalid: {error}\nReply with the corrected JSON object "
                                       "only, with every word of the text in order and every number in range."}


__all__ = ["RESPONSE_PREFIX", "WORKED_EXAMPLES", "build_messages", "system_prompt", "user_prompt",
           "reask_message", "reply_token_budget", "suggest_segments", "worked_examples", "count_syllables"]
