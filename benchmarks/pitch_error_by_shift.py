"""Where does a voice miss the pitch in ``baton eval``? Per-segment pitch error, binned by the shift asked for.

Reads one or more ``report.json`` files written by ``baton eval`` and, for every segment whose plan gave a pitch
and whose audio has one, takes the requested shift from the voice's baseline and the error of the measured pitch
(both in semitones). Prints one table per report: segments, median absolute error and median signed error per bin
of requested shift. A positive signed error means the audio came out higher than asked.

    python -m benchmarks.pitch_error_by_shift eval_out/report.json [other/report.json ...]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

EDGES_ST = (-4.0, -1.5, 1.5, 4.0)
"""Bin edges of the requested shift [st]: below -4, -4..-1.5, -1.5..+1.5, +1.5..+4, above +4."""


LABELS = [f"< {EDGES_ST[0]:+g}"] + [f"{lo:+g}..{hi:+g}" for lo, hi in zip(EDGES_ST, EDGES_ST[1:])] \
    + [f"> {EDGES_ST[-1]:+g}"]
"""Bin labels, low to high."""


def bin_label(shift_st: float) -> str:
    """The bin of a requested shift, e.g. ``"+1.5..+4"``."""
    return LABELS[int(np.searchsorted(EDGES_ST, shift_st, side="right"))]


def segment_errors(report: dict) -> list[tuple[float, float]]:
    """(requested shift from the baseline, measured minus requested) in semitones, per segment with both pitches."""
    base_hz = float(report["baseline"]["pitch_mean_hz"])
    pairs = []
    for item in report["items"]:
        for segment in item.get("segments", []):
            asked = segment.get("requested", {}).get("pitch_mean")
            got = segment.get("measured", {}).get("pitch_mean")
            if asked and got and asked > 0 and got > 0:
                pairs.append((12 * math.log2(asked / base_hz), 12 * math.log2(got / asked)))
    return pairs


def table(pairs: list[tuple[float, float]]) -> list[tuple[str, int, float, float]]:
    """Rows (bin, segments, median |error|, median error) for the bins that have segments, low to high."""
    rows = []
    for label in LABELS:
        errors = [e for shift, e in pairs if bin_label(shift) == label]
        if errors:
            rows.append((label, len(errors), float(np.median(np.abs(errors))), float(np.median(errors))))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reports", type=Path, nargs="+", help="report.json files written by baton eval")
    args = parser.parse_args(argv)
    for path in args.reports:
        try:
            report = json.loads(path.read_text())
            pairs = segment_errors(report)
        except (OSError, ValueError, KeyError, TypeError) as err:
            print(f"error: {path} is not a readable baton eval report.json ({err})", file=sys.stderr)
            return 2
        print(f"{path}: {len(pairs)} segments with a requested and a measured pitch "
              f"(baseline {report['baseline']['pitch_mean_hz']:.1f} Hz)")
        print("| requested shift [st] | segments | pitch error [st], median abs | median signed |")
        print("|---|---:|---:|---:|")
        for label, count, abs_st, signed_st in table(pairs):
            print(f"| {label} | {count} | {abs_st:.2f} | {signed_st:+.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
