"""How high and how steep can the shipped voice go? Render pitch shifts and ramps across neutral plans.

Each of the emotion benchmark's sentences is planned neutrally (embedded conductor, no instruction) and
rendered as it is and with a pitch offset that runs linearly from ``start`` to ``end`` semitones over the
utterance (segment centres; each segment's own slope gets the ramp's slope on top). A flat shift has
start == end. Every render is measured against the sentence's neutral render with the emotion benchmark's
definitions (``feature_extract.utterance``), and the table gives the medians over sentences of the planned and
the rendered changes: pitch level [st], pitch slope [st/s], F0 range [st].

What it showed (2026-12-05, docs/emotion.md "The voice's pitch ceiling"): the voice renders about +9.3 st at
most, however much higher the plan asks, and keeps about half of a ramp's slope above +6 st.

    python -m benchmarks.pitch_ceiling                                  # 4 sentences, 13 offsets, ~4 min on 2 cores
    python -m benchmarks.pitch_ceiling --sentences 10 --ramp 4 12 --ramp 12 12 --json runs/ceiling.json
    python -m benchmarks.pitch_ceiling --corpus-f0 ../shared/corpora/ljspeech    # how high the training speech goes
    python -m benchmarks.pitch_ceiling --vocoder-shifts ../shared/corpora/ljspeech --voice ljspeech --voice ljspeech-v1

``--vocoder-shifts`` asks the vocoder alone: held-out recordings are pitch-shifted by PSOLA (Praat's
"Change gender", formants kept), turned into log-mels with the vocoder's own front end, vocoded by each voice's
vocoder, and the median F0 of what comes out is set against that of what went in. A vocoder that follows its
input renders the same F0 (2026-12-06: V1 follows to +15 st within 1.2 %; the shipped distilled one
renders +12 st inputs 4 st low).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from baton.plan import Plan
from benchmarks.emotion_render import SENTENCES
from plan_contract import UserError

DEFAULT_RAMPS_ST = ((3, 3), (6, 6), (8, 8), (10, 10), (12, 12), (14, 14),
                    (9, 12), (6, 12), (4, 12), (2, 12), (6, 10), (4, 10), (4, 14))
"""(start, end) offsets [st]: flat shifts first, then ramps."""


def segment_centres_s(plan: Plan) -> np.ndarray:
    """Time of each segment's middle from the start of the utterance [s], pauses included."""
    starts_s = np.cumsum([0.0] + [s.duration + (s.pause_after or 0.0) for s in plan.segments])[:-1]
    return starts_s + np.array([s.duration / 2.0 for s in plan.segments])


def ramp_plan(plan: Plan, start_st: float, end_st: float) -> Plan:
    """``plan`` with a pitch offset rising linearly from ``start_st`` at the first segment's centre to ``end_st``
    at the last one's (one segment: their mean); each segment's slope [Hz/s] gets the ramp's slope added."""
    centres_s = segment_centres_s(plan)
    span_s = float(centres_s[-1] - centres_s[0])
    ramp_st_per_s = (end_st - start_st) / span_s if span_s > 0 else 0.0
    segments = []
    for segment, centre_s in zip(plan.segments, centres_s):
        offset_st = start_st + ramp_st_per_s * (centre_s - centres_s[0]) if span_s > 0 else (start_st + end_st) / 2
        factor = 2.0 ** (offset_st / 12.0)
        pitch_hz = segment.pitch_mean * factor
        slope_hz_per_s = (segment.pitch_slope or 0.0) * factor + ramp_st_per_s * pitch_hz * math.log(2) / 12.0
        segments.append(dataclasses.replace(segment, pitch_mean=pitch_hz, pitch_slope=slope_hz_per_s))
    return plan.replace_segments(segments)


def planned_slope_st_per_s(plan: Plan, start_st: float, end_st: float) -> float:
    """The ramp's own slope [st/s] over ``plan`` (0 for a flat shift or a single segment)."""
    centres_s = segment_centres_s(plan)
    span_s = float(centres_s[-1] - centres_s[0])
    return (end_st - start_st) / span_s if span_s > 0 else 0.0


def corpus_f0_table(corpus: Path, baseline_hz: float) -> str:
    """Percentiles of the voiced frames' F0 [Hz] over every clip under ``corpus``/wavs (Praat, 75-600 Hz), and the
    share of frames at or above +6/+9/+12 st over ``baseline_hz``: how much training speech the voice has up there."""
    import parselmouth
    import soundfile as sf

    clips = sorted((corpus / "wavs").glob("*.flac")) + sorted((corpus / "wavs").glob("*.wav"))
    if not clips:
        raise SystemExit(f"no .flac or .wav clips under {corpus / 'wavs'}")
    frames_hz = []
    for clip in clips:
        samples, rate_hz = sf.read(clip, dtype="float64")
        f0_hz = parselmouth.Sound(samples, rate_hz).to_pitch(pitch_floor=75, pitch_ceiling=600).selected_array["frequency"]
        frames_hz.append(f0_hz[f0_hz > 0])
    f0_hz = np.concatenate(frames_hz)
    lines = [f"## F0 of {corpus} ({len(clips)} clips, {f0_hz.size} voiced frames; baseline {baseline_hz:.0f} Hz)", "",
             "| percentile | 50 | 90 | 95 | 99 |", "|---|---|---|---|---|",
             "| F0 Hz | " + " | ".join(f"{np.percentile(f0_hz, q):.0f}" for q in (50, 90, 95, 99)) + " |", "",
             "| at or above | +6 st | +9 st | +12 st |", "|---|---|---|---|",
             "| share of voiced frames | " + " | ".join(
                 f"{100 * np.mean(f0_hz >= baseline_hz * 2 ** (st / 12)):.1f} %" for st in (6, 9, 12)) + " |"]
    return "\n".join(lines)


