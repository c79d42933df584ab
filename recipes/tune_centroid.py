"""Fit a voice's centroid tilt calibration (render chain stage ``centroid_tilt``, tts_model.runtime.tilt) and check it on validation clips.

1. **Fit, on training clips** (never the validation or test clips): render each clip's measured plan with the
   tilt off, tilt the whole mel by each of ``--tilts`` (natural-log units per octave), vocode, and pair, per
   segment, the centroid estimated from the tilted mel (``tts_model.runtime.tilt.estimate_centroid_hz``) with the one
   feature_extract measures on the audio. A least-squares line through those pairs, in semitones re the
   voice's baseline centroid, is the calibration (slope, offset_st).
2. **Check, on the validation clips**: render each clip's measured plan with its centroid scaled by each of
   ``--factors``, through the whole runtime (sharpening, tilt, energy gain stage), with the voice's current
   setting and with the fitted one (tilting each ``--scope``), and print the per-segment centroid error (median
   absolute and signed, st).
   Unless ``--skip-wer``, also WER and Whisper NLL with neutral plans (words only), as tune_harmonics does.

``--write`` stores the fitted calibration in the voice's ``voice.json`` (its ``centroid_tilt`` stage, added after
the other mel stages if the chain lacks it). ``python -m recipes.calibrate_voice`` runs this after the stages before it.

    python -m recipes.tune_centroid --voice tts_model/voices/ljspeech --data data/ljspeech --write
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np

from recipes.validation import add_validation_args, measured_plans, split_rows, neutral_wer_nll, validation_plans


def training_rows(data: Path, corpus: Path, every: int, count: int) -> list[tuple[str, str, Path]]:
    """``count`` corpus rows (id, text, audio path) spread evenly over the clips a training run on ``data``
    trained on (not its validation clips). Raises ValueError when there are none."""
    rows = split_rows(data, corpus, every)[0]
    if not rows:
        raise ValueError(f"no training clips: {data} has no shards, or their ids are not in {corpus}")
    picks = np.unique(np.linspace(0, len(rows) - 1, min(count, len(rows))).round().astype(int))
    return [rows[i] for i in picks]


def fit_pairs(synth, plans: list[tuple[str, list[dict]]], tilts: list[float]) -> np.ndarray:
    """(n, 2) float64: per segment of each measured plan and each whole-mel tilt, (estimated st, measured st)
    re the baseline centroid."""
    from feature_extract.measure import spectral_centroid_hz
    from tts_model.runtime.tilt import estimate_centroid_hz, tilt_profile

    base_hz = float(synth.config.baseline["spectral_centroid_hz"])
    hop = synth.config.hop_length
    pairs = []
    for _, plan in plans:
        mel, seg_frames, predicted = synth.render_mel(plan)
        starts = np.cumsum(seg_frames) - seg_frames
        for alpha in tilts:
            tilted = (mel + alpha * tilt_profile()[None, :]).astype(np.float32)
            audio = synth.vocoder.vocode(tilted)
            for start, spoken in zip(starts, synth.spoken_frames(seg_frames, predicted)):
                if spoken < 5:
                    continue
                got = spectral_centroid_hz(audio[start * hop:(start + spoken) * hop], synth.sample_rate)
                guess = estimate_centroid_hz(tilted[start:start + spoken])
                if math.isfinite(got) and math.isfinite(guess):
                    pairs.append((12 * math.log2(guess / base_hz), 12 * math.log2(got / base_hz)))
    return np.array(pairs)


def centroid_errors(synth, plans, factor: float) -> np.ndarray:
    """Per-segment rendered-minus-planned centroid [st] over ``plans`` with every given centroid x ``factor``."""
    from recipes.evaluate_batontts import adherence, shifted

    errors = []
    for _, plan in plans:
        target = plan if factor == 1.0 else shifted(plan, "centroid", factor)
        errors += [r["centroid_st"] for r in adherence(synth, target) if "centroid_st" in r]
    return np.array(errors)


def main(argv: list[str] | None = None) -> int:
    from tts_model.runtime.chain import CentroidTilt
    from tts_model.runtime.synthesizer import Synthesizer
    from tts_model.runtime.tilt import SCOPES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_validation_args(parser)
    parser.add_argument("--fit-clips", type=int, default=24, help="training clips to fit on (default 24)")
    parser.add_argument("--tilts", type=float, nargs="+", default=[-0.3, 0.0, 0.3, 0.6],
                        help="whole-mel tilts the fit renders each clip with [natural log per octave]")
    parser.add_argument("--factors", type=float, nargs="+", default=[0.8, 1.0, 1.25],
                        help="centroid scalings of the validation plans to check")
    parser.add_argument("--skip-wer", action="store_true", help="skip WER and NLL with neutral plans")
    parser.add_argument("--scope", choices=list(SCOPES), default="utterance",
                        help="what one tilt covers with the fitted calibration (voice.json centroid_scope; default "
                             "utterance: one tilt per synthesis call, so the phonemes keep their differences)")
    parser.add_argument("--write", action="store_true",
                        help="store the fitted calibration and --scope in voice.json")
    args = parser.parse_args(argv)
    if args.fit_clips < 2 or len(args.tilts) < 2 or any(f <= 0 for f in args.factors):
        parser.error("--fit-clips needs at least 2, --tilts at least 2 values, --factors positive numbers")
    current = Synthesizer.load(args.voice, threads=args.threads)
    untilted = dataclasses.replace(current, config=current.config.without_stages("centroid_tilt"))
    try:
        rows = training_rows(args.data, args.corpus, args.every, args.fit_clips)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))

    started = time.time()
    pairs = fit_pairs(untilted, measured_plans(rows, untilted.sample_rate), args.tilts)
    slope, offset = np.polyfit(pairs[:, 0], pairs[:, 1], 1)
    residual = pairs[:, 1] - (slope * pairs[:, 0] + offset)
    print(f"fit on {len(rows)} training clips, {len(pairs)} segment renders ({time.time() - started:.0f} s): "
          f"measured st = {slope:.4f} * estimated st {offset:+.4f}; residual median abs "
          f"{np.median(np.abs(residual)):.2f} st, r = {np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]:.3f}")
    calibration = (round(float(slope), 4), round(float(offset), 4))
    if not 0.2 <= calibration[0] <= 5.0:
        print(f"error: the fitted slope {calibration[0]} is outside 0.2..5, so the mel estimate does not track this "
              f"voice's centroid; nothing written (try more --fit-clips or a wider --tilts range)", file=sys.stderr)
        return 1
    tilt = current.config.stage("centroid_tilt") or CentroidTilt()
    fitted = dataclasses.replace(current, config=current.config.with_stage(
        dataclasses.replace(tilt, calibration=calibration, scope=args.scope)))

    plans = validation_plans(parser, args, current.sample_rate)
    print(f"\n{len(plans)} validation clips of {args.data} (every {args.every}th), voice {current.voice_dir}")
    print("| centroid_calibration | " + " | ".join(f"centroid err [st], x{f:g}: median abs (signed)"
                                                  for f in args.factors)
          + ("" if args.skip_wer else " | WER, neutral plans | Whisper NLL per token") + " |")
    print("|---|" + "---:|" * (len(args.factors) + (0 if args.skip_wer else 2)))
    for name, synth in (("off", untilted), (f"{calibration[0]:g}, {calibration[1]:+g} ({args.scope})", fitted)):
        started = time.time()
        cells = []
        for factor in args.factors:
            errors = centroid_errors(synth, plans, factor)
            cells.append(f"{np.median(np.abs(errors)):.2f} ({np.median(errors):+.2f})")
        if not args.skip_wer:
            wer, nll = neutral_wer_nll(synth, plans, args.threads)
            cells += [f"{100 * wer:.1f} %", f"{nll:.4f}"]
        print(f"| {name} | " + " | ".join(cells) + f" |  ({time.time() - started:.0f} s)", flush=True)

    if args.write:
        path = current.voice_dir / "voice.json"
        fitted.config.save(path)
        print(f"\nwrote render_chain stage centroid_tilt: calibration {list(calibration)}, scope {args.scope!r} to "
              f"{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
