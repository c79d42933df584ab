"""Input syntax: every way a user can annotate text, compiled into one plan by any conductor.

Forms (they combine):

* prefix instruction: ``"angrily: I told you twice."`` (only when no explicit instruction is passed, and only
  when the words before the colon read as an instruction: see :func:`reads_as_instruction`; "Note: ...",
  "Dear John: ..." or "Chapter one: ..." stay text and are spoken);
* an explicit instruction argument (``--instruction`` on the CLI), used for the whole text;
* inline tags that switch the instruction from there on: ``"[sad] I lost it. [angry] And you laughed!"``
  (a tag replaces the global instruction for the text after it);
* ``*word*`` emphasis;
* an SSML subset: ``<speak>``, ``<prosody pitch= rate= volume=>`` (nestable), ``<emphasis>``,
  ``<break time="500ms"/>``; the entities ``&amp; &lt; &gt; &quot; &apos;``.

:func:`parse` turns the input into a :class:`Script` (plain text cut into spans, each with its instruction,
prosody overrides, emphasised word positions and the break after it); :func:`compose` asks a conductor for a
plan per span (plain text only, so LLM conductors never see markup) and merges the overrides, emphasis and
breaks into one validated plan whose words reproduce the plain text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from baton.baseline import VoiceBaseline
from baton.plan import NUMERIC_FIELDS, Plan, PlanError, Segment, text_words
from baton.prefix import reads_as_instruction, split_prefix
from plan_contract import UserError


class MarkupError(UserError, ValueError):
    """Malformed markup. ``str(err)`` is one line: the position, what was found and what is valid."""


@dataclass(frozen=True)
class Overrides:
    """Prosody overrides from SSML ``<prosody>``; relative to what the conductor planned."""

    pitch_st: float = 0.0
    """Shift of pitch_mean (and pitch_slope, proportionally) [semitones]."""
    pitch_hz: float | None = None
    """Absolute pitch_mean [Hz]; wins over ``pitch_st`` when set."""
    rate_ratio: float = 1.0
    """Speaking-rate multiplier (> 1 = faster): durations and pauses are divided by it."""
    volume_db: float = 0.0
    """Energy change [dB]."""

    @property
    def is_identity(self) -> bool:
        return self.pitch_st == 0.0 and self.pitch_hz is None and self.rate_ratio == 1.0 and self.volume_db == 0.0

    def combine(self, inner: "Overrides") -> "Overrides":
        """Nested ``<prosody>``: relative changes add (multiply for rate); an inner absolute pitch wins."""
        return Overrides(pitch_st=self.pitch_st + inner.pitch_st,
                         pitch_hz=inner.pitch_hz if inner.pitch_hz is not None else self.pitch_hz,
                         rate_ratio=self.rate_ratio * inner.rate_ratio,
                         volume_db=self.volume_db + inner.volume_db)


@dataclass(frozen=True)
class Span:
    """A run of plain text planned with one instruction and one set of overrides."""

    text: str
    instruction: str | None = None
    overrides: Overrides = Overrides()
    emphasis: tuple[int, ...] = ()
    """Positions (0-based, in ``text_words(text)``) of emphasised words."""
    break_after_s: float | None = None
    """Silence requested after the span by ``<break>`` [s]; None = the conductor decides."""


@dataclass(frozen=True)
class Script:
    """Parsed input: the spans in order. ``text`` is the plain text (markup removed)."""

    spans: tuple[Span, ...]
    prefix_instruction: str | None = None
    """The instruction taken from an ``"instruction: "`` prefix (None when there was none), so that callers
    can tell the user which words were not spoken."""

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.spans)


# --- parsing -------------------------------------------------------------------------------------------
MAX_WORD_LETTERS = 45
"""The longest word of an English dictionary (pneumonoultramicroscopicsilicovolcanoconiosis) has 45 letters;
a longer run of letters is a typo or a missing space, and no voice can read it."""
_LETTER_RUN = re.compile(r"[^\W\d_]{%d,}" % (MAX_WORD_LETTERS + 1))
_SSML_TAG = re.compile(r"<[^<>]*>|<")
_INLINE = re.compile(r"\[\s*([A-Za-z][A-Za-z0-9 ,.'-]{0,60}?)\s*\]|\*([^*\s](?:[^*]*[^*\s])?)\*")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}
_ENTITY = re.compile(r"&[a-zA-Z]+;|&")
_SSML_START = re.compile(r"<\s*/?\s*[A-Za-z]")


@dataclass
class _Run:
    """A piece of plain text with the markup state in force (internal)."""

    text: str
    overrides: Overrides
    emphasised: bool
    break_s: float | None = None  # a break run has empty text
    tag: str | None = field(default=None)  # an inline [tag] run has empty text


def parse(text: str, instruction: str | None = None, *, prefix: bool = True, markup: bool = True) -> Script:
    """Parse ``text`` (with optional markup) into a :class:`Script`.

    ``instruction``: applies to the whole text. When it is None and ``prefix`` is true, a leading
    ``"instruction: "`` is taken as the instruction if it :func:`reads_as_instruction`. An empty
    ``instruction`` (``""``) means "no instruction": the prefix is not looked for either.
    ``markup``: False reads the text exactly as written (no prefix, [tags], ``*emphasis*`` or SSML).
    Raises :class:`MarkupError` (one line) for malformed SSML, a run of letters longer than any word
    (:data:`MAX_WORD_LETTERS`), or an input with no words.
    """
    if not isinstance(text, str):
        raise MarkupError(f"text must be a string, got {type(text).__name__}")
    if instruction is not None and not instruction.strip():
        instruction, prefix = None, False
    taken = None
    if instruction is None and prefix and markup:
        taken, text = split_prefix(text)
        instruction = taken
    if not markup:
        runs = [_Run(text, Overrides(), False)]
    else:
        runs = _ssml_runs(text) if _SSML_START.search(text) else [_Run(text, Overrides(), False)]
        runs = [piece for run in runs for piece in _inline_runs(run)]
    spans = _spans(runs, instruction)
    if not spans:
        raise MarkupError("the input has no words to speak; give some text (markup alone is not speakable)")
    for span in spans:
        _check_word_lengths(span.text)
    return Script(tuple(spans), prefix_instruction=taken)


def _check_word_lengths(text: str) -> None:
    match = _LETTER_RUN.search(text)
    if match:
        word = match.group(0)
        shown = word if len(word) <= 24 else word[:20] + "\u2026"
        raise MarkupError(f"the word '{shown}' has {len(word)} letters, more than any English word "
                          f"({MAX_WORD_LETTERS}); put spaces between its words or fix the typo")


def _ssml_runs(text: str) -> list[_Run]:
    runs: list[_Run] = []
    stack: list[tuple[str, Overrides, bool, int]] = []  # (tag name, overrides, emphasised, position)
    overrides, emphasised, position, seen_speak = Overrides(), False, 0, False
    for match in _SSML_TAG.finditer(text):
        if match.start() > position:
            runs.append(_Run(_decode(text[position:match.start()], position), overrides, emphasised))
        position = match.end()
        raw = match.group(0)
        if raw == "<":
            raise MarkupError(f"SSML error at character {match.start()}: '<' that does not open a tag; write "
                              "&lt; for a literal '<' (valid tags: speak, prosody, emphasis, break)")
        name, attrs, closing, self_closing = _parse_tag(raw, match.start())
        where = f"SSML error at character {match.start()}"
        if closing:
            if not stack or stack[-1][0] != name:
                expected = f"</{stack[-1][0]}>" if stack else "no closing tag"
                raise MarkupError(f"{where}: </{name}> does not match the open tag; expected {expected}")
            _, overrides, emphasised, _ = stack.pop()
            continue
        if name == "break":
            runs.append(_Run("", overrides, emphasised, break_s=_break_time(attrs, where)))
            continue
        if self_closing:
            raise MarkupError(f"{where}: <{name}/> cannot be empty; only <break/> is self-closing")
        stack.append((name, overrides, emphasised, match.start()))
        if name == "speak":
            if seen_speak or len(stack) > 1:
                raise MarkupError(f"{where}: <speak> may only appear once, as the outermost tag")
            seen_speak = True
            _no_attrs(attrs, "speak", where)
        elif name == "emphasis":
            unknown = set(attrs) - {"level"}
            if unknown:
                raise MarkupError(f"{where}: unknown attribute '{sorted(unknown)[0]}' on <emphasis>; valid: level")
            emphasised = attrs.get("level", "moderate") not in ("none", "reduced")
        elif name == "prosody":
            overrides = overrides.combine(_prosody(attrs, where))
    if stack:
        name, _, _, start = stack[-1]
        raise MarkupError(f"SSML error at character {start}: <{name}> is never closed; add </{name}>")
    if position < len(text):
        runs.append(_Run(_decode(text[position:], position), overrides, emphasised))
    return runs


_TAG_BODY = re.compile(r"^<\s*(/?)\s*([A-Za-z][\w-]*)((?:\s+[\w:-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)\s*>$")
_ATTR = re.compile(r"([\w:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_VALID_TAGS = ("speak", "prosody", "emphasis", "break")


def _parse_tag(raw: str, start: int) -> tuple[str, dict[str, str], bool, bool]:
    match = _TAG_BODY.match(raw)
    if not match:
        raise MarkupError(f"SSML error at character {start}: malformed tag {raw!r}; write tags like "
                          "<prosody rate=\"slow\">, </prosody> or <break time=\"500ms\"/>")
    closing, name, attr_text, self_closing = match.group(1) == "/", match.group(2).lower(), match.group(3), \
        match.group(4) == "/"
    if name not in _VALID_TAGS:
        raise MarkupError(f"SSML error at character {start}: unsupported tag <{name}>; valid: "
                          f"{', '.join(_VALID_TAGS)}")
    attrs = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)).strip()
             for m in _ATTR.finditer(attr_text)}
    if closing and (attrs or self_closing):
        raise MarkupError(f"SSML error at character {start}: closing tag {raw!r} cannot have attributes")
    if name == "break" and not closing and not self_closing:
        raise MarkupError(f"SSML error at character {start}: write <break time=\"500ms\"/> (self-closing)")
    return name, attrs, closing, self_closing


def _no_attrs(attrs: dict[str, str], name: str, where: str) -> None:
    if attrs:
        raise MarkupError(f"{where}: <{name}> takes no attributes here, got '{sorted(attrs)[0]}'")


_BREAK_STRENGTH_S = {"none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.35, "strong": 0.6, "x-strong": 1.0}


def _break_time(attrs: dict[str, str], where: str) -> float:
    unknown = set(attrs) - {"time", "strength"}
    if unknown:
        raise MarkupError(f"{where}: unknown attribute '{sorted(unknown)[0]}' on <break>; valid: time, strength")
    if "time" in attrs:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s)", attrs["time"])
        if not match:
            raise MarkupError(f"{where}: break time {attrs['time']!r} is not valid; valid: e.g. \"500ms\" or "
                              "\"1.5s\" (0 to 10 s)")
        seconds = float(match.group(1)) / (1000.0 if match.group(2) == "ms" else 1.0)
        if seconds > 10.0:
            raise MarkupError(f"{where}: break time {attrs['time']!r} is too long; valid: 0 to 10 s")
        return seconds
    strength = attrs.get("strength", "medium")
    if strength not in _BREAK_STRENGTH_S:
        raise MarkupError(f"{where}: break strength {strength!r} is not valid; valid: "
                          f"{', '.join(_BREAK_STRENGTH_S)}")
    return _BREAK_STRENGTH_S[strength]


_PITCH_NAMES_ST = {"x-low": -6.0, "low": -3.0, "medium": 0.0, "default": 0.0, "high": 3.0, "x-high": 6.0}
_RATE_NAMES = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
_VOLUME_NAMES_DB = {"x-soft": -12.0, "soft": -6.0, "medium": 0.0, "default": 0.0, "loud": 6.0, "x-loud": 12.0}


def _prosody(attrs: dict[str, str], where: str) -> Overrides:
    unknown = set(attrs) - {"pitch", "rate", "volume"}
    if unknown:
        raise MarkupError(f"{where}: unknown attribute '{sorted(unknown)[0]}' on <prosody>; valid: pitch, rate, "
                          "volume")
    pitch_st, pitch_hz, rate, volume_db = 0.0, None, 1.0, 0.0
    hz_spec = NUMERIC_FIELDS["pitch_mean"]  # an absolute pitch becomes the segments' pitch_mean
    if "pitch" in attrs:
        value = attrs["pitch"].lower()
        st = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)\s*st", value)
        pct = re.fullmatch(r"([+-]\d+(?:\.\d+)?)\s*%", value)
        hz = re.fullmatch(r"(\d+(?:\.\d+)?)\s*hz", value)
        if value in _PITCH_NAMES_ST:
            pitch_st = _PITCH_NAMES_ST[value]
        elif st:
            pitch_st = float(st.group(1))
        elif pct and float(pct.group(1)) > -100:
            pitch_st = 12.0 * math.log2(1.0 + float(pct.group(1)) / 100.0)
        elif hz and hz_spec.minimum <= float(hz.group(1)) <= hz_spec.maximum:
            pitch_hz = float(hz.group(1))
        else:
            raise MarkupError(f"{where}: pitch {attrs['pitch']!r} is not valid; valid: +3st, -2st, +10%, -10%, "
                              f"200Hz ({hz_spec.minimum:g}-{hz_spec.maximum:g}), or x-low, low, medium, high, "
                              "x-high")
        if abs(pitch_st) > 24:
            raise MarkupError(f"{where}: pitch {attrs['pitch']!r} is out of range; valid: -24st to +24st")
    if "rate" in attrs:
        value = attrs["rate"].lower()
        pct = re.fullmatch(r"([+-]?)(\d+(?:\.\d+)?)\s*%", value)
        num = re.fullmatch(r"\d+(?:\.\d+)?", value)
        if value in _RATE_NAMES:
            rate = _RATE_NAMES[value]
        elif pct:
            number = float(pct.group(2)) / 100.0
            rate = 1.0 + number if pct.group(1) == "+" else 1.0 - number if pct.group(1) == "-" else number
        elif num:
            rate = float(value)
        else:
            rate = -1.0
        if not 0.25 <= rate <= 4.0:
            raise MarkupError(f"{where}: rate {attrs['rate']!r} is not valid; valid: 80%, 120%, +10%, -20%, 1.2 "
                              "(0.25 to 4 times), or x-slow, slow, medium, fast, x-fast")
    if "volume" in attrs:
        value = attrs["volume"].lower()
        db = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)\s*db", value)
        if value in _VOLUME_NAMES_DB:
            volume_db = _VOLUME_NAMES_DB[value]
        elif db and abs(float(db.group(1))) <= 30:
            volume_db = float(db.group(1))
        else:
            raise MarkupError(f"{where}: volume {attrs['volume']!r} is not valid; valid: +6dB, -3dB (-30 to +30), "
                              "or x-soft, soft, medium, loud, x-loud")
    return Overrides(pitch_st=pitch_st, pitch_hz=pitch_hz, rate_ratio=rate, volume_db=volume_db)


def _decode(text: str, offset: int) -> str:
    def entity(match: re.Match) -> str:
        if match.group(0) not in _ENTITIES:
            raise MarkupError(f"SSML error at character {offset + match.start()}: '{match.group(0)}' is not a "
                              "valid entity; valid: &amp; &lt; &gt; &quot; &apos;")
        return _ENTITIES[match.group(0)]
    return _ENTITY.sub(entity, text)


def _inline_runs(run: _Run) -> list[_Run]:
    """Split a text run at inline ``[tags]`` and ``*emphasis*``."""
    if run.break_s is not None:
        return [run]
    out, position = [], 0
    for match in _INLINE.finditer(run.text):
        if match.start() > position:
            out.append(replace(run, text=run.text[position:match.start()]))
        if match.group(1) is not None:
            out.append(_Run("", run.overrides, run.emphasised, tag=match.group(1).strip()))
        else:
            out.append(replace(run, text=match.group(2), emphasised=True))
        position = match.end()
    if position < len(run.text):
        out.append(replace(run, text=run.text[position:]))
    return out


def _spans(runs: list[_Run], instruction: str | None) -> list[Span]:
    spans: list[Span] = []
    pieces: list[str] = []
    emphasis: list[int] = []
    current_instruction, current_overrides, n_words = instruction, Overrides(), 0

    def flush(break_s: float | None = None) -> None:
        nonlocal pieces, emphasis, n_words
        text = " ".join("".join(pieces).split())  # runs are contiguous slices of the input
        if text_words(text):
            spans.append(Span(text, current_instruction, current_overrides, tuple(emphasis), break_s))
        elif break_s is not None and spans:
            previous = spans[-1]
            spans[-1] = replace(previous, break_after_s=(previous.break_after_s or 0.0) + break_s)
        pieces, emphasis, n_words = [], [], 0

    for run in runs:
        if run.tag is not None:
            flush()
            current_instruction = run.tag
            continue
        if run.break_s is not None:
            flush(run.break_s)
            continue
        if run.overrides != current_overrides:
            flush()
            current_overrides = run.overrides
        words = text_words(run.text)
        if run.emphasised:
            emphasis.extend(range(n_words, n_words + len(words)))
        n_words += len(words)
        pieces.append(run.text)
    flush()
    return spans


# --- composing -----------------------------------------------------------------------------------------
def compose(script: Script, conductor, baseline: VoiceBaseline) -> Plan:
    """Plan every span with ``conductor.plan(span.text, span.instruction, baseline)`` and merge them.

    Overrides, emphasis and breaks are applied on top of the conductor's numbers (a field the conductor
    left empty is filled from the baseline when an override needs it). The result reproduces ``script.text``.
    """
    from baton.conductors import embedded_compose as edit

    segments: list[Segment] = []
    for span in script.spans:
        plan = conductor.plan(span.text, span.instruction, baseline)
        plan.check_text(span.text)
        span_segments = list(plan.segments)
        if span.emphasis:
            span_segments = edit.emphasise(span_segments, span.emphasis, baseline)
        if not span.overrides.is_identity:
            span_segments = edit.apply_overrides(span_segments, span.overrides, baseline)
        if span.break_after_s is not None:
            span_segments[-1] = replace(span_segments[-1], pause_after=span.break_after_s)
        elif span is not script.spans[-1] and span_segments[-1].pause_after is None:
            span_segments[-1] = replace(span_segments[-1], pause_after=_boundary_pause(span.text, baseline))
        segments.extend(span_segments)
    merged = Plan.from_segments([s.to_dict() for s in segments])
    merged.check_text(script.text)
    return merged


def _boundary_pause(text: str, baseline: VoiceBaseline) -> float:
    """Pause between two spans when neither the markup nor the conductor set one [s]."""
    end = text.rstrip("\"')\u201d\u2019 ")
    if end.endswith((".", "!", "?", "\u2026")):
        return 2.0 * baseline.pause_s
    if end.endswith((",", ";", ":", "\u2014", "-")):
        return baseline.pause_s
    return 0.0


def plan_input(text: str, instruction: str | None, conductor, baseline: VoiceBaseline) -> Plan:
    """``compose(parse(text, instruction), conductor, baseline)``: what the CLI and Pipeline call."""
    return compose(parse(text, instruction), conductor, baseline)


__all__ = ["MarkupError", "Overrides", "Span", "Script", "parse", "compose", "plan_input", "PlanError",
           "reads_as_instruction", "split_prefix", "MAX_WORD_LETTERS"]
