"""The plan: BatonVoice's contract between conductor and synthesizer (ARCHITECTURE.md, Contract 1).

A plan is the input text cut into segments, each carrying optional prosody numbers in physical units.
Two JSON forms load:

* the document form ``{"version": 1, "voice": "<voice id>", "segments": [...]}``;
* the original BatonVoice form, a bare list of segments.

A field left out (or ``null``) means "let the model predict it". Every value is range-checked, and every
error names the segment, the field, the value and what would have been valid, so an LLM conductor can be
re-asked with the message verbatim and a user can fix a hand-edited file.

The fields themselves (names, units, ranges, valid voice qualities) and :class:`PlanError` live in the
dependency-free ``plan_contract`` package, which tts_model and feature_extract import too; this module builds
plans on them. It has no dependencies beyond the standard library and ``plan_contract``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from plan_contract import (ALL_FIELDS, NUMERIC_FIELDS, PITCH_RANGE, PLAN_VERSION, RENDER_FIELDS,
                           VOICE_QUALITIES, FieldSpec, JsonConstant, PlanError)

_TOKEN_EDGE = re.compile(r"^[^\w']+|[^\w']+$")


def text_words(text: str) -> list[str]:
    """Words of ``text`` as compared by the plan contract: whitespace tokens, edge punctuation stripped,
    lower-cased; tokens that are only punctuation are dropped. ``"Wow, you"`` -> ``["wow", "you"]``."""
    words = []
    for token in text.split():
        core = _TOKEN_EDGE.sub("", token).lower().replace("\u2019", "'")
        if core:
            words.append(core)
    return words


@dataclass(frozen=True)
class Segment:
    """A run of words with optional prosody targets. Units are in the field names' specs (NUMERIC_FIELDS)."""

    word: str
    pitch_mean: float | None = None
    pitch_slope: float | None = None
    energy_rms: float | None = None
    energy_slope: float | None = None
    spectral_centroid: float | None = None
    duration: float | None = None
    pause_after: float | None = None
    emphasis: tuple[str, ...] = ()
    pitch_range: float | None = None
    """F0 spread inside the segment [st] (PITCH_RANGE); None = as the model renders it."""
    voice_quality: str | None = None
    """One of VOICE_QUALITIES; None = modal."""

    @property
    def words(self) -> list[str]:
        return text_words(self.word)

    def controls(self) -> dict[str, float | None]:
        """The numeric fields as a dict (None = predict), in NUMERIC_FIELDS order."""
        return {name: getattr(self, name) for name in NUMERIC_FIELDS}

    def with_values(self, **values: Any) -> "Segment":
        """A copy with some fields replaced, validated."""
        return Segment.from_dict({**self.to_dict(), **values}, index=0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; fields that are None / empty are left out (the original form's convention)."""
        out: dict[str, Any] = {"word": self.word}
        for name in NUMERIC_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = _round(value)
        if self.pitch_range is not None:
            out["pitch_range"] = _round(self.pitch_range)
        if self.voice_quality is not None:
            out["voice_quality"] = self.voice_quality
        if self.emphasis:
            out["emphasis"] = list(self.emphasis)
        return out

    @classmethod
    def from_dict(cls, data: Any, index: int) -> "Segment":
        if not isinstance(data, Mapping):
            raise PlanError(f"expected an object with a 'word' field, got {type(data).__name__}", segment=index)
        unknown = sorted(set(data) - set(ALL_FIELDS))
        if unknown:
            raise PlanError(f"unknown field(s) {', '.join(map(repr, unknown))}; valid fields: "
                            f"{', '.join(ALL_FIELDS)}", segment=index, field_name=unknown[0])
        word = data.get("word")
        if not isinstance(word, str) or not text_words(word):
            raise PlanError(f"value {word!r} is not valid; 'word' is required and must hold at least one word "
                            "of the text", segment=index, field_name="word")
        values = {name: spec.check(data.get(name), index) for name, spec in NUMERIC_FIELDS.items()}
        emphasis = _check_emphasis(data.get("emphasis"), word, index)
        quality = data.get("voice_quality")
        if quality is not None and quality not in VOICE_QUALITIES:
            raise PlanError(f"value {quality!r} is not a voice quality; valid: {', '.join(VOICE_QUALITIES)}, or "
                            "null for modal", segment=index, field_name="voice_quality")
        return cls(word=word, emphasis=emphasis, pitch_range=PITCH_RANGE.check(data.get("pitch_range"), index),
                   voice_quality=quality, **values)

    def render_options(self) -> dict[str, Any]:
        """The rendering fields that are set (``pitch_range``, ``voice_quality``), for the synthesizer."""
        return {name: getattr(self, name) for name in RENDER_FIELDS if getattr(self, name) is not None}


def _check_emphasis(value: Any, word: str, index: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(w, str) for w in value):
        raise PlanError(f"value {value!r} is not valid; expected a list of words from this segment",
                        field_name="emphasis", segment=index)
    segment_words = set(text_words(word))
    for w in value:
        normalised = text_words(w)
        if not normalised or any(n not in segment_words for n in normalised):
            raise PlanError(f"value {w!r} is not a word of this segment; valid: "
                            f"{', '.join(sorted(segment_words))}", segment=index, field_name="emphasis")
    return tuple(value)


def _round(value: float) -> float:
    """Round for JSON: 4 significant digits keeps plans readable without losing meaningful precision."""
    if value == 0:
        return 0.0
    digits = max(0, 4 - int(math.floor(math.log10(abs(value)))) - 1)
    return round(value, digits)


@dataclass(frozen=True)
class Plan:
    """A validated plan. Build with :func:`load_plan` / :meth:`from_segments`; the constructor checks."""

    segments: tuple[Segment, ...]
    voice: str | None = None
    version: int = PLAN_VERSION

    def __post_init__(self) -> None:
        if not self.segments:
            raise PlanError("a plan needs at least one segment")
        if self.version != PLAN_VERSION:
            raise PlanError(f"version {self.version!r} is not supported; valid: {PLAN_VERSION}")

    @classmethod
    def from_segments(cls, segments: Iterable[Mapping[str, Any] | Segment], voice: str | None = None) -> "Plan":
        built = tuple(s if isinstance(s, Segment) else Segment.from_dict(s, i) for i, s in enumerate(segments))
        return cls(segments=built, voice=voice)

    @property
    def text(self) -> str:
        return " ".join(s.word.strip() for s in self.segments)

    @property
    def words(self) -> list[str]:
        return [w for s in self.segments for w in s.words]

    def check_text(self, text: str) -> None:
        """Raise :class:`PlanError` unless the segments' words reproduce ``text``'s words in order."""
        check_words(self, text)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version}
        if self.voice is not None:
            out["voice"] = self.voice
        out["segments"] = [s.to_dict() for s in self.segments]
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_list(self) -> list[dict[str, Any]]:
        """The original BatonVoice bare-list form."""
        return [s.to_dict() for s in self.segments]

    def replace_segments(self, segments: Sequence[Segment]) -> "Plan":
        return replace(self, segments=tuple(segments))

    def with_voice(self, voice: str | None) -> "Plan":
        """A copy for voice id ``voice`` (None: whichever voice renders it)."""
        if voice is not None and not isinstance(voice, str):
            raise PlanError(f"'voice' must be a voice id string, got {voice!r}")
        return replace(self, voice=voice)

    def table(self) -> str:
        return format_table(self)


def check_words(plan: Plan, text: str) -> None:
    """The words rule of Contract 1: no word dropped, invented or reordered (case and punctuation aside)."""
    expected = text_words(text)
    position = 0
    for index, segment in enumerate(plan.segments):
        for got in segment.words:
            if position >= len(expected):
                raise PlanError(f"value {segment.word!r} adds the word {got!r} after the end of the text; "
                                "segments must reproduce the text's words in order", segment=index,
                                field_name="word")
            if got != expected[position]:
                raise PlanError(f"value {segment.word!r} has the word {got!r} where the text has "
                                f"{expected[position]!r} (word {position + 1} of {len(expected)}); segments "
                                "must reproduce the text's words in order", segment=index, field_name="word")
            position += 1
    if position < len(expected):
        missing = " ".join(expected[position:position + 8])
        raise PlanError(f"the segments stop after word {position} of {len(expected)}; missing: '{missing}"
                        f"{' ...' if len(expected) - position > 8 else ''}'", field_name="word")


def load_plan(source: Any, *, text: str | None = None, voice: str | None = None) -> Plan:
    """Load and validate a plan from a dict/list, a JSON string, or a path to a JSON file.

    ``text``: when given, the segments' words must reproduce it. ``voice``: default voice id when the
    document does not name one (the bare-list form never does).
    """
    data = source
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith(("{", "["))):
        path = Path(source)
        if not path.is_file():
            raise PlanError(f"file '{path}' does not exist; pass a plan JSON file, or the JSON itself")
        data = path.read_text(encoding="utf-8")
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data, parse_constant=JsonConstant)
        except json.JSONDecodeError as err:
            raise PlanError(f"not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    if isinstance(data, list):
        plan = Plan.from_segments(data, voice=voice)
    elif isinstance(data, Mapping):
        unknown = sorted(set(data) - {"version", "voice", "segments"})
        if unknown:
            raise PlanError(f"unknown top-level key(s) {', '.join(map(repr, unknown))}; valid: version, voice, "
                            "segments")
        segments = data.get("segments")
        if not isinstance(segments, list):
            raise PlanError("the document form needs 'segments': a list of segment objects")
        doc_voice = data.get("voice", voice)
        if doc_voice is not None and not isinstance(doc_voice, str):
            raise PlanError(f"'voice' must be a voice id string, got {doc_voice!r}")
        version = data.get("version", PLAN_VERSION)
        if version != PLAN_VERSION:
            raise PlanError(f"version {version!r} is not supported; valid: {PLAN_VERSION}")
        plan = Plan.from_segments(segments, voice=doc_voice)
    else:
        raise PlanError(f"expected a JSON object or list, got {type(data).__name__}")
    if text is not None:
        plan.check_text(text)
    return plan


def segment_schema() -> dict[str, Any]:
    props: dict[str, Any] = {"word": {"type": "string", "minLength": 1,
                                      "description": "the words of the segment, verbatim from the text"}}
    for spec in NUMERIC_FIELDS.values():
        props[spec.name] = {"type": "number", "minimum": spec.minimum, "maximum": spec.maximum,
                            "description": f"{spec.meaning} [{spec.unit}]"}
    props["pitch_range"] = {"type": "number", "minimum": PITCH_RANGE.minimum, "maximum": PITCH_RANGE.maximum,
                            "description": f"{PITCH_RANGE.meaning} [{PITCH_RANGE.unit}]"}
    props["voice_quality"] = {"enum": list(VOICE_QUALITIES), "description": "phonation: modal (default), "
                              "breathy, whisper (no voicing) or tense (pressed)"}
    props["emphasis"] = {"type": "array", "items": {"type": "string"},
                         "description": "words of this segment to stress"}
    return {"type": "object", "properties": props, "required": ["word"], "additionalProperties": False}


def plan_json_schema(bare_list: bool = False) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a plan, for LLM constrained decoding and for editors."""
    segments = {"type": "array", "minItems": 1, "items": segment_schema()}
    if bare_list:
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "BatonVoice plan (list)",
                **segments}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "BatonVoice plan",
        "type": "object",
        "properties": {"version": {"const": PLAN_VERSION}, "voice": {"type": "string"}, "segments": segments},
        "required": ["segments"],
        "additionalProperties": False,
    }


_TABLE_COLUMNS = (
    ("pitch_mean", "F0 Hz", "{:.0f}"), ("pitch_slope", "F0/s", "{:+.0f}"), ("energy_rms", "RMS", "{:.4f}"),
    ("energy_slope", "dB/s", "{:+.0f}"), ("spectral_centroid", "cent Hz", "{:.0f}"),
    ("duration", "dur s", "{:.2f}"), ("pause_after", "pause", "{:.2f}"),
)
_RENDER_COLUMNS = (("pitch_range", "range st", "{:.1f}"), ("voice_quality", "voice", "{}"))


def format_table(plan: Plan, max_word_width: int = 32) -> str:
    """A compact, aligned text table of the plan for terminals; '-' marks a field the model predicts."""
    # The rendering columns appear only when some segment sets them (most plans never do).
    columns = (*_TABLE_COLUMNS, *(c for c in _RENDER_COLUMNS
                                   if any(getattr(s, c[0]) is not None for s in plan.segments)))
    header = ["#", "words", *(title for _, title, _ in columns), "emphasis"]
    rows = []
    for i, seg in enumerate(plan.segments):
        words = seg.word if len(seg.word) <= max_word_width else seg.word[: max_word_width - 1] + "…"
        cells = [str(i), words]
        for name, _, fmt in columns:
            value = getattr(seg, name)
            cells.append("-" if value is None else fmt.format(value))
        cells.append(",".join(seg.emphasis))
        rows.append(cells)
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [r[c].ljust(widths[c]) if c in (1, len(header) - 1) else r[c].rjust(widths[c])
                 for c in range(len(header))]
        lines.append("  ".join(cells).rstrip())
    title = f"plan for voice '{plan.voice}'" if plan.voice else "plan"
    return "\n".join([title, *lines])


__all__ = ["PLAN_VERSION", "NUMERIC_FIELDS", "ALL_FIELDS", "RENDER_FIELDS", "PITCH_RANGE", "VOICE_QUALITIES",
           "FieldSpec", "Segment", "Plan", "PlanError",
           "load_plan", "check_words", "text_words", "plan_json_schema", "segment_schema", "format_table"]
