"""Would a slower default speaking rate help Whisper? WER and NLL of words-only plans at scaled durations.

For each validation clip (``tts_model.dataset.validation_ids``, as ``recipes/tune_harmonics.py`` picks them) the
voice first renders the words-only plan and reports its own predicted durations and pauses; those, times each
``--factors`` value, are then given back as the plan and rendered again. Whisper tiny.en transcribes every render
(WER, ``baton.asr``) and scores the reference transcript (negative log-probability per token). Factor 0 means the
words-only plan itself, with nothing given.

    python benchmarks/rate_wer.py --voice tts_model/voices/ljspeech --data data/ljspeech --factors 0 1 1.1 1.2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "recipes"))


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
    from baton.asr import corpus_wer, reference_nll, transcribe
    from evaluate_batontts import clean_plan
    from feature_extract import extract_plan
    from feature_extract.audio import load_audio
    from tts_model.runtime import Synthesizer
    from tune_harmonics import validation_rows

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voice", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="prepared shards the voice was trained from")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpora/ljspeech")
    parser.add_argument("--every", type=int, default=15, help="the training config's validation_every")
    parser.add_argument("--factors", type=float, nargs="+", default=[0.0, 1.0, 1.1, 1.2],
                        help="duration factors; 0 = the words-only plan with nothing given")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        rows = validation_rows(args.data, args.corpus, args.every)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    synth = Synthesizer.load(args.voice, threads=args.threads)
    clips = []
    for _, text, path in rows:
        recording, sample_rate = load_audio(path, synth.sample_rate)
        clips.append((text, [{"word": s["word"]} for s in clean_plan(extract_plan(recording, sample_rate, text))]))
    print(f"{len(clips)} validation clips of {args.data}, voice {synth.voice_dir}")
    print("| duration factor | WER | Whisper NLL per token |")
    print("|---:|---:|---:|")
    for factor in args.factors:
        started, pairs, nll_sum, token_count = time.time(), [], 0.0, 0
        for text, words in clips:
            plan = words if factor == 0 else scaled_plan(words, synth.render_mel(words)[2], factor)
            wave = synth.synthesize_all(plan)
            pairs.append((text, transcribe(wave, synth.sample_rate, cpu_threads=args.threads)))
            nll, n_tokens = reference_nll(wave, synth.sample_rate, text, cpu_threads=args.threads)
            nll_sum, token_count = nll_sum + nll * n_tokens, token_count + n_tokens
        label = "words only" if factor == 0 else f"x{factor:g}"
        print(f"| {label} | {100 * corpus_wer(pairs).wer:.1f} % | {nll_sum / token_count:.4f} |  "
              f"({time.time() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
