"""BatonVoice side of benchmarks/speed_vs_piper.py: runs in the project's venv, one process per thread count.

Builds one ``baton.Pipeline`` (embedded conductor, the voice's onnxruntime sessions opened with ``threads``
intra-op threads) and renders each text it is sent with ``Pipeline.stream`` (``quick_start=True``, as the
streaming paths ``baton speak -o -`` and the server's streamed responses do; ``--no-quick-start``: without):
the time to the first piece is the time to first audio, the time to the last is the synthesis time; both
include planning (the conductor), since a user waits for it too. Kinds:

* ``neutral``: the text as given (no instruction);
* ``angry``: ``"angrily: " + text``; where the conductor's plan sets no ``pitch_range``/``voice_quality``, every
  segment gets ``pitch_range`` ANGRY_RANGE_ST and ``voice_quality`` "tense", so the post-vocoder stages
  (tts_model/runtime/pitch_range.py, tts_model/runtime/voice_quality.py) run and their cost shows;
* ``whisper``: ``"whispering: " + text`` with ``voice_quality`` "whisper" on every segment (same rule).

Per-stage profile: the worker wraps the runtime's stage functions and the two ONNX sessions with timers (a few
microseconds per call; the code under test is not changed) and reports seconds per stage for every render,
and separately the seconds each stage spent before the first piece of audio was ready.
"other" is what no timer covered: the gain loop's arithmetic, chunk slicing, the pipeline's bookkeeping.

    python -m benchmarks.baton_worker --threads 1 [--voice ljspeech]   # protocol on stdin/stdout (speed_common)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable

from benchmarks.speed_common import protocol_stdout, serve, timed_stream


ANGRY_RANGE_ST = 10.0
"""pitch_range given to angry renders when the conductor sets none (RAVDESS strong anger spans about this)."""
WARM_UP = ["Hello there, how are you today?"]
"""Rendered once per kind before the first timed render (first-run allocations, caches)."""
STAGES: dict[str, float] = {}
"""Seconds per stage for the render in progress (reset per request)."""


def _timer(name: str, fn: Callable) -> Callable:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            STAGES[name] = STAGES.get(name, 0.0) + time.perf_counter() - start
    return wrapped


class _TimedProxy:
    """Forwards every attribute to ``inner``; ``method`` is timed under ``name``."""

    def __init__(self, inner: Any, method: str, name: str):
        self._inner = inner
        setattr(self, method, _timer(name, getattr(inner, method)))

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)


def instrument(pipeline: Any) -> None:
    """Wrap the pipeline's stages with timers (in this process only)."""
    from tts_model.runtime import chain
    from tts_model.runtime import synthesizer as runtime

    synth = pipeline.synthesizer
    pipeline.plan = _timer("conductor (plan)", pipeline.plan)
    # Synthesizer is a frozen dataclass: instance attributes set past its __setattr__.
    object.__setattr__(synth, "prepare", _timer("front-end (text -> phonemes, controls)", synth.prepare))
    object.__setattr__(synth, "acoustic", _TimedProxy(synth.acoustic, "run", "acoustic model (onnx)"))
    object.__setattr__(synth, "vocoder", _TimedProxy(synth.vocoder, "vocode", "vocoder (onnx)"))
    # the render chain's stages call these through tts_model.runtime.chain; the output step's limiter is the
    # synthesizer's own
    for module, attr, name in ((chain, "frame_f0", "mel: planned F0 per frame"),
                               (chain, "project", "mel: exemplar projection"),
                               (chain, "sharpen", "mel: harmonic sharpening"),
                               (chain, "follow_centroid", "mel: centroid tilt"),
                               (chain, "apply_pitch_range", "post: pitch range"),
                               (chain, "apply_voice_quality", "post: voice quality"),
                               (runtime, "limit_peaks", "post: peak limiter")):
        setattr(module, attr, _timer(name, getattr(module, attr)))


def load(voice: str | None, threads: int) -> Any:
    """One Pipeline with the embedded conductor and ``voice`` opened at ``threads`` onnxruntime threads."""
    from baton.conductors import get_conductor
    from baton.pipeline import Pipeline, default_voice_id
    from tts_model.runtime import synthesizer as runtime

    synth = runtime.Synthesizer.load(runtime.find_voice(voice or default_voice_id()), threads=threads)
    return Pipeline(get_conductor("embedded"), synth)


def emotional_plan(pipeline: Any, text: str, kind: str) -> Any:
    """The conductor's plan for the ``angry``/``whisper`` render of ``text`` (module docstring)."""
    prefix, range_st, quality = {"angry": ("angrily: ", ANGRY_RANGE_ST, "tense"),
                                 "whisper": ("whispering: ", None, "whisper")}[kind]
    plan = pipeline.plan(prefix + text)
    segments = []
    for seg in plan.segments:
        values = {}
        if seg.pitch_range is None and seg.voice_quality is None:
            values = {"voice_quality": quality, **({} if range_st is None else {"pitch_range": range_st})}
        segments.append(seg.with_values(**values) if values else seg)
    return plan.replace_segments(segments)


QUICK_START = {"on": True}
"""Pipeline.stream(quick_start=...): on unless the worker was started with --no-quick-start."""


def render(pipeline: Any, text: str, kind: str) -> dict:
    """Time one render (speed_common.timed_stream) and attach its stage profile."""
    if kind not in ("neutral", "angry", "whisper"):
        raise ValueError(f"kind {kind!r} is unknown; valid: neutral, angry, whisper")

    first_stages: dict[str, float] = {}

    def pieces():
        quick = QUICK_START["on"]
        if kind == "neutral":
            source = pipeline.stream(text, seed=0, quick_start=quick)
        else:
            source = pipeline.stream(plan=emotional_plan(pipeline, text, kind), seed=0, quick_start=quick)
        for piece in source:
            if not first_stages:
                first_stages.update(STAGES)  # what ran before the first audio
            yield piece

    STAGES.clear()
    row = timed_stream(pieces(), lambda p: p.audio.size / p.sample_rate)
    stages = dict(STAGES)
    stages["other"] = max(row["synth_s"] - sum(stages.values()), 0.0)
    first_stages["other"] = max(row["first_audio_s"] - sum(first_stages.values()), 0.0)
    row["stages"], row["first_audio_stages"] = stages, first_stages
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--voice", default=None, help="voice id or directory (default: the default voice)")
    parser.add_argument("--no-quick-start", action="store_true",
                        help="stream without quick start (the first segment as one piece), as before issue 27")
    args = parser.parse_args()
    QUICK_START["on"] = not args.no_quick_start
    proto = protocol_stdout()
    start = time.perf_counter()
    try:
        pipeline = load(args.voice, args.threads)
    except Exception as error:  # e.g. SynthesisError for an unknown voice: one line for the driver
        proto.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")
        return 1
    load_s = time.perf_counter() - start
    instrument(pipeline)
    for text in WARM_UP:
        for kind in ("neutral", "angry", "whisper"):
            render(pipeline, text, kind)
    serve(lambda text, kind: render(pipeline, text, kind),
          {"engine": "batonvoice", "load_s": load_s, "threads": args.threads, "version": pipeline.voice_id}, proto)
    return 0


if __name__ == "__main__":
    sys.exit(main())
