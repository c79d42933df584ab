"""Audio input for feature extraction: read a file, mix to mono, resample.

All arrays here are ``float32, shape (n_samples,), nominally in [-1, 1]``; sample rates are in Hz.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from plan_contract import UserError


class AudioError(UserError, ValueError):
    """Audio that cannot be used. ``str(err)`` is one line naming the problem and the fix."""


def load_audio(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file (any format libsndfile reads: WAV, FLAC, OGG, ...).

    Returns ``(audio, sample_rate)``: ``audio`` float32, shape (n_samples,), in [-1, 1], mixed to mono;
    ``sample_rate`` in Hz, equal to the ``sample_rate`` argument when one is given (the audio is resampled),
    else the file's own rate. Raises FileNotFoundError for a missing file and :class:`AudioError` for a file
    that cannot be decoded or holds no samples.
    """
    import soundfile as sf  # imported here so that importing the package stays cheap

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path} (check the path or the corpus' audio folder)")
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"cannot decode audio file {path}: {err} (re-export it as 16-bit WAV or FLAC)") from err
    if data.shape[0] == 0:
        raise AudioError(f"audio file {path} holds no samples (re-record or drop it from the corpus)")
    audio = data.mean(axis=1).astype(np.float32)
    if sample_rate is not None and sample_rate != file_rate:
        audio = resample(audio, file_rate, sample_rate)
        file_rate = sample_rate
    return audio, int(file_rate)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy), ``audio`` float32 (n,) at ``from_rate`` Hz -> float32 (m,) at ``to_rate``."""
    from scipy.signal import resample_poly

    check_audio(audio, from_rate)
    if from_rate == to_rate:
        return np.asarray(audio, dtype=np.float32)
    ratio = Fraction(int(to_rate), int(from_rate))
    out = resample_poly(np.asarray(audio, dtype=np.float64), ratio.numerator, ratio.denominator)
    return out.astype(np.float32)


def check_audio(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Validate an in-memory signal; return it as float32 (n,). Raises :class:`AudioError` with one line."""
    array = np.asarray(audio)
    if array.ndim != 1:
        raise AudioError(f"audio must be mono with shape (n_samples,), got shape {array.shape} "
                         f"(mix channels first, e.g. audio.mean(axis=1))")
    if not np.issubdtype(array.dtype, np.floating):
        raise AudioError(f"audio must be floating point in [-1, 1], got dtype {array.dtype} "
                         f"(divide int16 samples by 32768)")
    if not (isinstance(sample_rate, (int, np.integer)) and 1000 <= int(sample_rate) <= 384000):
        raise AudioError(f"sample_rate must be an integer number of Hz between 1000 and 384000, "
                         f"got {sample_rate!r}")
    if array.size and not np.all(np.isfinite(array)):
        raise AudioError("audio contains NaN or infinite samples (clean the signal before measuring)")
    return array.astype(np.float32, copy=False)
