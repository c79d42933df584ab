"""Centroid tilt: make the rendered audio's spectral centroid follow the plan's. numpy only.

Why (docs/training.md, run 13): the acoustic model follows the ``spectral_centroid`` control only weakly. On
the 22 validation clips, rendering each clip's own measured plan gives audio 2.8 st *darker* than the plan
asks (the model's mel is short of energy between 1 and 5 kHz), and asking 1.25 × the measured centroid moves
the render by about 0.8 st instead of 3.9. Vocoding the recordings' own mels keeps their centroid (+0.2 st),
so the vocoder is not the cause.

The fix works on the predicted log-mel of each segment, before vocoding: a high shelf that raises (or lowers)
the mel bins above ``PIVOT_HZ`` by ``alpha`` natural-log units per octave above it is chosen so that the
centroid *estimated from the mel* reaches the plan's. Bins below the pivot are left alone: they carry F0, and a
tilt that pivoted there (lowering them as it raised the top) made `baton eval` renders of high-pitch requests
come out about 5 st low. The estimate spreads each mel filter's density back over the linear-frequency bins it
covers and continues the top filter's density up to Nyquist (HiFi-GAN renders that band from the top bins). A
voice's ``centroid_calibration`` (slope, offset) maps the estimate to what feature_extract measures on the
vocoded audio, fitted per voice by ``recipes/tune_centroid.py`` on training clips. The centroid of a shelved
mel rises monotonically with ``alpha``, so a bisection finds it. Steps between segments are smoothed over
``SMOOTH_FRAMES`` frames. The level is left to the runtime's energy gain stage.

Scope (a voice's ``centroid_scope``). The conductor asks one centroid for every segment of an utterance, while
real speech's centroid swings by several semitones with the phonemes (nasal stretches low, fricatives high).
Tilting each segment to its own number ("segment") flattens those differences, and cost word errors and
`baton eval` direction checks in run 13. "utterance" (the default) tilts a whole synthesis call by one
``alpha``, so that the segments' estimates meet the plan's on average (weighted by spoken frames, in semitones)
and keep their differences. "segment" is right for plans measured from speech, where each segment's centroid
is its own.

Contract: :func:`estimate_centroid_hz` (mel frames -> Hz), :func:`segment_tilt` (one segment -> alpha),
:func:`shared_tilt` (several segments -> one alpha) and :func:`follow_centroid` (whole utterance -> tilted
mel). Pure functions.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np

from tts_model.runtime.audio import N_FREQS, SAMPLE_RATE, mel_centres_hz, mel_filterbank
from tts_model.runtime.solve import bisect_rising

PIVOT_HZ = 1000.0
"""The shelf moves mel bins centred above this frequency, by ``alpha`` per octave above it; those below stay."""
SMOOTH_FRAMES = 9
"""Moving-average length (frames, ~0.1 s) over which the tilt changes from one segment to the next."""
BISECTION_STEPS = 24
"""Halvings of the tilt interval: 2 * max_tilt / 2**24 is far below anything audible."""
SCOPES = ("segment", "utterance")
"""What one tilt covers: each plan segment, or the whole utterance (one synthesis call)."""
MIN_SPOKEN_FRAMES = 3
"""A segment with fewer spoken frames keeps its neighbours' tilt (too short to estimate a centroid)."""


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(filterbank float64 (n_mels, N_FREQS), its column sums, linear bin frequencies, last covered bin)."""
    basis = mel_filterbank().astype(np.float64)
    cover = basis.sum(axis=0)
    last = int(np.nonzero(cover > 0)[0].max())
    return basis, cover, np.linspace(0.0, SAMPLE_RATE / 2, N_FREQS), last


@lru_cache(maxsize=1)
def tilt_profile() -> np.ndarray:
    """float64 (n_mels,): octaves of each mel bin's centre above ``PIVOT_HZ``, 0 below it (the shelf per unit
    ``alpha``)."""
    return np.maximum(np.log2(mel_centres_hz() / PIVOT_HZ), 0.0)


def _centroid_of_density(density: np.ndarray) -> float:
    """Centroid (Hz) of the linear magnitude spectrum implied by a mean mel density (n_mels,)."""
    basis, cover, freqs_hz, last = _tables()
    linear = np.zeros(N_FREQS)
    covered = cover > 0
    linear[covered] = (basis.T @ density)[covered] / cover[covered]
    linear[last + 1:] = density[-1]
    total = float(linear.sum())
    return float((freqs_hz * linear).sum() / total) if total > 0 else math.nan


def estimate_centroid_hz(log_mel: np.ndarray) -> float:
    """Spectral centroid (Hz) the vocoded audio of ``log_mel`` (frames, n_mels; natural-log magnitude) will
    have, before calibration: the centroid of the mean magnitude spectrum, as feature_extract measures it."""
    frames = np.asarray(log_mel, dtype=np.float64)
    if frames.ndim != 2 or frames.shape[0] == 0:
        raise ValueError(f"log_mel must be (frames >= 1, n_mels), got shape {frames.shape}")
    return _centroid_of_density(np.exp(frames).mean(axis=0))


def segment_tilt(log_mel: np.ndarray, target_hz: float, calibration: Sequence[float], baseline_hz: float,
                 max_tilt: float) -> float:
    """The shelf ``alpha`` (natural-log units per octave, within +-``max_tilt``) that brings the calibrated
    centroid estimate of ``log_mel`` (one segment's spoken frames) to ``target_hz``.

    ``calibration`` = (slope, offset_st): measured st = slope * estimated st + offset_st, both in semitones
    re ``baseline_hz``. A target out of reach gets the nearest limit."""
    return shared_tilt([log_mel], [target_hz], [1.0], calibration, baseline_hz, max_tilt)


def shared_tilt(log_mels: Sequence[np.ndarray], targets_hz: Sequence[float], weights: Sequence[float],
                calibration: Sequence[float], baseline_hz: float, max_tilt: float) -> float:
    """One ``alpha`` for several segments (each its spoken frames): the weighted mean over the segments of the
    calibrated estimate, in semitones, meets the weighted mean of their targets. Each segment is estimated on
    its own, as the gate measures it, so the segments keep their differences."""
    slope, offset_st = float(calibration[0]), float(calibration[1])
    w = np.asarray(weights, dtype=np.float64) / float(np.sum(weights))
    target_st = float(np.dot(w, [12.0 * math.log2(t / baseline_hz) for t in targets_hz]))
    wanted_st = (target_st - offset_st) / slope
    densities = [np.exp(np.asarray(m, dtype=np.float64)).mean(axis=0) for m in log_mels]
    gain = tilt_profile()

    def estimated_st(alpha: float) -> float:
        factor = np.exp(alpha * gain)
        return float(np.dot(w, [12.0 * math.log2(_centroid_of_density(d * factor) / baseline_hz) for d in densities]))

    return bisect_rising(estimated_st, wanted_st, -max_tilt, max_tilt, BISECTION_STEPS)


def follow_centroid(log_mel: np.ndarray, seg_frames: np.ndarray, spoken_frames: np.ndarray,
                    targets_hz: Sequence[float], calibration: Sequence[float], baseline_hz: float,
                    max_tilt: float, scope: str = "utterance") -> tuple[np.ndarray, np.ndarray]:
    """Tilt the whole utterance of ``log_mel`` (F, n_mels) by one ``alpha`` (``shared_tilt``, segments weighted
    by their spoken frames; ``scope`` "utterance"), or each segment towards its own target ("segment").

    ``seg_frames`` (S,): frames per segment, summing to F; ``spoken_frames`` (S,): the leading frames of each
    segment that are speech (the rest is its pause), over which the centroid is estimated; ``targets_hz`` (S,):
    the centroid each segment should have. Returns (tilted log-mel float32 (F, n_mels), alpha per segment
    float64 (S,)). Segments without a usable target or with fewer than ``MIN_SPOKEN_FRAMES`` spoken frames do
    not count; with scope "segment" they take the tilt of the segment before them (0 for the first)."""
    seg_frames = np.asarray(seg_frames, dtype=np.int64)
    if seg_frames.sum() != log_mel.shape[0] or len(targets_hz) != seg_frames.size \
            or len(spoken_frames) != seg_frames.size:
        raise ValueError(f"follow_centroid: {seg_frames.size} segments with {int(seg_frames.sum())} frames, "
                         f"{len(spoken_frames)} spoken counts and {len(targets_hz)} targets for a mel of "
                         f"{log_mel.shape[0]} frames")
    if scope not in SCOPES:
        raise ValueError(f"follow_centroid: scope must be one of {SCOPES}, got {scope!r}")
    starts = np.concatenate([[0], np.cumsum(seg_frames)[:-1]])
    spoken = np.minimum(np.asarray(spoken_frames, dtype=np.int64), seg_frames)
    usable = [s for s, target in enumerate(targets_hz) if spoken[s] >= MIN_SPOKEN_FRAMES and target is not None
              and math.isfinite(float(target)) and target > 0]
    alphas = np.zeros(seg_frames.size)
    if scope == "utterance":
        if usable:
            alphas[:] = shared_tilt([log_mel[starts[s]:starts[s] + spoken[s]] for s in usable],
                                    [float(targets_hz[s]) for s in usable], spoken[usable], calibration,
                                    baseline_hz, max_tilt)
        return (log_mel + alphas[0] * tilt_profile()[None, :]).astype(np.float32), alphas
    for s in usable:
        alphas[s] = segment_tilt(log_mel[starts[s]:starts[s] + spoken[s]], float(targets_hz[s]), calibration,
                                 baseline_hz, max_tilt)
    for s in range(1, seg_frames.size):  # a segment that does not count keeps the tilt before it
        if s not in usable:
            alphas[s] = alphas[s - 1]
    per_frame = np.repeat(alphas, seg_frames)
    if per_frame.size > 1:
        half = SMOOTH_FRAMES // 2
        per_frame = np.convolve(np.pad(per_frame, half, mode="edge"), np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES,
                                mode="valid")
    return (log_mel + per_frame[:, None] * tilt_profile()[None, :]).astype(np.float32), alphas


__all__ = ["PIVOT_HZ", "SCOPES", "SMOOTH_FRAMES", "estimate_centroid_hz", "segment_tilt", "shared_tilt", "follow_centroid",
           "tilt_profile"]
