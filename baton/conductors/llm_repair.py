"""Parse, repair and validate what an LLM wrote as a plan.

LLMs, small ones above all, wrap JSON in prose or code fences, leave trailing commas, stop mid-object when
they hit the token limit, write numbers as strings, invent keys, and drop or invent words. This module
turns a raw reply into a validated :class:`~baton.plan.Plan` where that is *safe*, and otherwise into one
error line that is sent back to the model verbatim (see :mod:`baton.conductors.llm_conductor`).

Safe repairs (each recorded as a note):
* JSON syntax: text around the JSON, code fences, trailing commas, Python literals, a reply cut off by
  the token limit (the incomplete last segment is dropped, its words are restored by re-segmentation);
* shape: bare-list form, a single segment object, segments as plain strings, word-key aliases
  (``text``/``words``), unknown keys dropped;
* numbers written as strings, with or without the field's own unit (``"220"``, ``"220 Hz"``,
  ``"350 ms"`` for a duration);
* words: when the model dropped, invented or altered words, the text is re-cut along the model's own
  segment boundaries so that the segments reproduce it (only when at least half of the text's words
  were found; otherwise the model planned some other text and is re-asked); emphasis words that are not
  in their segment any more are dropped.

Not repaired (re-ask, then fall back): values out of range (a unit mix-up is not fixed by clamping),
non-numeric values for numeric fields, replies with no JSON or no segments.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Iterator, Mapping

from baton.plan import ALL_FIELDS, NUMERIC_FIELDS, Plan, PlanError, Segment, load_plan, text_words

MIN_WORD_OVERLAP = 0.5
"""Fraction of the text's words that the model's segments must contain for re-segmentation to apply."""

_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)(?:```|$)", re.DOTALL)
_WORD_ALIASES = ("text", "words", "segment", "phrase")
# Units a numeric string may carry: only the field's own unit (or ms for seconds), never a relative unit.
_UNIT_SCALE: dict[str, dict[str, float]] = {
    "pitch_mean": {"hz": 1.0}, "spectral_centroid": {"hz": 1.0}, "pitch_slope": {"hz/s": 1.0},
    "energy_slope": {"db/s": 1.0}, "energy_rms": {},
    "duration": {"s": 1.0, "sec": 1.0, "ms": 0.001}, "pause_after": {"s": 1.0, "sec": 1.0, "ms": 0.001},
}
_NUMBER_STRING = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z/]*)\s*$")


@dataclass(frozen=True)
class RepairOutcome:
    """The result of :func:`repair_plan`: a plan, or the one-line error to re-ask with."""

    plan: Plan | None
    error: str | None
    notes: tuple[str, ...] = ()


# --- JSON extraction --------------------------------------------------------------------------------------

def _chars(text: str, start: int = 0) -> Iterator[tuple[int, str, bool]]:
    """Yield (index, character, structural) from ``text[start:]``; ``structural`` is False inside JSON string
    literals, their quotes included, so that brackets and commas in words are never mistaken for syntax."""
    in_string = escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            yield i, ch, False
        elif ch == '"':
            in_string = True
            yield i, ch, False
        else:
            yield i, ch, True


def _scan(text: str, start: int) -> tuple[int | None, list[tuple[int, list[str]]]]:
    """Scan a JSON value starting at ``text[start]`` (``{`` or ``[``).

    Returns (index of the closing bracket or None if the value never closes, and for every closing
    bracket seen: its index and the brackets still open after it).
    """
    stack: list[str] = []
    closes: list[tuple[int, list[str]]] = []
    for i, ch, structural in _chars(text, start):
        if not structural:
            continue
        if ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if not stack or stack[-1] != ch:
                return None, closes
            stack.pop()
            if not stack:
                return i, closes
            closes.append((i, list(stack)))
    return None, closes


def json_end(text: str) -> int | None:
    """Index just past the first complete top-level JSON object/list in ``text``, or None if it has not
    closed yet (used to stop generation as soon as the JSON is complete)."""
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        return None
    end, _ = _scan(text, min(starts))
    return None if end is None else end + 1


def _strip_trailing_commas(text: str) -> str:
    out: list[str] = []
    for _, ch, structural in _chars(text):
        if structural and ch in "}]":
            while out and out[-1].isspace():
                out.pop()
            if out and out[-1] == ",":
                out.pop()
        out.append(ch)
    return "".join(out)


def _loads(candidate: str) -> Any:
    """json.loads after removing trailing commas; then Python-literal syntax (single quotes, None)."""
    cleaned = _strip_trailing_commas(candidate)
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError:
        pass
    pythonish = re.sub(r"\bnull\b", "None", re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", cleaned)))
    try:
        value = ast.literal_eval(pythonish)
        json.dumps(value)  # only JSON-representable values (no sets, tuples as keys, ...)
        return value
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ValueError("unparseable") from None


def _fix_brackets(text: str, start: int) -> tuple[str, int, bool, bool]:
    """The JSON value starting at ``text[start]`` with mismatched closing brackets fixed.

    A closer that skips over open brackets closes them first (``["a"}`` -> ``["a"]}``); a closer that
    matches nothing is dropped. Returns (the value's text, the index in ``text`` just past it, whether
    the value closed, whether anything was fixed).
    """
    out: list[str] = []
    stack: list[str] = []
    changed = False
    for i, ch, structural in _chars(text, start):
        if structural and ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif structural and ch in "}]":
            if ch not in stack:
                changed = True
                continue
            while stack[-1] != ch:
                out.append(stack.pop())
                changed = True
            stack.pop()
            if not stack:
                out.append(ch)
                return "".join(out), i + 1, True, changed
        out.append(ch)
    return "".join(out), len(text), False, changed


def extract_json(raw: str) -> tuple[Any, list[str]]:
    """The JSON value in an LLM reply, and notes on what had to be repaired.

    Raises :class:`PlanError` (one line) when no JSON object or list can be recovered.
    """
    notes: list[str] = []
    text = raw.strip()
    fence = _FENCE.search(text)
    if fence and fence.group(1).strip():
        text = fence.group(1).strip()
        notes.append("removed a code fence")
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        raise PlanError("the reply holds no JSON object or list; reply with one JSON object holding a "
                        "\"segments\" list")
    start = min(starts)
    if text[:start].strip():
        notes.append("ignored text before the JSON")
    candidate, end, closed, fixed = _fix_brackets(text, start)
    if fixed:
        notes.append("fixed mismatched brackets")
    if closed:
        try:
            value = _loads(candidate)
        except ValueError:
            value = None
        if value is not None:
            if text[end:].strip():
                more = _following_segments(text, end) if isinstance(value, Mapping) else []
                if more:
                    notes.append("joined several top-level segment objects into a list")
                    return [value, *more], notes
                notes.append("ignored text after the JSON")
            return value, notes
    # Unclosed or unparseable: cut back to the last closing bracket that gives valid JSON (a reply cut
    # off by the token limit loses its incomplete last element).
    _, closes = _scan(candidate, 0)
    for index, still_open in reversed(closes):
        try:
            value = _loads(candidate[:index + 1] + "".join(reversed(still_open)))
        except ValueError:
            continue
        notes.append("the JSON was cut off or broken; kept its complete part")
        return value, notes
    raise PlanError("the reply is not valid JSON and cannot be repaired; reply with one JSON object holding a "
                    "\"segments\" list and nothing else")


def _following_segments(text: str, position: int) -> list[Any]:
    """Further top-level ``{...}`` objects with a 'word' key after ``position`` (a model listing segments
    without the enclosing list)."""
    found = []
    while True:
        start = text.find("{", position)
        if start < 0 or text[position:start].strip(" \t\r\n,") != "":
            return found
        end, _ = _scan(text, start)
        if end is None:
            return found
        try:
            value = _loads(text[start:end + 1])
        except ValueError:
            return found
        if not (isinstance(value, Mapping) and "word" in value):
            return found
        found.append(value)
        position = end + 1


# --- shape and value repairs ------------------------------------------------------------------------------

def coerce_segments(data: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Segment dicts from any of the shapes LLMs produce; unknown keys dropped, numeric strings parsed.

    Raises :class:`PlanError` when there are no segments to work with.
    """
    notes: list[str] = []
    if isinstance(data, Mapping):
        if isinstance(data.get("segments"), list):
            extra = sorted(set(data) - {"version", "voice", "segments"})
            if extra:
                notes.append(f"dropped unknown top-level key(s) {', '.join(map(repr, extra))}")
            data = data["segments"]
        elif "word" in data or any(alias in data for alias in _WORD_ALIASES):
            notes.append("wrapped a single segment object in a list")
            data = [data]
        else:
            lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], (Mapping, str))]
            if len(lists) != 1:
                raise PlanError(f"the JSON object has no 'segments' list (keys: {', '.join(map(str, data))}); "
                                "reply with {\"segments\": [{\"word\": ...}, ...]}")
            notes.append("took the segment list from a differently named key")
            data = lists[0]
    if not isinstance(data, list) or not data:
        raise PlanError("the reply has no segments; reply with {\"segments\": [{\"word\": ...}, ...]} with at "
                        "least one segment")
    segments: list[dict[str, Any]] = []
    for index, item in enumerate(data):
        if isinstance(item, str):
            notes.append(f"segment {index} was a bare string; used it as the segment's words")
            segments.append({"word": item})
        elif isinstance(item, Mapping):
            segments.append(_coerce_segment(dict(item), index, notes))
        else:
            notes.append(f"dropped segment {index}: {type(item).__name__} is not a segment object")
    if not segments:
        raise PlanError("the reply's segments are not objects; reply with {\"segments\": [{\"word\": ...}]}")
    return segments, notes


