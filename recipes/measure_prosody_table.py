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

The same pairs also give the voice-quality changes (``hnr_db``, ``cpp_db``, ``alpha_ratio_db``,
``voiced_fraction``; stored under the JSON's ``voice_quality`` key, the prosody ``table`` is unchanged by
them). Every definition lives in ``feature_extract.utterance`` (shared with python -m benchmarks.emotion_render).

The row ``neutral/normal`` compares each actor's two neutral repetitions (rep 2 against rep 1): it is the
measurement's noise floor, not an emotion effect.

Usage (about 2 minutes on 2 cores)::

    nice -n 10 .venv/bin/python -m recipes.measure_prosody_table \
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
from pathlib import Path

import numpy as np

from feature_extract.utterance import (PROSODY_QUANTITIES, QUANTITY_UNITS, VOICE_QUALITY_QUANTITIES,
                                      TrimConfig, measure_utterance, relative, voiced_region)

ROOT = Path(__file__).resolve().parents[1]

QUANTITIES = PROSODY_QUANTITIES
CITATION = ("Livingstone S. R. and Russo F. A. (2018). The Ryerson Audio-Visual Database of Emotional Speech and "
            "Song (RAVDESS): A dynamic, multimodal set of facial and vocal expressions in North American "
            "English. PLoS ONE 13(5): e0196391. doi:10.1371/journal.pone.0196391. Zenodo: "
            "doi:10.5281/zenodo.1188976. Licence of the recordings: CC BY-NC-SA 4.0.")


def measure_clip(path: str) -> dict[str, float]:
    """Features of one clip's voiced region (``feature_extract.utterance.measure_utterance``): the plan
    fields, ``range_st`` (F0 10-90 % spread) and the voice-quality fields."""
    from feature_extract.audio import load_audio

    audio, sample_rate = load_audio(path)
    return measure_utterance(audio, sample_rate)


def summarise(values: list[float]) -> dict[str, float]:
    """Median, quartiles and count of the finite values."""
    arr = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    if arr.size == 0:
        return {"median": float("nan"), "q25": float("nan"), "q75": float("nan"), "n": 0}
    q25, median, q75 = np.percentile(arr, [25, 50, 75])
    return {"median": round(float(median), 3), "q25": round(float(q25), 3), "q75": round(float(q75), 3),
            "n": int(arr.size)}


def reference_pairs(rows: list[dict[str, str]]) -> list[tuple[dict[str, str], str]]:
    """``(clip row, id of its neutral reference)`` for every clip that has one: the same actor's neutral
    rendering of the same sentence and repetition; for neutral repetition 2, neutral repetition 1 (the noise
    floor row)."""
    by_key = {(r["actor"], r["emotion"], r["intensity"], r["statement_text"], r["repetition"]): r["id"]
              for r in rows}
    pairs = []
    for r in rows:
        if r["emotion"] == "neutral":
            if r["repetition"] != "2":
                continue
            ref_id = by_key.get((r["actor"], "neutral", "normal", r["statement_text"], "1"))
        else:
            ref_id = by_key.get((r["actor"], "neutral", "normal", r["statement_text"], r["repetition"]))
        if ref_id is not None:
            pairs.append((r, ref_id))
    return pairs


def build_table(rows: list[dict[str, str]], features: dict[str, dict[str, float]],
                quantities: tuple[str, ...] = QUANTITIES) -> dict[str, dict]:
    """Pool per-clip differences into ``{emotion: {intensity: {quantity: summary}}}``."""
    pooled: dict[tuple[str, str], dict[str, list[float]]] = {}
    for r, ref_id in reference_pairs(rows):
        if ref_id not in features or r["id"] not in features:
            continue
        diffs = relative(features[r["id"]], features[ref_id])
        bucket = pooled.setdefault((r["emotion"], r["intensity"]), {q: [] for q in quantities})
        for q in quantities:
            bucket[q].append(diffs.get(q, float("nan")))
    table: dict[str, dict] = {}
    for (emotion, intensity), lists in sorted(pooled.items()):
        table.setdefault(emotion, {})[intensity] = {q: summarise(v) for q, v in lists.items()}
    return table


TITLES = {"pitch_st": "pitch [st]", "energy_db": "energy [dB]", "rate_ratio": "rate ratio",
          "slope_st_per_s": "slope [st/s]", "energy_slope_db_per_s": "energy slope [dB/s]",
          "centroid_st": "centroid [st]", "range_st": "F0 range [st]", "hnr_db": "HNR [dB]", "cpp_db": "CPP [dB]",
          "alpha_ratio_db": "alpha ratio [dB]", "voiced_fraction": "voiced fraction"}


