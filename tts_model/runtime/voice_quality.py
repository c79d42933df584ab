"""Phonation after the vocoder: breathy, whispered and tense voice from the modal voice's audio (numpy only).

The acoustic model was trained on one reader's modal (normal) voice, so it cannot whisper. Phonation is
rendered here, on a segment's audio, by source-filter reasoning on its short-time spectrum:

* the **envelope** of each frame (the vocal tract's filter) is the real cepstrum liftered to its first
  ``ENVELOPE_QUEFRENCY_S`` seconds, which drops the harmonic ripple (the glottal source) and keeps formants;
* **whisper** replaces the source by noise: the envelope with a random phase per bin and frame, tilted to
  lose the lowest frequencies (no glottal pulse), so no frame is periodic (Praat finds no voiced frame);
* **breathy** adds that aspiration noise, above ``BREATH_CUTOFF_HZ``, to the modal audio and softens the
  source's upper harmonics (a steeper spectral tilt): lower harmonics-to-noise ratio, F0 kept;
* **tense** (pressed voice) flattens the tilt: a high shelf of ``TENSE_SHELF_DB`` above ``TENSE_CORNER_HZ``.

Loudness is not decided here: the runtime's gain stage brings each segment to the plan's ``energy_rms``
afterwards. Everything is deterministic (the noise is seeded per segment).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from plan_contract import UserError
from plan_contract import VOICE_QUALITIES as QUALITIES  # the plan's voice_quality values, one definition

N_FFT = 1024
HOP = 256
ENVELOPE_QUEFRENCY_S = 0.0008
"""Cepstral lifter: quefrencies below this are the envelope. 0.8 ms is under the period of any F0 below
1250 Hz, so no harmonic survives it; at 1.2 ms a whispered sentence still had 6-24 of ~300 frames that Praat
called voiced (narrow first-formant noise), at 0.8 ms none (with WHISPER_LOW_CUT_HZ 800)."""
WHISPER_LOW_CUT_HZ = 800.0
"""Whisper has no glottal pulse, so little energy at the bottom of the spectrum: below this the envelope
falls off at 12 dB per octave (at 400 Hz Praat still found voiced frames in the first formant's noise)."""
BREATH_CUTOFF_HZ = 1500.0
"""Aspiration noise in breathy voice sits above this frequency (a first-order high pass)."""
BREATH_NOISE_RATIO = 0.55
"""Breathy voice: the noise's RMS relative to the modal audio's, before the gain stage."""
BREATH_TILT_DB_PER_OCT = -3.0
"""Breathy voice: extra spectral tilt on the modal part above 1 kHz (weaker upper harmonics)."""
TENSE_CORNER_HZ = 1200.0
TENSE_SHELF_DB = 6.0
EDGE_SAMPLES = 256
"""Cross-fade from the modal audio at the segment's edges, so a whispered word has no click."""


class VoiceQualityError(UserError, ValueError):
    """An unknown voice quality; ``str(err)`` names the valid ones."""


def apply_voice_quality(audio: np.ndarray, quality: str | None, sample_rate: int, seed: int = 0) -> np.ndarray:
    """``audio``: float32 (n,), [-1, 1] modal voice -> float32 (n,) with ``quality`` (None or "modal": the
    same array). Raises VoiceQualityError for an unknown quality."""
    if quality is None or quality == "modal":
        return audio
    if quality not in QUALITIES:
        raise VoiceQualityError(f"voice quality {quality!r} is unknown; valid: {', '.join(QUALITIES)}")
    if audio.size < N_FFT:
        return audio if quality != "whisper" else np.zeros_like(audio)  # too short to carry any phonation
    spectrum = _stft(audio)
    freqs_hz = np.fft.rfftfreq(N_FFT, 1.0 / sample_rate)
    rng = np.random.default_rng(seed)
    if quality == "whisper":
        out = _istft(_noise_like(spectrum, sample_rate, rng) * _whisper_tilt(freqs_hz)[:, None], audio.size)
    elif quality == "breathy":
        tilt = _db_gain(np.where(freqs_hz > 1000.0, BREATH_TILT_DB_PER_OCT * np.log2(np.maximum(freqs_hz, 1.0)
                                                                                       / 1000.0), 0.0))
        modal = _istft(spectrum * tilt[:, None], audio.size)
        high_pass = freqs_hz / np.sqrt(freqs_hz ** 2 + BREATH_CUTOFF_HZ ** 2)  # |H| of a first-order high pass
        noise = _istft(_noise_like(spectrum, sample_rate, rng) * high_pass[:, None], audio.size)
        noise *= BREATH_NOISE_RATIO * _rms(modal) / max(_rms(noise), 1e-9)
        out = modal + noise
    else:  # tense
        shelf = _db_gain(TENSE_SHELF_DB * _smoothstep(np.log2(np.maximum(freqs_hz, 1.0) / TENSE_CORNER_HZ)))
        out = _istft(spectrum * shelf[:, None], audio.size)
    # A whisper fades in and out from silence: a cross-fade from the modal audio would leave voiced frames.
    return _cross_fade_edges(np.zeros_like(audio) if quality == "whisper" else audio, out.astype(np.float32))


def _stft(audio: np.ndarray) -> np.ndarray:
    """Complex (bins, frames) STFT with a periodic Hann window, hop N_FFT/4 (reconstructs exactly)."""
    padded = np.pad(audio.astype(np.float64), (N_FFT // 2, N_FFT // 2 + HOP), mode="reflect")
    n_frames = 1 + (padded.size - N_FFT) // HOP
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    return np.fft.rfft(padded[index] * _window(), axis=1).T


def _istft(spectrum: np.ndarray, n_samples: int) -> np.ndarray:
    """Inverse of :func:`_stft` (weighted overlap-add), cut to ``n_samples``."""
    window = _window()
    frames = np.fft.irfft(spectrum.T, n=N_FFT, axis=1) * window
    total = N_FFT + HOP * (frames.shape[0] - 1)
    out = np.zeros(total)
    norm = np.zeros(total)
    for i, frame in enumerate(frames):
        out[i * HOP:i * HOP + N_FFT] += frame
        norm[i * HOP:i * HOP + N_FFT] += window ** 2
    out /= np.maximum(norm, 1e-8)
    return out[N_FFT // 2:N_FFT // 2 + n_samples]


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    """Periodic Hann window, N_FFT samples (cached; callers do not modify it)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)


def _envelope(spectrum: np.ndarray, sample_rate: int) -> np.ndarray:
    """Magnitude envelope (bins, frames) of each frame: the real cepstrum liftered below ENVELOPE_QUEFRENCY_S."""
    log_mag = np.log(np.maximum(np.abs(spectrum), 1e-7))
    cepstrum = np.fft.irfft(log_mag, n=N_FFT, axis=0)
    keep = int(round(ENVELOPE_QUEFRENCY_S * sample_rate))
    lifter = np.zeros(N_FFT)
    lifter[:keep] = 1.0
    lifter[N_FFT - keep + 1:] = 1.0
    smooth = np.fft.rfft(cepstrum * lifter[:, None], axis=0).real
    # The liftered log spectrum is a mean of log magnitudes, which sits below the peaks; the noise carries
    # the same power per frame as the original (the gain stage sets the final level anyway).
    return np.exp(smooth)


def _noise_like(spectrum: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """The frames' envelopes with random phases: noise shaped like the voice's vocal tract."""
    envelope = _envelope(spectrum, sample_rate)
    power = np.sum(np.abs(spectrum) ** 2, axis=0, keepdims=True)
    envelope *= np.sqrt(power / np.maximum(np.sum(envelope ** 2, axis=0, keepdims=True), 1e-20))
    return envelope * np.exp(2j * np.pi * rng.random(spectrum.shape))


def _whisper_tilt(freqs_hz: np.ndarray) -> np.ndarray:
    ratio = freqs_hz / WHISPER_LOW_CUT_HZ
    return ratio ** 2 / (1.0 + ratio ** 2)  # second-order high pass: 12 dB per octave below the corner


def _smoothstep(octaves: np.ndarray) -> np.ndarray:
    """0 below -1 octave, 1 above +1 octave, smooth in between."""
    x = np.clip((octaves + 1.0) / 2.0, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _db_gain(decibels: np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(decibels) / 20.0)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _cross_fade_edges(original: np.ndarray, processed: np.ndarray) -> np.ndarray:
    n = min(EDGE_SAMPLES, original.size // 4)
    if n == 0:
        return processed
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    out = processed.copy()
    out[:n] = original[:n] * (1.0 - ramp) + processed[:n] * ramp
    out[-n:] = processed[-n:] * ramp[::-1] + original[-n:] * (1.0 - ramp[::-1])
    return out


__all__ = ["apply_voice_quality", "VoiceQualityError", "QUALITIES"]
