"""Scene files -> :class:`Scene` objects, validated (../shared/DATA.md, "scenes/").

Formats, detected from the content:

* CoSER test set: a JSON list of scenes ``{scenario, key_characters[{name, motivation}],
  dialogues[{character, message}], character_profiles{name: text}, ...}``;
* CoSER book (``Othello.json``): ``{plots[{conversation[{scenario, key_characters, dialogues}]}],
  character_datasets{name: {profile}}}``, one scene per conversation;
* Moral RolePlay: CoSER's fields with ``key_characters[].thought`` and
  ``key_characters[].morality_classification = {level: 1..4, key_traits: [...]}``;
* SAGE (JSONL, one dialogue a line): ``player`` (persona), ``scene``, ``task``, ``character`` (persona type),
  ``history[{role: user|assistant, content, emotion-point}]``.

Every error is one line naming the file, the scene, the message and the field (:class:`SceneError`).
A file over :data:`MAX_FILE_BYTES` is refused before it is read.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from baton.dialogue.messages import has_words, parse_message
from plan_contract import UserError

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Scene files larger than this are refused (the largest shared scene file, Othello.json, is 0.34 MB)."""
NARRATOR = "Environment"
"""CoSER's name for narration lines."""
MORAL_LEVELS = {1: "paragon", 2: "flawed but good", 3: "egoist", 4: "villain"}
SAGE_START_SCORE = 40.0


class SceneError(UserError, ValueError):
    """A scene file that cannot be used. ``str(err)`` is one line: where (file, scene, message, field),
    what was wrong and what is valid."""


@dataclass(frozen=True)
class Character:
    name: str
    profile: str = ""
    """Profile text (CoSER ``character_profiles`` / ``character_datasets[].profile``, SAGE ``player``)."""
    motivation: str = ""
    """CoSER ``motivation`` / Moral RolePlay ``thought`` for this scene."""
    level: int | None = None
    """Moral level 1..4 (1 paragon, 2 flawed but good, 3 egoist, 4 villain); None for SAGE roles."""
    traits: tuple[str, ...] = ()
    inferred: bool = False
    """True when ``level``/``traits`` were inferred from the profile (the scene had no classification)."""
    role: str = "character"
    """'character', 'narrator', or for SAGE 'person' (the simulated user) and 'supporter'."""
    persona: str | None = None
    """SAGE persona type: 'negative', 'passive' or 'avoidant'."""


@dataclass(frozen=True)
class Line:
    index: int
    speaker: str
    message: str
    """The message verbatim."""
    speech: str
    """What is spoken ('' when the message is only thought or action)."""
    thoughts: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    emotion_point: float | None = None
    """SAGE user turns: the person's emotion score after this turn (0..100)."""

    @property
    def is_narration(self) -> bool:
        return self.speaker == NARRATOR


@dataclass(frozen=True)
class Scene:
    kind: str
    """'coser', 'moral' or 'sage'."""
    title: str
    scenario: str
    characters: tuple[Character, ...]
    lines: tuple[Line, ...]
    source: str
    """File and position, e.g. 'Othello.json plots[5].conversation[0]'."""
    task: str | None = None
    """SAGE: the person's hidden need."""
    notes: tuple[str, ...] = field(default=())
    """What the loader assumed (inferred levels, minor characters), shown in the transcript."""

    def character(self, name: str) -> Character:
        for c in self.characters:
            if c.name == name:
                return c
        raise KeyError(name)


