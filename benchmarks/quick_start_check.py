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

    OMP_NUM_THREADS=1 python -m benchmarks.quick_start_check [--threads 1] [--texts 20] [--json out.json] [--ab]

``--ab`` adds a third way, alternated with the other two: quick start as before 2026-12-05 (ttfa), with every
mel stage run over the whole utterance before the first piece (``quick_start.first_piece_mel`` replaced by
:func:`whole_first_mel`), to measure what running the exemplar projection on the first piece's phonemes only
saves.
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


def whole_first_mel(mel_stages, state, frames: int) -> np.ndarray:
    """The first piece's mel as before 2026-12-05 (ttfa): every mel stage over the whole utterance."""
    from dataclasses import replace

    whole = replace(state, mel=state.mel.copy())
    for stage in mel_stages:
        stage.apply(whole)
    return whole.mel[:frames]


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
    parser.add_argument("--ab", action="store_true", help="also quick start with every mel stage over the whole "
                        "utterance before the first piece (as before 2026-12-05 ttfa), alternated")
    args = parser.parse_args()
    from baton.conductors import get_conductor
    from baton.pipeline import Pipeline, default_voice_id
    from tts_model.runtime import synthesizer as runtime

    texts, source = load_texts(args.corpus, args.texts)
    synth = runtime.Synthesizer.load(runtime.find_voice(default_voice_id()), threads=args.threads)
    pipeline = Pipeline(get_conductor("embedded"), synth)
    from tts_model.runtime import quick_start

    ways = (("normal", False), ("quick", True), *((("before", True),) if args.ab else ()))
    head_mel = quick_start.first_piece_mel

    def run(way: str, plan) -> tuple:
        quick_start.first_piece_mel = whole_first_mel if way == "before" else head_mel
        try:
            return timed(pipeline, plan, dict(ways)[way])
        finally:
            quick_start.first_piece_mel = head_mel

    for way, _ in ways:
        run(way, pipeline.plan("Hello there, how are you today?"))  # warm-up
    rows, load = [], [os.getloadavg()[0]]
    for text in texts:
        plan = pipeline.plan(text)
        best: dict[str, tuple] = {}
        for _ in range(args.repeats):
            for way, _quick in ways:
                pieces, ready, rate = run(way, plan)
                if way not in best or ready[0] < best[way][1][0]:
                    best[way] = (pieces, ready, rate)
        row = compare(best["normal"][0], best["quick"][0], best["normal"][2])
        if args.ab:
            row["before_first_piece_level_db"] = compare(best["normal"][0], best["before"][0],
                                                         best["normal"][2])["first_piece_level_db"]
        for way, _quick in ways:
            pieces, ready, rate = best[way]
            row[f"{way}_first_audio_s"] = ready[0]
            row[f"{way}_stall_s"] = stall_s(pieces, ready, rate)
        rows.append(row)
        load.append(os.getloadavg()[0])
    split = [r for r in rows if r["split"]]
    print(f"{len(rows)} texts ({source}), {args.threads} thread(s), load average (1 min) "
          f"{min(load):.2f}-{max(load):.2f}; quick start split the first segment in {len(split)} of them")
    names = [w for w, _ in ways]
    heads = {"normal": "normal", "quick": "quick start", "before": "quick start, whole-utterance mel first"}
    print("| | " + " | ".join(heads[w] for w in names) + " |\n|---|" + "---:|" * len(names))
    print("| time to first audio, median [s] | "
          + " | ".join(f"{np.median([r[w + '_first_audio_s'] for r in rows]):.3f}" for w in names) + " |")
    print("| time to first audio, max [s] | "
          + " | ".join(f"{max(r[w + '_first_audio_s'] for r in rows):.3f}" for w in names) + " |")
    print("| texts with a stall / total stall [s] | " + " | ".join(
        f"{sum(r[w + '_stall_s'] > 0 for r in rows)} / {sum(r[w + '_stall_s'] for r in rows):.3f}" for w in names)
          + " |")
    if split:
        seg = np.abs([r["segment0_level_db"] for r in split])
        head = np.abs([r["first_piece_level_db"] for r in split])
        print(f"\nsegment 0 spoken level, quick vs normal: max |{seg.max():.3f}| dB; first piece: median "
              f"|{np.median(head):.2f}| dB, max |{head.max():.2f}| dB")
        if args.ab:
            before = np.abs([r["before_first_piece_level_db"] for r in split])
            print(f"first piece, whole-utterance mel first, vs normal: median |{np.median(before):.2f}| dB, "
                  f"max |{before.max():.2f}| dB")
    print(f"later segments identical after the entry ramp: {sum(r['later_identical'] for r in rows)}/{len(rows)}; "
          f"same total length: {sum(r['same_length'] for r in rows)}/{len(rows)}")
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "texts": source, "load_average_1min": load,
                                         "rows": rows}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
