"""Casting: every character gets a voice (baseline offsets) that stays the same through the scene and
differs from the others, chosen from the profile and overridable by a small cast file.

The toolkit ships one speaker (LJSpeech; ``ljspeech-v1`` is the same speaker with another vocoder), so
characters differ by offsets of the voice's baseline: pitch [st], energy [dB], speaking rate and brightness,
within what the voice renders well (:data:`CAST_LIMITS`, inside ``baton.pipeline.RenderLimits``):

* sex where stated (SAGE ``Gender:``, or the profile's pronouns): male -4.5 st, female +0.5 st, unknown -2 st;
* age where stated: over 50 -1 st, x0.93 rate, x0.95 brightness; under 25 +0.7 st, x1.04 rate;
* traits: dominant/proud/brave/angry +1.5 dB and x1.04 brightness; timid/shy/insecure -1.5 dB;
* a deterministic jitter from the name's SHA-256 (+-0.6 st, +-1 dB, +-4 % rate, +-4 % brightness);
* distinctness: pitches are spread so that any two characters are at least :data:`MIN_PITCH_GAP_ST` apart.

Deterministic: the same scene (and cast file) gives the same cast; the per-character render seed too.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from baton.dialogue.delivery import Offsets
from baton.dialogue.scenes import Character, Scene, SceneError, sage_sex_age

MIN_PITCH_GAP_ST = 1.2
"""Smallest pitch difference between two characters' voices [semitones] (a just-noticeable difference for
voice pitch is well under 1 st; 1.2 st keeps the voices apart after the lines' own emotion)."""


@dataclass(frozen=True)
class CastLimits:
    pitch_st: tuple[float, float] = (-7.0, 4.0)
    energy_db: tuple[float, float] = (-4.0, 4.0)
    rate_ratio: tuple[float, float] = (0.85, 1.15)
    centroid_ratio: tuple[float, float] = (0.85, 1.15)


CAST_LIMITS = CastLimits()


