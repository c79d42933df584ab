"""A reference renderer that follows a plan exactly, for checking the evaluation itself.

``ToneSynthesizer`` renders each plan segment as a harmonic tone (10 harmonics, 1/k amplitudes) whose F0
follows ``pitch_mean`` and ``pitch_slope`` linearly, whose RMS is ``energy_rms`` with ``energy_slope``
applied, lasting ``duration`` and followed by ``pause_after`` of silence. It is not speech (no words, no
WER), but because it does what the plan says, ``baton eval --oracle`` shows (a) how accurate the
measurement chain is (adherence errors should be near zero) and (b) whether the conductor's plans move
pitch, energy and rate in the prosody table's directions, independently of any trained voice.

Same interface as tts_model.runtime.synthesizer.Synthesizer (``voice_id``, ``sample_rate``, ``baseline``,
``synthesize(segments, seed) -> Iterator`` of chunks with ``audio``, ``segment_index``, ``predicted``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from baton.baseline import DEFAULT_BASELINE, VoiceBaseline

N_HARMONICS = 10


@dataclass(frozen=True)
class ToneChunk:
    audio: np.ndarray
    """float32 (n_samples,), [-1, 1]."""
    segment_index: int
    predicted: dict[str, float]


@dataclass(frozen=True)
class ToneSynthesizer:
    """Plan-following tone renderer (see module docstring). Missing fields come from ``voice_baseline``."""

    voice_baseline: VoiceBaseline = DEFAULT_BASELINE
    sample_rate: int = 22050
    voice_id: str = "oracle-tones"
    config: Mapping[str, Any] = field(default_factory=dict)
    renders: tuple[str, ...] = ("pitch", "energy", "rate")
    """Direction checks this renderer can pass: not "centroid" (a tone's centroid follows its F0)."""

    @property
    def baseline(self) -> dict[str, float]:
        return self.voice_baseline.to_dict()

    def controls(self, segment: Mapping[str, Any]) -> dict[str, float]:
        """The values rendered for ``segment``: its own, or the baseline's where it leaves one out."""
        from baton.pipeline import count_syllables
        from baton.plan import text_words

        base = self.voice_baseline
        syllables = sum(count_syllables(w) for w in text_words(segment["word"]))

        def get(name: str, default: float) -> float:
            value = segment.get(name)
            return default if value is None else float(value)

        return {"pitch_mean": get("pitch_mean", base.pitch_mean_hz), "pitch_slope": get("pitch_slope", 0.0),
                "energy_rms": get("energy_rms", base.energy_rms), "energy_slope": get("energy_slope", 0.0),
                "spectral_centroid": get("spectral_centroid", base.spectral_centroid_hz),
                "duration": get("duration", syllables / base.speaking_rate_sps),
                "pause_after": get("pause_after", 0.0)}

    def render(self, values: Mapping[str, float]) -> np.ndarray:
        """float32 (n,): the tone for one segment's ``values`` followed by its pause."""
        n = max(1, int(round(values["duration"] * self.sample_rate)))
        t = np.arange(n) / self.sample_rate
        centre = t - values["duration"] / 2
        f0 = np.clip(values["pitch_mean"] + values["pitch_slope"] * centre, 50.0, 1000.0)
        phase = 2 * np.pi * np.cumsum(f0) / self.sample_rate
        tone = sum(np.sin(k * phase) / k for k in range(1, N_HARMONICS + 1))
        tone = tone * 10.0 ** (values["energy_slope"] * centre / 20.0)
        tone = tone * (values["energy_rms"] / np.sqrt(np.mean(tone**2)))
        pause = np.zeros(int(round(values["pause_after"] * self.sample_rate)))
        return np.clip(np.concatenate([tone, pause]), -1.0, 1.0).astype(np.float32)

    def synthesize(self, segments: Sequence[Mapping[str, Any]], seed: int | None = None) -> Iterator[ToneChunk]:
        del seed  # deterministic
        for index, segment in enumerate(segments):
            values = self.controls(segment)
            yield ToneChunk(audio=self.render(values), segment_index=index, predicted=values)