def _coerce_segment(seg: dict[str, Any], index: int, notes: list[str]) -> dict[str, Any]:
    if "word" not in seg:
        for alias in _WORD_ALIASES:
            if alias in seg:
                value = seg.pop(alias)
                seg["word"] = " ".join(map(str, value)) if isinstance(value, list) else value
                notes.append(f"segment {index}: used '{alias}' as 'word'")
                break
    unknown = sorted(set(seg) - set(ALL_FIELDS))
    if unknown:
        notes.append(f"segment {index}: dropped unknown key(s) {', '.join(map(repr, unknown))}")
        for key in unknown:
            del seg[key]
    for name in NUMERIC_FIELDS:
        value = seg.get(name)
        if isinstance(value, str):
            number = parse_number(value, name)
            if number is not None:
                seg[name] = number
                notes.append(f"segment {index}: read {name} {value!r} as {number:g}")
    return seg


def parse_number(value: str, field_name: str) -> float | None:
    """``"220"``, ``"220 Hz"``, ``"350 ms"`` -> float in the field's unit; None if it is not that safe."""
    match = _NUMBER_STRING.match(value)
    if not match:
        return None
    unit = match.group(2).lower()
    if not unit:
        return float(match.group(1))
    scale = _UNIT_SCALE.get(field_name, {}).get(unit)
    return None if scale is None else float(match.group(1)) * scale


