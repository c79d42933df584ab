"""How well feature_extract.recording's checks tell a usable recording from a failed one (issue 23 item 7).

For N LJSpeech clips (seeded random choice; ../shared/corpora/ljspeech), each clip is aligned twice: with its
own transcript (should be accepted) and with the transcript of another clip of similar length (should be
refused). For each it prints what feature_extract.recording.check_speech measured (voiced coverage, fraction
of phones at the aligner's minimum length) or why it refused, then a summary: false refusals of matching
transcripts and false acceptances of wrong ones. Silence and noise are refused before alignment (tests).

Run: ``python -m benchmarks.from_audio_check [--n 30] [--seed 0]`` (needs ../shared; about 1 s per clip).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from feature_extract.align import AlignmentError, align
from feature_extract.audio import load_audio
from feature_extract.measure import Tracks
from feature_extract.recording import (MAX_MIN_LENGTH_PHONES, MIN_VOICED_COVERAGE, NOT_FAST_PHONE_S,
                                       check_speech)

ROOT = Path(__file__).resolve().parents[1]

LJSPEECH = ROOT.parent / "shared" / "corpora" / "ljspeech"


def outcome(audio, sample_rate, tracks, transcript) -> tuple[str, bool]:
    """(what was measured, accepted?) for one recording + transcript."""
    try:
        alignment = align(audio, sample_rate, transcript)
    except AlignmentError:
        return "aligner failed", False
    try:
        result = check_speech(audio, sample_rate, alignment, tracks)
    except AlignmentError as err:
        return f"refused: {str(err).split(';')[0].removeprefix('alignment failed: ')}", False
    return (f"coverage {result.coverage:.2f}, {result.min_length_phones:.2f} of phones at the minimum "
            f"(mean {result.mean_phone_s * 1000:.0f} ms)"), True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=30, help="clips (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (LJSPEECH / "metadata.csv").is_file():
        print(f"needs the LJSpeech corpus at {LJSPEECH}", file=sys.stderr)
        return 1
    rows = [line.split("|") for line in (LJSPEECH / "metadata.csv").read_text(encoding="utf-8").splitlines()]
    rows = [(r[0], r[2] if len(r) > 2 and r[2] else r[1]) for r in rows
            if (LJSPEECH / "wavs" / f"{r[0]}.flac").is_file()]
    rows.sort(key=lambda r: len(r[1]))
    picks = sorted(random.Random(args.seed).sample(range(len(rows) - 1), min(args.n, len(rows) - 1)))
    print("| clip | own transcript | another clip's transcript (similar length) |\n|---|---|---|")
    false_refusals = false_accepts = 0
    for i in picks:
        clip_id, text = rows[i]
        other = rows[i + 1][1]  # the next-longer transcript: similar length, other words
        audio, sample_rate = load_audio(LJSPEECH / "wavs" / f"{clip_id}.flac")
        tracks = Tracks.compute(audio, sample_rate)
        own, own_ok = outcome(audio, sample_rate, tracks, text)
        wrong, wrong_ok = outcome(audio, sample_rate, tracks, other)
        false_refusals += not own_ok
        false_accepts += wrong_ok
        print(f"| {clip_id} | {own} | {wrong} |", flush=True)
    n = len(picks)
    print(f"\nrefused below {MIN_VOICED_COVERAGE} voiced coverage, or at >= {MAX_MIN_LENGTH_PHONES} of phones at the "
          f"minimum with a mean phone >= {NOT_FAST_PHONE_S * 1000:.0f} ms; {n} clips: matching transcripts refused "
          f"{false_refusals}/{n}, wrong transcripts accepted {false_accepts}/{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