VOCODER_SHIFTS_ST = (0.0, 6.0, 9.0, 12.0, 15.0)
"""PSOLA shifts [st] that ``--vocoder-shifts`` gives each recording."""


def median_f0_hz(samples: np.ndarray, rate_hz: int) -> float:
    """Median F0 of the voiced frames [Hz] by the project's pitch tracker
    (:func:`feature_extract.praat.pitch_track`); NaN where nothing is voiced."""
    from feature_extract.praat import pitch_track

    _, f0_hz = pitch_track(samples, rate_hz)
    voiced = f0_hz[np.isfinite(f0_hz)]
    return float(np.median(voiced)) if voiced.size else math.nan


def psola_shift(samples: np.ndarray, rate_hz: int, median_hz: float, shift_st: float) -> np.ndarray:
    """``samples`` (median F0 ``median_hz``) with their pitch moved by ``shift_st`` semitones (Praat "Change
    gender": PSOLA; formants, duration and the contour's shape kept)."""
    import parselmouth
    from parselmouth.praat import call

    sound = parselmouth.Sound(np.asarray(samples, dtype=np.float64), rate_hz)
    if shift_st == 0:
        return sound.values[0]
    return call(sound, "Change gender", 75, 600, 1.0, median_hz * 2 ** (shift_st / 12), 1.0, 1.0).values[0]


