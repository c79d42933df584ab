"""Calibrate an exported voice's render chain in chain order and write it into its voice.json: one command.

Each stage is tuned with the stages before it in place, because each calibrates what the one before produced:

1. ``pitch_calibration`` and ``harmonics``: written from ``--pitch-gains`` and ``--harmonic-strength`` /
   ``--harmonic-phonemes`` (default: the voice's own stages, else the shipped voice's 1.3/1, 0.5 voiced). They
   are a judgment between WER and pitch error that recipes/tune_harmonics.py's table informs (run it first
   for a new acoustic model; docs/training.md, run 12); ``--check-harmonics`` prints that table here.
2. ``exemplars``: recipes/build_exemplars.py builds the bank from the training clips and switches it on.
3. ``centroid_tilt``: recipes/tune_centroid.py fits the tilt on the mel the stages above produce.
4. The plan-driven audio stages (``pitch_range``, ``voice_quality``, ``segment_gain``) are kept or added.

Validation tables are printed by each step unless ``--skip-check`` (``--skip-wer`` drops the Whisper columns).

    python -m recipes.calibrate_voice tts_model/voices/ljspeech --data data/ljspeech
    python -m recipes.calibrate_voice VOICE_DIR --data DATA --pitch-gains 1.3/1 --harmonic-strength 0.5 --skip-wer
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recipes import build_exemplars, tune_centroid, tune_harmonics

ROOT = Path(__file__).resolve().parents[1]

SHIPPED_PITCH_GAINS = (1.3, 1.0)
SHIPPED_HARMONICS = (0.5, "voiced")


def _common(args: argparse.Namespace) -> list[str]:
    return ["--voice", str(args.voice), "--data", str(args.data), "--corpus", str(args.corpus), "--every",
            str(args.every), "--threads", str(args.threads)]


def write_tuned_stages(args: argparse.Namespace) -> None:
    """Step 1: pitch calibration and harmonics from the arguments (or the voice's own), audio stages kept."""
    from tts_model.runtime.chain import DEFAULT_CHAIN, Harmonics, PitchCalibration
    from tts_model.runtime.config import VoiceConfig

    path = args.voice / "voice.json"
    config = VoiceConfig.load(path)
    own_gains = config.stage("pitch_calibration")
    gains = args.pitch_gains or ((own_gains.gain_down, own_gains.gain_up) if own_gains else SHIPPED_PITCH_GAINS)
    own = config.stage("harmonics")
    strength = args.harmonic_strength if args.harmonic_strength is not None else \
        (own.strength if own else SHIPPED_HARMONICS[0])
    phonemes = args.harmonic_phonemes or (own.phonemes if own else SHIPPED_HARMONICS[1])
    config = config.with_stage(PitchCalibration(gain_down=gains[0], gain_up=gains[1]))
    config = config.with_stage(Harmonics(strength=strength, phonemes=phonemes)) if strength > 0 else \
        config.without_stages("harmonics")
    for stage in DEFAULT_CHAIN:
        if config.stage(stage.name) is None:
            config = config.with_stage(stage)
    config.save(path)
    print(f"[1/3] pitch_calibration {gains[0]:g}/{gains[1]:g}, harmonics {strength:g} ({phonemes}) -> {path}",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("voice", type=Path, help="the exported voice directory (its voice.json is rewritten)")
    parser.add_argument("--data", type=Path, required=True, help="prepared shards the voice was trained from")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpora/ljspeech")
    parser.add_argument("--every", type=int, default=15, help="the training config's validation_every")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pitch-gains", type=tune_harmonics.gain_pair, metavar="DOWN[/UP]",
                        help="pitch_calibration gains (default: the voice's own, else 1.3/1)")
    parser.add_argument("--harmonic-strength", type=float, help="harmonics strength, 0 = no harmonics stage "
                                                                "(default: the voice's own, else 0.5)")
    parser.add_argument("--harmonic-phonemes", help="harmonics phoneme class (default: the voice's own, else voiced)")
    parser.add_argument("--check-harmonics", action="store_true",
                        help="first print recipes/tune_harmonics.py's table for the chosen setting and strength 0")
    parser.add_argument("--skip-check", action="store_true", help="no validation tables (build and fit only)")
    parser.add_argument("--skip-wer", action="store_true", help="no Whisper WER/NLL in the validation tables")
    args = parser.parse_args(argv)
    if not (args.voice / "voice.json").is_file():
        parser.error(f"{args.voice} has no voice.json; export the voice first (python -m tts_model.train.export)")
    try:
        write_tuned_stages(args)
    except (ValueError, TypeError) as err:  # a ConfigError names the bad setting
        parser.error(str(err))
    wer = ["--skip-wer"] if args.skip_wer else []
    if args.check_harmonics:
        from tts_model.runtime.config import VoiceConfig

        harmonics = VoiceConfig.load(args.voice / "voice.json").stage("harmonics")
        strengths = ["0"] + ([f"{harmonics.strength:g}"] if harmonics else [])
        tune_harmonics.main([*_common(args), "--strengths", *strengths, *wer])
    print("[2/3] exemplars: recipes/build_exemplars.py", flush=True)
    code = build_exemplars.main([*_common(args), *(["--skip-check"] if args.skip_check else wer), "--write"])
    if code:
        return code
    print("[3/3] centroid_tilt: recipes/tune_centroid.py (fitted with the stages above in place)", flush=True)
    fit = [*_common(args), *wer, "--write"]
    if args.skip_check:
        fit += ["--skip-wer", "--factors", "1"]
    code = tune_centroid.main(fit)
    if code:
        return code
    from tts_model.runtime.chain import stage_to_dict
    from tts_model.runtime.config import VoiceConfig

    chain = VoiceConfig.load(args.voice / "voice.json").render_chain
    print(f"\nrender_chain of {args.voice / 'voice.json'}:")
    for stage in chain:
        print(f"  {stage_to_dict(stage)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
