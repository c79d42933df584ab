"""Typed, frozen configs that travel with the acoustic model's weights (no torch: the runtime reads them).

* :class:`ControlNorm` — how plan fields become the model's normalised control vector (scales + baseline).
* :class:`ModelConfig` — the acoustic model's architecture.
* :class:`VoiceConfig` — everything a voice directory's ``voice.json`` holds.

Unknown keys are an error everywhere (``from_dict``), so a typo in a config never silently becomes a default.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, TypeVar

from plan_contract import CONTROL_NAMES, UserError
from tts_model.text.frontend import ARPABET, PAUSE, PHONEMES
from tts_model.runtime.harmonics import PHONEME_CLASSES
from tts_model.runtime.tilt import SCOPES

N_CONTROLS = len(CONTROL_NAMES)
"""Length of the model's control vector: the plan's numeric fields in plan_contract.CONTROL_NAMES order."""

T = TypeVar("T")


class ConfigError(UserError, ValueError):
    """A config file or dict that does not match its dataclass; one line naming the key and the fix."""


def _from_dict(cls: type[T], data: Mapping[str, Any], what: str) -> T:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what}: expected an object, got {type(data).__name__}")
    valid = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - valid)
    if unknown:
        raise ConfigError(f"{what}: unknown key(s) {unknown}; valid keys: {sorted(valid)}")
    values = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        value = data[f.name]
        if isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    try:
        return cls(**values)
    except TypeError as err:
        raise ConfigError(f"{what}: {err}") from None


@dataclass(frozen=True)
class ControlNorm:
    """Plan field -> normalised control (about unit scale). All relative to the voice baseline.

    pitch_mean: semitones re ``baseline pitch_mean_hz`` / ``pitch_st_scale``;
    pitch_slope: semitones per second (Hz/s divided by the segment's pitch, times 12/ln 2) / ``slope_st_s_scale``;
    energy_rms: dB re ``baseline energy_rms`` / ``energy_db_scale``; energy_slope: dB/s / ``energy_slope_scale``;
    spectral_centroid: semitones re ``baseline spectral_centroid_hz`` / ``centroid_st_scale``;
    duration: ln(seconds per phoneme / ``phone_s``) / ``log_duration_scale``;
    pause_after: ln((pause + ``pause_floor_s``) / (``pause_s`` + ``pause_floor_s``)) / ``log_pause_scale``.
    """

    pitch_st_scale: float = 4.0
    slope_st_s_scale: float = 10.0
    energy_db_scale: float = 6.0
    energy_slope_scale: float = 20.0
    centroid_st_scale: float = 6.0
    log_duration_scale: float = 0.4
    log_pause_scale: float = 1.5
    pause_floor_s: float = 0.02
    phone_s: float = 0.08
    """Median seconds per phoneme of the voice's neutral speech."""
    pause_s: float = 0.25
    """The voice's median phrase pause [s] (its baseline ``pause_s``)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ControlNorm":
        return _from_dict(cls, data, "control_norm")


RETIRED_MODEL_OPTIONS: dict[str, Any] = {"harmonic_input": False, "harmonic_base_hz": 0.0, "frame_position": False,
                                         "postnet_layers": 0}
"""Model options that were tried and never shipped (docs/training.md, runs 4-6), each with its "off" value: a
config that still carries one at that value loads (the key is ignored); any other value is an error."""


def _retired_and_off(key: str, value: Any) -> bool:
    """True for a retired option at its off value; ConfigError for a retired option set on."""
    if key not in RETIRED_MODEL_OPTIONS:
        return False
    off = RETIRED_MODEL_OPTIONS[key]
    if value != off or isinstance(value, bool) != isinstance(off, bool):
        raise ConfigError(f"model: {key} = {value!r} is a retired option (never shipped, no longer built); "
                          f"remove the key, or set it to {json.dumps(off)}")
    return True


@dataclass(frozen=True)
class ModelConfig:
    """Acoustic model architecture (FastSpeech2/FastPitch family). Sizes in channels / layers / taps."""

    n_phonemes: int = len(PHONEMES)
    pause_id: int = PHONEMES.index(PAUSE)
    first_phone_id: int = PHONEMES.index(ARPABET[0])
    """Ids >= this are ARPAbet phonemes; below are pad, pause and punctuation."""
    d_model: int = 128
    n_heads: int = 2
    encoder_layers: int = 3
    decoder_layers: int = 3
    ff_channels: int = 384
    ff_kernel: int = 9
    predictor_channels: int = 128
    predictor_kernel: int = 3
    dropout: float = 0.1
    n_mels: int = 80
    frame_s: float = 256 / 22050
    control_norm: ControlNorm = field(default_factory=ControlNorm)

    def __post_init__(self) -> None:
        if isinstance(self.control_norm, Mapping):
            object.__setattr__(self, "control_norm", ControlNorm.from_dict(self.control_norm))
        if self.d_model % self.n_heads:
            raise ConfigError(f"model: d_model {self.d_model} is not divisible by n_heads {self.n_heads}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        if isinstance(data, Mapping):
            data = {key: value for key, value in data.items() if not _retired_and_off(key, value)}
        return _from_dict(cls, data, "model")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VoiceConfig:
    """A voice directory's ``voice.json``: audio format, phoneme inventory, model config, baseline, provenance."""

    voice_id: str
    model: ModelConfig
    baseline: dict
    """VoiceBaseline fields (pitch_mean_hz, energy_rms, spectral_centroid_hz, speaking_rate_sps, ...)."""
    phonemes: tuple[str, ...] = PHONEMES
    sample_rate: int = 22050
    hop_length: int = 256
    n_mels: int = 80
    licence: str = "unknown"
    provenance: str = ""
    acoustic_file: str = "acoustic.onnx"
    vocoder_file: str = "vocoder.onnx"
    format_version: int = 1
    harmonic_strength: float = 0.0
    """Runtime harmonic sharpening (tts_model.runtime.harmonics): how much of the ideal harmonic ripple at the planned
    F0 is added to the predicted low mel bins before vocoding; 0 turns it off. Chosen per voice on its
    validation clips (docs/training.md)."""
    harmonic_phonemes: str = "voiced"
    """Which phonemes get the ripple: "vowels", "sonorants" (and nasals, liquids, glides) or "voiced" (and the
    voiced fricatives); see tts_model.runtime.harmonics.PHONEME_CLASSES."""
    pitch_control_gain_down: float = 1.0
    """Runtime calibration of the pitch control below the baseline: a given segment pitch that lies x < 0
    semitones from the baseline reaches the acoustic model as x * this gain, because the model renders
    far-from-baseline pitch compressed towards it (most at the low end); the harmonic sharpening stays at the
    planned pitch. 1 = off. Chosen per voice on its validation clips (python -m recipes.tune_harmonics --pitch-gains;
    docs/training.md)."""
    pitch_control_gain_up: float = 1.0
    """The same calibration for given pitches above the baseline. 1 = off."""
    centroid_calibration: Optional[tuple[float, float]] = None
    """Runtime centroid tilt (tts_model.runtime.tilt): (slope, offset_st) such that the spectral centroid measured on
    the vocoded audio is slope * (the centroid estimated from the mel) + offset_st, both in semitones re the
    baseline centroid. With it, the mel is tilted until the rendered centroid is the plan's (or, where the plan
    leaves it out, the model's own prediction), per ``centroid_scope``. None = off. Fitted per voice on training clips by
    recipes/tune_centroid.py (docs/training.md, run 13)."""
    centroid_max_tilt: float = 0.8
    """Largest centroid tilt, in natural-log units per octave (0.8 is about 7 dB per octave)."""
    centroid_scope: str = "utterance"
    """What one centroid tilt covers: "utterance" (one tilt per synthesis call, so that the segments' centroids
    meet the plan's on average, weighted by spoken frames, and keep their own differences) or "segment" (each
    segment to its own number: right for plans measured from speech, but it flattens the phonemes' differences
    under a conductor's plan, which asks one centroid for every segment; docs/training.md, run 13)."""
    exemplar_file: Optional[str] = None
    """Exemplar projection (tts_model.runtime.exemplars): a bank of recorded log-mel frames, relative to the voice folder
    (e.g. "exemplars.npz", or "../ljspeech/exemplars.npz" to share one); each predicted frame is replaced by the
    mean of its ``exemplar_k`` nearest bank frames of the same phoneme. None = off. Built by
    recipes/build_exemplars.py (docs/training.md, run 14)."""
    exemplar_k: int = 21
    """Bank frames averaged per projected frame."""
    exemplar_position_weight: float = 2.0
    """Weight of the place-in-phoneme difference (0..1, squared) against the mean squared log-mel difference."""
    exemplar_strength: float = 1.0
    """1 replaces each frame by its exemplar mean; between 0 and 1 blends the two."""
    exemplar_envelope_bins: int = 0
    """In this many of the lowest mel bins the exemplars give only the envelope, and the model's harmonic ripple
    (the planned pitch) stays."""
    exemplar_pitch_weight: float = 0.0
    """Weight of the F0 difference (semitones, squared) between a voiced frame's planned F0 and a bank frame's
    recorded F0, so that the low bins keep the planned harmonics."""
    exemplar_context_weight: float = 0.0
    """Weight of the neighbouring-phoneme mismatch (0..1 per side, weighted by the place in the phoneme): prefers
    bank frames recorded between the same neighbours (coarticulation)."""
    output_level_db: float = 0.0
    """Level of the voice's neutral speech relative to its training recordings [dB], 0 or below. The voice
    renders its recordings' level lowered by this much and reports its baseline ``energy_rms`` lowered alike,
    so that plans asking for an acted shout (+20 dB, RAVDESS's angry) have headroom; the acoustic model still
    sees every energy relative to the level it was trained at. Peaks above the runtime's ceiling are limited,
    not clipped (docs/design/voice_quality.md)."""
    training_step: int = 0
    """The training step of the checkpoint the acoustic model was exported from (0 = unknown). A fine-tune that
    starts from the voice (tts_model.train.import_voice) resumes its learning-rate schedule there."""

    def __post_init__(self) -> None:
        if isinstance(self.model, Mapping):
            object.__setattr__(self, "model", ModelConfig.from_dict(self.model))
        if tuple(self.phonemes) != PHONEMES:
            raise ConfigError("voice: its phoneme inventory differs from this version of tts_model.text.frontend; "
                              "re-export the voice with this version")
        self._check_number("harmonic_strength", 0.0, 2.0)
        self._check_number("pitch_control_gain_down", 0.5, 2.0)
        self._check_number("pitch_control_gain_up", 0.5, 2.0)
        if self.centroid_calibration is not None:
            cal = self.centroid_calibration
            if isinstance(cal, (str, bytes)) or not isinstance(cal, Sequence) or len(cal) != 2 \
                    or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in cal) \
                    or not 0.2 <= float(cal[0]) <= 5.0:
                raise ConfigError("voice: centroid_calibration must be null or [slope, offset_st] with a slope in "
                                  f"0.2..5, got {cal!r}; refit it with python -m recipes.tune_centroid")
            object.__setattr__(self, "centroid_calibration", (float(cal[0]), float(cal[1])))
        self._check_number("centroid_max_tilt", 0.0, 2.0, open_low=True)
        if self.centroid_scope not in SCOPES:
            raise ConfigError(f"voice: centroid_scope must be one of {list(SCOPES)}, got {self.centroid_scope!r}")
        if self.exemplar_file is not None and (not isinstance(self.exemplar_file, str) or not self.exemplar_file):
            raise ConfigError(f"voice: exemplar_file must be null or a file name, got {self.exemplar_file!r}")
        self._check_number("exemplar_k", 1, 1024, whole=True)
        self._check_number("exemplar_position_weight", 0.0, 100.0)
        self._check_number("exemplar_envelope_bins", 0, self.n_mels, whole=True)
        self._check_number("exemplar_pitch_weight", 0.0, 10.0)
        self._check_number("exemplar_context_weight", 0.0, 100.0)
        self._check_number("exemplar_strength", 0.0, 1.0, open_low=True)
        self._check_number("training_step", 0, math.inf, whole=True)
        self._check_number("output_level_db", -30.0, 0.0)
        if self.harmonic_phonemes not in PHONEME_CLASSES:
            raise ConfigError(f"voice: harmonic_phonemes must be one of {sorted(PHONEME_CLASSES)}, got "
                              f"{self.harmonic_phonemes!r}")
        needed = {"pitch_mean_hz", "energy_rms", "spectral_centroid_hz", "speaking_rate_sps"}
        if not isinstance(self.baseline, Mapping) or needed - set(self.baseline):
            raise ConfigError(f"voice: 'baseline' must hold {sorted(needed)}")

    def _check_number(self, name: str, low: float, high: float, whole: bool = False, open_low: bool = False) -> None:
        """Raise ConfigError unless field ``name`` is a number (an int if ``whole``; never a bool) in [low, high]
        ((low, high] if ``open_low``)."""
        value = getattr(self, name)
        kinds = int if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) \
                or not (low < value if open_low else low <= value) or not value <= high:  # NaN fails both
            span = f">= {low:g}" if high == math.inf else f"in ({low:g}, {high:g}]" if open_low else \
                f"in {low:g}..{high:g}"
            raise ConfigError(f"voice: {name} must be a {'whole number' if whole else 'number'} {span}, got {value!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "VoiceConfig":
        return _from_dict(cls, data, "voice.json")

    @classmethod
    def load(cls, path: Path) -> "VoiceConfig":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path} is not valid JSON ({err.msg} at line {err.lineno}); re-export the "
                              "voice") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["phonemes"] = list(self.phonemes)
        out["baseline"] = dict(self.baseline)
        return out

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")


__all__ = ["CONTROL_NAMES", "N_CONTROLS", "RETIRED_MODEL_OPTIONS", "ConfigError", "ControlNorm", "ModelConfig",
           "VoiceConfig"]
