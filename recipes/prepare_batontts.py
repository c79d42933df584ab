"""Prepare BatonTTS training data: corpus -> phonemes, frame durations, measured plans, log-mel -> shards.

    python -m recipes.prepare_batontts --corpus ../shared/corpora/ljspeech --out data/ljspeech [--jobs 2]

The corpus is a folder with ``metadata.csv`` (``id|raw text|normalised text``, LJSpeech format) and
``wavs/<id>.flac`` or ``.wav``. Per utterance:

1. forced alignment of the normalised text (``feature_extract.align``: words + phones with times);
2. the measured plan (``feature_extract.extract_plan`` on that alignment): segments with every plan field;
3. our front-end's phonemes for each segment's text, each mapped to the aligned word (token) it belongs to.
   When our phonemes and the aligner's phones of a word agree in number they take the aligner's times one to
   one; otherwise (different pronunciation variant) the word's time span is split evenly over our
   phonemes (counted in ``stats.words_resplit``). Punctuation tokens take the silence after the previous
   phone, and a pause token closes every segment holding its ``pause_after`` silence;
4. times -> mel-frame boundaries (hop 256 at 22.05 kHz); the mel is cropped to start at the first phone;
5. per phoneme: mean F0 over voiced frames (the Praat track feature_extract uses), mean power in dB; per mel
   frame: the track's F0 (NaN where unvoiced), which the exemplar bank stores (recipes/build_exemplars.py);
6. emphasis flags (pseudo-labels; LJSpeech has none): a word is marked when its pitch is at least 2 st and
   its energy at least 3 dB above the medians of its segment's words.

Held-out clips (``--held-out``, default LJ002-0151..LJ002-0200) are skipped entirely. The voice baseline is
the medians of the training segments (see :func:`baseline_from`); ``phone_s`` is the median seconds per
phoneme. Utterances the aligner or front-end cannot handle are skipped and counted, never silently guessed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from recipes.ljspeech import HELD_OUT, read_metadata
from tts_model.runtime import audio as audio_mod
from tts_model.runtime.config import CONTROL_NAMES
from tts_model.train.dataset import SHARD_MAX_BYTES, Utterance, write_shard
from tts_model.text.frontend import ARPABET, PAUSE, PHONEME_TO_ID, Frontend, FrontendError


_VOWELS = {p for p in ARPABET if p[-1].isdigit()}
_FRONTEND: Frontend | None = None


def process(item: tuple[str, str, Path]) -> tuple[str, dict | None, str]:
    """One utterance -> (id, arrays + measured segments, or None, reason when skipped)."""
    from feature_extract import extract_plan
    from feature_extract.align import AlignmentError, align
    from feature_extract.audio import load_audio
    from feature_extract.measure import Tracks

    global _FRONTEND
    _FRONTEND = _FRONTEND or Frontend()
    uid, text, path = item
    samples, sample_rate = load_audio(path, audio_mod.SAMPLE_RATE)
    try:
        alignment = align(samples, sample_rate, text)
        segments = extract_plan(samples, sample_rate, text, alignment=alignment)
    except (AlignmentError, ValueError) as err:
        return uid, None, f"alignment: {err}"
    units: list[tuple[str, float | None, float | None]] = []  # phoneme, start_s, end_s (None: fill in)
    seg_of_unit: list[int] = []
    word_of_unit: list[int] = []
    token_offset = 0
    resplit = 0
    for s, seg in enumerate(segments):
        tokens = seg["word"].split()
        try:
            ph = _FRONTEND.phonemize(seg["word"])
        except FrontendError as err:
            return uid, None, f"front-end: {err}"
        for t in sorted(set(ph.token_index)):
            word = alignment.words[token_offset + t]
            mine = [i for i, ti in enumerate(ph.token_index) if ti == t]
            spoken = [i for i in mine if ph.phonemes[i] in PHONEME_TO_ID and ph.phonemes[i] in ARPABET]
            times: dict[int, tuple[float, float]] = {}
            if len(spoken) == len(word.phones):
                times = {i: (p.start_s, p.end_s) for i, p in zip(spoken, word.phones)}
            elif spoken:
                resplit += 1
                edges = np.linspace(word.start_s, word.end_s, len(spoken) + 1)
                times = {i: (edges[k], edges[k + 1]) for k, i in enumerate(spoken)}
            for i in mine:
                start, end = times.get(i, (None, None))
                units.append((ph.phonemes[i], start, end))
                seg_of_unit.append(s)
                word_of_unit.append(s * 10000 + ph.word_index[i] if ph.word_index[i] >= 0 else -1)
        units.append((PAUSE, None, None))
        seg_of_unit.append(s)
        word_of_unit.append(-1)
        token_offset += len(tokens)
    # Unit start times: phones keep theirs; punctuation and pauses start where the previous phone ended.
    starts = []
    last_end = 0.0
    for phoneme, start, end in units:
        if start is None:
            starts.append(last_end)
        else:
            starts.append(max(start, last_end if starts else start))
            last_end = max(end, starts[-1])
    mel = audio_mod.log_mel(samples)
    bounds = np.maximum.accumulate(np.round(np.asarray(starts) / audio_mod.FRAME_S).astype(np.int64))
    first = int(min(bounds[0], len(mel) - 1))
    bounds = np.clip(bounds, first, len(mel))
    ends = np.append(bounds[1:], len(mel))
    durations = ends - bounds
    mel = mel[first:]
    if durations.sum() != len(mel) or len(mel) == 0:
        return uid, None, "frame bookkeeping"
    tracks = Tracks.compute(samples, sample_rate)
    n_frames_total = first + len(mel)
    frame_power = np.mean(samples[: n_frames_total * audio_mod.HOP_LENGTH].astype(np.float64).reshape(
        n_frames_total, audio_mod.HOP_LENGTH) ** 2, axis=1) if len(samples) >= n_frames_total * audio_mod.HOP_LENGTH \
        else None
    if frame_power is None:
        return uid, None, "audio shorter than its frames"
    pitch_hz = np.full(len(units), np.nan, dtype=np.float32)
    energy_db = np.full(len(units), np.nan, dtype=np.float32)
    for i, (lo, hi) in enumerate(zip(bounds, ends)):
        if hi <= lo:
            continue
        t0, t1 = lo * audio_mod.FRAME_S, hi * audio_mod.FRAME_S
        sel = (tracks.pitch_times_s >= t0) & (tracks.pitch_times_s < t1) & np.isfinite(tracks.f0_hz)
        if sel.any():
            pitch_hz[i] = float(np.mean(tracks.f0_hz[sel]))
        energy_db[i] = 10.0 * math.log10(float(np.mean(frame_power[lo:hi])) + 1e-10)
    emphasis = _emphasis(pitch_hz, energy_db, np.asarray(word_of_unit), np.asarray(seg_of_unit), durations)
    f0_hz = frame_f0_hz(tracks.pitch_times_s, tracks.f0_hz, first, len(mel))
    controls = np.asarray([[seg[name] for name in CONTROL_NAMES] for seg in segments], dtype=np.float32)
    result = {
        "phoneme_ids": np.asarray([PHONEME_TO_ID[u[0]] for u in units], dtype=np.int16),
        "segment_ids": np.asarray(seg_of_unit, dtype=np.int16), "durations": durations.astype(np.int16),
        "pitch_hz": pitch_hz, "energy_db": energy_db, "emphasis": emphasis, "controls": controls,
        "mel": mel.astype(np.float16), "f0_hz": f0_hz.astype(np.float16),
        "n_vowels": [sum(1 for u, s2 in zip(units, seg_of_unit) if s2 == s and u[0] in _VOWELS)
                     for s in range(len(segments))],
        "n_phones": [sum(1 for u, s2 in zip(units, seg_of_unit) if s2 == s and u[0] in ARPABET)
                     for s in range(len(segments))],
        "resplit": resplit,
    }
    return uid, result, ""


def frame_f0_hz(pitch_times_s: np.ndarray, pitch_hz: np.ndarray, first: int, n_frames: int) -> np.ndarray:
    """The pitch track (times_s, f0_hz with NaN where unvoiced) at the centres of mel frames first ..
    first + n_frames - 1: the nearest track frame's F0 (NaN when that frame is unvoiced or more than one track
    step away). float32 (n_frames,)."""
    centres_s = ((first + np.arange(n_frames)) * audio_mod.HOP_LENGTH + audio_mod.N_FFT / 2
                 - audio_mod.PAD_SAMPLES) / audio_mod.SAMPLE_RATE
    out = np.full(n_frames, np.nan, dtype=np.float32)
    if len(pitch_times_s) == 0 or n_frames == 0:
        return out
    step_s = float(np.median(np.diff(pitch_times_s))) if len(pitch_times_s) > 1 else 0.01
    distance_s = np.abs(pitch_times_s[None, :] - centres_s[:, None])  # (F, track frames): a few MB at most
    nearest = distance_s.argmin(axis=1)
    close = distance_s[np.arange(n_frames), nearest] <= step_s
    out[close] = pitch_hz[nearest[close]]
    return out


def _emphasis(pitch_hz: np.ndarray, energy_db: np.ndarray, words: np.ndarray, segs: np.ndarray,
              durations: np.ndarray) -> np.ndarray:
    flags = np.zeros(len(words), dtype=np.uint8)
    for s in np.unique(segs):
        ids = [w for w in np.unique(words[segs == s]) if w >= 0]
        stats = {}
        for w in ids:
            sel = (words == w) & (durations > 0)
            p = pitch_hz[sel & np.isfinite(pitch_hz)]
            e = energy_db[sel & np.isfinite(energy_db)]
            if p.size and e.size:
                stats[w] = (12.0 * math.log2(float(np.mean(p))), float(np.max(e)))
        if len(stats) < 3:
            continue
        med_p = float(np.median([v[0] for v in stats.values()]))
        med_e = float(np.median([v[1] for v in stats.values()]))
        for w, (p, e) in stats.items():
            if p >= med_p + 2.0 and e >= med_e + 3.0:
                flags[words == w] = 1
    return flags


def baseline_from(results: list[dict]) -> tuple[dict, float]:
    """Voice baseline (medians over training segments) and median seconds per phoneme."""
    controls = np.concatenate([r["controls"] for r in results])
    n_vowels = np.concatenate([r["n_vowels"] for r in results])
    n_phones = np.concatenate([r["n_phones"] for r in results])
    names = list(CONTROL_NAMES)
    pitch = controls[:, names.index("pitch_mean")]
    duration = controls[:, names.index("duration")]
    pauses = np.concatenate([r["controls"][:-1, names.index("pause_after")] for r in results])
    finite = lambda a: a[np.isfinite(a)]  # noqa: E731
    pitch_st = 12.0 * np.log2(finite(pitch))
    ok = np.isfinite(duration) & (duration > 0.1)
    baseline = {
        "pitch_mean_hz": float(np.median(finite(pitch))),
        "energy_rms": float(np.median(finite(controls[:, names.index("energy_rms")]))),
        "spectral_centroid_hz": float(np.median(finite(controls[:, names.index("spectral_centroid")]))),
        "speaking_rate_sps": float(np.median(n_vowels[ok] / duration[ok])),
        "pitch_range_st": float(np.subtract(*np.percentile(pitch_st, [75, 25]))),
        "pause_s": float(np.median(pauses[pauses > 0.03])) if (pauses > 0.03).any() else 0.25,
    }
    phone_s = float(np.median(duration[ok] / np.maximum(n_phones[ok], 1)))
    return baseline, phone_s


def _utterance_f0(item: tuple[str, Path, int]) -> tuple[str, np.ndarray]:
    """(id, audio path, number of mel frames in the shard) -> (id, frame_f0_hz) for :func:`add_frame_f0`."""
    from feature_extract.audio import load_audio
    from feature_extract.measure import Tracks

    uid, path, n_frames = item
    samples, sample_rate = load_audio(path, audio_mod.SAMPLE_RATE)
    first = audio_mod.n_frames(len(samples)) - n_frames  # the shard's mel is the recording's, cropped at the start
    tracks = Tracks.compute(samples, sample_rate)
    return uid, frame_f0_hz(tracks.pitch_times_s, tracks.f0_hz, first, n_frames)


def add_frame_f0(data_dir: Path, corpus: Path, jobs: int = 1) -> int:
    """Give shards prepared before per-frame F0 existed their ``f0_hz`` (same values as a fresh prepare, without
    re-aligning). Rewrites each shard atomically; returns the number of utterances updated."""
    from tts_model.train.dataset import load_index, read_shard

    paths = {uid: path for uid, _, path in read_metadata(corpus)}
    updated = 0
    for name in load_index(data_dir)["shards"]:
        utterances = read_shard(data_dir / name)
        missing = [u.id for u in utterances if u.id not in paths]
        if missing:
            raise FileNotFoundError(f"{len(missing)} utterances of {name} (e.g. {missing[0]}) have no audio in {corpus}")
        items = [(u.id, paths[u.id], len(u.mel)) for u in utterances]
        if jobs > 1:
            with ProcessPoolExecutor(jobs) as pool:
                f0 = dict(pool.map(_utterance_f0, items, chunksize=4))
        else:
            f0 = dict(map(_utterance_f0, items))
        tmp = data_dir / f"{name}.tmp.npz"
        write_shard(tmp, [dataclasses.replace(u, f0_hz=f0[u.id]) for u in utterances])
        tmp.replace(data_dir / name)
        updated += len(utterances)
    return updated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N clips (0 = all)")
    parser.add_argument("--held-out", nargs="*", default=list(HELD_OUT))
    parser.add_argument("--shard-mib", type=float, default=SHARD_MAX_BYTES / 2 ** 20)
    parser.add_argument("--add-f0", action="store_true",
                        help="only add per-frame F0 to the shards already in --out (prepared before it existed)")
    args = parser.parse_args(argv)
    if not (args.corpus / "metadata.csv").is_file():
        print(f"error: {args.corpus}/metadata.csv not found; pass a corpus folder in LJSpeech layout", file=sys.stderr)
        return 2
    if args.add_f0:
        try:
            n = add_frame_f0(args.out, args.corpus, args.jobs)
        except FileNotFoundError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"added per-frame F0 to {n} utterances in {args.out}")
        return 0
    held_out = set(args.held_out)
    rows = [r for r in read_metadata(args.corpus) if r[0] not in held_out]
    if args.limit:
        rows = rows[: args.limit]
    started = time.time()
    results: list[tuple[str, dict]] = []
    skipped: dict[str, str] = {}
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            outcomes = list(pool.map(process, rows, chunksize=2))
    else:
        outcomes = [process(r) for r in rows]
    for uid, result, reason in outcomes:
        if result is None:
            skipped[uid] = reason
        else:
            results.append((uid, result))
    if not results:
        print(f"error: no utterance could be prepared ({len(skipped)} skipped: {list(skipped.items())[:3]})",
              file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    baseline, phone_s = baseline_from([r for _, r in results])
    shards, index, batch, batch_bytes = [], {}, [], 0
    limit = args.shard_mib * 2 ** 20 * 0.9  # npz adds headers; keep a margin under the cap

    def flush() -> None:
        name = f"shard-{len(shards):03d}.npz"
        size = write_shard(args.out / name, batch)
        if size > args.shard_mib * 2 ** 20:
            raise RuntimeError(f"{name} is {size / 2 ** 20:.1f} MiB, over the {args.shard_mib} MiB cap")
        shards.append(name)
        index.update({u.id: name for u in batch})

    for uid, r in results:
        utt = Utterance(id=uid, **{k: r[k] for k in ("phoneme_ids", "segment_ids", "durations", "pitch_hz",
                                                      "energy_db", "emphasis", "controls", "mel", "f0_hz")})
        size = utt.mel.nbytes + 20 * len(utt.phoneme_ids) + utt.controls.nbytes
        if batch and batch_bytes + size > limit:
            flush()
            batch, batch_bytes = [], 0
        batch.append(utt)
        batch_bytes += size
    flush()
    stats = {"utterances": len(results), "skipped": skipped, "held_out_excluded": sorted(held_out),
             "words_resplit": int(sum(r["resplit"] for _, r in results)),
             "frames": int(sum(len(r["mel"]) for _, r in results)),
             "audio_s": round(sum(len(r["mel"]) for _, r in results) * audio_mod.FRAME_S, 1),
             "segments": int(sum(len(r["controls"]) for _, r in results)),
             "emphasised_phonemes": int(sum(int(r["emphasis"].sum()) for _, r in results)),
             "minutes": round((time.time() - started) / 60, 2), "corpus": str(args.corpus)}
    (args.out / "index.json").write_text(json.dumps(
        {"format": 1, "shards": shards, "utterances": index, "held_out": sorted(held_out), "baseline": baseline,
         "phone_s": phone_s, "stats": stats}, indent=1) + "\n", encoding="utf-8")
    print(f"prepared {len(results)} utterances ({stats['audio_s']} s, {len(skipped)} skipped) into {len(shards)} "
          f"shard(s) in {args.out}; baseline {json.dumps({k: round(v, 4) for k, v in baseline.items()})}, "
          f"phone_s {phone_s:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
