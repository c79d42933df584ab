"""The F0 spread inside a segment (the plan's ``pitch_range``), set on the rendered audio by PSOLA.

The acoustic model honours each segment's mean pitch and slope by construction, but the contour's shape
around that line comes from its pitch predictor, trained on one reader's neutral voice: a monotone (a narrow
range) and an animated voice (a wide one) are out of its reach. This stage measures the segment's contour
(Praat, semitones), fits the line (mean and slope, which the plan already set), and scales the deviations
from it by the factor that makes the 10th-to-90th-percentile spread equal the plan's ``pitch_range``. When
the line alone spans more than that (a steep slope over a long segment), the slope is narrowed too, keeping
the mean. The new contour is imposed by Praat's overlap-add resynthesis (PSOLA), which keeps the duration
and the spectral envelope.

Decision: PSOLA on the audio, not a new input to the acoustic model, because it needs no re-export or
retraining and reaches exactly the spread asked; a model trained with a range control would render wide
contours more naturally (docs/design/voice_quality.md).
"""

from __future__ import annotations

import numpy as np

from tts_model.runtime.solve import bisect_rising

TIME_STEP_S = 0.01
PITCH_FLOOR_HZ = 60.0
PITCH_CEILING_HZ = 700.0
"""The tracker's limits, as feature_extract measures (feature_extract/praat.py)."""
MIN_VOICED_FRAMES = 5
"""A segment with fewer voiced frames has no contour to shape; it is returned unchanged."""
OCTAVE_GUARD_ST = 7.0
"""Frames further than this from the segment's median F0 are taken as the tracker's octave errors."""
TOLERANCE_ST = 1.5
"""A segment whose spread is already within this of the target is left as rendered. Whisper tiny.en on four
sentences: PSOLA on every segment of strong happy plans (asked 6 st, rendered ~5) raised WER from 4.7 to 14 %."""
NARROW_TOLERANCE_FRACTION = 0.25
"""When the rendered spread is *wider* than the target, it is left as rendered only within this fraction of the
target (and TOLERANCE_ST): a monotone asks ~1.8 st, and 1.5 st of slack let segments rendered at 3.3 st through,
so "robotically" kept 63 % of the neutral render's spread (benchmarks/instruction_render.py, 2026-12-05)."""
SMOOTH_FRAMES = 7
"""The intonation that is scaled is the contour smoothed over 70 ms; faster movement (jitter, tracking noise)
stays as rendered."""
MAX_SCALE = 6.0
"""The deviations from the line are scaled by at most this factor (a 1 st wobble becomes at most 6 st)."""
EDGE_SAMPLES = 256


def spread_st(pitch_st: np.ndarray) -> float:
    """10th-to-90th-percentile spread of a contour [st] (the plan's ``pitch_range`` definition)."""
    return float(np.percentile(pitch_st, 90) - np.percentile(pitch_st, 10)) if pitch_st.size else 0.0


def reshape_contour(times_s: np.ndarray, pitch_st: np.ndarray, target_st: float) -> np.ndarray:
    """New contour [st] with the same mean, and the spread ``target_st``, as far as MAX_SCALE allows.

    ``times_s``, ``pitch_st``: float (n,) voiced frames only. The deviations from the least-squares line are
    scaled first; if the line alone is wider than the target, the slope is reduced as well."""
    mean = float(np.mean(pitch_st))
    centred_t = times_s - float(np.mean(times_s))
    var = float(np.sum(centred_t ** 2))
    slope = float(np.sum(centred_t * (pitch_st - mean)) / var) if var > 1e-9 else 0.0
    line = mean + slope * centred_t
    residual = _smooth(pitch_st - line)  # the intonation around the line; the frame-to-frame jitter is kept
    jitter = pitch_st - line - residual  # as it is, since scaling it garbles words (WER) and is not intonation

    def widest(k_line: float, k_res: float) -> np.ndarray:
        return mean + k_line * (line - mean) + k_res * residual + jitter

    if spread_st(line) > target_st:  # even a perfectly smooth line is too wide: narrow the slope too
        k_line = _solve(lambda k: spread_st(widest(k, 0.0)), target_st, 1.0)
        return widest(k_line, 0.0)
    return widest(1.0, _solve(lambda k: spread_st(widest(1.0, k)), target_st, MAX_SCALE))


