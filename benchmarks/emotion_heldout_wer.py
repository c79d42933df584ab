"""Intelligibility and prosody of emotional renders on held-out LJSpeech sentences (issue 22).

The emotion benchmark (``benchmarks.emotion_render``) has ten sentences; this one takes more, and sentences
nobody wrote for it: LJSpeech's held-out clips past the first 20 (those measure speed and the neutral WER),
5 to 16 words long. Each sentence's raw text is spoken neutrally and with every instruction (default: the
emotion benchmark's strong ones, "extremely happily" ...) by one ``baton.Pipeline`` (embedded conductor,
shipped voice), transcribed by Whisper tiny.en against the corpus's normalized text, and measured against
its neutral render (``feature_extract.utterance``). Prints the pooled WER per emotion with its ratio to
neutral, and the median prosody changes. Needs the corpus (../shared/corpora/ljspeech).

    python -m benchmarks.emotion_heldout_wer --json runs/heldout_strong.json          # 30 sentences, ~10 min
    python -m benchmarks.emotion_heldout_wer --from-json runs/a.json runs/b.json      # print saved runs side by side
    python -m benchmarks.emotion_heldout_wer --sentences 5 --intensity normal
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.emotion_render import FIVE, INSTRUCTIONS
from benchmarks.wer_ljspeech_heldout import DEFAULT_CORPUS, load_metadata

QUANTITIES = ("pitch_st", "slope_st_per_s", "range_st", "energy_db", "rate_ratio", "centroid_st")
"""Prosody changes summarised (median over sentences), as named by ``feature_extract.utterance``."""


def pick_sentences(metadata: dict[str, tuple[str, str]], count: int) -> list[tuple[str, str, str]]:
    """(clip id, raw text, normalized text) of the first ``count`` held-out clips past the 20 that the speed and
    neutral-WER benchmarks use, 5-16 words long."""
    from recipes.ljspeech import HELD_OUT

    picked = [(clip, *metadata[clip]) for clip in HELD_OUT[20:] if 5 <= len(metadata[clip][0].split()) <= 16]
    return picked[:count]


def _median(values: Sequence[float | None]) -> float:
    """Median of the defined values (None and NaN skipped); NaN when there are none."""
    kept = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.median(kept)) if kept else float("nan")


def summarise(records: Sequence[dict]) -> dict[str, dict[str, float]]:
    """Per emotion (neutral first): sentences, errors, words, WER, WER / neutral WER, median prosody changes."""
    out: dict[str, dict[str, float]] = {}
    for emotion in dict.fromkeys(["neutral"] + [r["emotion"] for r in records]):
        rows = [r for r in records if r["emotion"] == emotion]
        if not rows:
            continue
        errors, words = sum(r["errors"] for r in rows), sum(r["words"] for r in rows)
        out[emotion] = {"sentences": len(rows), "errors": errors, "words": words, "wer": errors / words,
                        **{q: _median([r["change"][q] for r in rows]) for q in QUANTITIES}}
    if "neutral" in out:
        for row in out.values():
            row["wer_ratio"] = row["wer"] / out["neutral"]["wer"] if out["neutral"]["wer"] else float("nan")
    return out


def markdown(summary: dict[str, dict[str, float]], title: str) -> str:
    lines = [f"### {title}", "",
             "| emotion | sentences | WER | ×neutral | " + " | ".join(QUANTITIES) + " |",
             "|---|---|---|---|" + "---|" * len(QUANTITIES)]
    for emotion, row in summary.items():
        lines.append(f"| {emotion} | {row['sentences']} | {100 * row['wer']:.1f} % ({row['errors']}/{row['words']}) "
                     f"| {row.get('wer_ratio', float('nan')):.2f} | "
                     + " | ".join(f"{row[q]:+.2f}" for q in QUANTITIES) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emotion_heldout_wer",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"LJSpeech folder (default {DEFAULT_CORPUS})")
    parser.add_argument("--sentences", type=int, default=30, help="how many held-out sentences (default 30)")
    parser.add_argument("--intensity", choices=("normal", "strong"), default="strong",
                        help="the emotion benchmark's instruction per emotion at this intensity (default strong)")
    parser.add_argument("--emotions", nargs="+", default=list(FIVE), choices=sorted(INSTRUCTIONS),
                        help=f"emotions to render (default: {' '.join(FIVE)})")
    parser.add_argument("--voice", default="ljspeech", help="voice (default: the shipped ljspeech)")
    parser.add_argument("--json", help="write every render's record here (re-read with --from-json)")
    parser.add_argument("--from-json", nargs="+", metavar="JSON", help="print the summary of saved runs; no rendering")
    args = parser.parse_args(argv)

    if args.from_json:
        for path in args.from_json:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            print(markdown(summarise(document["records"]), f"{path} ({document.get('git', '?')})") + "\n")
        return 0
    if args.sentences < 1:
        parser.error(f"--sentences must be at least 1, got {args.sentences}")
    if not (args.corpus / "metadata.csv").is_file():
        parser.error(f"no LJSpeech metadata.csv under {args.corpus} (pass --corpus)")

    import subprocess

    from baton import asr
    from baton.pipeline import Pipeline
    from feature_extract.utterance import measure_utterance, relative

    sentences = pick_sentences(load_metadata(args.corpus), args.sentences)
    which = 0 if args.intensity == "normal" else 1
    asks = [("neutral", None)] + [(e, INSTRUCTIONS[e][which]) for e in args.emotions]
    pipeline = Pipeline.load(args.voice)
    records = []
    for k, (clip, raw, normalized) in enumerate(sentences, 1):
        reference = None
        for emotion, instruction in asks:
            spoken = pipeline.speak(raw, instruction, seed=0)
            features = measure_utterance(spoken.audio, spoken.sample_rate)
            if reference is None:
                reference = features
            counts = asr.wer_counts(normalized, asr.transcribe(spoken.audio, spoken.sample_rate))
            records.append({"clip": clip, "emotion": emotion, "instruction": instruction,
                            "errors": counts.errors, "words": counts.ref_words,
                            "change": relative(features, reference)})
        print(f"[{k}/{len(sentences)}] {clip} {raw}", file=sys.stderr, flush=True)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.strip() or "?"
    print(markdown(summarise(records), f"voice {args.voice}, {args.intensity} intensity, {len(sentences)} held-out "
                                       f"LJSpeech sentences, git {git}"))
    if args.json:
        Path(args.json).write_text(json.dumps({"git": git, "intensity": args.intensity, "records": records},
                                              indent=1), encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
