"""Measure the embedded conductor's prosody table from RAVDESS (writes baton/data/prosody_table.json).

For every RAVDESS speech clip: trim the leading/trailing silence (intensity threshold), measure the voiced
region as one span with ``feature_extract.measure.measure_span`` (plus the F0 spread from the Praat pitch
track), and compare it with the SAME actor's neutral rendering of the same sentence and repetition. The
per-clip differences are then pooled per emotion x intensity into medians and inter-quartile ranges.

Differences (emotional clip minus neutral reference):

* ``pitch_st``: 12 * log2(pitch_mean / neutral pitch_mean)  [semitones]
* ``energy_db``: 20 * log10(energy_rms / neutral energy_rms)  [dB]
* ``rate_ratio``: neutral duration / duration  (> 1 = faster)  [ratio]
* ``slope_st_per_s``: pitch slope in semitones/s minus the neutral one  [st/s]
* ``energy_slope_db_per_s``: energy slope minus the neutral one  [dB/s]
* ``centroid_st``: 12 * log2(centroid / neutral centroid)  [semitone-like log ratio]
* ``range_st``: F0 spread (10th-90th percentile, semitones) minus the neutral one  [st]

The row ``neutral/normal`` compares each actor's two neutral repetitions (rep 2 against rep 1): it is the
measurement's noise floor, not an emotion effect.

Usage (about 2 minutes on 2 cores)::

    nice -n 10 .venv/bin/python recipes/measure_prosody_table.py \
        --corpus ../shared/corpora/ravdess --out baton/data/prosody_table.json --workers 2
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import math
import os
import platform
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUANTITIES = ("pitch_st", "energy_db", "rate_ratio", "slope_st_per_s", "energy_slope_db_per_s",
              "centroid_st", "range_st")
CITATION = ("Livingstone S. R. and Russo F. A. (2018). The Ryerson Audio-Visual Database of Emotional Speech and "
            "Song (RAVDESS): A dynamic, multimodal set of facial and vocal expressions in North American "
            "English. PLoS ONE 13(5): e0196391. doi:10.1371/journal.pone.0196391. Zenodo: "
            "doi:10.5281/zenodo.1188976. Licence of the recordings: CC BY-NC-SA 4.0.")


@dataclass(frozen=True)
class TrimConfig:
    """How the voiced region of a clip is found."""

    below_peak_db: float = 30.0
    """Frames within this many dB of the clip's loudest intensity frame count as speech."""
    pad_s: float = 0.03
    """Kept either side of the first/last speech frame, so that onsets and releases are not clipped."""


def voiced_region(audio: np.ndarray, sample_rate: int, config: TrimConfig = TrimConfig()) -> tuple[float, float]:
    """``(start_s, end_s)`` of the region between the first and last frame within ``below_peak_db`` of the
    loudest frame. ``audio``: float32 (n,), [-1, 1]."""
    from feature_extract import praat

    times_s, db = praat.intensity_track(audio, sample_rate)
    finite = np.isfinite(db)
    if not finite.any():
        raise ValueError("clip is silent")
    loud = np.flatnonzero(finite & (db >= np.nanmax(db) - config.below_peak_db))
    total_s = audio.size / sample_rate
    start_s = max(0.0, float(times_s[loud[0]]) - config.pad_s)
    end_s = min(total_s, float(times_s[loud[-1]]) + config.pad_s)
    return start_s, end_s


def measure_clip(path: str) -> dict[str, float]:
    """Features of one clip's voiced region: the plan fields plus ``range_st`` (F0 10-90 % spread)."""
    from feature_extract import praat
    from feature_extract.audio import load_audio
    from feature_extract.measure import measure_span

    audio, sample_rate = load_audio(path)
    start_s, end_s = voiced_region(audio, sample_rate)
    features = measure_span(audio, sample_rate, start_s, end_s)
    lo, hi = int(start_s * sample_rate), int(end_s * sample_rate)
    _, f0_hz = praat.pitch_track(audio[lo:hi], sample_rate)
    f0_hz = f0_hz[np.isfinite(f0_hz)]
    if f0_hz.size >= 5:
        p10, p90 = np.percentile(f0_hz, [10, 90])
        features["range_st"] = float(12.0 * math.log2(p90 / p10))
    else:
        features["range_st"] = float("nan")
    features["start_s"], features["end_s"] = start_s, end_s
    return features


