"""The measured prosody table: how acted emotions move prosody relative to the same speaker's neutral voice.

The table (``baton/data/prosody_table.json``) is measured from RAVDESS by
``recipes/measure_prosody_table.py``; see docs/prosody_table.md for the numbers, the method and the
citation. This module loads it and turns (emotion, intensity level) into an :class:`Effect`, the relative
change a conductor applies to a voice's baseline.

Intensity levels: 0 = neutral, 1 = RAVDESS "normal" intensity, 2 = RAVDESS "strong" intensity. Levels in
between and beyond are interpolated so that every quantity moves *monotonically* away from neutral:

* where the strong row continues the normal row's direction (same sign, larger magnitude), the effect is
  piecewise linear through (0, 0), (1, normal), (2, strong) and continues past 2 at half the last slope;
* where it does not (e.g. strong "sad" in RAVDESS is sobbing: pitch and energy go *up* while normal sad
  is flat and quieter), the normal row's value is kept for levels >= 1 (scaled down below 1): the table
  gives no evidence that more intensity moves further, and flipping direction would not be "more sad".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

DATA_DIR = Path(__file__).resolve().parent / "data"
TABLE_PATH = DATA_DIR / "prosody_table.json"
TABLE_EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
_EXTRAPOLATION = 0.5  # slope multiplier past the strongest measured level


@dataclass(frozen=True)
class Effect:
    """A relative prosody change. Zero / 1.0 everywhere = the voice's neutral baseline."""

    pitch_st: float = 0.0
    """Mean pitch shift [semitones]."""
    energy_db: float = 0.0
    """RMS change [dB]."""
    rate_ratio: float = 1.0
    """Speaking-rate multiplier (> 1 = faster; durations divide by it)."""
    slope_st_per_s: float = 0.0
    """Added pitch slope [semitones/s]."""
    energy_slope_db_per_s: float = 0.0
    """Added intensity slope [dB/s]."""
    centroid_st: float = 0.0
    """Spectral-centroid change as a log ratio, 12*log2(new/old) [semitone-like units]."""
    range_st: float = 0.0
    """Change of the F0 spread (10th-90th percentile) [semitones]."""

    def plus(self, other: "Effect", weight: float = 1.0) -> "Effect":
        """``self + weight * other`` (rate ratios multiply, so they add in the log domain)."""
        return Effect(
            pitch_st=self.pitch_st + weight * other.pitch_st,
            energy_db=self.energy_db + weight * other.energy_db,
            rate_ratio=self.rate_ratio * other.rate_ratio ** weight,
            slope_st_per_s=self.slope_st_per_s + weight * other.slope_st_per_s,
            energy_slope_db_per_s=self.energy_slope_db_per_s + weight * other.energy_slope_db_per_s,
            centroid_st=self.centroid_st + weight * other.centroid_st,
            range_st=self.range_st + weight * other.range_st,
        )

    def scaled(self, factor: float) -> "Effect":
        return Effect().plus(self, factor)


# JSON quantity name -> Effect field (the same names; rate ratios are interpolated as log ratios, so that
# "twice as much faster" is multiplicative).
_QUANTITIES = {name: name for name in ("pitch_st", "energy_db", "rate_ratio", "slope_st_per_s",
                                       "energy_slope_db_per_s", "centroid_st", "range_st")}


