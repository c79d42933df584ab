"""Per-span prosody measurements with the plan's field names and units.

``measure_span`` is the public entry point; :class:`Tracks` lets callers that measure many spans of one
recording (``extract_plan``) run the Praat trackers once.

Definitions (plan field -> how it is measured over [start_s, end_s)):

* ``pitch_mean`` [Hz]: mean F0 over voiced frames (Praat autocorrelation pitch).
* ``pitch_slope`` [Hz/s]: slope of a least-squares line through F0 against time, voiced frames only.
* ``energy_rms`` [linear, full scale 1.0]: RMS of the waveform samples in the span.
* ``energy_slope`` [dB/s]: slope of a least-squares line through Praat intensity (dB) against time.
* ``spectral_centroid`` [Hz]: magnitude-weighted mean frequency of the span's average magnitude spectrum
  (Hann frames of about 46 ms, half overlap; averaging spectra first keeps quiet frames from dominating).
* ``duration`` [s]: end_s - start_s.

Undefined values are NaN: pitch in unvoiced spans, slopes with fewer than ``MIN_FIT_FRAMES`` frames or
under ``MIN_FIT_SPAN_S`` of track, energy and centroid in digital silence (RMS below 1e-5, i.e. -100 dBFS,
the plan's lower bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from feature_extract import praat
from feature_extract.audio import check_audio
from plan_contract import NUMERIC_FIELDS

FIELDS = tuple(name for name in NUMERIC_FIELDS if name != "pause_after")
"""The plan fields one span shows: every numeric field but ``pause_after`` (the silence between two spans,
which :func:`feature_extract.segment.extract_plan` measures)."""
MIN_FIT_FRAMES = 3
MIN_FIT_SPAN_S = 0.03
SILENT_RMS = 1e-5
_CONTEXT_S = 0.1  # audio either side of a span handed to Praat, so its windows see real signal at the edges
_NAN = float("nan")


@dataclass(frozen=True)
class Tracks:
    """Praat tracks of one signal. All arrays float64 (n_frames,), times in s from the signal's start."""

    pitch_times_s: np.ndarray
    f0_hz: np.ndarray
    """NaN where unvoiced."""
    intensity_times_s: np.ndarray
    intensity_db: np.ndarray
    """NaN where silent."""

    @classmethod
    def compute(cls, audio: np.ndarray, sample_rate: int,
                config: praat.PraatConfig = praat.DEFAULT_CONFIG) -> "Tracks":
        """Run the pitch and intensity trackers over ``audio`` (float32 (n,), [-1, 1])."""
        pitch_t, f0 = praat.pitch_track(audio, sample_rate, config)
        int_t, db = praat.intensity_track(audio, sample_rate, config)
        return cls(pitch_t, f0, int_t, db)


def measure_span(audio: np.ndarray, sample_rate: int, start_s: float, end_s: float) -> dict[str, float]:
    """Measure the plan fields over ``[start_s, end_s)`` of ``audio``.

    ``audio``: float32, shape (n_samples,), [-1, 1]; ``sample_rate`` in Hz; times in s from the start of
    ``audio``. Returns ``{field: float}`` for the fields in :data:`FIELDS` (NaN where undefined, see the
    module docstring). Raises ValueError (one line) for an empty or out-of-range span.
    """
    audio = check_audio(audio, sample_rate)
    start_s, end_s = _check_span(audio, sample_rate, start_s, end_s)
    lo = max(0, int(round((start_s - _CONTEXT_S) * sample_rate)))
    hi = min(audio.size, int(round((end_s + _CONTEXT_S) * sample_rate)))
    offset_s = lo / sample_rate
    tracks = Tracks.compute(audio[lo:hi], sample_rate)
    return measure_with_tracks(audio[lo:hi], sample_rate, tracks, start_s - offset_s, end_s - offset_s)


def measure_with_tracks(audio: np.ndarray, sample_rate: int, tracks: Tracks,
                        start_s: float, end_s: float) -> dict[str, float]:
    """Like :func:`measure_span`, reusing ``tracks`` computed over the same ``audio``."""
    first = max(0, int(round(start_s * sample_rate)))
    last = min(audio.size, int(round(end_s * sample_rate)))
    samples = np.asarray(audio[first:last], dtype=np.float64)
    rms = math.sqrt(float(np.mean(samples ** 2))) if samples.size else _NAN
    silent = not (rms >= SILENT_RMS)

    f0_t, f0 = _select(tracks.pitch_times_s, tracks.f0_hz, start_s, end_s)
    db_t, db = _select(tracks.intensity_times_s, tracks.intensity_db, start_s, end_s)
    return {
        "pitch_mean": float(np.mean(f0)) if f0.size else _NAN,
        "pitch_slope": _slope(f0_t, f0),
        "energy_rms": _NAN if silent else rms,
        "energy_slope": _NAN if silent else _slope(db_t, db),
        "spectral_centroid": _NAN if silent else spectral_centroid_hz(samples, sample_rate),
        "duration": float(end_s - start_s),
    }


def spectral_centroid_hz(audio: np.ndarray, sample_rate: int) -> float:
    """Centroid (Hz) of the mean magnitude spectrum of Hann frames of ~46 ms with 50 % overlap.

    ``audio``: float (n,). A signal shorter than one frame is analysed as one zero-padded frame.
    NaN for an all-zero signal.
    """
    x = np.asarray(audio, dtype=np.float64)
    n_fft = 1 << int(math.ceil(math.log2(0.046 * sample_rate)))
    hop = n_fft // 2
    if x.size < n_fft:
        frames = np.zeros((1, n_fft))
        frames[0, : x.size] = x * np.hanning(x.size) if x.size > 2 else x
    else:
        n_frames = 1 + (x.size - n_fft) // hop
        index = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
        frames = x[index] * np.hanning(n_fft)
    magnitude = np.abs(np.fft.rfft(frames, axis=1)).mean(axis=0)
    total = float(magnitude.sum())
    if not total > 0:
        return _NAN
    freqs_hz = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    return float((freqs_hz * magnitude).sum() / total)


def _select(times_s: np.ndarray, values: np.ndarray, start_s: float, end_s: float):
    keep = (times_s >= start_s) & (times_s < end_s) & np.isfinite(values)
    return times_s[keep], values[keep]


def _slope(times_s: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of values against time (units per s); NaN when too few frames to fit."""
    if times_s.size < MIN_FIT_FRAMES or float(times_s[-1] - times_s[0]) < MIN_FIT_SPAN_S:
        return _NAN
    t = times_s - times_s.mean()
    return float(np.dot(t, values - values.mean()) / np.dot(t, t))


def _check_span(audio: np.ndarray, sample_rate: int, start_s: float, end_s: float) -> tuple[float, float]:
    total_s = audio.size / sample_rate
    if not (math.isfinite(start_s) and math.isfinite(end_s)):
        raise ValueError(f"span [{start_s}, {end_s}] s is not finite; pass times in seconds")
    if not (0.0 <= start_s < end_s):
        raise ValueError(f"span [{start_s:g}, {end_s:g}] s is empty or starts before 0; "
                         f"need 0 <= start_s < end_s")
    if start_s >= total_s:
        raise ValueError(f"span starts at {start_s:g} s, after the end of the audio ({total_s:.3f} s)")
    return float(start_s), float(min(end_s, total_s))
