"""A voice's neutral baseline: the medians that conductors plan relative to (ARCHITECTURE.md, Contract 1).

Every voice ships one (in its ``voice.json`` and model card). Conductors think in relative terms
(semitones, dB, rate ratios) and write absolute numbers by applying them to this baseline.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping


@dataclass(frozen=True)
class VoiceBaseline:
    """Neutral medians of one voice, measured with feature_extract on its training recordings."""

    pitch_mean_hz: float
    """Median of per-segment mean F0 over voiced frames [Hz]."""
    energy_rms: float
    """Median per-segment waveform RMS [linear, full scale 1.0]."""
    spectral_centroid_hz: float
    """Median per-segment spectral centroid [Hz]."""
    speaking_rate_sps: float
    """Median speaking rate [syllables per second], pauses excluded."""
    pitch_range_st: float = 2.5
    """Typical spread (IQR) of per-segment pitch means around the median [semitones]."""
    pause_s: float = 0.25
    """Median pause at a phrase boundary [s]."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"voice baseline field '{f.name}' must be a positive number, got {value!r}")

    # Conversions used by every conductor -------------------------------------------------------------
    def pitch_hz(self, semitones: float) -> float:
        """Absolute pitch [Hz] ``semitones`` above (or below, if negative) the baseline."""
        return self.pitch_mean_hz * 2.0 ** (semitones / 12.0)

    def rms(self, decibels: float) -> float:
        """Absolute RMS ``decibels`` louder (or quieter) than the baseline."""
        return self.energy_rms * 10.0 ** (decibels / 20.0)

    def centroid_hz(self, ratio: float) -> float:
        return self.spectral_centroid_hz * ratio

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "VoiceBaseline":
        valid = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ValueError(f"unknown voice baseline key(s) {unknown}; valid: {sorted(valid)}")
        return cls(**{k: float(v) for k, v in data.items()})


# The LJSpeech neutral medians as measured by feature_extract (see docs/); used when no voice is loaded,
# e.g. by `baton plan` without a synthesizer. Replaced by the voice's own baseline whenever one is loaded.
DEFAULT_BASELINE = VoiceBaseline(pitch_mean_hz=205.0, energy_rms=0.065, spectral_centroid_hz=1900.0,
                                 speaking_rate_sps=4.3, pitch_range_st=2.5, pause_s=0.25)
