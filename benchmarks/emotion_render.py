"""Emotion benchmark: render our own sentences in every emotion and compare them with RAVDESS (issue 22, item 1).

Each sentence below is rendered neutrally (no instruction) and in every emotion at two intensities (e.g.
"happily" and "extremely happily") through one ``baton.Pipeline`` (embedded conductor, shipped voice, seed 0).
Each render is measured against the same sentence's neutral render with exactly the prosody table's
definitions (``feature_extract.utterance``: trimmed voiced region, one span): pitch_st, energy_db,
rate_ratio, slope_st_per_s, energy_slope_db_per_s, centroid_st, range_st, and voice quality (hnr_db, cpp_db,
alpha_ratio_db, voiced_fraction). Per emotion x intensity the median change over sentences is printed next to
RAVDESS's median [q25, q75] (normal intensity against RAVDESS "normal", strong against "strong"), with ✓ when
it lies inside that inter-quartile range. Whisper tiny.en transcribes every render; an emotion's pooled WER
must be at most 1.5x the neutral renders' (issue 22). With a classifier (``--classifier PATH`` or env
BATON_EMOTION_CLASSIFIER, from recipes/train_emotion_classifier.py) its confusion matrix is printed too.

Sentences: written for this benchmark (none from RAVDESS), split into ``dev`` (tune on these) and
``blind`` (do not look at them while tuning; report them separately). The renders are deterministic (the
voice ignores the seed; Whisper decodes at temperature 0), so a rerun on the same code gives the same table.

    python -m benchmarks.emotion_render                         # everything, about 5 min on 2 cores
    python -m benchmarks.emotion_render --split dev --emotions angry sad --no-asr   # quick look
    python -m benchmarks.emotion_render --json runs/emotion.json --classifier runs/emotion_clf.joblib
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

from baton.eval import emotion as emo
from feature_extract.utterance import PROSODY_QUANTITIES, VOICE_QUALITY_QUANTITIES, slope_windows

ROOT = Path(__file__).resolve().parents[1]

SENTENCES = (
    # (id, split, text): statements and questions, short and long.
    ("s01", "dev", "The train leaves at seven, so we should pack tonight."),
    ("s02", "dev", "Did you really leave the keys in the car?"),
    ("s03", "dev", "I found the letter."),
    ("s04", "dev", "She walked all the way home in the rain, and nobody even noticed that she was gone."),
    ("s05", "dev", "They moved the meeting to Friday afternoon."),
    ("s06", "dev", "Where were you last night?"),
    ("s07", "blind", "My brother painted the whole kitchen bright yellow."),
    ("s08", "blind", "Is this the box you were looking for?"),
    ("s09", "blind", "We waited for an hour, but the doctor never came back to see us."),
    ("s10", "blind", "Nothing is ever going to be the same again."),
)
INSTRUCTIONS = {
    # emotion: (normal intensity, strong intensity). Plain words the embedded conductor knows.
    "happy": ("happily", "extremely happily"),
    "sad": ("sadly", "extremely sadly"),
    "angry": ("angrily", "extremely angrily"),
    "fearful": ("fearfully", "extremely fearfully"),
    "surprised": ("surprised", "extremely surprised"),
    "calm": ("calmly", "extremely calmly"),
    "disgust": ("disgusted", "extremely disgusted"),
}
INTENSITIES = ("normal", "strong")
FIVE = ("happy", "sad", "angry", "fearful", "surprised")
"""Issue 22's target emotions (the count of emotions fully inside RAVDESS's IQR is over these)."""
TITLES = {"pitch_st": "pitch st", "energy_db": "energy dB", "rate_ratio": "rate ×", "slope_st_per_s": "slope st/s",
          "energy_slope_db_per_s": "E-slope dB/s", "centroid_st": "centroid st", "range_st": "F0 range st",
          "hnr_db": "HNR dB", "cpp_db": "CPP dB", "alpha_ratio_db": "alpha dB", "voiced_fraction": "voiced frac"}


PLANNED = ("pitch_st", "energy_db", "rate_ratio", "slope_st_per_s")
"""Features read off the plan itself, to tell a plan that asks too much or too little from a render that does
not deliver what was planned (``--planned``)."""


def plan_features(plan) -> dict[str, float]:
    """The plan's own utterance numbers: duration-weighted mean pitch [Hz] and RMS energy, spoken time
    (segments and the pauses between them) [s], and the least-squares slope [st/s] of the planned contour
    (each segment's line sampled every 10 ms)."""
    import numpy as np

    segs = plan.segments
    total_s = sum(s.duration for s in segs)
    times, pitch_st, start_s = [], [], 0.0
    for i, seg in enumerate(segs):
        t = np.arange(0.0, seg.duration, 0.01)
        hz = np.maximum(seg.pitch_mean + (seg.pitch_slope or 0.0) * (t - seg.duration / 2), 1.0)
        times.append(start_s + t)
        pitch_st.append(12.0 * np.log2(hz))
        start_s += seg.duration + (seg.pause_after or 0.0 if i < len(segs) - 1 else 0.0)
    times, pitch_st = np.concatenate(times), np.concatenate(pitch_st)
    return {"pitch_mean": sum(s.pitch_mean * s.duration for s in segs) / total_s,
            "energy_rms": math.sqrt(sum(s.energy_rms ** 2 * s.duration for s in segs) / total_s),
            "duration": start_s,
            "slope_st_per_s": _windowed_slope(times, pitch_st, start_s)}


def _windowed_slope(times_s, pitch_st, total_s: float) -> float:
    """Mean least-squares slope [st/s] over feature_extract.utterance.slope_windows of the spoken time: the
    windows the renders' slopes are measured over."""
    import numpy as np

    slopes = []
    for a, b in slope_windows(0.0, total_s):
        keep = (times_s >= a) & (times_s < b)
        if keep.sum() > 1:
            slopes.append(float(np.polyfit(times_s[keep], pitch_st[keep], 1)[0]))
    return float(np.mean(slopes)) if slopes else 0.0


def planned_change(plan, neutral_plan) -> dict[str, float]:
    """:data:`PLANNED` of ``plan`` relative to the same sentence's neutral plan (as feature_extract.relative)."""
    a, b = plan_features(plan), plan_features(neutral_plan)
    return {"pitch_st": 12.0 * math.log2(a["pitch_mean"] / b["pitch_mean"]),
            "energy_db": 20.0 * math.log10(a["energy_rms"] / b["energy_rms"]),
            "rate_ratio": b["duration"] / a["duration"],
            "slope_st_per_s": a["slope_st_per_s"] - b["slope_st_per_s"]}


def render_all(pipe, sentences, emotions, intensities, asr: bool, seed: int, save_audio: Path | None) -> list[dict]:
    """One record per render: ids, instruction, absolute features, change vs neutral, transcript, WER."""
    from tqdm import tqdm

    from baton import asr as baton_asr
    from baton.pipeline import save_audio as write_audio
    from feature_extract.utterance import measure_utterance, relative

    jobs = [(s, None, "neutral", "normal") for s in sentences]
    jobs += [(s, INSTRUCTIONS[e][INTENSITIES.index(i)], e, i) for s in sentences for e in emotions for i in intensities]
    records, neutral, neutral_plans = [], {}, {}
    for (sid, split, text), instruction, emotion, intensity in tqdm(jobs, desc="renders", unit="render",
                                                                   file=sys.stderr, disable=None):
        speech = pipe.speak(text, instruction, seed=seed)
        try:
            features = measure_utterance(speech.audio, speech.sample_rate)
        except ValueError as err:  # a silent render: recorded, every feature then counts as outside
            features = {"error": str(err)}
        record = {"sentence": sid, "split": split, "text": text, "emotion": emotion, "intensity": intensity,
                  "instruction": instruction, "audio_s": speech.duration_s,
                  "peak": float(abs(speech.audio).max()) if speech.audio.size else math.nan,
                  "features": features}
        understand = getattr(pipe.conductor, "understand", None)  # the embedded conductor's reading
        if understand is not None:
            intent = understand(instruction)
            record["understood"] = {"emotion": intent.emotion, "level": float(intent.level)}
        if emotion == "neutral":
            neutral[sid] = features
            neutral_plans[sid] = speech.plan
        record["planned"] = planned_change(speech.plan, neutral_plans[sid])
        record["change"] = ({} if "error" in features or "error" in neutral[sid]
                            else relative(features, neutral[sid]))
        if asr:
            record["transcript"] = baton_asr.transcribe(speech.audio, speech.sample_rate)
            counts = baton_asr.wer_counts(text, record["transcript"])
            record.update(word_errors=counts.errors, ref_words=counts.ref_words)
        if save_audio is not None:
            save_audio.mkdir(parents=True, exist_ok=True)
            write_audio(save_audio / f"{sid}_{emotion}_{intensity}.wav", speech.audio, speech.sample_rate)
        records.append(record)
    return records


def misread(records: list[dict]) -> list[str]:
    """Instructions the conductor understood as another emotion than the one asked (the rows then measure
    something else), one line each."""
    seen, lines = set(), []
    for r in records:
        understood = r.get("understood")
        if understood and understood["emotion"] != r["emotion"] and r["instruction"] not in seen:
            seen.add(r["instruction"])
            lines.append(f"warning: the conductor read {r['instruction']!r} as {understood['emotion']} "
                         f"(level {understood['level']:g}), not {r['emotion']}")
    return lines


def summarise(records: list[dict], table: dict, prosody: str = "remeasured") -> dict:
    """Per emotion x intensity: feature checks against RAVDESS and pooled WER; the counts of issue 22."""
    rows, wers, peaks = {}, {}, {}
    keys = sorted({(r["emotion"], r["intensity"]) for r in records},
                  key=lambda k: (k[0] != "neutral", k[0], INTENSITIES.index(k[1])))
    for emotion, intensity in keys:
        mine = [r for r in records if r["emotion"] == emotion and r["intensity"] == intensity]
        changes = {q: [r["change"].get(q, math.nan) for r in mine] for q in emo.FEATURES}
        peaks[(emotion, intensity)] = max((r.get("peak", math.nan) for r in mine), default=math.nan)
        rows[(emotion, intensity)] = emo.compare(changes, emo.reference_stats(table, emotion, intensity, prosody))
        if all("word_errors" in r for r in mine):
            words = sum(r["ref_words"] for r in mine)
            wers[(emotion, intensity)] = sum(r["word_errors"] for r in mine) / words if words else math.nan
    neutral_wer = wers.get(("neutral", "normal"), math.nan)
    counts = {}
    for intensity in INTENSITIES:
        five = {k: v for k, v in rows.items() if k[0] in FIVE}
        counts[intensity] = {
            "all_features": emo.count_fully_inside(five, intensity, emo.FEATURES),
            "prosody_only": emo.count_fully_inside(five, intensity, PROSODY_QUANTITIES),
        }
    return {"rows": rows, "wer": wers, "neutral_wer": neutral_wer, "counts": counts, "peak": peaks}


def _cell(check: emo.FeatureCheck) -> str:
    fmt = "{:.2f}" if check.quantity in ("rate_ratio", "voiced_fraction") else "{:+.1f}"
    got = fmt.format(check.rendered) if math.isfinite(check.rendered) else "nan"
    if not check.has_reference:
        return f"{got} (–)"
    ref = f"{fmt.format(check.ravdess_median)} [{fmt.format(check.q25)}, {fmt.format(check.q75)}]"
    return f"{got} {emo.mark(check.inside)} {ref}"


def markdown(summary: dict, quantities, extra_wer: bool = False, peak: bool = False) -> str:
    """One row per emotion x intensity; ``extra_wer`` adds pooled WER and its bar, ``peak`` the largest |sample|."""
    head = (["emotion", "int."] + [TITLES[q] for q in quantities] + (["WER", "≤1.5×"] if extra_wer else [])
            + (["peak"] if peak else []))
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---|" * (len(head) - 2)]
    for (emotion, intensity), checks in summary["rows"].items():
        cells = [_cell(checks[q]) for q in quantities]
        if extra_wer:
            wer = summary["wer"].get((emotion, intensity), math.nan)
            ok = None if emotion == "neutral" else emo.wer_ok(wer, summary["neutral_wer"])
            cells += [f"{100 * wer:.1f} %" if math.isfinite(wer) else "–", emo.mark(ok)]
        if peak:
            cells.append(f"{summary['peak'].get((emotion, intensity), math.nan):.2f}")
        lines.append(f"| {emotion} | {intensity} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def classify(records: list[dict], classifier: emo.EmotionClassifier) -> dict:
    """The classifier's judgement of every render of a classifier emotion, and its confusion per intensity."""
    labels = list(classifier.labels)
    chosen = [r for r in records if r["emotion"] in labels]
    judged = classifier.predict([r["change"] for r in chosen])
    for r, j in zip(chosen, judged):
        r["judged"] = j
    out = {"labels": labels, "meta": classifier.meta}
    for intensity in INTENSITIES:
        # The neutral render is every sentence's reference, so its row (all changes 0) is shared by both intensities.
        subset = [r for r in chosen if r["intensity"] == intensity or r["emotion"] == "neutral"]
        asked, got = [r["emotion"] for r in subset], [r["judged"] for r in subset]
        emotional = [(a, g) for a, g in zip(asked, got) if a != "neutral"]
        out[intensity] = {
            "confusion": emo.confusion(asked, got, labels),
            "accuracy": sum(a == g for a, g in zip(asked, got)) / len(asked) if asked else math.nan,
            "accuracy_without_neutral": (sum(a == g for a, g in emotional) / len(emotional)
                                         if emotional else math.nan),
            "n": len(asked),
        }
    return out


def planned_markdown(records: list[dict], summary: dict) -> str:
    """Per emotion x intensity and :data:`PLANNED` feature: the plan's median change, the render's, and
    RAVDESS's IQR: a miss with the plan outside the IQR is the conductor's, one with the plan inside the
    render's."""
    import statistics

    lines = ["| emotion | int. | " + " | ".join(f"{TITLES[q]}: plan / render [IQR]" for q in PLANNED) + " |",
             "|---|---|" + "---|" * len(PLANNED)]
    for (emotion, intensity), checks in summary["rows"].items():
        if emotion == "neutral":
            continue
        cells = []
        for q in PLANNED:
            planned = [r["planned"][q] for r in records if r["emotion"] == emotion and r["intensity"] == intensity
                       and "planned" in r and math.isfinite(r["planned"][q])]
            check = checks[q]
            plan = statistics.median(planned) if planned else math.nan
            fmt = "{:.2f}" if q == "rate_ratio" else "{:+.1f}"
            cells.append(f"{fmt.format(plan)} / {fmt.format(check.rendered)} "
                         f"[{fmt.format(check.q25)}, {fmt.format(check.q75)}]")
        lines.append(f"| {emotion} | {intensity} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else "/".join(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, emo.FeatureCheck):
        return _jsonable({"rendered": value.rendered, "n": value.n_rendered, "ravdess_median": value.ravdess_median,
                          "q25": value.q25, "q75": value.q75, "inside": value.inside})
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Render our own sentences in every emotion and compare each feature's change against "
                    "RAVDESS's inter-quartile range (issue 22). Prints Markdown tables.",
        epilog="Sentences: " + ", ".join(f"{i} ({s})" for i, s, _ in SENTENCES))
    parser.add_argument("--voice", default=None, help="voice id or directory (default: the shipped voice)")
    parser.add_argument("--sentences", nargs="+", metavar="ID", help="only these sentence ids (e.g. s01 s03)")
    parser.add_argument("--split", choices=("dev", "blind", "all"), default="all", help="sentence split (default all)")
    parser.add_argument("--emotions", nargs="+", metavar="EMOTION", help=f"only these ({', '.join(INSTRUCTIONS)})")
    parser.add_argument("--intensities", nargs="+", choices=INTENSITIES, default=list(INTENSITIES))
    parser.add_argument("--no-asr", action="store_true", help="skip Whisper (no WER; faster)")
    parser.add_argument("--classifier", type=Path, default=None,
                        help=f"emotion classifier bundle (default: env {emo.CLASSIFIER_ENV}, else none)")
    parser.add_argument("--table", type=Path, default=ROOT / "baton" / "data" / "prosody_table.json",
                        help="RAVDESS prosody table JSON (default: the shipped one)")
    parser.add_argument("--reference", choices=("remeasured", "shipped"), default="remeasured",
                        help="RAVDESS prosody numbers to compare with: 'remeasured' (the JSON's 'remeasured' table, "
                             "measured with today's feature_extract like the renders; default) or 'shipped' "
                             "(its 'table', which the conductor plans with; its pitch numbers predate the "
                             "two-pass pitch tracker)")
    parser.add_argument("--json", type=Path, help="also write every render's numbers and the summary here")
    parser.add_argument("--from-json", type=Path, metavar="JSON",
                        help="re-score the renders saved by an earlier --json run (no rendering; the filters apply)")
    parser.add_argument("--save-audio", type=Path, metavar="DIR", help="write each render as DIR/<id>_<emotion>_<int>.wav")
    parser.add_argument("--seed", type=int, default=0, help="seed for every render (today's voice ignores it)")
    args = parser.parse_args(argv)
    known_ids = [s[0] for s in SENTENCES]
    for sid in args.sentences or []:
        if sid not in known_ids:
            parser.error(f"unknown sentence id {sid!r}; valid: {', '.join(known_ids)}")
    for emotion in args.emotions or []:
        if emotion not in INSTRUCTIONS:
            parser.error(f"unknown emotion {emotion!r}; valid: {', '.join(INSTRUCTIONS)}")
    return args


def print_counts(summary: dict, intensities, label: str = "") -> None:
    for intensity in intensities:
        c = summary["counts"][intensity]
        n_all, of_all, names_all = c["all_features"]
        n_pro, of_pro, _ = c["prosody_only"]
        print(f"{label}{intensity}: {n_all} of {of_all} emotions have every feature inside RAVDESS's IQR"
              f"{' (' + ', '.join(names_all) + ')' if names_all else ''}; prosody features only: {n_pro} of {of_pro}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sentences = [s for s in SENTENCES if (not args.sentences or s[0] in args.sentences)
                 and args.split in ("all", s[1])]
    if not sentences:
        print("error: no sentence left after --sentences/--split; see --help for the ids", file=sys.stderr)
        return 2
    emotions = args.emotions or list(INSTRUCTIONS)
    try:
        table = json.loads(args.table.read_text(encoding="utf-8"))
        classifier = emo.EmotionClassifier.from_env(args.classifier)
        previous = json.loads(args.from_json.read_text(encoding="utf-8")) if args.from_json else None
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if previous is not None:  # re-score saved renders: same filters, no rendering
        ids = {s[0] for s in sentences}
        records = [r for r in previous["renders"] if r["sentence"] in ids and (
            r["emotion"] == "neutral" or (r["emotion"] in emotions and r["intensity"] in args.intensities))]
        context = dict(previous["context"], rescored_from=str(args.from_json))
        asr = all("word_errors" in r for r in records)
    else:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from baton import Pipeline

        started = time.perf_counter()
        try:
            pipe = Pipeline.load(args.voice)
        except (RuntimeError, ValueError, OSError) as err:  # SynthesisError / ConductorError: one line
            print(f"error: {err}", file=sys.stderr)
            return 2
        asr = not args.no_asr
        records = render_all(pipe, sentences, emotions, args.intensities, asr, args.seed, args.save_audio)
        context = {"voice": pipe.voice_id, "conductor": pipe.conductor.name, "seed": args.seed,
                   "date": str(_dt.date.today()), "machine": f"{platform.machine()} {platform.system()}",
                   "elapsed_s": round(time.perf_counter() - started, 1), "argv": sys.argv[1:]}
    context["prosody_reference"] = args.reference
    summary = summarise(records, table, args.reference)

    print(f"## Emotion renders vs RAVDESS (voice {context['voice']}, conductor {context['conductor']}, sentences "
          f"{' '.join(sorted({r['sentence'] for r in records}))}; {context['date']}, {context['elapsed_s']:.0f} s)\n")
    print("Cells: rendered median change over sentences, ✓ inside / ✗ outside RAVDESS's IQR, "
          f"then RAVDESS median [q25, q75] (prosody reference: {args.reference}).\n")
    print(markdown(summary, PROSODY_QUANTITIES))
    print()
    print(markdown(summary, VOICE_QUALITY_QUANTITIES, extra_wer=asr, peak=True))
    print()
    print(planned_markdown(records, summary))
    print()
    print_counts(summary, args.intensities)
    splits = sorted({r["split"] for r in records}, key=lambda split: (split != "dev", split))
    if len(splits) > 1:
        for split in splits:
            print_counts(summarise([r for r in records if r["split"] == split], table, args.reference),
                         args.intensities, f"  {split} sentences only, ")
    for line in misread(records):
        print(line)
    if asr:
        print(f"neutral renders' WER {100 * summary['neutral_wer']:.1f} % (bar for each emotion: ≤ "
              f"{emo.WER_RATIO_MAX:g}× that)")
    clf = None
    if classifier is not None:
        clf = classify(records, classifier)
        for intensity in args.intensities:
            part = clf[intensity]
            print(f"\n### Classifier ({classifier.meta.get('name', 'RAVDESS')}), {intensity} intensity: "
                  f"{part['accuracy']:.0%} of {part['n']} renders (without neutral: "
                  f"{part['accuracy_without_neutral']:.0%}; neutral's changes are 0 by construction)\n")
            print(emo.confusion_markdown(part["confusion"], clf["labels"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = {"context": context, "rows": summary["rows"], "wer": summary["wer"],
                    "neutral_wer": summary["neutral_wer"], "counts": summary["counts"], "peak": summary["peak"],
                    "classifier": clf, "renders": records}
        args.json.write_text(json.dumps(_jsonable(document), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
