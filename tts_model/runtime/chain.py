"""The render chain: the named stages a voice applies around its acoustic model, in the order voice.json lists.

A voice's ``render_chain`` is a list of stages, each ``{"stage": NAME, ...its settings}``. Every stage is a
small frozen class below with typed, checked settings (unknown keys are an error naming the valid ones) and
one ``apply`` method. Each stage works in one *phase* of a synthesis call:

* ``controls`` — on the normalised control vector, before the acoustic model (``pitch_calibration``);
* ``mel`` — on the model's log-mel, before the vocoder (``exemplars``, ``harmonics``, ``centroid_tilt``);
* ``audio`` — on each segment's vocoded audio (``pitch_range``, ``voice_quality``, ``segment_gain``).

A chain must list its stages phase by phase (controls, then mel, then audio); within a phase they run in the
listed order. After the chain the runtime always levels and limits each segment (output level, ramp, peak
limiter: :mod:`tts_model.runtime.synthesizer`). ``Synthesizer.load(..., skip_stages=(...))`` removes stages by
name, to measure what each contributes (benchmarks/render_chain.py, docs/render_chain.md). numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping, Optional, Sequence

import numpy as np

from plan_contract import UserError
from tts_model.runtime.exemplars import frame_layout, project
from tts_model.runtime.harmonics import PHONEME_CLASSES, frame_f0, ripple_table, sharpen
from tts_model.runtime.pitch_range import apply_pitch_range
from tts_model.runtime.tilt import SCOPES, follow_centroid
from tts_model.runtime.voice_quality import apply_voice_quality

PHASES = ("controls", "mel", "audio")
"""The phases of a synthesis call in the order they run; a chain lists its stages in this order."""


class ChainError(UserError, ValueError):
    """A render chain or stage setting that is not valid; one line naming the problem and what is valid."""


# --- what the stages work on ---------------------------------------------------------------------------------
@dataclass
class ControlsState:
    """The acoustic model's control input of one call. controls: float32 (S, N_CONTROLS), normalised (0 where
    not given); pitch_index: the pitch_mean column; pitch_added: float32 (S,), what stages added to that column
    (normalised units) so that the mel stages can work at the planned pitch, or None."""

    controls: np.ndarray
    pitch_index: int
    pitch_added: Optional[np.ndarray] = None


@dataclass
class MelState:
    """The acoustic model's output of one call. mel: float32 (F, n_mels) log-mel; phoneme_ids, durations: (T,)
    int, frames per phoneme summing to F; pitch_st: float32 (T,), the *planned* pitch per phoneme in semitones
    re ``base_pitch_hz``; seg_frames, spoken_frames: int64 (S,), frames per segment and its frames before the
    trailing pause; predicted: per segment the controls in plan units; bank: the voice's ExemplarBank or None."""

    mel: np.ndarray
    phoneme_ids: np.ndarray
    durations: np.ndarray
    pitch_st: np.ndarray
    seg_frames: np.ndarray
    spoken_frames: np.ndarray
    predicted: Sequence[Mapping[str, Any]]
    baseline: Mapping[str, Any]
    bank: Any = None


@dataclass
class SegmentState:
    """One segment's audio after the vocoder. audio: float32 (n,) at the acoustic model's level; spoken: its
    samples before the trailing pause; gain: linear gain the output step applies (starts at the voice's output
    gain); target_rms: RMS the output step keeps the spoken part at through the limiter (None: none)."""

    audio: np.ndarray
    segment: Mapping[str, Any]
    index: int
    sample_rate: int
    spoken: int
    output_gain: float
    gain: float
    target_rms: Optional[float] = None


# --- checks --------------------------------------------------------------------------------------------------
def _number(stage: str, name: str, value: Any, low: float, high: float, whole: bool = False,
            open_low: bool = False) -> None:
    kinds = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) \
            or not (low < value if open_low else low <= value) or not value <= high:  # NaN fails both
        span = f"in ({low:g}, {high:g}]" if open_low else f"in {low:g}..{high:g}"
        raise ChainError(f"render_chain stage '{stage}': {name} must be a {'whole number' if whole else 'number'} "
                         f"{span}, got {value!r}")