class ProsodyTable:
    """Per-emotion, per-intensity medians and quartiles. Build with :meth:`load`."""

    def __init__(self, table: Mapping[str, Mapping[str, Mapping[str, Mapping[str, float]]]],
                 meta: Mapping[str, Any]):
        self._table = table
        self.meta = dict(meta)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "ProsodyTable":
        """Read the table JSON (default: the shipped one). Raises ValueError (one line) if malformed."""
        path = Path(path) if path is not None else TABLE_PATH
        if not path.is_file():
            raise ValueError(f"prosody table {path} not found; re-create it with python -m recipes.measure_prosody_table")
        document = json.loads(path.read_text(encoding="utf-8"))
        table = document.get("table")
        if not isinstance(table, dict):
            raise ValueError(f"prosody table {path} has no 'table' object; re-create it with the recipe")
        for emotion, rows in table.items():
            for intensity, row in rows.items():
                missing = set(_QUANTITIES) - set(row)
                if missing:
                    raise ValueError(f"prosody table {path}: {emotion}/{intensity} lacks {sorted(missing)}")
        return cls(table, {k: v for k, v in document.items() if k != "table"})

    @property
    def emotions(self) -> list[str]:
        return sorted(self._table)

    def median(self, emotion: str, intensity: str, quantity: str) -> float:
        """The measured median of ``quantity`` (JSON name, e.g. ``"pitch_st"``) for emotion/intensity."""
        return float(self._table[emotion][intensity][quantity]["median"])

    def quartiles(self, emotion: str, intensity: str, quantity: str) -> tuple[float, float]:
        row = self._table[emotion][intensity][quantity]
        return float(row["q25"]), float(row["q75"])

    def row_effect(self, emotion: str, intensity: str) -> Effect:
        """The medians of one row as an :class:`Effect` (no interpolation)."""
        return Effect(**{field: self.median(emotion, intensity, q) for q, field in _QUANTITIES.items()})

    def effect(self, emotion: str, level: float, follow_strong: bool = False,
               hold_inside: tuple[str, ...] = ()) -> Effect:
        """The effect of ``emotion`` at intensity ``level`` (0 = none, 1 = normal, 2 = strong; see module doc).

        ``follow_strong``: reach the strong row's medians at level 2 even where they reverse the normal row
        (RAVDESS's strong sad is higher and louder than neutral: tearful), instead of holding the normal row.
        "neutral" is always the zero effect (its table row is the measurement's noise floor).
        ``hold_inside``: quantities (JSON names) that past level 2 go at most half the way from the strong row's
        median to its outer quartile (the one in the direction the strong row moved from the normal row), so
        that an extrapolated "extremely" stays inside the range RAVDESS's actors used.
        """
        self._check_emotion(emotion)
        if emotion == "neutral" or level <= 0:
            return Effect()
        values = {}
        for quantity, field in _QUANTITIES.items():
            log = quantity == "rate_ratio"
            normal = self.median(emotion, "normal", quantity)
            strong = self.median(emotion, "strong", quantity) if "strong" in self._table[emotion] else normal
            if log:
                normal, strong = math.log(normal), math.log(strong)
            value = _through_rows(normal, strong, level) if follow_strong else _monotone(normal, strong, level)
            if quantity in hold_inside and level > 2.0 and "strong" in self._table[emotion]:
                value = self._held(emotion, quantity, normal, strong, value, log)
            values[field] = math.exp(value) if log else value
        return Effect(**values)

    def _held(self, emotion: str, quantity: str, normal: float, strong: float, value: float, log: bool) -> float:
        q25, q75 = self.quartiles(emotion, "strong", quantity)
        if log:
            q25, q75 = math.log(q25), math.log(q75)
        if strong >= normal:
            return min(value, strong + 0.5 * (q75 - strong))
        return max(value, strong - 0.5 * (strong - q25))

    def _check_emotion(self, emotion: str) -> None:
        if emotion not in self._table:
            raise ValueError(f"emotion '{emotion}' is not in the prosody table; valid: {', '.join(self.emotions)}")


def _monotone(normal: float, strong: float, level: float) -> float:
    """Value at ``level`` on a path from 0 through ``normal`` (level 1), moving monotonically away from 0."""
    if level <= 1.0:
        return normal * level
    continues = normal * strong > 0 and abs(strong) >= abs(normal)
    if not continues:
        return normal
    if level <= 2.0:
        return normal + (level - 1.0) * (strong - normal)
    return strong + (level - 2.0) * (strong - normal) * _EXTRAPOLATION


def _through_rows(normal: float, strong: float, level: float) -> float:
    """Piecewise linear through (0, 0), (1, normal), (2, strong); past 2 it continues at half the last slope
    where the strong row continues the normal row's direction, else it holds the strong row."""
    if level <= 1.0:
        return normal * level
    if level <= 2.0:
        return normal + (level - 1.0) * (strong - normal)
    return _monotone(normal, strong, level) if normal * strong > 0 and abs(strong) >= abs(normal) else strong


@lru_cache(maxsize=1)
def default_table() -> ProsodyTable:
    """The shipped table, loaded once."""
    return ProsodyTable.load()


EFFECT_FIELDS = tuple(f.name for f in fields(Effect))
__all__ = ["Effect", "ProsodyTable", "default_table", "TABLE_PATH", "TABLE_EMOTIONS", "EFFECT_FIELDS"]