def _smooth(values: np.ndarray) -> np.ndarray:
    """Moving average over SMOOTH_FRAMES frames (edges: over what there is)."""
    if values.size < 3:
        return values.copy()
    kernel = np.ones(min(SMOOTH_FRAMES, values.size))
    return np.convolve(values, kernel, mode="same") / np.convolve(np.ones_like(values), kernel, mode="same")


def _solve(spread_of, target_st: float, high: float) -> float:
    """The factor in [0, high] whose spread is ``target_st`` (spread grows with the factor; bisection)."""
    if spread_of(high) <= target_st:
        return high
    return bisect_rising(spread_of, target_st, 0.0, high, steps=40)


def apply_pitch_range(audio: np.ndarray, target_st: float | None, sample_rate: int) -> np.ndarray:
    """``audio``: float32 (n,) -> float32 (n,) whose voiced F0 spread is ``target_st`` semitones (None: the same
    array). Segments too short or with too few voiced frames come back unchanged."""
    if target_st is None or audio.size < int(0.1 * sample_rate):
        return audio
    import parselmouth  # the runtime's only Praat use; imported when a plan asks for a range
    from parselmouth.praat import call

    sound = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=float(sample_rate))
    pitch = sound.to_pitch(time_step=TIME_STEP_S, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ)
    f0_hz = pitch.selected_array["frequency"]
    voiced = f0_hz > 0
    if int(voiced.sum()) < MIN_VOICED_FRAMES:
        return audio
    times_s = pitch.xs()[voiced]
    pitch_st = 12.0 * np.log2(f0_hz[voiced])
    # Octave jumps of the tracker (frames more than OCTAVE_GUARD_ST from the median) are not contour: they are
    # left out of the fit and put back on the reshaped line, so PSOLA also repairs them instead of scaling them.
    inlier = np.abs(pitch_st - np.median(pitch_st)) <= OCTAVE_GUARD_ST
    if int(inlier.sum()) < MIN_VOICED_FRAMES:
        return audio
    excess_st = spread_st(pitch_st[inlier]) - float(target_st)
    if -TOLERANCE_ST <= excess_st <= min(TOLERANCE_ST, NARROW_TOLERANCE_FRACTION * float(target_st)):
        return audio  # close enough: PSOLA costs intelligibility (docs/design/voice_quality.md), so skip it
    new_st = np.interp(times_s, times_s[inlier], reshape_contour(times_s[inlier], pitch_st[inlier], float(target_st)))
    new_hz = 2.0 ** (new_st / 12.0)
    # PSOLA's pulses are placed by its own pitch analysis: bounded around this segment's F0 (as feature_extract's
    # second pass is), so a high voice (400 Hz in strong anger) gets no octave-low pulses.
    q1_hz, q3_hz = np.percentile(f0_hz[voiced], [25, 75])
    floor_hz = max(PITCH_FLOOR_HZ, 0.75 * float(min(q1_hz, new_hz.min())))
    ceiling_hz = min(PITCH_CEILING_HZ * 1.5, 1.5 * float(max(q3_hz, new_hz.max())))
    manipulation = call(sound, "To Manipulation", TIME_STEP_S, floor_hz, ceiling_hz)
    tier = call("Create PitchTier", "range", sound.xmin, sound.xmax)
    for t, f in zip(times_s, new_hz):
        call(tier, "Add point", float(t), float(f))
    call([tier, manipulation], "Replace pitch tier")
    out = call(manipulation, "Get resynthesis (overlap-add)").values[0]
    result = np.zeros_like(audio)
    n = min(out.size, audio.size)
    result[:n] = out[:n]
    ramp = np.linspace(0.0, 1.0, min(EDGE_SAMPLES, audio.size // 4), dtype=np.float32)
    if ramp.size:  # cross-fade from the original at both edges, so the segment joins its neighbours smoothly
        result[:ramp.size] = audio[:ramp.size] * (1.0 - ramp) + result[:ramp.size] * ramp
        result[-ramp.size:] = result[-ramp.size:] * ramp[::-1] + audio[-ramp.size:] * (1.0 - ramp[::-1])
    return result.astype(np.float32)


__all__ = ["apply_pitch_range", "reshape_contour", "spread_st"]