def _choice(stage: str, name: str, value: Any, valid: Sequence[str]) -> None:
    if value not in valid:
        raise ChainError(f"render_chain stage '{stage}': {name} must be one of {list(valid)}, got {value!r}")


# --- the stages ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PitchCalibration:
    """The acoustic model renders far-from-baseline pitch compressed towards the baseline (most at the low end):
    a given segment pitch x semitones from the baseline reaches it as x * ``gain_down`` (x < 0) or x * ``gain_up``
    (x > 0). The mel stages keep working at the planned pitch. Chosen per voice on its validation clips
    (recipes/tune_harmonics.py --pitch-gains; docs/training.md, run 12)."""

    name: ClassVar[str] = "pitch_calibration"
    phase: ClassVar[str] = "controls"
    gain_down: float = 1.0
    gain_up: float = 1.0

    def __post_init__(self) -> None:
        _number(self.name, "gain_down", self.gain_down, 0.5, 2.0)
        _number(self.name, "gain_up", self.gain_up, 0.5, 2.0)

    def apply(self, state: ControlsState) -> None:
        down, up = float(self.gain_down), float(self.gain_up)
        if (down, up) == (1.0, 1.0):
            return
        pitch = state.controls[:, state.pitch_index]  # normalised semitones re baseline; 0 where not given
        added = (pitch * (np.where(pitch < 0.0, down, up) - 1.0)).astype(np.float32)
        state.controls = state.controls.copy()
        state.controls[:, state.pitch_index] += added
        state.pitch_added = added if state.pitch_added is None else state.pitch_added + added


@dataclass(frozen=True)
class Exemplars:
    """Exemplar projection (tts_model.runtime.exemplars): each predicted frame moves to the mean of its ``k``
    nearest recorded frames of the same phoneme in the bank ``file`` (relative to the voice folder, e.g.
    "exemplars.npz" or "../ljspeech/exemplars.npz"). Built by recipes/build_exemplars.py (docs/training.md,
    run 14)."""

    name: ClassVar[str] = "exemplars"
    phase: ClassVar[str] = "mel"
    file: str = "exemplars.npz"
    k: int = 21
    """Bank frames averaged per projected frame."""
    position_weight: float = 2.0
    """Weight of the place-in-phoneme difference (0..1, squared) against the mean squared log-mel difference."""
    strength: float = 1.0
    """1 replaces each frame by its exemplar mean; between 0 and 1 blends the two."""
    envelope_bins: int = 0
    """In this many of the lowest mel bins the exemplars give only the envelope; the model's harmonic ripple (the
    planned pitch) stays."""
    context_weight: float = 0.0
    """Weight of the neighbouring-phoneme mismatch (0..1 per side, weighted by the place in the phoneme): prefers
    bank frames recorded between the same neighbours (coarticulation)."""

    def __post_init__(self) -> None:
        if not isinstance(self.file, str) or not self.file:
            raise ChainError(f"render_chain stage '{self.name}': file must be a file name, got {self.file!r}")
        _number(self.name, "k", self.k, 1, 1024, whole=True)
        _number(self.name, "position_weight", self.position_weight, 0.0, 100.0)
        _number(self.name, "envelope_bins", self.envelope_bins, 0, 1024, whole=True)
        _number(self.name, "context_weight", self.context_weight, 0.0, 100.0)
        _number(self.name, "strength", self.strength, 0.0, 1.0, open_low=True)

    def apply(self, state: MelState) -> None:
        if state.bank is None:  # the bank was left unread (Synthesizer.load(use_exemplars=False))
            return
        state.mel = project(state.mel, frame_layout(state.phoneme_ids, state.durations), state.bank, self.k,
                            float(self.position_weight), float(self.strength), envelope_bins=self.envelope_bins,
                            context_weight=float(self.context_weight))


