"""Whole-utterance measures and their change against a neutral reference: the prosody table's definitions.

One place defines how an utterance is measured for emotion work, so that the RAVDESS prosody table
(``recipes/measure_prosody_table.py``), the emotion benchmark (``benchmarks/emotion_render.py``) and the
emotion classifier (``recipes/train_emotion_classifier.py``) measure exactly the same thing:

1. **Trim the silence** (:func:`voiced_region`): from the first to the last Praat intensity frame within
   30 dB of the loudest one, plus 30 ms either side.
2. **Measure the region as one span** with ``feature_extract.measure.measure_span`` (plan fields), plus the F0
   spread ``range_st`` (10th-90th percentile of the Praat pitch track of the region, semitones) and the
   voice-quality measures of ``feature_extract.voice_quality`` over the same pitch track. The two slopes
   are the exception (:data:`SLOPE_SPAN_S`): a region longer than a RAVDESS clip is cut into equal windows
   no longer than that, and the slopes are the mean of the windows' least-squares slopes, so that a slope
   means the same on a 6 s sentence as on a 2 s RAVDESS statement.
3. **Compare with the neutral reference** (:func:`relative`): see :data:`QUANTITY_UNITS`.

``audio``: float32 (n_samples,), [-1, 1] throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from feature_extract import praat
from feature_extract.measure import measure_span
from feature_extract.voice_quality import VOICE_QUALITY_FIELDS, voice_quality

PROSODY_QUANTITIES = ("pitch_st", "energy_db", "rate_ratio", "slope_st_per_s", "energy_slope_db_per_s",
                      "centroid_st", "range_st")
"""The prosody table's quantities (baton/data/prosody_table.json ``table``)."""
VOICE_QUALITY_QUANTITIES = VOICE_QUALITY_FIELDS
"""Voice-quality changes (``voice_quality`` in the same JSON), named like the absolute measures."""
QUANTITY_UNITS = {
    "pitch_st": "semitones, 12*log2(F0 mean / neutral F0 mean)",
    "energy_db": "dB, 20*log10(RMS / neutral RMS)",
    "rate_ratio": "neutral duration / duration of the voiced region (>1 = faster)",
    "slope_st_per_s": "pitch slope [st/s] minus the neutral one",
    "energy_slope_db_per_s": "intensity slope [dB/s] minus the neutral one",
    "centroid_st": "12*log2(spectral centroid / neutral centroid)",
    "range_st": "F0 10-90 percentile spread [st] minus the neutral one",
    "hnr_db": "mean harmonics-to-noise ratio of voiced frames [dB] minus the neutral one",
    "cpp_db": "mean cepstral peak prominence of voiced frames [dB] minus the neutral one",
    "alpha_ratio_db": "spectral tilt 10*log10(P 1-5 kHz / P 50 Hz-1 kHz) of voiced frames [dB] minus the neutral one",
    "voiced_fraction": "share of voiced pitch frames in the region minus the neutral one [fraction, -1..1]",
}


SLOPE_SPAN_S = 4.4
"""Longest span a slope is fitted over [s]: just above the longest voiced region of the 1,440 RAVDESS clips
(3.5 s; median 1.8 s), so every RAVDESS clip is still fitted as one span (its table is unchanged) while a
longer utterance is fitted in ``ceil(length / SLOPE_SPAN_S)`` equal windows of RAVDESS's lengths. A line
fitted over a whole 6 s sentence measures declination across phrases, not the rise or fall that a
listener (and RAVDESS's table) reads over one statement; see docs/emotion.md (2026-12-05, strong)."""


@dataclass(frozen=True)
class TrimConfig:
    """How the voiced region of a clip is found."""

    below_peak_db: float = 30.0
    """Frames within this many dB of the clip's loudest intensity frame count as speech."""
    pad_s: float = 0.03
    """Kept either side of the first/last speech frame, so that onsets and releases are not clipped."""


def voiced_region(audio: np.ndarray, sample_rate: int, config: TrimConfig = TrimConfig()) -> tuple[float, float]:
    """``(start_s, end_s)`` of the region between the first and last frame within ``below_peak_db`` of the
    loudest frame. Raises ValueError for a silent signal."""
    times_s, db = praat.intensity_track(audio, sample_rate)
    finite = np.isfinite(db)
    if not finite.any():
        raise ValueError("clip is silent")
    loud = np.flatnonzero(finite & (db >= np.nanmax(db) - config.below_peak_db))
    total_s = audio.size / sample_rate
    start_s = max(0.0, float(times_s[loud[0]]) - config.pad_s)
    end_s = min(total_s, float(times_s[loud[-1]]) + config.pad_s)
    return start_s, end_s


