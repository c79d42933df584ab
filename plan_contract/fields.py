"""The plan's fields: names, units, valid ranges, which are required, which the original BatonVoice form has.

These are the only definitions of the plan's fields in the project. ``baton.plan`` validates plans with them,
``tts_model.runtime`` checks and normalises controls with them, ``feature_extract.segment`` clips measured
values into their ranges. Pure standard library: every package may import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from plan_contract.errors import PlanError

PLAN_VERSION = 1
"""The document form's ``version``: ``{"version": 1, "voice": "<voice id>", "segments": [...]}``."""


class JsonConstant:
    """A non-standard JSON constant (``NaN``, ``Infinity``, ``-Infinity``) read from plan JSON text.

    Python's json module accepts these tokens, which are not JSON. A plan file that holds one is rejected with
    the segment and field named, like any other non-number, instead of NaN being read as "predict" (which is
    what a NaN float from Python means: feature_extract's measured-but-undefined value). ``repr`` is the token
    itself, so error messages show what the file says."""

    def __init__(self, token: str):
        self.token = token

    def __repr__(self) -> str:
        return self.token


@dataclass(frozen=True)
class FieldSpec:
    """One numeric plan field: its unit, its physically sensible range and what it means.

    Every numeric field is optional (left out, ``null`` or a NaN float: the model predicts it).
    ``in_batonvoice``: the field is one of the original BatonVoice plan's (same name there); False for this
    project's extensions, which a BatonVoice-form plan simply leaves out."""

    name: str
    unit: str
    minimum: float
    maximum: float
    meaning: str
    in_batonvoice: bool = False

    def check(self, value: Any, segment: int) -> float | None:
        """Return ``value`` as float (None stays None); raise :class:`PlanError` if it is invalid."""
        if value is None:
            return None
        if isinstance(value, JsonConstant):
            raise PlanError(
                f"value {value} is not a number (and not valid JSON); expected a number in {self.unit} "
                f"between {self.minimum:g} and {self.maximum:g}, or null (or leave the field out) to let the "
                "model predict it", segment=segment, field_name=self.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PlanError(
                f"value {value!r} is not a number; expected a number in {self.unit} "
                f"between {self.minimum:g} and {self.maximum:g}, or null to let the model predict it",
                segment=segment, field_name=self.name)
        value = float(value)
        if math.isnan(value):
            # A NaN float from Python is a measured-but-undefined value (feature_extract: pitch of an unvoiced
            # segment), which the model predicts. NaN written in plan JSON text never gets here: load_plan
            # reads it as a JsonConstant, rejected above.
            return None
        if not (self.minimum <= value <= self.maximum):
            raise PlanError(
                f"value {value:g} {self.unit} is out of range; valid: {self.minimum:g} to {self.maximum:g} "
                f"{self.unit} ({self.meaning})", segment=segment, field_name=self.name)
        return value


WORD_FIELD = "word"
"""The one required field: the segment's words, verbatim from the text (name kept from BatonVoice)."""

# Ranges are wide enough for any human voice, shouting and whispering included, and narrow enough to
# catch unit mistakes (dB written as RMS, ms written as s, semitones written as Hz).
NUMERIC_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("pitch_mean", "Hz", 50.0, 800.0, "mean F0 over voiced frames", True),
        FieldSpec("pitch_slope", "Hz/s", -2000.0, 2000.0, "slope of a linear fit of F0 over time", True),
        FieldSpec("energy_rms", "linear RMS (full scale 1.0)", 1e-5, 1.0, "waveform RMS over the segment", True),
        FieldSpec("energy_slope", "dB/s", -400.0, 400.0, "intensity change across the segment", True),
        FieldSpec("spectral_centroid", "Hz", 100.0, 11025.0, "spectral centroid, brightness / vocal effort",
                  True),
        FieldSpec("duration", "s", 0.03, 30.0, "spoken duration of the segment, pause excluded"),
        FieldSpec("pause_after", "s", 0.0, 10.0, "silence after the segment"),
    )
}
CONTROL_NAMES = tuple(NUMERIC_FIELDS)
"""The numeric fields in the order of the acoustic model's control vector (index = position). Trained voices
depend on this order: never reorder, only append (and retrain)."""

# Rendering fields (extensions beyond the model's controls; a BatonVoice-form plan loads without them). The
# voice renders them after the acoustic model: the F0 contour's spread inside the segment, and the phonation.
PITCH_RANGE = FieldSpec("pitch_range", "st", 0.0, 24.0,
                        "F0 spread inside the segment, 10th to 90th percentile of voiced frames")
VOICE_QUALITIES = ("modal", "breathy", "whisper", "tense")
"""``voice_quality`` values: modal (the voice as trained), breathy (aspiration noise, steeper tilt), whisper
(no voicing at all: noise through the voice's spectral envelope), tense (pressed: flatter spectral tilt)."""
RENDER_FIELDS = ("pitch_range", "voice_quality")
LIST_FIELDS = ("emphasis",)
"""``emphasis``: a list of words of the segment to stress (extension)."""

REQUIRED_FIELDS = (WORD_FIELD,)
ALL_FIELDS = (WORD_FIELD, *NUMERIC_FIELDS, *RENDER_FIELDS, *LIST_FIELDS)
OPTIONAL_FIELDS = tuple(name for name in ALL_FIELDS if name not in REQUIRED_FIELDS)
BATONVOICE_FIELDS = (WORD_FIELD, *(name for name, spec in NUMERIC_FIELDS.items() if spec.in_batonvoice))
"""The fields of the original BatonVoice plan form (arXiv 2509.26514), under the same names."""


__all__ = ["PLAN_VERSION", "JsonConstant", "FieldSpec", "WORD_FIELD", "NUMERIC_FIELDS", "CONTROL_NAMES",
           "PITCH_RANGE", "VOICE_QUALITIES", "RENDER_FIELDS", "LIST_FIELDS", "REQUIRED_FIELDS", "ALL_FIELDS",
           "OPTIONAL_FIELDS", "BATONVOICE_FIELDS"]