@dataclass(frozen=True)
class Harmonics:
    """Harmonic sharpening (tts_model.runtime.harmonics): ``strength`` times the ideal harmonic ripple at the
    planned F0 is added to the low mel bins of the ``phonemes`` class ("vowels", "sonorants" or "voiced"), which
    the model predicts as a smooth envelope and the vocoder then renders an octave low. Chosen per voice on its
    validation clips (recipes/tune_harmonics.py; docs/training.md)."""

    name: ClassVar[str] = "harmonics"
    phase: ClassVar[str] = "mel"
    strength: float = 0.5
    phonemes: str = "voiced"

    def __post_init__(self) -> None:
        _number(self.name, "strength", self.strength, 0.0, 2.0)
        _choice(self.name, "phonemes", self.phonemes, sorted(PHONEME_CLASSES))

    def warm(self) -> None:
        """Build the ripple table at load time, not in the first request's time to first audio."""
        if self.strength > 0.0:
            ripple_table()

    def apply(self, state: MelState) -> None:
        if float(self.strength) <= 0.0:
            return
        f0_hz, weight = frame_f0(state.phoneme_ids, state.pitch_st, state.durations,
                                 float(state.baseline["pitch_mean_hz"]), self.phonemes)
        state.mel = sharpen(state.mel, f0_hz, weight, float(self.strength))


@dataclass(frozen=True)
class CentroidTilt:
    """Centroid tilt (tts_model.runtime.tilt): the mel is tilted until the rendered spectral centroid is the plan's
    (or the model's own prediction where the plan leaves it out). ``calibration`` (slope, offset_st): the centroid
    measured on the vocoded audio is slope * (the centroid estimated from the mel) + offset_st, in semitones re
    the baseline; ``max_tilt``: largest tilt, natural-log units per octave (0.8 is about 7 dB per octave);
    ``scope``: "utterance" (one tilt per call, the segments keep their differences) or "segment". Fitted per voice
    by recipes/tune_centroid.py (docs/training.md, run 13)."""

    name: ClassVar[str] = "centroid_tilt"
    phase: ClassVar[str] = "mel"
    calibration: tuple[float, float] = (1.0, 0.0)
    max_tilt: float = 0.8
    scope: str = "utterance"

    def __post_init__(self) -> None:
        cal = self.calibration
        if isinstance(cal, (str, bytes)) or not isinstance(cal, Sequence) or len(cal) != 2 \
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in cal) \
                or not 0.2 <= float(cal[0]) <= 5.0:
            raise ChainError(f"render_chain stage '{self.name}': calibration must be [slope, offset_st] with a slope "
                             f"in 0.2..5, got {cal!r}; refit it with python -m recipes.tune_centroid")
        object.__setattr__(self, "calibration", (float(cal[0]), float(cal[1])))
        _number(self.name, "max_tilt", self.max_tilt, 0.0, 2.0, open_low=True)
        _choice(self.name, "scope", self.scope, SCOPES)

    def apply(self, state: MelState) -> None:
        state.mel, _ = follow_centroid(state.mel, state.seg_frames, state.spoken_frames,
                                       [p["spectral_centroid"] for p in state.predicted], self.calibration,
                                       float(state.baseline["spectral_centroid_hz"]), float(self.max_tilt),
                                       self.scope)


@dataclass(frozen=True)
class PitchRange:
    """A segment's ``pitch_range`` [st]: its voiced F0 contour is stretched or flattened to that spread by PSOLA
    (tts_model.runtime.pitch_range). A whispered segment is left alone: its source is replaced by noise."""

    name: ClassVar[str] = "pitch_range"
    phase: ClassVar[str] = "audio"

    def apply(self, state: SegmentState) -> None:
        if state.segment.get("voice_quality") != "whisper":
            value = state.segment.get("pitch_range")
            state.audio = apply_pitch_range(state.audio, None if value is None else float(value), state.sample_rate)


@dataclass(frozen=True)
class VoiceQuality:
    """A segment's ``voice_quality`` (breathy, whisper, tense; tts_model.runtime.voice_quality)."""

    name: ClassVar[str] = "voice_quality"
    phase: ClassVar[str] = "audio"

    def apply(self, state: SegmentState) -> None:
        state.audio = apply_voice_quality(state.audio, state.segment.get("voice_quality"), state.sample_rate,
                                          seed=state.index)


GAIN_LIMITS = (0.1, 31.6)
"""Segment gain: within -20 to +30 dB of the voice's output gain (the acoustic model renders loud requests
only partly louder)."""