def vocoder_shift_table(corpus: Path, voices: Sequence[str], clips: int, shifts_st: Sequence[float]) -> str:
    """Markdown table: median over ``clips`` held-out recordings of the F0 [Hz] that went into the vocoder (the
    PSOLA-shifted recording) and that came out of each voice's vocoder, per shift."""
    from feature_extract.audio import AudioError, load_audio
    from recipes.ljspeech import HELD_OUT
    from tts_model.runtime import audio
    from tts_model.runtime.config import VoiceConfig
    from tts_model.runtime.synthesizer import find_voice
    from tts_model.runtime.vocoder import OnnxVocoder, resolve_vocoder

    candidates = [corpus / "wavs" / f"{clip_id}{suffix}" for clip_id in HELD_OUT for suffix in (".flac", ".wav")]
    paths = [p for p in candidates if p.is_file()][:clips]
    if not paths:
        raise SystemExit(f"no held-out clips ({HELD_OUT[0]}..{HELD_OUT[-1]}) under {corpus / 'wavs'}")
    vocoders = {}
    for voice in voices:
        try:
            voice_dir = find_voice(voice)
            config = VoiceConfig.load(voice_dir / "voice.json")
            vocoders[voice] = OnnxVocoder.load(resolve_vocoder(voice_dir, config.vocoder_file), threads=1)
        except UserError as err:
            raise SystemExit(f"error: --voice {voice}: {err}") from None
    went_in = {s: [] for s in shifts_st}
    came_out = {(v, s): [] for v in voices for s in shifts_st}
    measured = 0
    for k, path in enumerate(paths, 1):
        try:  # mono, at the vocoder's rate
            samples, rate_hz = load_audio(path, audio.SAMPLE_RATE)
        except AudioError as err:
            print(f"[{k}/{len(paths)}] {path.name}: skipped ({err})", file=sys.stderr, flush=True)
            continue
        median_hz = median_f0_hz(samples, rate_hz)
        if not math.isfinite(median_hz):
            print(f"[{k}/{len(paths)}] {path.name}: skipped (no voiced frames)", file=sys.stderr, flush=True)
            continue
        for shift_st in shifts_st:
            shifted = np.clip(psola_shift(samples, rate_hz, median_hz, shift_st), -1.0, 1.0).astype(np.float32)
            went_in[shift_st].append(median_hz if shift_st == 0 else median_f0_hz(shifted, rate_hz))
            mel = audio.log_mel(shifted)
            for voice, vocoder in vocoders.items():
                came_out[(voice, shift_st)].append(median_f0_hz(vocoder.vocode(mel), audio.SAMPLE_RATE))
        measured += 1
        print(f"[{k}/{len(paths)}] {path.name}", file=sys.stderr, flush=True)
    if not measured:
        raise SystemExit(f"none of the {len(paths)} held-out clips under {corpus / 'wavs'} could be read")
    lines = [f"## The vocoder alone on PSOLA-shifted recordings ({measured} held-out clips; median F0 Hz)", "",
             "| shift st | into the vocoder | " + " | ".join(voices) + " |",
             "|---|---|" + "---|" * len(voices)]
    for shift_st in shifts_st:
        cells = [f"{np.nanmedian(came_out[(v, shift_st)]):.0f}" for v in voices]
        lines.append(f"| {shift_st:+g} | {np.nanmedian(went_in[shift_st]):.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pitch_ceiling", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voice", action="append", help="voice to render with (name or folder; default: the shipped "
                        "ljspeech); repeatable with --vocoder-shifts only")
    parser.add_argument("--sentences", type=int, default=4, help="how many of the emotion benchmark's sentences "
                        f"(1-{len(SENTENCES)}, in order; default 4)")
    parser.add_argument("--ramp", type=float, nargs=2, action="append", metavar=("START_ST", "END_ST"),
                        help="offset [st] at the first and last segment; repeat for more (default: 13 offsets, "
                             "flat +3..+14 and ramps ending at +10..+14)")
    parser.add_argument("--skip-stage", action="append", default=[], metavar="STAGE",
                        help="leave this render-chain stage out (repeatable; names in the voice's voice.json): "
                             "which stage holds the ceiling")
    parser.add_argument("--json", help="also write the per-sentence measurements here")
    parser.add_argument("--corpus-f0", type=Path, metavar="CORPUS",
                        help="instead of rendering: F0 percentiles of a corpus's clips (CORPUS/wavs), e.g. the voice's "
                             "training speech, and the share of frames above +6/+9/+12 st over the voice's baseline")
    parser.add_argument("--vocoder-shifts", type=Path, metavar="CORPUS",
                        help="instead of rendering plans: the vocoder alone on PSOLA-shifted held-out recordings of "
                             "CORPUS (LJSpeech layout), each --voice's vocoder")
    parser.add_argument("--clips", type=int, default=8, help="held-out recordings for --vocoder-shifts (default 8)")
    args = parser.parse_args(argv)
    voices = args.voice or ["ljspeech"]
    if args.vocoder_shifts:
        if args.clips < 1:
            parser.error(f"--clips must be at least 1, got {args.clips}")
        print(vocoder_shift_table(args.vocoder_shifts, voices, args.clips, VOCODER_SHIFTS_ST))
        return 0
    if len(voices) > 1:
        parser.error("give one --voice when rendering plans (several only with --vocoder-shifts)")
    if args.corpus_f0:
        from baton.baseline import DEFAULT_BASELINE
        print(corpus_f0_table(args.corpus_f0, DEFAULT_BASELINE.pitch_mean_hz))
        return 0
    if not 1 <= args.sentences <= len(SENTENCES):
        parser.error(f"--sentences must be 1-{len(SENTENCES)}, got {args.sentences}")
    ramps = [tuple(r) for r in args.ramp] if args.ramp else [tuple(map(float, r)) for r in DEFAULT_RAMPS_ST]

    from baton.pipeline import Pipeline
    from feature_extract.utterance import measure_utterance, relative

    pipeline = Pipeline.load(voices[0], skip_stages=tuple(args.skip_stage))
    rows: dict[tuple[float, float], list[dict[str, float]]] = {r: [] for r in ramps}
    texts = [text for _, _, text in SENTENCES[:args.sentences]]
    for k, text in enumerate(texts, 1):
        plan = pipeline.plan(text)
        neutral = pipeline.speak(plan=plan)
        reference = measure_utterance(neutral.audio, neutral.sample_rate)
        for start_st, end_st in ramps:
            rendered = pipeline.speak(plan=ramp_plan(plan, start_st, end_st))
            change = relative(measure_utterance(rendered.audio, rendered.sample_rate), reference)
            rows[(start_st, end_st)].append({
                "text": text, "plan_slope_st_per_s": planned_slope_st_per_s(plan, start_st, end_st),
                "pitch_st": change["pitch_st"], "slope_st_per_s": change["slope_st_per_s"],
                "range_st": change["range_st"]})
        print(f"[{k}/{len(texts)}] {text}", file=sys.stderr, flush=True)

    skipped = f", without {', '.join(args.skip_stage)}" if args.skip_stage else ""
    print(f"\n## Pitch ceiling of voice {voices[0]}{skipped} ({len(texts)} sentences; medians of changes vs neutral)\n")
    print("| plan start→end st | plan slope st/s | render pitch st | render slope st/s | render F0 range st |")
    print("|---|---|---|---|---|")
    for (start_st, end_st), got in rows.items():
        med = {q: float(np.nanmedian([g[q] for g in got]))
               for q in ("plan_slope_st_per_s", "pitch_st", "slope_st_per_s", "range_st")}
        print(f"| {start_st:+g} → {end_st:+g} | {med['plan_slope_st_per_s']:.2f} | {med['pitch_st']:+.2f} | "
              f"{med['slope_st_per_s']:+.2f} | {med['range_st']:+.2f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({f"{a:+g}..{b:+g}": got for (a, b), got in rows.items()}, handle, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