def measure_utterance(audio: np.ndarray, sample_rate: int, config: TrimConfig = TrimConfig()) -> dict[str, float]:
    """Features of the voiced region of ``audio``: the plan fields (``measure_span``), ``range_st`` (F0 10-90 %
    spread [st]), the voice-quality fields, and ``start_s``/``end_s`` of the region. NaN where undefined."""
    start_s, end_s = voiced_region(audio, sample_rate, config)
    features = measure_span(audio, sample_rate, start_s, end_s)
    if len(slope_windows(start_s, end_s)) > 1:
        features.update(windowed_slopes(audio, sample_rate, start_s, end_s))
    lo, hi = int(start_s * sample_rate), int(end_s * sample_rate)
    pitch_times_s, f0_hz = praat.pitch_track(audio[lo:hi], sample_rate)
    voiced_hz = f0_hz[np.isfinite(f0_hz)]
    if voiced_hz.size >= 5:
        p10, p90 = np.percentile(voiced_hz, [10, 90])
        features["range_st"] = float(12.0 * math.log2(p90 / p10))
    else:
        features["range_st"] = float("nan")
    features.update(voice_quality(audio[lo:hi], sample_rate, pitch_times_s, f0_hz))
    features["start_s"], features["end_s"] = start_s, end_s
    return features


def slope_windows(start_s: float, end_s: float, span_s: float = SLOPE_SPAN_S) -> list[tuple[float, float]]:
    """``ceil(length / span_s)`` equal, consecutive windows ``(start_s, end_s)`` covering the region."""
    n = max(1, math.ceil((end_s - start_s) / span_s - 1e-9))
    edges = np.linspace(start_s, end_s, n + 1)
    return [(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:])]


def windowed_slopes(audio: np.ndarray, sample_rate: int, start_s: float, end_s: float,
                    span_s: float = SLOPE_SPAN_S) -> dict[str, float]:
    """``pitch_slope`` [Hz/s] and ``energy_slope`` [dB/s] of the region as the mean of the least-squares slopes
    of :func:`slope_windows` (windows without a defined slope are left out; NaN when none has one). A region
    of at most ``span_s`` is one window: exactly ``measure_span``'s slopes."""
    per_window = [measure_span(audio, sample_rate, a, b) for a, b in slope_windows(start_s, end_s, span_s)]
    out = {}
    for name in ("pitch_slope", "energy_slope"):
        values = [w[name] for w in per_window if math.isfinite(w[name])]
        out[name] = float(np.mean(values)) if values else float("nan")
    return out


def relative(clip: dict[str, float], ref: dict[str, float]) -> dict[str, float]:
    """The quantities of :data:`QUANTITY_UNITS` for ``clip`` relative to its neutral reference ``ref`` (both
    from :func:`measure_utterance`); NaN where undefined. Voice-quality quantities only when both have them."""
    def st(a: float, b: float) -> float:
        return 12.0 * math.log2(a / b) if a > 0 and b > 0 else float("nan")

    def slope_st(features: dict[str, float]) -> float:
        # Hz/s -> st/s at the segment's own mean pitch (the local derivative of 12*log2(f)).
        return features["pitch_slope"] * 12.0 / (math.log(2.0) * features["pitch_mean"])

    out = {
        "pitch_st": st(clip["pitch_mean"], ref["pitch_mean"]),
        "energy_db": 20.0 * math.log10(clip["energy_rms"] / ref["energy_rms"]),
        "rate_ratio": ref["duration"] / clip["duration"],
        "slope_st_per_s": slope_st(clip) - slope_st(ref),
        "energy_slope_db_per_s": clip["energy_slope"] - ref["energy_slope"],
        "centroid_st": st(clip["spectral_centroid"], ref["spectral_centroid"]),
        "range_st": clip["range_st"] - ref["range_st"],
    }
    for name in VOICE_QUALITY_QUANTITIES:
        if name in clip and name in ref:
            out[name] = clip[name] - ref[name]
    return out
