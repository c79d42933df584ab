"""How well the emotion benchmark's listener (Whisper tiny.en, baton.asr) understands RAVDESS's actors, per
emotion and intensity (issue 22): context for the bar "an emotion's WER at most 1.5x the neutral render's".

RAVDESS's two statements ("Kids are talking by the door", "Dogs are sitting by the door") spoken by 24 actors
in every emotion at normal and strong intensity are transcribed with the same ASR, settings and text
normalisation as benchmarks/emotion_render.py; the table gives the pooled WER per emotion and intensity and its
ratio to the neutral clips'. Reads ../shared/corpora/ravdess (metadata.csv + wavs/*.flac); nothing is written
unless --json is given. RAVDESS is CC BY-NC-SA 4.0: it is only read here, never shipped.

    python -m benchmarks.ravdess_wer                        # repetition 1, all 24 actors: 528 clips, ~5 min
    python -m benchmarks.ravdess_wer --actors 1 2 3 --repetitions 1 2 --json out.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "ravdess"
EMOTIONS = ("neutral", "happy", "sad", "angry", "fearful", "surprised")


def select(rows: list[dict], actors: set[int] | None, repetitions: set[int]) -> list[dict]:
    """The metadata rows of EMOTIONS for these actors (None: all) and repetitions."""
    return [r for r in rows if r["emotion"] in EMOTIONS and int(r["repetition"]) in repetitions
            and (actors is None or int(r["actor"]) in actors)]


def summarize(records: list[dict]) -> list[dict]:
    """Pooled WER per (emotion, intensity) and its ratio to the neutral clips' pooled WER."""
    cells: dict[tuple[str, str], list[int]] = {}
    for r in records:
        errors, words = cells.setdefault((r["emotion"], r["intensity"]), [0, 0])
        cells[(r["emotion"], r["intensity"])] = [errors + r["word_errors"], words + r["ref_words"]]
    neutral_errors, neutral_words = cells.get(("neutral", "normal"), [0, 0])
    neutral_wer = neutral_errors / neutral_words if neutral_words else float("nan")
    out = []
    for emotion in EMOTIONS:
        for intensity in ("normal", "strong"):
            if (emotion, intensity) not in cells:
                continue
            errors, words = cells[(emotion, intensity)]
            wer = errors / words if words else float("nan")
            out.append({"emotion": emotion, "intensity": intensity, "clips": sum(
                1 for r in records if r["emotion"] == emotion and r["intensity"] == intensity),
                "wer": wer, "ratio_to_neutral": wer / neutral_wer if neutral_wer else float("nan")})
    return out


def markdown(summary: list[dict]) -> str:
    lines = ["| emotion | intensity | clips | WER | × neutral |", "|---|---|---:|---:|---:|"]
    for s in summary:
        ratio = s["ratio_to_neutral"]
        lines.append(f"| {s['emotion']} | {s['intensity']} | {s['clips']} | {100 * s['wer']:.1f} % | "
                     + ("n/a" if math.isnan(ratio) else f"{ratio:.2f}") + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="RAVDESS folder (metadata.csv, wavs/)")
    parser.add_argument("--actors", type=int, nargs="+", help="only these actor numbers (1-24; default all)")
    parser.add_argument("--repetitions", type=int, nargs="+", default=[1], choices=[1, 2],
                        help="which of each sentence's two takes (default 1)")
    parser.add_argument("--json", type=Path, help="also write every transcript and the summary here")
    args = parser.parse_args(argv)
    metadata = args.corpus / "metadata.csv"
    if not metadata.is_file():
        print(f"error: {metadata} not found; give --corpus (the RAVDESS folder of ../shared/DATA.md)",
              file=sys.stderr)
        return 2
    import soundfile as sf
    from tqdm import tqdm

    from baton import asr

    with metadata.open(newline="") as f:
        rows = select(list(csv.DictReader(f)), set(args.actors) if args.actors else None, set(args.repetitions))
    records = []
    for row in tqdm(rows, desc="clips", unit="clip"):
        audio, sample_rate = sf.read(args.corpus / "wavs" / f"{row['id']}.flac", dtype="float32", always_2d=False)
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
        transcript = asr.transcribe(audio, sample_rate)
        counts = asr.wer_counts(row["statement_text"], transcript)
        records.append({**row, "transcript": transcript, "word_errors": counts.errors, "ref_words": counts.ref_words})
    summary = summarize(records)
    print(f"{len(records)} RAVDESS clips, Whisper tiny.en (baton.asr, as benchmarks/emotion_render.py)")
    print(markdown(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "records": records}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