def relative(clip: dict[str, float], ref: dict[str, float]) -> dict[str, float]:
    """The table's quantities for ``clip`` relative to its neutral reference ``ref`` (NaN where undefined)."""
    def st(a: float, b: float) -> float:
        return 12.0 * math.log2(a / b) if a > 0 and b > 0 else float("nan")

    def slope_st(features: dict[str, float]) -> float:
        # Hz/s -> st/s at the segment's own mean pitch (the local derivative of 12*log2(f)).
        return features["pitch_slope"] * 12.0 / (math.log(2.0) * features["pitch_mean"])

    return {
        "pitch_st": st(clip["pitch_mean"], ref["pitch_mean"]),
        "energy_db": 20.0 * math.log10(clip["energy_rms"] / ref["energy_rms"]),
        "rate_ratio": ref["duration"] / clip["duration"],
        "slope_st_per_s": slope_st(clip) - slope_st(ref),
        "energy_slope_db_per_s": clip["energy_slope"] - ref["energy_slope"],
        "centroid_st": st(clip["spectral_centroid"], ref["spectral_centroid"]),
        "range_st": clip["range_st"] - ref["range_st"],
    }


def summarise(values: list[float]) -> dict[str, float]:
    """Median, quartiles and count of the finite values."""
    arr = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    if arr.size == 0:
        return {"median": float("nan"), "q25": float("nan"), "q75": float("nan"), "n": 0}
    q25, median, q75 = np.percentile(arr, [25, 50, 75])
    return {"median": round(float(median), 3), "q25": round(float(q25), 3), "q75": round(float(q75), 3),
            "n": int(arr.size)}


def build_table(rows: list[dict[str, str]], features: dict[str, dict[str, float]]) -> dict[str, dict]:
    """Pool per-clip differences into ``{emotion: {intensity: {quantity: summary}}}``."""
    by_key = {(r["actor"], r["emotion"], r["intensity"], r["statement_text"], r["repetition"]): r["id"]
              for r in rows}
    pooled: dict[tuple[str, str], dict[str, list[float]]] = {}
    for r in rows:
        if r["emotion"] == "neutral":
            if r["repetition"] != "2":
                continue
            ref_id = by_key.get((r["actor"], "neutral", "normal", r["statement_text"], "1"))
        else:
            ref_id = by_key.get((r["actor"], "neutral", "normal", r["statement_text"], r["repetition"]))
        if ref_id is None or ref_id not in features or r["id"] not in features:
            continue
        diffs = relative(features[r["id"]], features[ref_id])
        bucket = pooled.setdefault((r["emotion"], r["intensity"]), {q: [] for q in QUANTITIES})
        for q in QUANTITIES:
            bucket[q].append(diffs[q])
    table: dict[str, dict] = {}
    for (emotion, intensity), lists in sorted(pooled.items()):
        table.setdefault(emotion, {})[intensity] = {q: summarise(v) for q, v in lists.items()}
    return table