# --- words ------------------------------------------------------------------------------------------------

def resegment(segments: list[dict[str, Any]], text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Re-cut ``text`` along the model's segment boundaries so the segments reproduce it verbatim.

    Each text word goes to the segment in which the model wrote it (matched in order); words the model
    dropped join the segment of the word before them; segments with no word of the text are dropped.
    Raises :class:`PlanError` when fewer than MIN_WORD_OVERLAP of the text's words were found.
    """
    model = [(w, i) for i, seg in enumerate(segments)
             for w in (text_words(seg["word"]) if isinstance(seg.get("word"), str) else [])]
    tokens = text.split()
    token_words = [text_words(tok) for tok in tokens]
    expected = [words[0] for words in token_words if words]
    if [w for w, _ in model] == expected and all(any(i == k for _, i in model) for k in range(len(segments))):
        return segments, []
    matcher = SequenceMatcher(None, expected, [w for w, _ in model], autojunk=False)
    owner: list[int | None] = [None] * len(expected)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            owner[block.a + k] = model[block.b + k][1]
    found = sum(o is not None for o in owner)
    if not expected or found < MIN_WORD_OVERLAP * len(expected):
        raise PlanError(f"the segments' words do not match the text: only {found} of {len(expected)} words "
                        f"found; 'word' must copy the text: {text!r}", field_name="word")
    first = next(o for o in owner if o is not None)
    previous = first
    for k, o in enumerate(owner):
        previous = o if o is not None else previous
        owner[k] = previous
    # Map tokens (punctuation-only tokens included) to segments.
    token_owner: list[int] = []
    word_index = 0
    for words in token_words:
        if words:
            token_owner.append(owner[word_index])  # type: ignore[arg-type]
            word_index += 1
        else:
            token_owner.append(token_owner[-1] if token_owner else first)
    rebuilt: list[dict[str, Any]] = []
    for i, seg in enumerate(segments):
        mine = [tok for tok, o in zip(tokens, token_owner) if o == i]
        if mine:
            rebuilt.append({**seg, "word": " ".join(mine)})
    model_words = [w for w, _ in model]
    dropped = [expected[k] for k in range(len(expected)) if not _matched(matcher, a=k)]
    invented = [model_words[k] for k in range(len(model_words)) if not _matched(matcher, b=k)]
    detail = "; ".join(part for part in (
        f"missing: {' '.join(dropped)!r}" if dropped else "", f"not in the text: {' '.join(invented)!r}"
        if invented else "") if part)
    notes = [f"re-cut the text along the model's segments ({detail or 'word boundaries moved'})"]
    if len(rebuilt) < len(segments):
        notes.append(f"dropped {len(segments) - len(rebuilt)} segment(s) holding no word of the text")
    return rebuilt, notes


def _matched(matcher: SequenceMatcher, a: int | None = None, b: int | None = None) -> bool:
    for block in matcher.get_matching_blocks():
        if a is not None and block.a <= a < block.a + block.size:
            return True
        if b is not None and block.b <= b < block.b + block.size:
            return True
    return False


def _clean_emphasis(segments: list[dict[str, Any]]) -> list[str]:
    notes = []
    for index, seg in enumerate(segments):
        value = seg.get("emphasis")
        if value is None:
            continue
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(w, str) for w in items):
            continue  # wrong type: left for validation to report
        words = set(text_words(seg["word"]))
        kept = [w for w in items if text_words(w) and all(t in words for t in text_words(w))]
        if len(kept) != len(items):
            notes.append(f"segment {index}: dropped emphasis word(s) not in the segment")
            seg["emphasis"] = kept or None
    return notes


def covers_text(partial_reply: str, text: str) -> bool:
    """True once the complete segments in a (possibly unfinished) reply hold as many words as ``text``:
    generation can stop there; a small model otherwise tends to repeat segments until its token limit."""
    try:
        data, _ = extract_json(partial_reply)
        segments, _ = coerce_segments(data)
    except PlanError:
        return False
    n_words = sum(len(text_words(s["word"])) for s in segments if isinstance(s.get("word"), str))
    return n_words >= len(text_words(text))


# --- all together -----------------------------------------------------------------------------------------

def collect_errors(segments: list[dict[str, Any]], limit: int = 3) -> str | None:
    """All segment-level validation errors as one line (first ``limit``), or None if there are none."""
    errors = []
    for index, seg in enumerate(segments):
        before = len(errors)
        for spec in NUMERIC_FIELDS.values():  # every bad number, not just the first of the segment
            try:
                spec.check(seg.get(spec.name), index)
            except PlanError as err:
                errors.append(str(err))
        if len(errors) == before:
            try:
                Segment.from_dict(seg, index)
            except PlanError as err:
                errors.append(str(err))
    if not errors:
        return None
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    return "; ".join(errors[:limit]) + more


def repair_plan(raw: str, text: str, voice: str | None = None) -> RepairOutcome:
    """Parse an LLM reply, apply the safe repairs and validate it against ``text`` (one line on failure)."""
    notes: list[str] = []
    try:
        data, found = extract_json(raw)
        notes += found
        segments, found = coerce_segments(data)
        notes += found
        segments, found = resegment(segments, text)
        notes += found
        notes += _clean_emphasis(segments)
        error = collect_errors(segments)
        if error:
            return RepairOutcome(None, error, tuple(notes))
        return RepairOutcome(load_plan(segments, text=text, voice=voice), None, tuple(notes))
    except PlanError as err:
        return RepairOutcome(None, " ".join(str(err).split()), tuple(notes))


__all__ = ["RepairOutcome", "extract_json", "json_end", "covers_text", "coerce_segments", "parse_number",
           "resegment", "collect_errors",
           "repair_plan", "MIN_WORD_OVERLAP"]
