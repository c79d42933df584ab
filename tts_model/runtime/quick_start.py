"""Quick start: the first audio of a stream from a small first vocoder window (issue 27, time to first audio).

Without it the first chunk is the whole first segment (about a second of speech, ~0.2 s of vocoder time at
1 thread). With ``Synthesizer.synthesize(quick_start=True)`` the first segment is vocoded in pieces of
doubling length (:func:`piece_bounds`): :data:`FIRST_WINDOW_FRAMES` frames (0.28 s of audio, ~0.08 s of
vocoder time with its context), yielded at once, then 48, 96, ... frames to the end of the segment, so that
each piece is ready before the audio in front of it has played (a single second piece was not:
benchmarks/quick_start_check.py counted stalls in 9 of 20 texts). What that costs in exactness, all within
segment 0:

* **the level**: the energy gain stage scales a segment to the plan's ``energy_rms`` measured over the whole
  spoken segment, which is not rendered yet when the first piece leaves. Each piece's gain spreads the
  energy still owed to the segment over this piece and an estimate of the rest (the rest's energy predicted
  from the mel, :func:`frame_power`, calibrated by the audio rendered so far: :func:`piece_gain`). The last
  piece's estimate is exact, so the segment keeps its planned energy; the pieces differ in level by the
  estimates' errors, reached over :data:`SEAM_RAMP_SAMPLES` (docs/speed.md gives the measured spread;
  tests/test_quick_start.py bounds it);
* **the vocoder seams**: pieces meet with :data:`tts_model.runtime.synthesizer.CONTEXT_FRAMES` of context on
  each side, as later windows always do, so a few samples near each seam differ slightly;
* **the first piece's spectral tilt**: its mel does not wait for the exemplar projection of the whole
  utterance (~0.02 s at 1 thread, docs/speed.md): :func:`first_piece_mel` projects only the phonemes under
  the first piece and the rest of segment 0's speech, whose energy profile the piece's gain needs
  (:func:`head_state`; the projection and the harmonics are frame-local, so those frames are exact) and estimates an utterance-scope centroid tilt with the rest of the utterance unprojected. The whole
  utterance goes through the mel stages after the first piece has left, and every later piece uses that.

Segments after the first are rendered exactly as without quick start. Quick start is skipped (the first chunk
is the whole segment, as before) where the first segment is too short to split or has a post-vocoder stage
that works on the whole segment (``pitch_range``, a ``voice_quality`` other than modal).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from tts_model.runtime.chain import MelState

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


HEAD_MARGIN_FRAMES = 24
"""The head (:func:`head_state`) runs this many frames, and at least two phonemes, past the frames the first
piece needs, so that the frame-local mel stages see those frames' phonemes, neighbours and F0 as in the whole
utterance (harmonics interpolates F0 between voiced phoneme centres)."""


def head_state(state: MelState, frames: int) -> MelState:
    """The leading whole phonemes of ``state`` (the acoustic model's output, before the mel stages) that cover
    ``frames`` frames plus :data:`HEAD_MARGIN_FRAMES` and two more phonemes, as one segment (segment 0's
    spoken frames at most): what quick start runs the mel stages on before its first piece, instead of the
    whole utterance. Exemplar projection and harmonics are frame-local, so they give the same frames as on the
    whole utterance; an utterance-scope centroid tilt is estimated from the head's spoken frames only (the
    difference is measured in docs/speed.md)."""
    durations = np.asarray(state.durations).reshape(-1)
    ends = np.cumsum(durations)
    last = int(np.searchsorted(ends, frames + HEAD_MARGIN_FRAMES))  # first phoneme ending at or past that
    last = min(max(last, int(np.searchsorted(ends, frames)) + 2), durations.size - 1)
    n_frames = int(ends[last])
    spoken = min(int(state.spoken_frames[0]), n_frames)
    return MelState(mel=state.mel[:n_frames].copy(), phoneme_ids=np.asarray(state.phoneme_ids)[:last + 1],
                    durations=durations[:last + 1], pitch_st=np.asarray(state.pitch_st)[:last + 1],
                    seg_frames=np.array([n_frames], dtype=np.int64), spoken_frames=np.array([spoken], dtype=np.int64),
                    predicted=list(state.predicted[:1]), baseline=state.baseline, bank=state.bank)


def first_piece_mel(mel_stages: Sequence[Any], state: MelState, frames: int) -> np.ndarray:
    """The log-mel of the first ``frames`` frames (float32 (min(frames, F), n_mels)) for the first piece, from
    the voice's ``mel_stages`` (its chain's mel-phase stages, in order) without running the costly exemplar
    projection over the whole utterance: it runs on :func:`head_state`'s phonemes only, and is frame-local,
    so those frames are as in the whole render (max |diff| 0 on the shipped voice, tests/test_quick_start.py).
    The other stages run on the whole utterance, whose frames past the head are left unprojected, so an
    utterance-scope centroid tilt is estimated from them: that estimate is the first piece's only difference
    from the plain render's mel (docs/speed.md measures it). ``state`` is left as it was."""
    head = head_state(state, frames)
    whole = replace(state, mel=state.mel.copy())
    for stage in mel_stages:
        if stage.name == "exemplars":
            stage.apply(head)
            whole.mel[:head.mel.shape[0]] = head.mel
        else:
            stage.apply(whole)
    return whole.mel[:frames]