def table_markdown(document: dict) -> str:
    """The table as Markdown: one row per emotion x intensity, ``median [q25, q75]`` per quantity."""
    titles = {"pitch_st": "pitch [st]", "energy_db": "energy [dB]", "rate_ratio": "rate ratio",
              "slope_st_per_s": "slope [st/s]", "energy_slope_db_per_s": "energy slope [dB/s]",
              "centroid_st": "centroid [st]", "range_st": "F0 range [st]"}
    lines = ["| emotion | intensity | n | " + " | ".join(titles[q] for q in QUANTITIES) + " |",
             "|---|---|---|" + "---|" * len(QUANTITIES)]
    for emotion, rows in document["table"].items():
        for intensity, row in rows.items():
            cells = [f"{row[q]['median']:+.2f} [{row[q]['q25']:+.2f}, {row[q]['q75']:+.2f}]"
                     if q != "rate_ratio" else
                     f"{row[q]['median']:.2f} [{row[q]['q25']:.2f}, {row[q]['q75']:.2f}]" for q in QUANTITIES]
            lines.append(f"| {emotion} | {intensity} | {row['pitch_st']['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "ravdess")
    parser.add_argument("--out", type=Path, default=ROOT / "baton" / "data" / "prosody_table.json")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="measure only the first N actors (quick check)")
    parser.add_argument("--markdown", action="store_true",
                        help="print the existing --out table as Markdown (for docs/prosody_table.md) and exit")
    args = parser.parse_args(argv)
    if args.markdown:
        print(table_markdown(json.loads(args.out.read_text(encoding="utf-8"))))
        return 0

    metadata = args.corpus / "metadata.csv"
    if not metadata.is_file():
        print(f"error: {metadata} not found; pass --corpus pointing at the RAVDESS folder (see DATA.md)",
              file=sys.stderr)
        return 2
    with metadata.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if args.limit:
        rows = [r for r in rows if int(r["actor"]) <= args.limit]
    paths = [str(args.corpus / "wavs" / f"{r['id']}.flac") for r in rows]

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from tqdm import tqdm

    features: dict[str, dict[str, float]] = {}
    failures: list[str] = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = pool.map(_measure_or_error, paths, chunksize=8)
        for r, (result, error) in tqdm(zip(rows, results), total=len(rows), desc="RAVDESS clips"):
            if error:
                failures.append(f"{r['id']}: {error}")
            else:
                features[r["id"]] = result
    for line in failures:
        print(f"skipped {line}", file=sys.stderr)

    table = build_table(rows, features)
    document = {
        "version": 1,
        "description": "Prosody of acted emotions relative to the same actor's neutral rendering of the same "
                       "sentence and repetition (medians and quartiles over clips). The neutral/normal row "
                       "compares the two neutral repetitions: the measurement's noise floor.",
        "units": {
            "pitch_st": "semitones, 12*log2(F0 mean / neutral F0 mean)",
            "energy_db": "dB, 20*log10(RMS / neutral RMS)",
            "rate_ratio": "neutral duration / duration of the voiced region (>1 = faster)",
            "slope_st_per_s": "pitch slope [st/s] minus the neutral one",
            "energy_slope_db_per_s": "intensity slope [dB/s] minus the neutral one",
            "centroid_st": "12*log2(spectral centroid / neutral centroid)",
            "range_st": "F0 10-90 percentile spread [st] minus the neutral one",
        },
        "provenance": {
            "corpus": "RAVDESS audio-only speech, 24 actors, 1440 clips (../shared/corpora/ravdess)",
            "clips_measured": len(features),
            "clips_skipped": len(failures),
            "method": "voiced region = first..last Praat intensity frame within "
                      f"{TrimConfig.below_peak_db:g} dB of the clip's peak (+{TrimConfig.pad_s:g} s); measured "
                      "as one span with feature_extract.measure.measure_span",
            "recipe": "recipes/measure_prosody_table.py",
            "measured_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
            "machine": f"{platform.machine()} {platform.system()}, 2 vCPU dev box, no GPU",
        },
        "citation": CITATION,
        "license_note": "Aggregate statistics derived from RAVDESS (CC BY-NC-SA 4.0); no audio is included.",
        "table": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(features)} clips, {len(failures)} skipped)")
    return 0


def _measure_or_error(path: str) -> tuple[dict[str, float] | None, str | None]:
    try:
        return measure_clip(path), None
    except (ValueError, OSError) as err:  # reported per clip and counted in the provenance
        return None, str(err)


if __name__ == "__main__":
    raise SystemExit(main())
