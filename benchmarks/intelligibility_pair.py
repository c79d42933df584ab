"""Is voice A more intelligible than voice B on the validation clips? Paired WER and Whisper-NLL differences.

Each voice (a voice directory, optionally ``@strength`` to override its ``harmonic_strength``) speaks every
validation clip (``tts_model.train.dataset.validation_ids``) with a neutral plan:
the segments of the clip's measured plan, words only, as ``recipes/tune_harmonics.py`` does. Per clip we
record Whisper tiny.en's word errors and the reference transcript's negative log-probability per token
(``baton.asr.reference_nll``). The report gives, for each metric, B minus A pooled over the clips and a
paired standard error from the per-clip differences (errors per reference word; NLL per token), so a
difference can be read against its noise: |difference / SE| below ~2 is not a ranking.

Choose between candidates on the validation clips. ``--test`` speaks the 50 held-out test clips instead, for the
shipping decision between a candidate already chosen and the shipped voice (the evaluation's WER has no SE).

    python -m benchmarks.intelligibility_pair --data data/ljspeech \
        --voice tts_model/voices/ljspeech@0 --voice tts_model/voices/ljspeech@0.5
    python -m benchmarks.intelligibility_pair --test --voice tts_model/voices/ljspeech --voice <candidate>
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def voice_arg(text: str) -> tuple[Path, float | None]:
    path, _, strength = text.partition("@")
    return Path(path), (float(strength) if strength else None)


def paired(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Pooled (b - a) per unit of ``weights`` and its standard error from the per-clip differences
    (a ratio estimator: sum of differences / sum of weights)."""
    diff = b - a
    total = float(weights.sum())
    mean = float(diff.sum()) / total
    residual = diff - mean * weights
    se = float(np.sqrt(len(diff) / max(len(diff) - 1, 1) * np.sum(residual ** 2))) / total
    return mean, se


def test_rows(corpus: Path) -> list[tuple[str, str, Path]]:
    """The corpus rows (id, text, audio path) of the held-out test clips (recipes.ljspeech.HELD_OUT)."""
    from recipes.ljspeech import HELD_OUT, read_metadata

    held = set(HELD_OUT)
    rows = [r for r in read_metadata(corpus) if r[0] in held]
    if len(rows) != len(held):
        raise ValueError(f"{corpus} has {len(rows)} of the {len(held)} held-out test clips (LJ002-0151..0200); "
                         "pass the LJSpeech corpus with --corpus")
    return rows


def main(argv: list[str] | None = None) -> int:
    from baton.asr import reference_nll, transcribe, wer_counts
    from feature_extract import extract_plan
    from feature_extract.audio import load_audio
    from recipes.validation import validation_rows
    from tts_model.runtime.chain import Harmonics
    from tts_model.runtime.synthesizer import SynthesisError, Synthesizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voice", action="append", required=True, type=voice_arg,
                        help="voice directory, optionally @harmonic_strength; give exactly two")
    parser.add_argument("--data", type=Path, help="prepared shards the voices were trained from (for their "
                        "validation clips)")
    parser.add_argument("--test", action="store_true",
                        help="speak the 50 held-out test clips (LJ002-0151..0200) instead of the validation clips: "
                        "for a shipping decision between voices already chosen, never for choosing")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpora/ljspeech")
    parser.add_argument("--every", type=int, default=15, help="the training config's validation_every")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write per-clip numbers here")
    args = parser.parse_args(argv)
    if len(args.voice) != 2:
        parser.error(f"give exactly two --voice arguments (A and B), got {len(args.voice)}")
    if args.test == (args.data is not None):
        parser.error("give either --data (the validation clips of a training run) or --test (the held-out test clips)")
    try:
        rows = test_rows(args.corpus) if args.test else validation_rows(args.data, args.corpus, args.every)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    voices = []
    for path, strength in args.voice:
        try:
            synth = Synthesizer.load(path, threads=args.threads)
        except SynthesisError as err:
            parser.error(str(err))
        if strength is not None:
            own = synth.config.stage("harmonics") or Harmonics()
            synth = dataclasses.replace(synth, config=synth.config.with_stage(dataclasses.replace(own, strength=strength)))
        voices.append(synth)
    plans = []
    for uid, text, path in rows:
        recording, sample_rate = load_audio(path, voices[0].sample_rate)
        plans.append((uid, text, [{"word": seg["word"]} for seg in extract_plan(recording, sample_rate, text)]))
    started = time.time()
    per_clip = {"id": [r[0] for r in rows], "words": [], "tokens": []}
    for name, synth in zip("AB", voices):
        errors, nll = [], []
        for uid, text, plan in plans:
            wave = synth.synthesize_all(plan)
            counts = wer_counts(text, transcribe(wave, synth.sample_rate, cpu_threads=args.threads))
            value, n_tokens = reference_nll(wave, synth.sample_rate, text, cpu_threads=args.threads)
            errors.append(counts.errors)
            nll.append(value * n_tokens)
            if name == "A":
                per_clip["words"].append(counts.ref_words)
                per_clip["tokens"].append(n_tokens)
        per_clip[f"errors_{name}"], per_clip[f"nll_sum_{name}"] = errors, nll
    words, tokens = np.asarray(per_clip["words"], float), np.asarray(per_clip["tokens"], float)
    print(f"{len(rows)} {'test clips of ' + str(args.corpus) if args.test else 'validation clips of ' + str(args.data)}, {int(words.sum())} words, {int(tokens.sum())} tokens "
          f"({time.time() - started:.0f} s)")
    print("| metric | A | B | B - A | paired SE | (B - A) / SE |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, key, weights, scale in (("WER [%]", "errors", words, 100.0), ("Whisper NLL per token", "nll_sum", tokens, 1.0)):
        a, b = np.asarray(per_clip[f"{key}_A"], float), np.asarray(per_clip[f"{key}_B"], float)
        diff, se = paired(a, b, weights)
        print(f"| {label} | {scale * a.sum() / weights.sum():.{2 if scale == 1 else 1}f} | "
              f"{scale * b.sum() / weights.sum():.{2 if scale == 1 else 1}f} | {scale * diff:+.3f} | {scale * se:.3f} | "
              f"{diff / se if se > 0 else float('nan'):+.1f} |")
    print("A = " + ", ".join(f"{p}{'' if s is None else f' at strength {s:g}'}" for p, s in [args.voice[0]]))
    print("B = " + ", ".join(f"{p}{'' if s is None else f' at strength {s:g}'}" for p, s in [args.voice[1]]))
    if args.json:
        args.json.write_text(json.dumps(per_clip, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
