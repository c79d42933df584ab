"""Choose a voice's harmonic sharpening strength and pitch calibration gains on its validation clips (never on the
held-out test clips).

The validation clips are the ones training held out (``tts_model.train.dataset.validation_ids``: every
``--every``-th prepared utterance in id order), so the model never saw them. For each setting the
voice renders every clip with a neutral plan (WER by Whisper tiny.en, and the reference transcript's negative
log-probability per token under the same model, ``baton.asr.reference_nll``) and with the clip's measured plan
as it is, shifted by pitch -3 st, energy -6 dB and duration x1.4 (median absolute pitch error per segment, as
``recipes/evaluate_batontts.py`` measures it, and the signed median, which shows a bias; ``--cells`` picks
other cells of the gate). Write the chosen values into the voice's ``voice.json`` (render chain stages
``pitch_calibration``: ``gain_down``, ``gain_up``; ``harmonics``: ``strength``, ``phonemes``), or give them to
``python -m recipes.calibrate_voice``, which writes them and refits the stages after them.

    python -m recipes.tune_harmonics --voice tts_model/voices/ljspeech --data data/ljspeech \
        --corpus ../shared/corpora/ljspeech --strengths 0 0.5 --phonemes vowels voiced
    python -m recipes.tune_harmonics --voice tts_model/voices/ljspeech --data data/ljspeech --strengths 0.5 \
        --pitch-gains 1 1.2/1 --cells "pitch -6" "pitch +6" --skip-wer
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from recipes.validation import add_validation_args, validation_plans, wer_nll_cell

CELLS = {"as measured": ("pitch", 0.0), "pitch -6": ("pitch", -6.0), "pitch -3": ("pitch", -3.0),
         "pitch +3": ("pitch", 3.0), "pitch +6": ("pitch", 6.0), "energy -6": ("energy", -6.0),
         "energy +6": ("energy", 6.0), "duration x0.7": ("duration", 0.7), "duration x1.4": ("duration", 1.4),
         "pitch +9": ("pitch", 9.0), "pitch +12": ("pitch", 12.0)}
"""Every adherence cell this script can measure: the gate's eight (recipes/evaluate_batontts.py), the plan as
measured, and the large upward shifts that emotional plans ask for (pitch +9 and +12, beyond the gate)."""
DEFAULT_CELLS = ("as measured", "pitch -3", "energy -6", "duration x1.4")


def gain_pair(text: str) -> tuple[float, float]:
    """``"1.2/1"`` -> (1.2, 1.0); ``"1.1"`` -> (1.1, 1.1). Raises argparse.ArgumentTypeError."""
    try:
        values = tuple(float(v) for v in text.split("/"))
    except ValueError:
        values = ()
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected DOWN/UP or one gain for both, e.g. 1.2/1, got {text!r}")
    return (values[0], values[-1])


def main(argv: list[str] | None = None) -> int:
    from recipes.evaluate_batontts import adherence, shifted
    from tts_model.runtime.chain import Harmonics, PitchCalibration
    from tts_model.runtime.harmonics import PHONEME_CLASSES
    from tts_model.runtime.synthesizer import Synthesizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_validation_args(parser)
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.0, 0.3, 0.5])
    parser.add_argument("--phonemes", nargs="+", default=["voiced"], choices=sorted(PHONEME_CLASSES),
                        help="phoneme classes that get harmonics (tts_model.runtime.harmonics.PHONEME_CLASSES)")
    parser.add_argument("--cells", nargs="+", default=list(DEFAULT_CELLS), choices=list(CELLS), metavar="CELL",
                        help=f"adherence cells to measure the pitch error in, of: {', '.join(map(repr, CELLS))} "
                             f"(default: {', '.join(map(repr, DEFAULT_CELLS))})")
    parser.add_argument("--pitch-gains", type=gain_pair, nargs="+", default=None, metavar="DOWN[/UP]",
                        help="pitch calibration gains to try with each setting: gain_down/gain_up "
                             "of the pitch_calibration stage, one number for both (default: the voice's own)")
    parser.add_argument("--skip-wer", action="store_true",
                        help="skip the neutral-plan WER and NLL (the pitch gains do not change neutral renders)")
    args = parser.parse_args(argv)
    base = Synthesizer.load(args.voice, threads=args.threads)
    plans = validation_plans(parser, args, base.sample_rate)
    print(f"{len(plans)} validation clips of {args.data} (every {args.every}th), voice {base.voice_dir}")
    print("| harmonic_strength | harmonic_phonemes | pitch gain down/up | WER, neutral plans | Whisper NLL per token, "
          "neutral plans | " + " | ".join(f"pitch err [st], {c}: median abs (signed)" for c in args.cells) + " |")
    print("|---:|---|---:|---:|---:|" + "---:|" * len(args.cells))
    settings = [(0.0, "-")] if 0.0 in args.strengths else []
    settings += [(s, p) for s in args.strengths if s != 0.0 for p in args.phonemes]
    own = base.config.stage("pitch_calibration") or PitchCalibration()
    gains = args.pitch_gains or [(own.gain_down, own.gain_up)]
    own_phonemes = (base.config.stage("harmonics") or Harmonics()).phonemes
    for (strength, phonemes), gain in [(setting, g) for setting in settings for g in gains]:
        config = base.config.with_stage(PitchCalibration(gain_down=gain[0], gain_up=gain[1])).with_stage(
            Harmonics(strength=strength, phonemes=own_phonemes if phonemes == "-" else phonemes))
        synth = dataclasses.replace(base, config=config)
        started, errors = time.time(), {c: [] for c in args.cells}
        for _, plan in plans:
            for cell in args.cells:
                kind, amount = CELLS[cell]
                target = plan if amount == 0.0 else shifted(plan, kind, amount)
                errors[cell] += [r["pitch_st"] for r in adherence(synth, target) if "pitch_st" in r]
        cells = " | ".join(f"{np.median(np.abs(v)):.2f} ({np.median(v):+.2f})" for v in errors.values())
        wer_nll = wer_nll_cell(synth, plans, args.threads, skip=args.skip_wer)
        print(f"| {strength:g} | {phonemes} | {gain[0]:g}/{gain[1]:g} | {wer_nll} | "
              f"{cells} |  "
              f"({time.time() - started:.0f} s)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
