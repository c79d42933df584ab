"""Harmonic sharpening: put the plan's F0 back into the low mel bins before vocoding. numpy only.

Why (docs/training.md, "Diagnosis before run 4"): the acoustic model, trained with an L1 loss on 36 minutes of
speech, predicts the low mel bins (below ~1 kHz, where the filters are narrower than the harmonic spacing)
as a smooth envelope. The harmonic ripple that tells the vocoder where F0 is, is blurred away. HiFi-GAN then
often renders the *sub-octave*: Praat finds F0 near half the intended value in about a third of the voiced
frames of teacher-forced mels, against 0.1 % for mels of the real recordings. Swapping only the 13 bins
below 500 Hz for the real ones removes it, so the fine structure of those bins is what is missing.

The fix uses what the model already knows exactly: the per-phoneme pitch it was asked for (``pitch_st``, the
plan's pitch by construction). For each frame of a voiced phoneme we take the log-mel ripple of an ideal harmonic comb at
that frame's F0, analysed with the vocoder's own STFT (Hann 1024, hop 256) and filterbank, relative to a
flat spectrum of the same power, floored and made zero-mean over the bins below ~800 Hz (and zero above), and
add ``strength`` times it to the predicted log-mel. The model's envelope and the band's level stay; only the
fine structure is added (docs/training.md, run 4: mean bias +0.016 log units against the recordings).

Contract: :func:`frame_f0` turns per-phoneme pitch and durations into a per-frame F0 and voicing weight;
:func:`sharpen` adds the ripple. Both are pure functions; the ripple table is built once per process.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tts_model.runtime.audio import F_MAX, N_FFT, SAMPLE_RATE, mel_centres_hz, mel_filterbank
from tts_model.text.frontend import PHONEMES

F0_GRID_HZ = np.exp(np.linspace(np.log(50.0), np.log(800.0), 481))
"""F0 values the ripple table holds (0.1 semitone apart, the plan's pitch range)."""
COMB_FLOOR = -6.0
"""Lowest value of :func:`comb_table` in natural-log units (about -52 dB): below F0 the comb has no energy at all."""
RIPPLE_FLOOR = -3.0
"""Lowest value of the sharpening ripple before it is made zero-mean (about -26 dB): real speech is not silent
between and below its harmonics, and a deeper floor pulled the low bins of sharpened mels ~0.8 log units below
the recordings' (docs/training.md, run 4)."""
_VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
_SONORANTS = _VOWELS + ("M", "N", "NG", "L", "R", "W", "Y")
PHONEME_CLASSES = {
    name: frozenset(i for i, p in enumerate(PHONEMES) if p.rstrip("012") in bases)
    for name, bases in (("vowels", _VOWELS), ("sonorants", _SONORANTS), ("voiced", _SONORANTS + ("V", "DH", "Z", "ZH")))
}
"""Which phonemes get harmonics (a voice's ``harmonic_phonemes``): vowels only; vowels, nasals, liquids and
glides; or those and the voiced fricatives. Stops and affricates never (mostly closure and burst)."""
RIPPLE_BAND_HZ = (500.0, 800.0)
"""The ripple is added in full to mel bins centred below the first frequency and fades linearly to nothing at
the second: the bins below 500 Hz are the ones whose loss causes the sub-octave (docs/training.md), and
leaving the first-formant region above them alone keeps the vowels as the model predicted them."""
FADE_FRAMES = 3
"""The voicing weight is smoothed with a moving average of this many frames, so ripple fades in and out."""


def band_weight() -> np.ndarray:
    """float64 (n_mels,): 1 for mel bins centred below ``RIPPLE_BAND_HZ[0]``, fading linearly to 0 at
    ``RIPPLE_BAND_HZ[1]``: where sharpening acts."""
    full_hz, zero_hz = RIPPLE_BAND_HZ
    return np.clip((zero_hz - mel_centres_hz()) / (zero_hz - full_hz), 0.0, 1.0)


def build_ripple(floor: float = RIPPLE_FLOOR, zero_mean: bool = True) -> np.ndarray:
    """float32 (len(F0_GRID_HZ), n_mels): :func:`comb_table` floored at ``floor``, minus its mean over the band
    when ``zero_mean`` (so sharpening moves harmonics, not the level of the band), times :func:`band_weight`.
    The defaults are :func:`ripple_table`; ``floor=COMB_FLOOR, zero_mean=False`` is the ripple of run 3
    (docs/training.md, run 4 compares them)."""
    weight = band_weight()
    ripple = np.maximum(comb_table(), floor)
    if zero_mean:
        ripple = ripple - (ripple * weight).sum(axis=1, keepdims=True) / weight.sum()
    return (ripple * weight[None, :]).astype(np.float32)


@lru_cache(maxsize=1)
def ripple_table() -> np.ndarray:
    """What :func:`sharpen` adds by default: :func:`build_ripple` with its defaults, built once per process."""
    return build_ripple()


@lru_cache(maxsize=1)
def comb_table() -> np.ndarray:
    """float32 (len(F0_GRID_HZ), n_mels): log-mel of a flat-amplitude harmonic comb at each grid F0, minus the
    log-mel of a flat spectrum with the same mean magnitude below F_MAX, floored at :data:`COMB_FLOOR`. It fades
    (not to exactly zero) as the mel filters grow wider than the harmonic spacing."""
    bin_hz = SAMPLE_RATE / N_FFT
    n_bins = N_FFT // 2 + 1
    # Power kernel of one Hann-windowed sinusoid, sampled finely around its peak (main lobe +-2 bins; the side
    # lobes, -31 dB and below, are kept to +-4 bins).
    over = 64
    window = np.hanning(N_FFT + 1)[:-1]
    kernel = np.abs(np.fft.rfft(window, n=N_FFT * over)) ** 2
    offsets = np.arange(kernel.size) / over  # in bins
    keep = offsets <= 4.0
    offsets, kernel = offsets[keep], kernel[keep] / kernel[0]
    bins = np.arange(n_bins, dtype=np.float64)
    reach = int(offsets[-1]) + 1  # bins a kernel reaches on each side of its peak's nearest bin
    near = np.arange(-reach, reach + 1)
    # Only the bins within the kernel's reach of each harmonic are summed (beyond, np.interp gives 0): 11 bins
    # per grid F0 instead of all 513, the same sums (the full loop was 0.17-0.28 s of every voice load). The
    # table has `reach` spare columns on each side, so that no two of a row's columns coincide.
    padded = np.zeros((F0_GRID_HZ.size, n_bins + 2 * reach))
    rows = np.arange(F0_GRID_HZ.size)[:, None]
    for k in range(1, int(F_MAX / F0_GRID_HZ[0]) + 1):
        position = k * F0_GRID_HZ / bin_hz  # (G,), in bins
        active = k * F0_GRID_HZ < F_MAX
        columns = np.round(position).astype(np.int64)[:, None] + near[None, :]  # (G, 2 * reach + 1)
        inside = (columns >= 0) & (columns < n_bins) & active[:, None]
        distance = np.abs(columns - position[:, None])
        padded[rows, np.clip(columns, -reach, n_bins - 1 + reach) + reach] += \
            np.where(inside, np.interp(distance, offsets, kernel, right=0.0), 0.0)
    magnitude = np.sqrt(padded[:, reach:reach + n_bins])
    flat_level = magnitude[:, bins * bin_hz < F_MAX].mean(axis=1, keepdims=True)  # (G, 1)
    basis = mel_filterbank().astype(np.float64)
    ripple = np.log(magnitude @ basis.T + 1e-12) - np.log(flat_level * basis.sum(axis=1) + 1e-12)
    return np.maximum(ripple, COMB_FLOOR).astype(np.float32)


def frame_f0(phoneme_ids: np.ndarray, pitch_st: np.ndarray, durations: np.ndarray, base_pitch_hz: float,
             phonemes: str = "voiced") -> tuple[np.ndarray, np.ndarray]:
    """Per-phoneme pitch -> per-frame F0 and voicing weight.

    phoneme_ids, pitch_st, durations: (T,) — ids, pitch in semitones re ``base_pitch_hz``, frames per
    phoneme (int); ``phonemes``: a key of :data:`PHONEME_CLASSES`, the phonemes counted as voiced. Returns
    ``(f0_hz, weight)``, float32 (sum(durations),): F0 interpolated linearly between the
    centres of voiced phonemes (held flat beyond the first and last), and a weight in [0, 1] that is 1 inside
    voiced phonemes and fades over :data:`FADE_FRAMES` at their edges. All zeros when nothing is voiced.
    """
    durations = np.asarray(durations, dtype=np.int64).reshape(-1)
    n_frames = int(durations.sum())
    if phonemes not in PHONEME_CLASSES:
        raise ValueError(f"phonemes must be one of {sorted(PHONEME_CLASSES)}, got {phonemes!r}")
    voiced = np.isin(np.asarray(phoneme_ids).reshape(-1), list(PHONEME_CLASSES[phonemes])) & (durations > 0)
    if n_frames == 0 or not voiced.any():
        return np.zeros(n_frames, dtype=np.float32), np.zeros(n_frames, dtype=np.float32)
    ends = np.cumsum(durations)
    centres = ends - 0.5 * durations
    frame_centres = np.arange(n_frames) + 0.5
    semitones = np.interp(frame_centres, centres[voiced], np.asarray(pitch_st, dtype=np.float64).reshape(-1)[voiced])
    f0_hz = base_pitch_hz * 2.0 ** (semitones / 12.0)
    hard = np.repeat(voiced.astype(np.float64), durations)
    weight = np.convolve(hard, np.ones(FADE_FRAMES) / FADE_FRAMES, mode="same") * hard
    return f0_hz.astype(np.float32), weight.astype(np.float32)


def sharpen(log_mel: np.ndarray, f0_hz: np.ndarray, weight: np.ndarray, strength: float,
            table: np.ndarray | None = None) -> np.ndarray:
    """``log_mel`` (F, n_mels) plus ``strength * weight * ripple(f0)`` per frame; a new float32 array.

    ``f0_hz`` and ``weight``: (F,) from :func:`frame_f0`. F0 outside the table's 50..800 Hz uses the nearest
    edge. ``strength`` 0 returns the input unchanged (a copy)."""
    log_mel = np.asarray(log_mel, dtype=np.float32)
    if log_mel.shape[0] != f0_hz.shape[0] or weight.shape != f0_hz.shape:
        raise ValueError(f"sharpen: mel has {log_mel.shape[0]} frames but f0/weight have {f0_hz.shape}/"
                         f"{weight.shape}; build them with frame_f0 from the same durations")
    if strength == 0.0:
        return log_mel.copy()
    table = ripple_table() if table is None else table
    index = np.clip(np.rint(np.log(np.maximum(f0_hz, 1e-3) / F0_GRID_HZ[0]) / np.log(F0_GRID_HZ[1] / F0_GRID_HZ[0])),
                    0, F0_GRID_HZ.size - 1).astype(np.int64)
    return (log_mel + np.float32(strength) * weight[:, None] * table[index]).astype(np.float32)


__all__ = ["F0_GRID_HZ", "PHONEME_CLASSES", "ripple_table", "build_ripple", "band_weight", "comb_table", "frame_f0", "sharpen"]
