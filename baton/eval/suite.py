"""The evaluation suite: JSONL, one item per line.

Item fields:

* ``id`` (required): unique, letters/digits/``_``/``-`` (it names the item's files);
* ``text`` (required): what to say, in any input form baton.syntax understands;
* ``instruction``: how to say it (free text), or omitted;
* ``emotion``: a row of the prosody table (baton/data/prosody_table.json), e.g. ``"angry"``, whose measured
  direction (pitch, energy, rate, centroid vs neutral) the rendering is checked against;
* ``intensity``: ``"normal"`` (default) or ``"strong"``, the table column to compare with;
* ``expect``: explicit direction checks for fine controls, ``{"pitch"|"energy"|"rate": "+"|"-"}``, relative
  to the neutral rendering of the same words;
* ``emphasis``: a word of the text that must come out more prominent (pitch or energy) than in the neutral
  rendering, relative to the rest of the sentence;
* ``note``: free text, ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from plan_contract import UserError

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DIRECTION_KEYS = ("pitch", "energy", "rate")
INTENSITIES = ("normal", "strong")
_KEYS = {"id", "text", "instruction", "emotion", "intensity", "expect", "emphasis", "note"}


class SuiteError(UserError, ValueError):
    """An invalid suite file; the message names the line, the field and the fix."""


@dataclass(frozen=True)
class SuiteItem:
    id: str
    text: str
    instruction: str | None = None
    emotion: str | None = None
    intensity: str = "normal"
    expect: Mapping[str, str] = field(default_factory=dict)
    emphasis: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text, "instruction": self.instruction}
        if self.emotion:
            out.update(emotion=self.emotion, intensity=self.intensity)
        if self.expect:
            out["expect"] = dict(self.expect)
        if self.emphasis:
            out["emphasis"] = self.emphasis
        return out

    @property
    def needs_neutral(self) -> bool:
        """Whether a neutral rendering of the same words is needed for the direction checks."""
        return bool(self.emotion and self.emotion != "neutral") or bool(self.expect) or bool(self.emphasis)


def _item(data: Any, where: str, emotions: set[str] | None) -> SuiteItem:
    if not isinstance(data, Mapping):
        raise SuiteError(f"{where}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise SuiteError(f"{where}: unknown field(s) {unknown}; valid: {sorted(_KEYS)}")
    item_id, text = data.get("id"), data.get("text")
    if not isinstance(item_id, str) or not _ID.match(item_id):
        raise SuiteError(f"{where}: 'id' {item_id!r} must be 1-64 letters, digits, '_' or '-'")
    if not isinstance(text, str) or not text.strip():
        raise SuiteError(f"{where}: 'text' must be a non-empty string")
    instruction = data.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise SuiteError(f"{where}: 'instruction' must be a string or omitted")
    emotion = data.get("emotion")
    if emotion is not None and (emotions is not None and emotion not in emotions):
        raise SuiteError(f"{where}: 'emotion' {emotion!r} is not in the prosody table; valid: "
                         f"{', '.join(sorted(emotions))}")
    intensity = data.get("intensity", "normal")
    if intensity not in INTENSITIES:
        raise SuiteError(f"{where}: 'intensity' {intensity!r} is not valid; valid: {', '.join(INTENSITIES)}")
    expect = data.get("expect") or {}
    if not isinstance(expect, Mapping) or any(k not in DIRECTION_KEYS or v not in ("+", "-")
                                              for k, v in expect.items()):
        raise SuiteError(f"{where}: 'expect' must map {'/'.join(DIRECTION_KEYS)} to '+' or '-', got {expect!r}")
    emphasis = data.get("emphasis")
    if emphasis is not None and (not isinstance(emphasis, str) or emphasis.lower() not in text.lower()):
        raise SuiteError(f"{where}: 'emphasis' {emphasis!r} must be a word of the text")
    return SuiteItem(id=item_id, text=text, instruction=instruction, emotion=emotion, intensity=intensity,
                     expect=dict(expect), emphasis=emphasis)


def load_suite(path: Path, emotions: set[str] | None = None) -> list[SuiteItem]:
    """Read and validate a JSONL suite. ``emotions``: valid ``emotion`` values (None = any)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"suite '{path}' does not exist; the default suite is baton/data/eval_suite.jsonl")
    items: list[SuiteItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path.name} line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise SuiteError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
        item = _item(data, where, emotions)
        if item.id in seen:
            raise SuiteError(f"{where}: duplicate id {item.id!r}; every item needs its own id")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise SuiteError(f"{path.name}: no items; write one JSON object per line")
    return items


def default_suite_path() -> Path:
    return Path(__file__).resolve().parents[1] / "data" / "eval_suite.jsonl"
