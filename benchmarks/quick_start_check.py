"""Quick start against the normal stream, same process, same plans (issue 27): time to first audio, stalls,
and how far the audio moved.

For each text (the held-out LJSpeech texts of benchmarks/speed_vs_piper.py) the plan is made once, then
``Pipeline.stream(plan=...)`` runs without and with ``quick_start``, alternated, ``--repeats`` times each (the
fastest time to first audio is kept). Per text it records:

* time to first audio [s], both ways;
* **stall** [s]: how long a player that starts at the first piece and plays in real time would wait for a later
  piece (piece k is late when it is ready after the audio of pieces 0..k-1 has played out); summed per text;
* the level of segment 0's spoken part with quick start against without [dB] (the planned energy is kept),
  and of the first piece alone [dB] (the estimate's error);
* whether every later segment is identical after its 256-sample entry ramp, and the total length.

    OMP_NUM_THREADS=1 python -m benchmarks.quick_start_check [--threads 1] [--texts 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.speed_vs_piper import DEFAULT_CORPUS, load_texts

RAMP_SAMPLES = 256  # tts_model.runtime.synthesizer.GAIN_RAMP_SAMPLES


def timed(pipeline, plan, quick: bool) -> tuple[list, list[float], float]:
    """(pieces, ready time of each piece [s from the call], sample rate)."""
    start = time.perf_counter()
    pieces, ready = [], []
    for piece in pipeline.stream(plan=plan, seed=0, quick_start=quick):
        ready.append(time.perf_counter() - start)
        pieces.append(piece)
    return pieces, ready, pieces[0].sample_rate


def stall_s(pieces, ready: list[float], sample_rate: int) -> float:
    """Seconds a real-time player starting at the first piece waits, summed over the later pieces."""
    clock, waited = ready[0], 0.0
    for piece, at in zip(pieces, ready):
        if at > clock:
            waited += at - clock
            clock = at
        clock += piece.audio.size / sample_rate
    return waited


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def compare(normal, quick, sample_rate: int) -> dict:
    a0 = normal[0].audio
    b0 = np.concatenate([p.audio for p in quick if p.segment_index == 0])
    spoken = a0.size - int(round(float(normal[0].predicted.get("pause_after", 0.0)) * sample_rate))
    head = quick[0].audio.size
    later_a = [p.audio for p in normal if p.segment_index > 0]
    later_b = [p.audio for p in quick if p.segment_index > 0]
    return {"split": len(quick) > len(normal),
            "segment0_level_db": 20 * np.log10(max(rms(b0[:spoken]), 1e-12) / max(rms(a0[:spoken]), 1e-12)),
            "first_piece_level_db": 20 * np.log10(max(rms(b0[:head]), 1e-12) / max(rms(a0[:head]), 1e-12)),
            "later_identical": len(later_a) == len(later_b) and all(
                x.size == y.size and np.array_equal(x[RAMP_SAMPLES:], y[RAMP_SAMPLES:])
                for x, y in zip(later_a, later_b)),
            "same_length": sum(p.audio.size for p in normal) == sum(p.audio.size for p in quick)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (default 1)")
    parser.add_argument("--texts", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2, help="renders per way per text, fastest kept")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from baton.conductors import get_conductor
    from baton.pipeline import Pipeline, default_voice_id
    from tts_model.runtime import synthesizer as runtime

    texts, source = load_texts(args.corpus, args.texts)
    synth = runtime.Synthesizer.load(runtime.find_voice(default_voice_id()), threads=args.threads)
    pipeline = Pipeline(get_conductor("embedded"), synth)
    for quick in (False, True):
        timed(pipeline, pipeline.plan("Hello there, how are you today?"), quick)  # warm-up
    rows, load = [], [os.getloadavg()[0]]
    for text in texts:
        plan = pipeline.plan(text)
        best: dict[bool, tuple] = {}
        for _ in range(args.repeats):
            for quick in (False, True):
                pieces, ready, rate = timed(pipeline, plan, quick)
                if quick not in best or ready[0] < best[quick][1][0]:
                    best[quick] = (pieces, ready, rate)
        row = compare(best[False][0], best[True][0], best[False][2])
        for quick, name in ((False, "normal"), (True, "quick")):
            pieces, ready, rate = best[quick]
            row[f"{name}_first_audio_s"] = ready[0]
            row[f"{name}_stall_s"] = stall_s(pieces, ready, rate)
        rows.append(row)
        load.append(os.getloadavg()[0])
    split = [r for r in rows if r["split"]]
    print(f"{len(rows)} texts ({source}), {args.threads} thread(s), load average (1 min) "
          f"{min(load):.2f}-{max(load):.2f}; quick start split the first segment in {len(split)} of them")
    print("| | normal | quick start |\n|---|---:|---:|")
    for key, label in (("first_audio_s", "time to first audio, median [s]"),):
        print(f"| {label} | {np.median([r['normal_' + key] for r in rows]):.3f} | "
              f"{np.median([r['quick_' + key] for r in rows]):.3f} |")
    print(f"| time to first audio, max [s] | {max(r['normal_first_audio_s'] for r in rows):.3f} | "
          f"{max(r['quick_first_audio_s'] for r in rows):.3f} |")
    print(f"| texts with a stall / total stall [s] | {sum(r['normal_stall_s'] > 0 for r in rows)} / "
          f"{sum(r['normal_stall_s'] for r in rows):.3f} | {sum(r['quick_stall_s'] > 0 for r in rows)} / "
          f"{sum(r['quick_stall_s'] for r in rows):.3f} |")
    if split:
        seg = np.abs([r["segment0_level_db"] for r in split])
        head = np.abs([r["first_piece_level_db"] for r in split])
        print(f"\nsegment 0 spoken level, quick vs normal: max |{seg.max():.3f}| dB; first piece: median "
              f"|{np.median(head):.2f}| dB, max |{head.max():.2f}| dB")
    print(f"later segments identical after the entry ramp: {sum(r['later_identical'] for r in rows)}/{len(rows)}; "
          f"same total length: {sum(r['same_length'] for r in rows)}/{len(rows)}")
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "texts": source, "load_average_1min": load,
                                         "rows": rows}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
