"""Would a slower default speaking rate help Whisper? WER and NLL of words-only plans at scaled durations.

For each validation clip (``tts_model.train.dataset.validation_ids``, as ``recipes/tune_harmonics.py`` picks them) the
voice first renders the words-only plan and reports its own predicted durations and pauses; those, times each
``--factors`` value, are then given back as the plan and rendered again. Whisper tiny.en transcribes every render
(WER, ``baton.asr``) and scores the reference transcript (negative log-probability per token). Factor 0 means the
words-only plan itself, with nothing given.

    python -m benchmarks.rate_wer --voice tts_model/voices/ljspeech --data data/ljspeech --factors 0 1 1.1 1.2
"""

from __future__ import annotations

import argparse
import sys
import time


def scaled_plan(words: list[dict], predicted: list[dict], factor: float) -> list[dict]:
    """The words-only plan with the voice's predicted durations (and pauses, but for the last) times ``factor``."""
    plan = []
    for index, (segment, pred) in enumerate(zip(words, predicted)):
        entry = {"word": segment["word"], "duration": pred["duration"] * factor}
        if index < len(words) - 1:
            entry["pause_after"] = pred["pause_after"] * factor
        plan.append(entry)
    return plan


def main(argv: list[str] | None = None) -> int:
    from tts_model.runtime.synthesizer import Synthesizer
    from recipes.validation import add_validation_args, validation_plans, whisper_scores

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_validation_args(parser)
    parser.add_argument("--factors", type=float, nargs="+", default=[0.0, 1.0, 1.1, 1.2],
                        help="duration factors; 0 = the words-only plan with nothing given")
    args = parser.parse_args(argv)
    synth = Synthesizer.load(args.voice, threads=args.threads)
    clips = [(text, [{"word": s["word"]} for s in plan])
             for text, plan in validation_plans(parser, args, synth.sample_rate)]
    print(f"{len(clips)} validation clips of {args.data}, voice {synth.voice_dir}")
    print("| duration factor | WER | Whisper NLL per token |")
    print("|---:|---:|---:|")
    for factor in args.factors:
        started = time.time()
        renders = ((text, synth.synthesize_all(
            words if factor == 0 else scaled_plan(words, synth.render_mel(words)[2], factor))) for text, words in clips)
        wer, nll = whisper_scores(renders, synth.sample_rate, args.threads)
        label = "words only" if factor == 0 else f"x{factor:g}"
        print(f"| {label} | {100 * wer:.1f} % | {nll:.4f} |  ({time.time() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
