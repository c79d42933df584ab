"""How our CPP (feature_extract.voice_quality: voiced frames only) relates to Praat's smoothed CPPS (all frames).

On every ``--step``-th RAVDESS clip: the trimmed region (feature_extract.utterance), our ``cpp_db``, ``hnr_db``
and ``voiced_fraction``, and Praat's "Get CPPS" over the same region (PowerCepstrogram 60 Hz, 2 ms, 5 kHz,
50 Hz pre-emphasis; CPPS with tilt subtraction, 20 ms / 0.5 ms smoothing, peak in 60-330 Hz, robust straight
line). Prints Pearson correlations.

    python -m benchmarks.cpp_vs_praat --corpus ../shared/corpora/ravdess --step 36   # 40 clips
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def praat_cpps(audio: np.ndarray, sample_rate: int) -> float:
    import parselmouth
    from parselmouth.praat import call

    sound = parselmouth.Sound(np.asarray(audio, dtype=np.float64), sample_rate)
    cepstrogram = call(sound, "To PowerCepstrogram", 60.0, 0.002, 5000.0, 50.0)
    return float(call(cepstrogram, "Get CPPS", True, 0.02, 0.0005, 60.0, 330.0, 0.05, "Parabolic", 0.001, 0.05,
                      "Straight", "Robust"))


def main(argv: list[str] | None = None) -> int:
    from feature_extract.audio import load_audio
    from feature_extract.utterance import measure_utterance

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "ravdess")
    parser.add_argument("--step", type=int, default=36, help="every N-th clip of metadata.csv (36 = 40 clips)")
    args = parser.parse_args(argv)
    metadata = args.corpus / "metadata.csv"
    if not metadata.is_file():
        print(f"error: {metadata} not found; pass --corpus pointing at the RAVDESS folder", file=sys.stderr)
        return 2
    with metadata.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:: args.step]
    ours, praat, hnr, voiced = [], [], [], []
    for row in rows:
        audio, sample_rate = load_audio(args.corpus / "wavs" / f"{row['id']}.flac")
        features = measure_utterance(audio, sample_rate)
        lo, hi = int(features["start_s"] * sample_rate), int(features["end_s"] * sample_rate)
        ours.append(features["cpp_db"])
        hnr.append(features["hnr_db"])
        voiced.append(features["voiced_fraction"])
        praat.append(praat_cpps(audio[lo:hi], sample_rate))

    def r(a, b) -> float:
        return float(np.corrcoef(a, b)[0, 1])

    fit = np.column_stack([ours, voiced, np.ones(len(ours))])
    predicted = fit @ np.linalg.lstsq(fit, praat, rcond=None)[0]
    print(f"{len(rows)} RAVDESS clips; mean CPP ours {np.mean(ours):.1f} dB, Praat CPPS {np.mean(praat):.1f} dB")
    print("| pair | Pearson r |\n|---|---:|")
    for label, value in (("our CPP vs Praat CPPS", r(ours, praat)), ("Praat CPPS vs voiced fraction", r(praat, voiced)),
                         ("our CPP + voiced fraction (linear fit) vs Praat CPPS", r(predicted, praat)),
                         ("our CPP vs HNR", r(ours, hnr)), ("Praat CPPS vs HNR", r(praat, hnr))):
        print(f"| {label} | {value:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
