"""Typed, frozen configs that travel with the acoustic model's weights (no torch: the runtime reads them).

* :class:`ControlNorm` — how plan fields become the model's normalised control vector (scales + baseline).
* :class:`ModelConfig` — the acoustic model's architecture.
* :class:`VoiceConfig` — everything a voice directory's ``voice.json`` holds.

Unknown keys are an error everywhere (``from_dict``), so a typo in a config never silently becomes a default.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping, TypeVar

from plan_contract import CONTROL_NAMES, UserError
from tts_model.text.frontend import ARPABET, PAUSE, PHONEMES
from tts_model.runtime.chain import (DEFAULT_CHAIN, FLAT_KEYS, STAGES, ChainError, chain_from_flat, check_skip,
                                     parse_chain, stage_to_dict)

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
    render_chain: tuple = DEFAULT_CHAIN
    """The stages applied around the acoustic model, in order (tts_model.runtime.chain; docs/render_chain.md):
    voice.json lists them as ``[{"stage": NAME, ...settings}, ...]``. A voice.json from before the chain, with
    the flat keys (``harmonic_strength``, ``exemplar_file``, ...), is converted on loading."""
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
        try:
            object.__setattr__(self, "render_chain", parse_chain(self.render_chain))
        except ChainError as err:
            raise ConfigError(f"voice: {err}") from None
        bins = next((s.envelope_bins for s in self.render_chain if s.name == "exemplars"), 0)
        if bins > self.n_mels:
            raise ConfigError(f"voice: render_chain stage 'exemplars': envelope_bins must be a whole number in "
                              f"0..{self.n_mels} (n_mels), got {bins!r}")
        self._check_number("training_step", 0, math.inf, whole=True)
        self._check_number("output_level_db", -30.0, 0.0)
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

    def stage(self, name: str) -> Any:
        """The chain's stage called ``name`` (its settings object), or None when the chain lacks it."""
        return next((s for s in self.render_chain if s.name == name), None)

    def with_stage(self, stage: Any) -> "VoiceConfig":
        """A copy whose chain has ``stage`` in place of the stage of the same name, or, when the chain lacks it,
        inserted where STAGES orders it."""
        order = list(STAGES)
        chain = [s for s in self.render_chain if s.name != stage.name]
        at = next((i for i, s in enumerate(chain) if order.index(s.name) > order.index(stage.name)), len(chain))
        if self.stage(stage.name) is not None:
            at = [s.name for s in self.render_chain].index(stage.name)
        chain.insert(at, stage)
        return replace(self, render_chain=tuple(chain))

    def without_stages(self, *names: str) -> "VoiceConfig":
        """A copy whose chain leaves out the stages ``names`` (ConfigError for a name that is no stage)."""
        try:
            check_skip(names)
        except ChainError as err:
            raise ConfigError(str(err)) from None
        return replace(self, render_chain=tuple(s for s in self.render_chain if s.name not in names))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "VoiceConfig":
        if isinstance(data, Mapping) and set(FLAT_KEYS) & set(data):
            flat = {k: data[k] for k in FLAT_KEYS if k in data}
            if "render_chain" in data:
                raise ConfigError(f"voice.json: keys {sorted(flat)} belong inside 'render_chain' (the file has both); "
                                  "move them into their stages (docs/render_chain.md)")
            try:
                chain = chain_from_flat(flat, n_mels=data.get("n_mels", 80))
            except ChainError as err:
                raise ConfigError(f"voice.json: {err}") from None
            data = {**{k: v for k, v in data.items() if k not in flat}, "render_chain": chain}
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
        out["render_chain"] = [stage_to_dict(s) for s in self.render_chain]
        return out

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")


__all__ = ["CONTROL_NAMES", "N_CONTROLS", "RETIRED_MODEL_OPTIONS", "ConfigError", "ControlNorm", "ModelConfig",
           "VoiceConfig"]