@dataclass(frozen=True)
class SegmentGain:
    """Where a segment gives ``energy_rms``, its spoken part (the audio minus the trailing pause) is brought to
    exactly that RMS, within GAIN_LIMITS of the output gain, and the output step keeps it there through the
    limiter; the model alone renders level changes only approximately (docs/training.md)."""

    name: ClassVar[str] = "segment_gain"
    phase: ClassVar[str] = "audio"

    def apply(self, state: SegmentState) -> None:
        target = state.segment.get("energy_rms")
        if target is None or not np.isfinite(float(target)):
            return
        spoken = state.audio[:state.spoken]
        rms = float(np.sqrt(np.mean(np.square(spoken, dtype=np.float64)))) if spoken.size else 0.0
        state.target_rms = float(target)
        if rms >= 1e-6:
            low, high = (state.output_gain * g for g in GAIN_LIMITS)
            state.gain = min(max(float(target) / rms, low), high)


STAGES: dict[str, type] = {cls.name: cls for cls in (PitchCalibration, Exemplars, Harmonics, CentroidTilt,
                                                      PitchRange, VoiceQuality, SegmentGain)}
"""Every stage a chain may name, in the order a calibrated voice lists them."""
DEFAULT_CHAIN = (PitchRange(), VoiceQuality(), SegmentGain())
"""The chain of a voice.json that names none: the plan-driven audio stages, nothing tuned to a voice."""


