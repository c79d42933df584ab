"""Do the instruction plans render measurably? Question rise, named pause, monotone and whisper, on audio.

    OMP_NUM_THREADS=1 python -m benchmarks.instruction_render [--per-kind 3] [--kinds question pause ...] [--voice ID]

Takes the first ``--per-kind`` items of each of those kinds from baton/data/instructions_dev.jsonl, renders
each with the instruction and without (the neutral reference) through baton.Pipeline (embedded conductor,
seed 0), measures F0 with the project's tracker (feature_extract.praat.pitch_track: 60-700 Hz, 10 ms, then
re-tracked within 0.75 x Q1 .. 1.5 x Q3 of the utterance's own F0, as every feature measurement here does)
on the whole utterance, and prints one row per item:

* question: rise of the last segment's voiced F0 [st] (least-squares line over its voiced frames x their time
  span), rendered vs neutral; passes at >= 2 st (issue #22: "a question's last word rises by >= 2 st");
* pause: the longest silence (10 ms frames 25 dB below the loudest) at the end of the named word's segment
  [s]; passes at >= 0.35 s;
* monotone: the utterance's F0 10th-90th percentile spread [st] vs the neutral render's; passes at <= half;
* whisper: voiced frames of the single-pass 60-700 Hz track (stricter: no range narrowing); passes at 0.

The single-pass track alone reads the voice's fricatives as voiced at 86 Hz (= 22050 / 256, the vocoder's
frame rate; in neutral renders too, 20-28 dB below the peak): a vocoder artefact, not the voice's F0, which
pulled a clearly rising question (170 -> 337 Hz on "us") to +1.2 st before 2026-12-05 (docs/conductor.md).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

KINDS = ("question", "pause", "monotone", "whisper")
SILENCE_DB = 25.0
"""A pause frame is this far below the loudest 10 ms frame: Praat's default silence threshold (To TextGrid
(silences), -25 dB). 35 dB (before 2026-12-05) counted the breath noise the voice renders inside a long pause
(-35 to -40 dB; it learnt breathing in pauses from its reader) as speech, so a 1.0 s planned pause read 0.13 s."""
FRAME_S = 0.01


def f0_track(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Voiced frames of the two-pass tracker: times [s] and F0 [st re 100 Hz], float arrays of equal length."""
    from feature_extract.praat import pitch_track

    times_s, f0_hz = pitch_track(audio, sample_rate)
    voiced = np.isfinite(f0_hz)
    return times_s[voiced], 12.0 * np.log2(f0_hz[voiced] / 100.0)


def single_pass_f0_track(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Voiced frames of one 60-700 Hz Praat pass: times [s] and F0 [st re 100 Hz]."""
    import parselmouth

    from tts_model.runtime.pitch_range import PITCH_CEILING_HZ, PITCH_FLOOR_HZ, TIME_STEP_S

    if audio.size < int(0.05 * sample_rate):
        return np.zeros(0), np.zeros(0)
    pitch = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=float(sample_rate)).to_pitch(
        time_step=TIME_STEP_S, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ)
    f0 = pitch.selected_array["frequency"]
    voiced = f0 > 0
    return pitch.xs()[voiced], 12.0 * np.log2(f0[voiced] / 100.0)


def rise_st(times: np.ndarray, pitch: np.ndarray) -> float:
    if times.size < 5:
        return float("nan")
    slope = np.polyfit(times, pitch, 1)[0]
    return float(slope * (times[-1] - times[0]))


def spread_st(pitch: np.ndarray) -> float:
    return float(np.percentile(pitch, 90) - np.percentile(pitch, 10)) if pitch.size else float("nan")


def trailing_silence_s(piece: np.ndarray, peak_rms: float, sample_rate: int) -> float:
    hop = int(FRAME_S * sample_rate)
    frames = piece[: piece.size // hop * hop].reshape(-1, hop)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    quiet = 20.0 * np.log10(np.maximum(rms, 1e-10) / peak_rms) < -SILENCE_DB
    run = 0
    for q in quiet[::-1]:
        if not q:
            break
        run += 1
    return run * FRAME_S


def peak_frame_rms(audio: np.ndarray, sample_rate: int) -> float:
    hop = int(FRAME_S * sample_rate)
    frames = audio[: audio.size // hop * hop].reshape(-1, hop)
    return float(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)).max())


def measure(kind: str, item, speech, neutral) -> tuple[str, str, bool]:
    """(rendered, neutral, passes) for one item."""
    sr = speech.sample_rate
    if kind == "question":
        values = []
        for sp in (speech, neutral):
            start, end = sp.segment_bounds_s[-1]
            times, pitch = f0_track(sp.audio, sr)
            inside = (times >= start) & (times < end)
            values.append(rise_st(times[inside], pitch[inside]))
        return f"{values[0]:+.1f} st", f"{values[1]:+.1f} st", values[0] >= 2.0
    if kind == "pause":
        values = []
        for sp in (speech, neutral):
            peak = peak_frame_rms(sp.audio, sr)
            index = next((i for i, s in enumerate(sp.plan.segments) if s.words and s.words[-1] == item.word), None)
            if index is None:  # the neutral plan may not end a segment there: the silence after the word's segment
                index = next(i for i, s in enumerate(sp.plan.segments) if item.word in s.words)
            start, end = sp.segment_bounds_s[index]
            values.append(trailing_silence_s(sp.audio[int(start * sr):int(end * sr)], peak, sr))
        return f"{values[0]:.2f} s", f"{values[1]:.2f} s", values[0] >= 0.35
    if kind == "monotone":
        values = [spread_st(f0_track(sp.audio, sr)[1]) for sp in (speech, neutral)]
        return f"{values[0]:.1f} st", f"{values[1]:.1f} st", values[0] <= 0.5 * values[1]
    voiced = [single_pass_f0_track(sp.audio, sr)[0].size for sp in (speech, neutral)]
    return f"{voiced[0]} voiced", f"{voiced[1]} voiced", voiced[0] == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-kind", type=int, default=3, help="items per kind (default 3)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="only these kinds")
    parser.add_argument("--voice", default=None, help="voice id or folder (default: the shipped voice)")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    from baton import Pipeline
    from baton.eval.instructions import DEV_PATH, load_items

    items = [i for kind in args.kinds for i in [x for x in load_items(DEV_PATH) if x.kind == kind][:args.per_kind]]
    pipe = Pipeline.load(voice=args.voice)
    rows, passed = [], 0
    for item in tqdm(items, unit="item", file=sys.stderr, disable=None):
        speech = pipe.speak(item.text, instruction=item.instruction, seed=0)
        neutral = pipe.speak(item.text, seed=0)
        got, ref, ok = measure(item.kind, item, speech, neutral)
        passed += ok
        rows.append(f"{item.kind:<9} {'yes' if ok else 'NO':<4} {got:>12} {ref:>12}  {item.instruction!r} on {item.text!r}")
    print(f"{'kind':<9} {'pass':<4} {'rendered':>12} {'neutral':>12}  item")
    print("\n".join(rows))
    print(f"\n{passed}/{len(items)} pass")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
