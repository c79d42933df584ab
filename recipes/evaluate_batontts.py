"""Evaluate a BatonTTS voice on the held-out LJSpeech clips: intelligibility and plan adherence.

    python -m recipes.evaluate_batontts --voice tts_model/voices/ljspeech --corpus ../shared/corpora/ljspeech \
        [--limit 50] [--adherence 10] [--json out.json]

* Intelligibility: WER of Whisper tiny.en (``baton.asr``) on each held-out clip synthesised with a neutral
  plan (the segments' words as measured from the recording, every field left to the model), next to the
  WER of the original recordings under the same ASR and normalisation.
* Plan adherence (first ``--adherence`` clips): the plan measured from the recording (feature_extract),
  shifted (pitch -6/-3/+3/+6 st, energy -6/+6 dB, duration x0.7/x1.4, and, beyond issue 3's cells, spectral
  centroid x0.8/x1.25), rendered, and each segment measured over its own span of the output (known from the
  per-segment chunks, pause excluded). Per cell: median absolute pitch error [st], energy error [dB], duration
  error [%], spectral-centroid error [st], and pitch-slope sign agreement over segments whose requested
  |slope| >= 15 Hz/s.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SHIFTS = (("pitch", -6), ("pitch", -3), ("pitch", 3), ("pitch", 6), ("energy", -6), ("energy", 6),
          ("duration", 0.7), ("duration", 1.4))
"""Issue 3's adherence cells: (field, shift). Pitch in semitones, energy in dB, duration a factor."""
CENTROID_SHIFTS = (("centroid", 0.8), ("centroid", 1.25))
"""Cells beyond issue 3's: the spectral centroid scaled by a factor (no bar; reported)."""
FACTOR_KINDS = ("duration", "centroid")


def cell_name(kind: str, amount: float) -> str:
    return f"{kind} x{amount:g}" if kind in FACTOR_KINDS else f"{kind} {amount:+g}"


def clean_plan(plan: list[dict]) -> list[dict]:
    """Plan segments as the synthesizer takes them: NaN (a field the recording left undefined) -> None."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in seg.items()} for seg in plan]


def shifted(plan: list[dict], kind: str, amount: float) -> list[dict]:
    out = []
    for seg in clean_plan(plan):
        if kind == "pitch":
            for key in ("pitch_mean", "pitch_slope"):
                if seg.get(key) is not None:
                    seg[key] = seg[key] * 2 ** (amount / 12)
        elif kind == "energy" and seg.get("energy_rms") is not None:
            seg["energy_rms"] = min(seg["energy_rms"] * 10 ** (amount / 20), 1.0)
        elif kind == "duration" and seg.get("duration") is not None:
            seg["duration"] = seg["duration"] * amount
        elif kind == "centroid" and seg.get("spectral_centroid") is not None:
            seg["spectral_centroid"] = seg["spectral_centroid"] * amount
        out.append(seg)
    return out


def adherence(synth, plan: list[dict]) -> list[dict]:
    """Render ``plan`` and measure each segment over its own audio; -> per-segment errors."""
    from feature_extract.measure import measure_span

    rows = []
    for chunk, seg in zip(synth.synthesize(plan), plan):
        pause = chunk.predicted["pause_after"]
        n = chunk.audio.size - int(round(pause * synth.sample_rate))
        if n < int(0.05 * synth.sample_rate):
            continue
        got = measure_span(chunk.audio, synth.sample_rate, 0.0, n / synth.sample_rate)
        row = {}
        if seg.get("pitch_mean") and math.isfinite(got["pitch_mean"]):
            row["pitch_st"] = 12 * math.log2(got["pitch_mean"] / seg["pitch_mean"])
        if seg.get("pitch_slope") is not None and abs(seg["pitch_slope"]) >= 15 and math.isfinite(got["pitch_slope"]):
            row["slope_agree"] = float(np.sign(got["pitch_slope"]) == np.sign(seg["pitch_slope"]))
        if seg.get("energy_rms") and math.isfinite(got["energy_rms"]):
            row["energy_db"] = 20 * math.log10(got["energy_rms"] / seg["energy_rms"])
        if seg.get("spectral_centroid") and math.isfinite(got["spectral_centroid"]):
            row["centroid_st"] = 12 * math.log2(got["spectral_centroid"] / seg["spectral_centroid"])
        if seg.get("duration"):
            row["duration_pct"] = 100 * (n / synth.sample_rate - seg["duration"]) / seg["duration"]
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    from baton.asr import corpus_wer, transcribe
    from feature_extract import extract_plan
    from feature_extract.audio import load_audio
    from recipes.ljspeech import HELD_OUT, read_metadata
    from tts_model.runtime.synthesizer import Synthesizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voice", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpora/ljspeech")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--adherence", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = [r for r in read_metadata(args.corpus) if r[0] in set(HELD_OUT)][: args.limit]
    synth = Synthesizer.load(args.voice, threads=args.threads)
    started = time.time()
    pairs_orig, pairs_synth, cells = [], [], {cell_name(k, a): [] for k, a in SHIFTS + CENTROID_SHIFTS}
    synth_s = audio_s = 0.0
    for i, (uid, text, path) in enumerate(rows):
        audio, sample_rate = load_audio(path, synth.sample_rate)
        # The recording's energies at the voice's output level (voice.json output_level_db): the model is then
        # told the recording's own loudness relative to its training level, as before output levels existed.
        plan = [{**seg, "energy_rms": seg["energy_rms"] * synth.output_gain} if isinstance(seg.get("energy_rms"), float)
                else seg for seg in extract_plan(audio, sample_rate, text)]
        neutral = [{"word": seg["word"]} for seg in plan]
        t0 = time.time()
        wave = synth.synthesize_all(neutral)
        synth_s += time.time() - t0
        audio_s += wave.size / synth.sample_rate
        pairs_orig.append((text, transcribe(audio, sample_rate, cpu_threads=args.threads)))
        pairs_synth.append((text, transcribe(wave, synth.sample_rate, cpu_threads=args.threads)))
        if i < args.adherence:
            for kind, amount in SHIFTS + CENTROID_SHIFTS:
                cells[cell_name(kind, amount)] += adherence(synth, shifted(plan, kind, amount))
    wer_orig, wer_synth = corpus_wer(pairs_orig), corpus_wer(pairs_synth)
    table = {}
    for name, seg_rows in cells.items():
        def med(key: str) -> float:
            values = [abs(r[key]) for r in seg_rows if key in r]
            return float(np.median(values)) if values else float("nan")
        agree = [r["slope_agree"] for r in seg_rows if "slope_agree" in r]
        table[name] = {"segments": len(seg_rows), "pitch_err_st": med("pitch_st"), "energy_err_db": med("energy_db"),
                       "duration_err_pct": med("duration_pct"), "centroid_err_st": med("centroid_st"),
                       "slope_sign_agree": float(np.mean(agree)) if agree else float("nan")}
    report = {"voice": str(args.voice), "clips": len(rows), "wer_original": wer_orig.wer, "wer_synth": wer_synth.wer,
              "rtf_neutral": synth_s / max(audio_s, 1e-9), "adherence": table, "minutes": (time.time() - started) / 60,
              "examples": [{"ref": r, "hyp": h} for r, h in pairs_synth[:3]]}
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