# ----------------------------------------------------------------------------------------------------
def load_scenes(path: str | Path) -> list[Scene]:
    """All scenes of a scene file (format detected from the content). Raises :class:`SceneError`."""
    path = Path(path)
    if not path.is_file():
        raise SceneError(f"scene file '{path}' does not exist; give a CoSER/Moral RolePlay .json or a SAGE .jsonl")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SceneError(f"scene file '{path}' is {size / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES / 2**20:g} MB "
                         "(split it, or pick the scenes you need into a smaller file)")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise SceneError(f"scene file '{path}' is empty; expected JSON (CoSER, Moral RolePlay) or JSONL (SAGE)")
    name = path.name
    try:
        data = json.loads(text)
        records = None
    except json.JSONDecodeError as err:
        records = _jsonl(text, name, err)
        data = None
    if records is not None:
        return [_sage(rec, name, i) for i, rec in enumerate(records)]
    if isinstance(data, Mapping) and "plots" in data:
        return _book(data, name)
    if isinstance(data, Mapping) and "history" in data:
        return [_sage(data, name, 0)]
    if isinstance(data, Mapping) and "dialogues" in data:
        data = [data]
    if isinstance(data, list):
        if data and all(isinstance(r, Mapping) and "history" in r for r in data):
            return [_sage(r, name, i) for i, r in enumerate(data)]
        return [_coser(rec, name, f"scene {i}", {}) for i, rec in enumerate(data)] or _no_scenes(name)
    raise SceneError(f"{name}: not a scene file; expected a list of scenes with 'dialogues', a book with 'plots', "
                     "or SAGE dialogues with 'history' (one JSON object a line)")


def _no_scenes(name: str) -> list[Scene]:
    raise SceneError(f"{name}: the file holds no scenes; expected at least one scene with 'dialogues'")


def _jsonl(text: str, name: str, first_error: json.JSONDecodeError) -> list[Mapping[str, Any]]:
    records = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as err:
            raise SceneError(f"{name}: line {number} is not valid JSON ({err.msg} at column {err.colno}); expected "
                             "JSON, or JSONL with one SAGE dialogue a line") from None
        if not isinstance(record, Mapping):
            raise SceneError(f"{name}: line {number} is a {type(record).__name__}; expected a JSON object")
        records.append(record)
    if not records:
        raise SceneError(f"{name}: not valid JSON ({first_error.msg})")
    return records


def _need(record: Mapping[str, Any], key: str, kind: type | tuple, where: str, valid: str) -> Any:
    if key not in record:
        raise SceneError(f"{where}: field '{key}' is missing; expected {valid}")
    value = record[key]
    if not isinstance(value, kind):
        raise SceneError(f"{where}: field '{key}' is a {type(value).__name__}; expected {valid}")
    return value


def _book(data: Mapping[str, Any], name: str) -> list[Scene]:
    plots = _need(data, "plots", list, name, "a list of plots")
    datasets = data.get("character_datasets") or {}
    profiles = {k: str(v.get("profile", "")) for k, v in datasets.items() if isinstance(v, Mapping)}
    scenes = []
    for i, plot in enumerate(plots):
        where = f"{name} plots[{i}]"
        if not isinstance(plot, Mapping):
            raise SceneError(f"{where}: expected an object with 'conversation'")
        for j, conversation in enumerate(_need(plot, "conversation", list, where, "a list of conversations")):
            scenes.append(_coser(conversation, name, f"scene {len(scenes)} (plots[{i}].conversation[{j}])",
                                 profiles, minor_ok=True))
    if not scenes:
        _no_scenes(name)
    return scenes


