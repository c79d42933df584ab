"""Word-boundary accuracy of feature_extract.align against the Fraser corpus' MAUS phone TextGrids.

Method. Fraser's TextGrids have one tier (MAU) of SAMPA phones and ``<p:>`` pauses, but no word tier, so
the reference word boundaries are derived from the phone tier:

1. our aligner aligns the clip's transcript, giving words with ARPAbet phones;
2. MAUS's SAMPA labels are mapped to ARPAbet (table below; pauses dropped);
3. the two phone *sequences* are matched by edit distance (Needleman-Wunsch; identical labels cost 0,
   vowel-for-vowel 0.5, consonant-for-consonant 0.7, vowel-for-consonant 1.2, insertion/deletion 1). The
   match uses labels only, never times, so it does not favour our timings;
4. each MAUS phone matched to a phone of word w belongs to w; w's reference start is the start of its first
   such MAUS phone and its reference end the end of its last one (words with no matched phone are skipped);
5. the error of a boundary is |ours - MAUS|; every word contributes its start and its end.

Caveats: MAUS is itself automatic (US-English models on a British speaker, 10 ms resolution), so the
figures are agreement with MAUS, not error against hand labels. The 17 upstream_ERRORS ids are excluded.

Run: ``python -m benchmarks.feature_extract_alignment [--n 100] [--seed 0]`` (needs ../shared).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from feature_extract.align import DEFAULT_CONFIG, align
from feature_extract.audio import load_audio

ROOT = Path(__file__).resolve().parents[1]

FRASER = ROOT.parent / "shared" / "corpora" / "fraser"

SAMPA_TO_ARPABET = {
    "V": "AH", "@": "AH", "6": "ER", "3`": "ER", "9": "ER", "2:": "ER", "I": "IH", "i:": "IY", "i": "IY",
    "E": "EH", "E:": "EH", "e": "EH", "e:": "EY", "eI": "EY", "{": "AE", "a": "AA", "a:": "AA", "Q": "AA",
    "O": "AO", "O:": "AO", "o": "OW", "o:": "OW", "@U": "OW", "U": "UH", "Y": "UH", "u": "UW", "u:": "UW",
    "y": "UW", "y:": "UW", "aI": "AY", "aU": "AW", "OI": "OY", "OY": "OY",
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "?": "T", "4": "T", "x": "K",
    "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH", "h": "HH", "h-": "HH",
    "C": "HH", "tS": "CH", "dZ": "JH", "m": "M", "m=": "M", "n": "N", "n=": "N", "N": "NG", "l": "L",
    "l=": "L", "R": "R", "r": "R", "w": "W", "j": "Y",
}
VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
_INTERVAL = re.compile(r'xmin = ([\d.]+)\s*xmax = ([\d.]+)\s*text = "([^"]*)"')


def read_mau_tier(path: Path) -> list[tuple[str, float, float]]:
    """(ARPAbet phone, start_s, end_s) of the non-pause intervals of a MAUS TextGrid."""
    phones = []
    for start, end, label in _INTERVAL.findall(path.read_text(encoding="utf-8")):
        if label.startswith("<"):  # <p:> pause, <usb> unspecified
            continue
        phones.append((SAMPA_TO_ARPABET.get(label, "?"), float(start), float(end)))
    return phones


def _substitution(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if (a in VOWELS) and (b in VOWELS):
        return 0.5
    if (a not in VOWELS) and (b not in VOWELS):
        return 0.7
    return 1.2


def match_sequences(ours: list[str], reference: list[str]) -> list[tuple[int, int]]:
    """Needleman-Wunsch over labels; returns matched index pairs (ours, reference)."""
    n, m = len(ours), len(reference)
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + _substitution(ours[i - 1], reference[j - 1]),
                             cost[i - 1, j] + 1.0, cost[i, j - 1] + 1.0)
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        if cost[i, j] == cost[i - 1, j - 1] + _substitution(ours[i - 1], reference[j - 1]):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1.0:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def clip_errors(alignment, reference) -> tuple[list[float], list[float], list[float]]:
    """Signed errors (ours - MAUS) in ms for one clip: word starts, word ends, and starts of matched
    phones with identical labels."""
    our_phones = [(p.phone, w_index, p.start_s, p.end_s)
                  for w_index, word in enumerate(alignment.words) for p in word.phones]
    pairs = match_sequences([p[0] for p in our_phones], [r[0] for r in reference])
    spans: dict[int, list[float]] = {}
    phone_errors = []
    for ours_index, ref_index in pairs:
        label, word_index, start_s, _ = our_phones[ours_index]
        ref_label, ref_start, ref_end = reference[ref_index]
        span = spans.setdefault(word_index, [ref_start, ref_end])
        span[0], span[1] = min(span[0], ref_start), max(span[1], ref_end)
        if label == ref_label:
            phone_errors.append((start_s - ref_start) * 1000)
    starts, ends = [], []
    for word_index, (ref_start, ref_end) in spans.items():
        word = alignment.words[word_index]
        starts.append((word.start_s - ref_start) * 1000)
        ends.append((word.end_s - ref_end) * 1000)
    return starts, ends, phone_errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="clips to sample (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--silence-prob", type=float, default=None, help="override AlignerConfig.silence_prob")
    args = parser.parse_args(argv)
    if not FRASER.is_dir():
        print(f"error: {FRASER} not found; this benchmark needs the shared Fraser corpus", file=sys.stderr)
        return 2
    config = DEFAULT_CONFIG if args.silence_prob is None else replace(DEFAULT_CONFIG, silence_prob=args.silence_prob)
    excluded = set((FRASER / "upstream_ERRORS_ids.txt").read_text().split())
    rows = [line.split("|", 1) for line in (FRASER / "metadata.csv").read_text(encoding="utf-8").splitlines()]
    rows = [(clip_id, text) for clip_id, text in rows if clip_id not in excluded]
    sample = random.Random(args.seed).sample(rows, min(args.n, len(rows)))

    starts, ends, phones, failures = [], [], [], []
    audio_s = 0.0
    cpu_started = time.process_time()
    for clip_id, text in sample:
        audio, sample_rate = load_audio(FRASER / "wavs" / f"{clip_id}.flac")
        audio_s += audio.size / sample_rate
        try:
            alignment = align(audio, sample_rate, text, config)
        except ValueError as err:
            failures.append(f"{clip_id}: {err}")
            continue
        s, e, p = clip_errors(alignment, read_mau_tier(FRASER / "textgrid" / f"{clip_id}.TextGrid"))
        starts += s
        ends += e
        phones += p
    cpu_s = time.process_time() - cpu_started

    both = np.array(starts + ends)
    print(f"Fraser alignment vs MAUS: {len(sample)} clips (seed {args.seed}), {len(failures)} failed, "
          f"{audio_s:.0f} s of audio, {cpu_s:.0f} CPU s, silence_prob {config.silence_prob}")
    print("absolute error |ours - MAUS|; bias = median signed error (ours later than MAUS when > 0)")
    print(f"{'boundaries':<26}{'n':>6}{'median ms':>11}{'p90 ms':>9}{'mean ms':>9}{'<=20 ms':>9}"
          f"{'<=50 ms':>9}{'bias ms':>9}")
    for name, signed in (("word boundaries (all)", both), ("word starts", np.array(starts)),
                         ("word ends", np.array(ends)), ("phone starts (same label)", np.array(phones))):
        values = np.abs(signed)
        print(f"{name:<26}{values.size:>6}{np.median(values):>11.1f}{np.percentile(values, 90):>9.1f}"
              f"{values.mean():>9.1f}{np.mean(values <= 20) * 100:>8.1f}%{np.mean(values <= 50) * 100:>8.1f}%"
              f"{np.median(signed):>9.1f}")
    for failure in failures:
        print("failed:", failure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