def table_markdown(document: dict, quantities: tuple[str, ...] = QUANTITIES) -> str:
    """``document["table"]`` as Markdown: one row per emotion x intensity, ``median [q25, q75]`` per quantity."""
    lines = ["| emotion | intensity | n | " + " | ".join(TITLES[q] for q in quantities) + " |",
             "|---|---|---|" + "---|" * len(quantities)]
    for emotion, rows in document["table"].items():
        for intensity, row in rows.items():
            cells = [f"{row[q]['median']:+.2f} [{row[q]['q25']:+.2f}, {row[q]['q75']:+.2f}]"
                     if q != "rate_ratio" else
                     f"{row[q]['median']:.2f} [{row[q]['q25']:.2f}, {row[q]['q75']:.2f}]" for q in quantities]
            lines.append(f"| {emotion} | {intensity} | {row[quantities[0]]['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def read_rows(corpus: Path, limit_actors: int = 0) -> list[dict[str, str]]:
    """RAVDESS metadata rows (id, actor, emotion, intensity, statement_text, repetition, ...), actors 1..N when
    ``limit_actors``. Raises FileNotFoundError (one line) when the corpus is not there."""
    metadata = corpus / "metadata.csv"
    if not metadata.is_file():
        raise FileNotFoundError(f"{metadata} not found; pass --corpus pointing at the RAVDESS folder (see DATA.md)")
    with metadata.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if int(r["actor"]) <= limit_actors] if limit_actors else rows


def measure_corpus(corpus: Path, rows: list[dict[str, str]],
                   workers: int) -> tuple[dict[str, dict[str, float]], list[str]]:
    """``({clip id: measure_clip features}, ["id: why skipped", ...])``, with a progress bar; skipped clips are
    also reported on stderr."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from tqdm import tqdm

    paths = [str(corpus / "wavs" / f"{r['id']}.flac") for r in rows]
    features: dict[str, dict[str, float]] = {}
    failures: list[str] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = pool.map(_measure_or_error, paths, chunksize=8)
        for r, (result, error) in tqdm(zip(rows, results), total=len(rows), desc="RAVDESS clips"):
            if error:
                failures.append(f"{r['id']}: {error}")
            else:
                features[r["id"]] = result
    for line in failures:
        print(f"skipped {line}", file=sys.stderr)
    return features, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "ravdess")
    parser.add_argument("--out", type=Path, default=ROOT / "baton" / "data" / "prosody_table.json")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="measure only the first N actors (quick check)")
    parser.add_argument("--markdown", action="store_true",
                        help="print the existing --out table as Markdown (for docs/prosody_table.md) and exit")
    parser.add_argument("--clip-features", type=Path, default=ROOT / "runs" / "ravdess_clip_features.json",
                        help="also write every clip's absolute features here (git-ignored runs/; read by "
                             "recipes/train_emotion_classifier.py; RAVDESS-derived, never ship it); '' = don't")
    parser.add_argument("--new-keys-only", action="store_true",
                        help="keep --out's existing 'table' and provenance as they are; add or replace only "
                             "'voice_quality' and 'remeasured' (today's code's prosody numbers, for comparison)")
    args = parser.parse_args(argv)
    if args.markdown:
        document = json.loads(args.out.read_text(encoding="utf-8"))
        print(table_markdown(document))
        for key, quantities in (("voice_quality", VOICE_QUALITY_QUANTITIES), ("remeasured", QUANTITIES)):
            if key in document:
                print(f"\n{key}:\n")
                print(table_markdown(document[key], quantities))
        return 0

    try:
        rows = read_rows(args.corpus, args.limit)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    features, failures = measure_corpus(args.corpus, rows, args.workers)

    table = build_table(rows, features)
    document = {
        "version": 1,
        "description": "Prosody of acted emotions relative to the same actor's neutral rendering of the same "
                       "sentence and repetition (medians and quartiles over clips). The neutral/normal row "
                       "compares the two neutral repetitions: the measurement's noise floor.",
        "units": {q: QUANTITY_UNITS[q] for q in QUANTITIES},
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
        "voice_quality": {
            "description": "Voice quality of the same clips, relative to the same references (same pooling); "
                           "measured over the voiced frames of the region with feature_extract.voice_quality.",
            "units": {q: QUANTITY_UNITS[q] for q in VOICE_QUALITY_QUANTITIES},
            "table": build_table(rows, features, VOICE_QUALITY_QUANTITIES),
        },
    }
    if args.new_keys_only:
        shipped = json.loads(args.out.read_text(encoding="utf-8"))
        shipped["voice_quality"] = document["voice_quality"]
        shipped["remeasured"] = {
            "description": "The prosody quantities re-measured with today's feature_extract, for tools that "
                           "measure with it (benchmarks/emotion_render.py). 'table' above is kept as the "
                           "conductor was tuned on it.",
            "provenance": document["provenance"],
            "table": table,
        }
        document = shipped
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(features)} clips, {len(failures)} skipped)")
    if str(args.clip_features) not in ("", "."):
        args.clip_features.parent.mkdir(parents=True, exist_ok=True)
        clips = {"corpus": str(args.corpus), "features": features}
        args.clip_features.write_text(json.dumps(clips) + "\n", encoding="utf-8")
        print(f"wrote {args.clip_features} (per-clip features; RAVDESS-derived, do not ship)")
    return 0


def _measure_or_error(path: str) -> tuple[dict[str, float] | None, str | None]:
    try:
        return measure_clip(path), None
    except (ValueError, OSError) as err:  # reported per clip and counted in the provenance
        return None, str(err)


if __name__ == "__main__":
    raise SystemExit(main())