def _coser(record: Any, name: str, label: str, book_profiles: Mapping[str, str], minor_ok: bool = False) -> Scene:
    where = f"{name} {label}"
    if not isinstance(record, Mapping):
        raise SceneError(f"{where}: expected an object with 'scenario', 'key_characters' and 'dialogues'")
    scenario = _need(record, "scenario", str, where, "the scene description (text)")
    keys = _need(record, "key_characters", list, where, "a list of {name, motivation or thought}")
    dialogues = _need(record, "dialogues", list, where, "a list of {character, message}")
    if not dialogues:
        raise SceneError(f"{where}: field 'dialogues' is empty; a scene needs at least one message")
    profiles = dict(book_profiles)
    profiles.update({str(k): str(v) for k, v in (record.get("character_profiles") or {}).items()})
    moral = any(isinstance(k, Mapping) and "morality_classification" in k for k in keys)
    characters: dict[str, Character] = {}
    notes: list[str] = []
    for n, entry in enumerate(keys):
        here = f"{where}, key_characters[{n}]"
        if not isinstance(entry, Mapping):
            raise SceneError(f"{here}: expected an object with 'name'")
        cname = _need(entry, "name", str, here, "the character's name").strip()
        if not cname:
            raise SceneError(f"{here}: field 'name' is empty")
        motivation = str(entry.get("thought", entry.get("motivation", "")) or "")
        level, traits, inferred = _classification(entry.get("morality_classification"), here)
        characters[cname] = Character(cname, profiles.get(cname, ""), motivation, level, traits, inferred)
    known = set(characters) | set(profiles) | {str(s) for s in record.get("speaking_characters_w_env") or []}
    lines = []
    for k, entry in enumerate(dialogues):
        here = f"{where}, message {k}"
        if not isinstance(entry, Mapping):
            raise SceneError(f"{here}: expected an object with 'character' and 'message'")
        speaker = _need(entry, "character", str, here, "the speaker's name").strip()
        message = _need(entry, "message", str, here, "the message text '[thought] speech (action)'")
        if not message.strip():
            raise SceneError(f"{here} ({speaker}): field 'message' is empty; give the line's text")
        if speaker != NARRATOR and speaker not in characters:
            if speaker not in known and not minor_ok:
                valid = ", ".join(sorted(characters) + [NARRATOR])
                raise SceneError(f"{here}: field 'character' names unknown character '{speaker}'; valid: {valid}")
            characters[speaker] = Character(speaker, profiles.get(speaker, ""))
            notes.append(f"{speaker} speaks but is not a key character: cast from the profile"
                         if speaker in profiles else f"{speaker} speaks but has no profile: cast as a minor role")
        parsed = parse_message(message)
        speech = parsed.speech
        if speaker == NARRATOR:  # narration is often wholly in parentheses: read the actions as the text
            speech = parsed.speech if has_words(parsed.speech) else " ".join(parsed.actions)
            parsed = parse_message(speech)
            speech = parsed.speech
        lines.append(Line(k, speaker, message, speech if has_words(speech) else "", parsed.thoughts,
                          parsed.actions if speaker != NARRATOR else ()))
    if any(l.is_narration for l in lines):
        characters.setdefault(NARRATOR, Character(NARRATOR, role="narrator"))
        characters[NARRATOR] = Character(NARRATOR, role="narrator")
    kind = "moral" if moral else "coser"
    return Scene(kind, str(record.get("topic") or scenario[:60]), scenario, tuple(characters.values()),
                 tuple(lines), where, notes=tuple(notes))


def _classification(value: Any, where: str) -> tuple[int | None, tuple[str, ...], bool]:
    if value is None:
        return None, (), False
    if not isinstance(value, Mapping):
        raise SceneError(f"{where}: field 'morality_classification' is a {type(value).__name__}; expected "
                         "{level: 1..4, key_traits: [...]}")
    level = value.get("level")
    if isinstance(level, bool) or not isinstance(level, int) or level not in MORAL_LEVELS:
        raise SceneError(f"{where}: field 'morality_classification.level' is {level!r}; valid: 1 (paragon), "
                         "2 (flawed but good), 3 (egoist), 4 (villain)")
    traits = value.get("key_traits", [])
    if not isinstance(traits, list) or not all(isinstance(t, str) for t in traits):
        raise SceneError(f"{where}: field 'morality_classification.key_traits' must be a list of trait words")
    return level, tuple(t.strip() for t in traits if t.strip()), False


_GENDER = re.compile(r"gender\s*[:：]\s*\**\s*(male|female|man|woman)", re.I)
_NAME = re.compile(r"name\s*[:：]\s*\**\s*([^\n*]+)", re.I)