@dataclass(frozen=True)
class CastVoice:
    name: str
    offsets: Offsets
    seed: int
    """Render seed for every line of this character."""
    sex: str | None = None
    age: int | None = None
    source: str = "profile"
    """'profile', or 'cast file' when overridden."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.offsets.to_dict(), "seed": self.seed, "sex": self.sex, "age": self.age,
                "source": self.source}


def _hash01(name: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _jitter(name: str, salt: str, half_width: float) -> float:
    return (2.0 * _hash01(name, salt) - 1.0) * half_width


def guess_sex_age(character: Character) -> tuple[str | None, int | None]:
    """Sex and age where the profile states them (SAGE fields, pronoun counts, 'old'/'young' words)."""
    sex, age = sage_sex_age(character.profile)
    text = f" {character.profile} {character.motivation} ".lower()
    if sex is None:
        he = len(re.findall(r"\b(?:he|him|his|himself)\b", text))
        she = len(re.findall(r"\b(?:she|her|hers|herself)\b", text))
        if max(he, she) >= 2 and (he >= 2 * she or she >= 2 * he):
            sex = "male" if he > she else "female"
    if age is None:
        if re.search(r"\b(?:elderly|aging|grey-haired|gray-haired|white-haired|old (?:man|woman|age))\b", text):
            age = 60
        elif re.search(r"\b(?:youthful|teenage|teenager|young (?:man|woman|girl|boy|lady))\b", text):
            age = 22
    return sex, age


_STRONG = re.compile(r"domin|proud|brave|angry|command|authorit|confident|arrogan|overbearing|hot-tempered")
_WEAK = re.compile(r"timid|shy|insecure|submissive|fragile|coward|introvert|gentle|meek")


def profile_offsets(character: Character, sex: str | None, age: int | None) -> Offsets:
    pitch = {"male": -4.5, "female": 0.5}.get(sex or "", -2.0)
    energy, rate, bright = 0.0, 1.0, 1.0
    if character.role == "narrator":
        pitch, rate = -1.5, 0.95
    if age is not None and age > 50:
        pitch, rate, bright = pitch - 1.0, rate * 0.93, bright * 0.95
    elif age is not None and age < 25:
        pitch, rate = pitch + 0.7, rate * 1.04
    traits = " ".join(character.traits).lower() + " " + character.profile[:600].lower()
    if _STRONG.search(" ".join(character.traits).lower()):
        energy, bright = energy + 1.5, bright * 1.04
    if _WEAK.search(traits):
        energy -= 1.5
    n = character.name
    return Offsets(pitch + _jitter(n, "pitch", 0.6), energy + _jitter(n, "energy", 1.0),
                   rate * (1.0 + _jitter(n, "rate", 0.04)), bright * (1.0 + _jitter(n, "bright", 0.04)))


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


def spread_pitches(wanted: dict[str, float], gap: float = MIN_PITCH_GAP_ST,
                   bounds: tuple[float, float] = CAST_LIMITS.pitch_st) -> dict[str, float]:
    """Move pitches (st) as little as needed so that neighbours are ``gap`` apart, inside ``bounds``
    (ties broken by name, so the result is deterministic)."""
    order = sorted(wanted, key=lambda k: (wanted[k], k))
    out = {k: _clamp(wanted[k], bounds) for k in order}
    for _ in range(50):  # push up from below, then down from the top, until stable
        moved = False
        for a, b in zip(order, order[1:]):
            if out[b] - out[a] < gap - 1e-9:
                out[b] = out[a] + gap
                moved = True
        if out and out[order[-1]] > bounds[1]:
            out[order[-1]] = bounds[1]
            for a, b in reversed(list(zip(order, order[1:]))):
                if out[b] - out[a] < gap - 1e-9:
                    out[a] = out[b] - gap
            moved = True
        if not moved or out[order[0]] < bounds[0] - 1e-9:
            break
    return out


_CAST_KEYS = {f.name for f in fields(Offsets)} | {"seed", "sex", "age"}


def load_cast_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """A cast file: ``{"Iago": {"pitch_st": -6, "rate_ratio": 0.9, ...}, ...}`` as JSON or TOML
    (``[Iago]`` tables). Keys: pitch_st, energy_db, rate_ratio, centroid_ratio, seed, sex, age."""
    path = Path(path)
    if not path.is_file():
        raise SceneError(f"cast file '{path}' does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (ValueError, json.JSONDecodeError) as err:
        raise SceneError(f"cast file '{path}' is not valid {path.suffix.lstrip('.').upper() or 'JSON'}: "
                         f"{' '.join(str(err).split())}") from None
    if not isinstance(data, Mapping):
        raise SceneError(f"cast file '{path}': expected an object of character name -> settings")
    for name, entry in data.items():
        if not isinstance(entry, Mapping):
            raise SceneError(f"cast file '{path}', character '{name}': expected settings such as "
                             "{\"pitch_st\": -3}")
        unknown = sorted(set(entry) - _CAST_KEYS)
        if unknown:
            raise SceneError(f"cast file '{path}', character '{name}': unknown key(s) {', '.join(unknown)}; "
                             f"valid: {', '.join(sorted(_CAST_KEYS))}")
        for key, bounds in (("pitch_st", CAST_LIMITS.pitch_st), ("energy_db", CAST_LIMITS.energy_db),
                            ("rate_ratio", CAST_LIMITS.rate_ratio), ("centroid_ratio", CAST_LIMITS.centroid_ratio)):
            if key in entry:
                value = entry[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                        or not bounds[0] <= value <= bounds[1]:
                    raise SceneError(f"cast file '{path}', character '{name}': {key} = {value!r} is out of range; "
                                     f"valid: {bounds[0]:g} to {bounds[1]:g}")
        if "sex" in entry and entry["sex"] not in ("male", "female", None):
            raise SceneError(f"cast file '{path}', character '{name}': sex = {entry['sex']!r}; valid: male, female")
    return {str(k): dict(v) for k, v in data.items()}


def cast_scene(scene: Scene, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, CastVoice]:
    """The cast of ``scene``: name -> :class:`CastVoice` (see the module docstring)."""
    overrides = dict(overrides or {})
    names = [c.name for c in scene.characters]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise SceneError(f"cast file names character(s) {', '.join(unknown)} that are not in {scene.source}; "
                         f"valid: {', '.join(names)}")
    wanted: dict[str, tuple[Offsets, str | None, int | None]] = {}
    for c in scene.characters:
        sex, age = guess_sex_age(c)
        o = overrides.get(c.name, {})
        sex, age = o.get("sex", sex), o.get("age", age)
        wanted[c.name] = (profile_offsets(c, sex, age), sex, age)
    fixed = {n for n in names if "pitch_st" in overrides.get(n, {})}
    free = {n: wanted[n][0].pitch_st for n in names if n not in fixed}
    pitches = spread_pitches({**free, **{n: float(overrides[n]["pitch_st"]) for n in fixed}})
    for n in fixed:  # a pitch the user set is kept; the others move around it
        pitches[n] = float(overrides[n]["pitch_st"])
    cast = {}
    for n in names:
        offsets, sex, age = wanted[n]
        o = overrides.get(n, {})
        offsets = Offsets(pitches[n],
                          float(o.get("energy_db", _clamp(offsets.energy_db, CAST_LIMITS.energy_db))),
                          float(o.get("rate_ratio", _clamp(offsets.rate_ratio, CAST_LIMITS.rate_ratio))),
                          float(o.get("centroid_ratio", _clamp(offsets.centroid_ratio, CAST_LIMITS.centroid_ratio))))
        seed = int(o.get("seed", int(_hash01(n, "seed") * 2**31)))
        cast[n] = CastVoice(n, offsets, seed, sex, age, "cast file" if n in overrides else "profile")
    return cast


__all__ = ["CastVoice", "CastLimits", "CAST_LIMITS", "MIN_PITCH_GAP_ST", "cast_scene", "load_cast_file",
           "guess_sex_age", "profile_offsets", "spread_pitches"]