def stage_from_dict(data: Mapping[str, Any], position: int) -> Any:
    """One ``{"stage": NAME, ...settings}`` entry -> its stage object. Raises ChainError."""
    if not isinstance(data, Mapping) or "stage" not in data:
        raise ChainError(f"render_chain entry {position}: expected an object with a 'stage' name, got {data!r}; "
                         f"stages: {', '.join(STAGES)}")
    name = data["stage"]
    if name not in STAGES:
        raise ChainError(f"render_chain entry {position}: unknown stage {name!r}; stages: {', '.join(STAGES)}")
    cls = STAGES[name]
    valid = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - {"stage", *valid})
    if unknown:
        raise ChainError(f"render_chain stage '{name}': unknown setting(s) {unknown}; valid: "
                         f"{', '.join(valid) or 'none'}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "stage"}
    return cls(**values)


def stage_to_dict(stage: Any) -> dict[str, Any]:
    """A stage object -> its voice.json entry (``stage`` first, then the settings; tuples as lists)."""
    out: dict[str, Any] = {"stage": stage.name}
    for f in fields(stage):
        value = getattr(stage, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def parse_chain(entries: Sequence[Any]) -> tuple:
    """voice.json's ``render_chain`` (stage objects or dicts) -> a tuple of stage objects, checked: each name at
    most once, phases in order (controls, mel, audio). Raises ChainError."""
    if isinstance(entries, (str, bytes, Mapping)) or not isinstance(entries, Sequence):
        raise ChainError(f"render_chain must be a list of stages, got {type(entries).__name__}")
    stages = tuple(e if type(e) in STAGES.values() else stage_from_dict(e, i) for i, e in enumerate(entries))
    names = [s.name for s in stages]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ChainError(f"render_chain names stage(s) {repeated} more than once; each stage may appear once")
    for before, after in zip(stages, stages[1:]):
        if PHASES.index(after.phase) < PHASES.index(before.phase):
            raise ChainError(f"render_chain: '{after.name}' ({after.phase} stage) is listed after '{before.name}' "
                             f"({before.phase} stage); list the {', then '.join(PHASES)} stages in that order")
    return stages


def check_skip(skip: Sequence[str]) -> tuple[str, ...]:
    """Stage names to leave out -> the same as a tuple; ChainError for a name that is no stage."""
    if isinstance(skip, str):
        skip = (skip,)
    unknown = [s for s in skip if s not in STAGES]
    if unknown:
        raise ChainError(f"cannot skip unknown stage(s) {unknown}; stages: {', '.join(STAGES)}")
    return tuple(skip)


# --- voice.json files written before the chain ---------------------------------------------------------------
FLAT_KEYS = ("pitch_control_gain_down", "pitch_control_gain_up", "exemplar_file", "exemplar_k",
             "exemplar_position_weight", "exemplar_strength", "exemplar_envelope_bins", "exemplar_context_weight",
             "exemplar_pitch_weight", "harmonic_strength", "harmonic_phonemes", "centroid_calibration",
             "centroid_max_tilt", "centroid_scope")
"""The flat voice.json keys that steered the stages before ``render_chain``; :func:`chain_from_flat` converts them."""


FLAT_TO_STAGE = {"pitch_control_gain_down": ("pitch_calibration", "gain_down"),
                 "pitch_control_gain_up": ("pitch_calibration", "gain_up"),
                 "exemplar_file": ("exemplars", "file"), "exemplar_k": ("exemplars", "k"),
                 "exemplar_position_weight": ("exemplars", "position_weight"),
                 "exemplar_strength": ("exemplars", "strength"), "exemplar_envelope_bins": ("exemplars", "envelope_bins"),
                 "exemplar_context_weight": ("exemplars", "context_weight"),
                 "harmonic_strength": ("harmonics", "strength"), "harmonic_phonemes": ("harmonics", "phonemes"),
                 "centroid_calibration": ("centroid_tilt", "calibration"),
                 "centroid_max_tilt": ("centroid_tilt", "max_tilt"), "centroid_scope": ("centroid_tilt", "scope")}
"""Each flat key of an older voice.json -> (stage, setting) it became."""


def chain_from_flat(data: Mapping[str, Any], n_mels: int = 80) -> list[dict[str, Any]]:
    """The render chain an older voice.json's flat keys meant, with their old defaults: pitch calibration unless
    both gains are 1, exemplars when ``exemplar_file`` is set, harmonics when ``harmonic_strength`` > 0, centroid
    tilt when ``centroid_calibration`` is set, then the audio stages. Every key is checked, even for a stage that
    stays off, and an error names the old key. ``exemplar_pitch_weight`` is gone (never used): 0 is accepted,
    anything else is an error. Raises ChainError."""
    unknown = sorted(set(data) - set(FLAT_KEYS))
    if unknown:
        raise ChainError(f"chain_from_flat: {unknown} are not stage keys; valid: {', '.join(FLAT_KEYS)}")
    if data.get("exemplar_pitch_weight", 0.0) != 0.0:
        raise ChainError(f"exemplar_pitch_weight {data['exemplar_pitch_weight']!r} is no longer supported (the "
                         "exemplar match on F0 was never shipped); remove it from voice.json")
    settings: dict[str, dict[str, Any]] = {}
    for key, (stage, setting) in FLAT_TO_STAGE.items():
        if key in data and data[key] is not None:
            value = tuple(data[key]) if isinstance(data[key], list) else data[key]
            try:
                STAGES[stage](**{setting: value})
                if key == "exemplar_envelope_bins" and value > n_mels:
                    raise ChainError(f"must be at most n_mels {n_mels}, got {value!r}")
            except ChainError as err:
                raise ChainError(f"{key} (render_chain stage '{stage}', setting '{setting}'): "
                                 f"{str(err).split(': ', 1)[-1]}") from None
            settings.setdefault(stage, {})[setting] = value
    chain: list[Any] = []
    calibration = settings.get("pitch_calibration", {})
    if (calibration.get("gain_down", 1.0), calibration.get("gain_up", 1.0)) != (1.0, 1.0):
        chain.append(PitchCalibration(**calibration))
    if "file" in settings.get("exemplars", {}):
        chain.append(Exemplars(**settings["exemplars"]))
    if settings.get("harmonics", {}).get("strength", 0.0) > 0.0:
        chain.append(Harmonics(**settings["harmonics"]))
    if "calibration" in settings.get("centroid_tilt", {}):
        chain.append(CentroidTilt(**settings["centroid_tilt"]))
    return [stage_to_dict(s) for s in (*chain, *DEFAULT_CHAIN)]


__all__ = ["PHASES", "STAGES", "DEFAULT_CHAIN", "FLAT_KEYS", "GAIN_LIMITS", "ChainError", "ControlsState",
           "MelState", "SegmentState", "PitchCalibration", "Exemplars", "Harmonics", "CentroidTilt", "PitchRange",
           "VoiceQuality", "SegmentGain", "stage_from_dict", "stage_to_dict", "parse_chain", "check_skip",
           "chain_from_flat", "FLAT_TO_STAGE"]