def _sage(record: Mapping[str, Any], name: str, i: int) -> Scene:
    where = f"{name} dialogue {i}"
    if not isinstance(record, Mapping):
        raise SceneError(f"{where}: expected an object with 'player' and 'history'")
    player = _need(record, "player", str, where, "the persona sheet (text)")
    history = _need(record, "history", list, where, "a list of {role, content, emotion-point}")
    if not history:
        raise SceneError(f"{where}: field 'history' is empty; a dialogue needs at least one turn")
    match = _NAME.search(player)
    person = match.group(1).strip() if match else "Person"
    persona = record.get("character") or record.get("main_cha")
    people = (Character(person, player, str(record.get("task", "")), role="person",
                        persona=str(persona) if persona else None),
              Character("Supporter", "", role="supporter"))
    lines = []
    for k, turn in enumerate(history):
        here = f"{where}, message {k}"
        if not isinstance(turn, Mapping):
            raise SceneError(f"{here}: expected an object with 'role' and 'content'")
        role = _need(turn, "role", str, here, "'user' or 'assistant'")
        if role not in ("user", "assistant"):
            raise SceneError(f"{here}: field 'role' is {role!r}; valid: 'user', 'assistant'")
        content = _need(turn, "content", str, here, "the spoken text")
        point = None
        if role == "user":
            point = _score(turn.get("emotion-point", SAGE_START_SCORE if k == 0 else None), here)
        parsed = parse_message(content)
        speaker = person if role == "user" else "Supporter"
        lines.append(Line(k, speaker, content, parsed.speech if has_words(parsed.speech) else "",
                          parsed.thoughts, parsed.actions, point))
    if not any(l.speech for l in lines):
        raise SceneError(f"{where}: no turn has words to speak; field 'content' is empty in every turn")
    notes = tuple(f"message {l.index} ({l.speaker}) is empty upstream: skipped" for l in lines if not l.speech)
    return Scene("sage", str(record.get("topic") or person), str(record.get("scene", "")), people, tuple(lines),
                 where, task=str(record.get("task") or "") or None, notes=notes)


def _score(value: Any, where: str) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise SceneError(f"{where}: field 'emotion-point' is {value!r}; expected a number 0..100 on user turns")
    if not math.isfinite(score) or not 0 <= score <= 100:
        raise SceneError(f"{where}: field 'emotion-point' is {value!r}; valid: 0 to 100")
    return score


def load_sage_profiles(path: str | Path) -> list[dict[str, Any]]:
    """SAGE persona profiles (``profiles.en.jsonl``: player, scene, task, main_cha, first_talk)."""
    path = Path(path)
    if not path.is_file():
        raise SceneError(f"profile file '{path}' does not exist")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise SceneError(f"profile file '{path}' is over the {MAX_FILE_BYTES / 2**20:g} MB limit")
    out = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if raw.strip():
            record = json.loads(raw)
            for key in ("player", "first_talk"):
                if not isinstance(record.get(key), str) or not record[key].strip():
                    raise SceneError(f"{path.name} line {number}: field '{key}' is missing or empty")
            out.append(record)
    return out


def is_profile_file(path: str | Path) -> bool:
    """True for a SAGE persona-profile file (JSONL records with ``first_talk`` and no ``history``)."""
    path = Path(path)
    if path.suffix.lower() != ".jsonl" or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
        return False
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip():
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                return False
            return isinstance(record, Mapping) and "first_talk" in record and "history" not in record
    return False


def sage_sex_age(profile: str) -> tuple[str | None, int | None]:
    """'male'/'female' and age from a SAGE persona sheet ('* Gender: female', '* Age: 23')."""
    sex = None
    match = _GENDER.search(profile)
    if match:
        sex = "female" if match.group(1).lower() in ("female", "woman") else "male"
    age = re.search(r"age\s*[:：]\s*\**\s*(\d{1,3})", profile, re.I)
    return sex, int(age.group(1)) if age else None


def pick_scene(scenes: list[Scene], index: int | None, path: str) -> Scene:
    """Scene ``index`` of the file (0 when the file holds one); a clear error otherwise."""
    if index is None:
        if len(scenes) == 1:
            return scenes[0]
        index = 0
    if not 0 <= index < len(scenes):
        raise SceneError(f"{path}: --scene {index} does not exist; valid: 0 to {len(scenes) - 1}")
    return scenes[index]


__all__ = ["Scene", "Line", "Character", "SceneError", "load_scenes", "load_sage_profiles", "pick_scene",
           "sage_sex_age", "is_profile_file", "MAX_FILE_BYTES", "NARRATOR", "MORAL_LEVELS", "SAGE_START_SCORE"]
