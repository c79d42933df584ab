"""The one module that imports parselmouth (Praat).

Praat marks unvoiced pitch frames with 0 Hz and silent intensity frames with very low dB values
(-200 dB / -300 dB); those sentinels are turned into NaN here, so no other module ever sees them.
Every track is returned as ``(times_s, values)``: two float64 arrays of shape (n_frames,), times in seconds
from the start of the given signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import parselmouth

# Praat reports silence as -300 dB (Intensity of a zero signal) or -200 dB (floor of some analyses); anything
# this low is not a measurement. Real 16-bit audio cannot go below about -100 dB re full scale (~-6 dB SPL
# in Praat's convention, which adds 94 dB), so the threshold leaves every real value untouched.
_SILENT_DB = -150.0


@dataclass(frozen=True)
class PraatConfig:
    """Analysis settings for the Praat trackers."""

    time_step_s: float = 0.01
    """Hop between analysis frames."""
    pitch_floor_hz: float = 60.0
    """Lowest F0 searched; also sets the pitch window (3 periods = 50 ms at 60 Hz)."""
    pitch_ceiling_hz: float = 700.0
    """Highest F0 searched (covers children and shouted speech; plan range tops at 800 Hz)."""
    pitch_lowpass: float = 0.8
    """Low-pass cutoff for the pitch tracker, as a fraction of Nyquist (8th-order Butterworth, zero phase).
    Strong harmonics close to Nyquist make Praat's interpolated autocorrelation pick the sub-octave: a
    band-limited pulse train at 185, 227 or 360 Hz sampled at 16 kHz reads half its F0 without it (checked
    with parselmouth 0.4.7). F0 analysis needs nothing near Nyquist, and real recordings rarely have it."""
    two_pass: bool = True
    """Re-track with the range narrowed to this signal's own F0 quartiles (floor 0.75 * Q1, ceiling
    1.5 * Q3, after Hirst 2011 / De Looze & Hirst 2008), which removes most octave jumps."""
    min_voiced_frames: int = 10
    """Frames the first pass must find voiced before its quartiles are trusted for the second pass."""
    intensity_min_pitch_hz: float = 75.0
    """Lowest pitch the intensity window must smooth out (window about 3.2 periods = 43 ms)."""


DEFAULT_CONFIG = PraatConfig()


def _sound(audio: np.ndarray, sample_rate: int) -> parselmouth.Sound:
    return parselmouth.Sound(np.asarray(audio, dtype=np.float64), sampling_frequency=float(sample_rate))


def pitch_track(audio: np.ndarray, sample_rate: int,
                config: PraatConfig = DEFAULT_CONFIG) -> tuple[np.ndarray, np.ndarray]:
    """F0 track (Praat autocorrelation method).

    ``audio``: float32/float64, shape (n_samples,), [-1, 1]. Returns ``(times_s, f0_hz)``, float64 (n_frames,);
    ``f0_hz`` is NaN in unvoiced frames. Empty arrays when the signal is shorter than one pitch window.
    """
    window_s = 3.0 / config.pitch_floor_hz
    if len(audio) / sample_rate < window_s:
        return np.zeros(0), np.zeros(0)
    sound = _sound(_lowpass(audio, config.pitch_lowpass), sample_rate)
    times_s, f0_hz = _track(sound, config.time_step_s, config.pitch_floor_hz, config.pitch_ceiling_hz)
    voiced = f0_hz[np.isfinite(f0_hz)]
    if config.two_pass and voiced.size >= config.min_voiced_frames:
        q1_hz, q3_hz = np.percentile(voiced, [25.0, 75.0])
        floor_hz = max(config.pitch_floor_hz, 0.75 * q1_hz)
        ceiling_hz = min(config.pitch_ceiling_hz, 1.5 * q3_hz)
        if ceiling_hz > floor_hz * 1.5:
            # Same time step; frames are re-timed because the window (3 / floor) changes.
            times_s, f0_hz = _track(sound, config.time_step_s, floor_hz, ceiling_hz)
    return times_s, f0_hz


def _track(sound: parselmouth.Sound, time_step_s: float, floor_hz: float,
           ceiling_hz: float) -> tuple[np.ndarray, np.ndarray]:
    pitch = sound.to_pitch(time_step=time_step_s, pitch_floor=floor_hz, pitch_ceiling=ceiling_hz)
    f0_hz = np.array(pitch.selected_array["frequency"], dtype=np.float64)
    f0_hz[~(f0_hz > 0)] = np.nan  # Praat's 0 Hz = unvoiced
    return np.asarray(pitch.xs(), dtype=np.float64), f0_hz


def _lowpass(audio: np.ndarray, fraction_of_nyquist: float) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    signal = np.asarray(audio, dtype=np.float64)
    if not 0.0 < fraction_of_nyquist < 1.0 or signal.size <= 60:  # sosfiltfilt needs a few dozen samples
        return signal
    return sosfiltfilt(butter(8, fraction_of_nyquist, output="sos"), signal)


def intensity_track(audio: np.ndarray, sample_rate: int,
                    config: PraatConfig = DEFAULT_CONFIG) -> tuple[np.ndarray, np.ndarray]:
    """Intensity track in dB (Praat's scale: dB re 2e-5, i.e. dB re full scale + 94 dB).

    Returns ``(times_s, intensity_db)``, float64 (n_frames,); NaN in silent frames. Empty arrays when the
    signal is shorter than one intensity window.
    """
    sound = _sound(audio, sample_rate)
    window_s = 3.2 / config.intensity_min_pitch_hz
    if sound.duration < window_s:
        return np.zeros(0), np.zeros(0)
    intensity = sound.to_intensity(minimum_pitch=config.intensity_min_pitch_hz,
                                   time_step=config.time_step_s, subtract_mean=False)
    values_db = np.array(intensity.values[0], dtype=np.float64)
    values_db[~(values_db > _SILENT_DB)] = np.nan
    return np.asarray(intensity.xs(), dtype=np.float64), values_db



def harmonicity_track(audio: np.ndarray, sample_rate: int,
                      config: PraatConfig = DEFAULT_CONFIG) -> tuple[np.ndarray, np.ndarray]:
    """Harmonics-to-noise ratio track in dB (Praat "To Harmonicity (cc)": 10 ms hop, 1 period per window,
    silence threshold 0.1, minimum pitch ``config.intensity_min_pitch_hz`` = Praat's default 75 Hz).

    Returns ``(times_s, hnr_db)``, float64 (n_frames,); NaN where Praat finds no periodicity (its -200 dB).
    Empty arrays when the signal is shorter than one analysis window.
    """
    min_pitch_hz = config.intensity_min_pitch_hz
    if len(audio) / sample_rate < 2.0 / min_pitch_hz:
        return np.zeros(0), np.zeros(0)
    harmonicity = _sound(audio, sample_rate).to_harmonicity_cc(
        time_step=config.time_step_s, minimum_pitch=min_pitch_hz, silence_threshold=0.1, periods_per_window=1.0)
    values_db = np.array(harmonicity.values[0], dtype=np.float64)
    values_db[~(values_db > _SILENT_DB)] = np.nan  # Praat's -200 dB = unvoiced / silent frame
    return np.asarray(harmonicity.xs(), dtype=np.float64), values_db
