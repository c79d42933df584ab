"""The shipped voice's own F0 spread inside neutral segments: what the conductor's ``pitch_range`` moves from.

    OMP_NUM_THREADS=1 python -m benchmarks.segment_pitch_range [--voice ID] [--instruction TEXT]

Renders a fixed set of sentences with the embedded conductor (neutral unless --instruction), measures each
segment's 10th-to-90th-percentile F0 spread [st] with Praat (the tracker settings of tts_model/runtime/pitch_range.py)
on the segment's audio (pause included, silence is unvoiced), and prints per-sentence and overall medians.
The neutral median is the reference for ``ComposeConfig.segment_range_st`` (docs/conductor.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

SENTENCES = [
    "I never thought it would end like this, but here we are, waiting for the last train home.",
    "The committee reviewed every proposal that arrived before the deadline.",
    "Put the red box on the table and close the door behind you.",
    "Well, that was unexpected, wasn't it?",
    "She walked along the river until the lights of the town came on.",
    "Nobody told me that the meeting had been moved to Friday.",
]


def segment_spreads(speech, sample_rate: int) -> list[float]:
    """F0 spread [st] of each segment with at least 5 voiced frames."""
    import numpy as np
    import parselmouth

    from tts_model.runtime.pitch_range import MIN_VOICED_FRAMES, PITCH_CEILING_HZ, PITCH_FLOOR_HZ, TIME_STEP_S, spread_st

    out = []
    for start, end in speech.segment_bounds_s:
        piece = speech.audio[int(start * sample_rate):int(end * sample_rate)].astype(np.float64)
        if piece.size < int(0.1 * sample_rate):
            continue
        pitch = parselmouth.Sound(piece, sampling_frequency=float(sample_rate)).to_pitch(
            time_step=TIME_STEP_S, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ)
        f0 = pitch.selected_array["frequency"]
        f0 = f0[f0 > 0]
        if f0.size >= MIN_VOICED_FRAMES:
            out.append(spread_st(12.0 * np.log2(f0 / 100.0)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voice", default=None, help="voice id or folder (default: the shipped voice)")
    parser.add_argument("--instruction", default=None, help="plan with this instruction instead of neutral")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    from baton import Pipeline

    pipe = Pipeline.load(voice=args.voice)
    every = []
    for text in tqdm(SENTENCES, unit="sentence", file=sys.stderr, disable=None):
        speech = pipe.speak(text, instruction=args.instruction, seed=0)
        spreads = segment_spreads(speech, speech.sample_rate)
        every.extend(spreads)
        asked = [s.pitch_range for s in speech.plan.segments]
        print(f"{statistics.median(spreads):5.2f} st median of {len(spreads)} segments "
              f"(asked {asked}): {text}")
    print(f"\nall {len(every)} segments: median {statistics.median(every):.2f} st, "
          f"quartiles {statistics.quantiles(every, n=4)[0]:.2f}..{statistics.quantiles(every, n=4)[2]:.2f} st")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