def piece_bounds(first_frames: int, end_frames: int) -> list[tuple[int, int]]:
    """Frame ranges ``[a, b)`` of segment 0's pieces: ``first_frames``, then doubling, to ``end_frames``; a
    remainder under MIN_REST_FRAMES joins the piece before it."""
    bounds, start, size = [(0, first_frames)], first_frames, first_frames
    while start < end_frames:
        size *= 2
        stop = end_frames if end_frames - (start + size) < MIN_REST_FRAMES else start + size
        bounds.append((start, stop))
        start = stop
    return bounds


def frame_power(log_mel: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """A per-frame power proxy from the mel: float64 (n_frames,), proportional to the frame's audio energy
    where the spectrum is smooth within each mel band.

    log_mel: float32 (n_frames, n_mels), natural-log mel magnitude (tts_model.runtime.audio.log_mel);
    basis: the mel filterbank (n_mels, n_freqs). Each band's magnitude is turned back into the power of the
    linear bins it covers (magnitude / filter area, squared, times the filter's width in bins)."""
    area = basis.sum(axis=1).astype(np.float64)
    width = area / np.maximum(basis.max(axis=1), 1e-12)
    magnitude = np.exp(log_mel.astype(np.float64))
    return ((magnitude / np.maximum(area, 1e-12)) ** 2 * width).sum(axis=1)


def piece_gain(target_rms: float, spoken_samples: int, emitted_energy: float, raw_so_far: float,
               predicted_so_far: float, predicted_rest: float, raw_piece: float, low: float,
               high: float) -> float | None:
    """Gain for the piece just vocoded so that the whole spoken segment reaches ``target_rms``.

    The energy still owed, ``target^2 * spoken_samples - emitted_energy``, is spread over this piece's raw
    energy ``raw_piece`` and the rest's, estimated as ``raw_so_far * predicted_rest / predicted_so_far`` (the
    mel's :func:`frame_power` sums, calibrated by the audio vocoded so far, this piece included). With nothing
    left to render the estimate is exact. Within ``[low, high]``; None where there is no audio energy to scale
    (as the synthesizer's gain stage treats a silent segment: keep the gain before)."""
    rest = raw_so_far * predicted_rest / predicted_so_far if predicted_so_far > 0.0 else 0.0
    energy = raw_piece + rest
    if energy <= 1e-12 * max(spoken_samples, 1):
        return None
    owed = target_rms ** 2 * spoken_samples - emitted_energy
    return float(min(max(np.sqrt(max(owed, 0.0) / energy), low), high))


__all__ = ["FIRST_WINDOW_FRAMES", "HEAD_MARGIN_FRAMES", "MIN_REST_FRAMES", "SEAM_RAMP_SAMPLES", "first_window",
           "first_piece_mel", "frame_power", "head_state", "piece_bounds", "piece_gain"]
