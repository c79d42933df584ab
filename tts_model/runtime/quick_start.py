"""Quick start: the first audio of a stream from a small first vocoder window (issue 27, time to first audio).

Without it the first chunk is the whole first segment (about a second of speech, ~0.2 s of vocoder time at
1 thread). With ``Synthesizer.synthesize(quick_start=True)`` the first segment is vocoded in two windows:
its first :data:`FIRST_WINDOW_FRAMES` frames (0.28 s of audio, ~0.08 s of vocoder time with its context),
yielded at once, then the rest of the segment. What that costs in exactness, all within segment 0:

* **the level**: the energy gain stage scales a segment to the plan's ``energy_rms`` measured over the whole
  spoken segment, which is not rendered yet when the first piece leaves. The first piece's gain is its own
  measured RMS, corrected by how much louder or quieter the mel says the whole segment is
  (:func:`mel_level_ratio`); the rest of the segment then gets the gain that brings the *whole* segment's
  spoken RMS to the plan's value (:func:`rest_gain`), reached over :data:`SEAM_RAMP_SAMPLES`. So the segment
  keeps its planned energy, and the two pieces differ in level by the first estimate's error (docs/speed.md
  gives the measured spread; tests/test_quick_start.py bounds it);
* **the vocoder seam**: the two windows meet with :data:`tts_model.runtime.synthesizer.CONTEXT_FRAMES` of
  context on each side, as later windows always do, so a few samples near the seam differ slightly.

Segments after the first are rendered exactly as without quick start. Quick start is skipped (the first chunk
is the whole segment, as before) where the first segment is too short to split or has a post-vocoder stage
that works on the whole segment (``pitch_range``, a ``voice_quality`` other than modal).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

FIRST_WINDOW_FRAMES = 24
"""Frames of the first piece (24 x 256 / 22050 = 0.28 s of audio): with its context frames about 0.08 s of
vocoder time on one thread of the 2-core dev box (docs/speed.md), and long enough to cover the vocoder time
of the next piece while it plays."""
SEAM_RAMP_SAMPLES = 1024
"""Samples (46 ms) over which the gain moves from the first piece's estimate to the rest's exact value."""
MIN_REST_FRAMES = 12
"""The first segment is split only when at least this many frames would remain after the first window."""


def first_window(segment: Mapping[str, Any], segment_frames: int, spoken_frames: int) -> int | None:
    """Frames of the first piece of segment 0, or None where quick start does not apply (see the module
    docstring). ``segment_frames``: the segment's frames, pause included; ``spoken_frames``: without it."""
    if segment.get("pitch_range") is not None or segment.get("voice_quality") not in (None, "modal"):
        return None
    if spoken_frames < FIRST_WINDOW_FRAMES + MIN_REST_FRAMES or segment_frames < spoken_frames:
        return None
    return FIRST_WINDOW_FRAMES


def mel_level_ratio(log_mel: np.ndarray, split: int, spoken: int, basis: np.ndarray) -> float:
    """Estimated RMS of the audio of frames ``[0, split)`` over the RMS of frames ``[0, spoken)``, from the mel.

    log_mel: float32 (n_frames, n_mels), natural-log mel magnitude (tts_model.runtime.audio.log_mel);
    basis: the mel filterbank (n_mels, n_freqs). Each mel band's magnitude is turned back into the power of
    the linear bins it covers (magnitude / filter area, squared, times the filter's width in bins), summed per
    frame; the ratio of the two mean powers, square-rooted."""
    area = basis.sum(axis=1).astype(np.float64)
    width = area / np.maximum(basis.max(axis=1), 1e-12)
    magnitude = np.exp(log_mel[:spoken].astype(np.float64))
    power = ((magnitude / np.maximum(area, 1e-12)) ** 2 * width).sum(axis=1)  # (spoken,)
    whole = float(power.mean())
    head = float(power[:split].mean())
    return float(np.sqrt(head / whole)) if whole > 0.0 and head > 0.0 else 1.0


def rest_gain(head: np.ndarray, rest_spoken: np.ndarray, target_rms: float, low: float,
              high: float) -> float | None:
    """The gain for the rest of the segment that gives the whole spoken segment ``target_rms``.

    head: float32 (n,), the first piece as sent (gain applied); rest_spoken: float32 (m,), the rest's spoken
    samples before gain. Solves ``(sum(head^2) + g^2 sum(rest^2)) / (n + m) = target^2`` for g, within
    ``[low, high]`` (the synthesizer's GAIN_LIMITS around its output gain). None where the rest is silent
    (RMS under 1e-6, as the synthesizer's gain stage treats a silent segment): keep the first piece's gain."""
    head_energy = float(np.sum(np.square(head, dtype=np.float64)))
    rest_energy = float(np.sum(np.square(rest_spoken, dtype=np.float64)))
    wanted = target_rms ** 2 * (head.size + rest_spoken.size) - head_energy
    if rest_energy <= rest_spoken.size * 1e-12:
        return None
    return float(min(max(np.sqrt(max(wanted, 0.0) / rest_energy), low), high))


__all__ = ["FIRST_WINDOW_FRAMES", "MIN_REST_FRAMES", "SEAM_RAMP_SAMPLES", "first_window", "mel_level_ratio",
           "rest_gain"]
