"""Voice-quality measures of a stretch of speech: periodicity, spectral tilt and how much of it is voiced.

All measures are taken over the *voiced* frames of the given Praat pitch track (frames where F0 is defined),
so that pauses and unvoiced consonants do not count as "breathy"; ``voiced_fraction`` says how many there
were. A whisper (no voicing) gives ``voiced_fraction`` near 0 and NaN for the other three.

* ``hnr_db`` [dB]: mean harmonics-to-noise ratio over frames Praat finds periodic ("To Harmonicity (cc)",
  10 ms hop, 1 period per window; ``praat.harmonicity_track``). Lower = breathier or rougher.
* ``cpp_db`` [dB]: cepstral peak prominence (Hillenbrand et al. 1994), mean over voiced frames: 40 ms Hann
  frames centred on the pitch frames, cepstrum of the dB power spectrum, height of its peak within
  +/-20 % of the frame's own 1/F0 above a least-squares line fitted over quefrencies 1 ms .. 1/60 s. Searching
  near the tracked F0 (rather than over a fixed 60-330 Hz as Praat's CPPS does) keeps shouted speech at
  400-600 Hz measurable. Not Praat's smoothed CPPS: values are a few dB apart, so compare CPP with CPP only.
  Lower = less periodic (breathy, whispered, creaky).
* ``alpha_ratio_db`` [dB]: spectral tilt, 10*log10(power 1-5 kHz / power 50 Hz-1 kHz) of the mean power
  spectrum of the same voiced frames (the eGeMAPS alpha ratio; Eyben et al. 2016). Higher (less negative) =
  flatter spectrum = more vocal effort / tenser voice; lower = breathier, softer.
* ``voiced_fraction`` [0..1]: voiced pitch frames / all pitch frames of the stretch.

``audio``: float32 (n_samples,), [-1, 1]. This module does not import parselmouth itself (``praat`` does).
"""

from __future__ import annotations

import math

import numpy as np

from feature_extract import praat

VOICE_QUALITY_FIELDS = ("hnr_db", "cpp_db", "alpha_ratio_db", "voiced_fraction")
FRAME_S = 0.04
"""Analysis frame for CPP and the alpha ratio (2.4 periods at a 60 Hz F0)."""
CPP_FIT_QUEFRENCY_S = (0.001, 1.0 / 60.0)
"""Quefrency range of the regression line under the cepstral peak [s]."""
CPP_SEARCH_TOLERANCE = 0.2
"""The cepstral peak is searched within 1/F0 * (1 -/+ this) of the frame's tracked F0."""
ALPHA_LOW_HZ = (50.0, 1000.0)
ALPHA_HIGH_HZ = (1000.0, 5000.0)
_EPS = 1e-12
_NAN = float("nan")


def voice_quality(audio: np.ndarray, sample_rate: int, pitch_times_s: np.ndarray,
                  f0_hz: np.ndarray) -> dict[str, float]:
    """The :data:`VOICE_QUALITY_FIELDS` of ``audio`` given its Praat pitch track (``praat.pitch_track`` of the
    same signal: times in s from its start, F0 NaN where unvoiced). NaN where undefined."""
    audio = np.asarray(audio, dtype=np.float64)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    voiced = np.isfinite(f0_hz)
    out = {"voiced_fraction": float(voiced.mean()) if f0_hz.size else _NAN}
    _, hnr = praat.harmonicity_track(audio, sample_rate)
    hnr = hnr[np.isfinite(hnr)]
    out["hnr_db"] = float(hnr.mean()) if hnr.size and voiced.any() else _NAN
    if not voiced.any():
        out.update(cpp_db=_NAN, alpha_ratio_db=_NAN)
        return out
    frames = frames_at(audio, sample_rate, np.asarray(pitch_times_s)[voiced], FRAME_S)
    cpp = cepstral_peak_prominence_db(frames, sample_rate, f0_hz[voiced])
    cpp = cpp[np.isfinite(cpp)]
    out["cpp_db"] = float(cpp.mean()) if cpp.size else _NAN
    out["alpha_ratio_db"] = alpha_ratio_db(frames, sample_rate)
    return out


def frames_at(audio: np.ndarray, sample_rate: int, centres_s: np.ndarray, frame_s: float) -> np.ndarray:
    """Hann-windowed frames of ``frame_s`` centred at ``centres_s`` (zero beyond the signal's ends).
    Returns float64 (n_centres, frame_length)."""
    length = int(round(frame_s * sample_rate))
    padded = np.pad(np.asarray(audio, dtype=np.float64), (length, length))
    starts = np.round(np.asarray(centres_s) * sample_rate).astype(np.int64) - length // 2 + length
    starts = np.clip(starts, 0, padded.size - length)
    index = starts[:, None] + np.arange(length)[None, :]
    return padded[index] * np.hanning(length)[None, :]


def cepstral_peak_prominence_db(frames: np.ndarray, sample_rate: int, f0_hz: np.ndarray) -> np.ndarray:
    """CPP [dB] of each frame (float64 (n, frame_length), windowed) whose F0 is ``f0_hz`` (n,); NaN for a
    silent frame or an F0 whose period lies outside the frame's cepstrum."""
    n_frames, length = frames.shape
    n_fft = 1 << int(math.ceil(math.log2(max(length, 2))))
    spectrum_db = 10.0 * np.log10(np.abs(np.fft.rfft(frames, n_fft, axis=1)) ** 2 + _EPS)
    cepstrum_db = 20.0 * np.log10(np.abs(np.fft.irfft(spectrum_db, n_fft, axis=1)) + _EPS)
    quefrency_s = np.arange(n_fft) / sample_rate
    lo_s, hi_s = CPP_FIT_QUEFRENCY_S
    fit = (quefrency_s >= lo_s) & (quefrency_s <= min(hi_s, quefrency_s[n_fft // 2]))
    slope, intercept = np.polyfit(quefrency_s[fit], cepstrum_db[:, fit].T, 1)
    out = np.full(n_frames, _NAN)
    silent = np.sqrt(np.mean(frames ** 2, axis=1)) < 1e-6
    for i in range(n_frames):
        period_s = 1.0 / f0_hz[i]
        window = ((quefrency_s >= period_s * (1.0 - CPP_SEARCH_TOLERANCE))
                  & (quefrency_s <= period_s * (1.0 + CPP_SEARCH_TOLERANCE))
                  & (quefrency_s <= quefrency_s[n_fft // 2]))
        if silent[i] or not window.any():
            continue
        candidates = np.flatnonzero(window)
        peak = candidates[np.argmax(cepstrum_db[i, candidates])]
        out[i] = cepstrum_db[i, peak] - (slope[i] * quefrency_s[peak] + intercept[i])
    return out


def alpha_ratio_db(frames: np.ndarray, sample_rate: int) -> float:
    """10*log10(power in 1-5 kHz / power in 50 Hz-1 kHz) of the frames' mean power spectrum; NaN if silent."""
    length = frames.shape[1]
    n_fft = 1 << int(math.ceil(math.log2(max(length, 2))))
    power = (np.abs(np.fft.rfft(frames, n_fft, axis=1)) ** 2).mean(axis=0)
    freqs_hz = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    low = power[(freqs_hz >= ALPHA_LOW_HZ[0]) & (freqs_hz < ALPHA_LOW_HZ[1])].sum()
    high = power[(freqs_hz >= ALPHA_HIGH_HZ[0]) & (freqs_hz < ALPHA_HIGH_HZ[1])].sum()
    if not (low > 0 and high > 0):
        return _NAN
    return float(10.0 * math.log10(high / low))
