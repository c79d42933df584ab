"""Build a voice's exemplar bank (tts_model.runtime.exemplars) from its training recordings, and check it on validation clips.

1. **Build**: every ``--step``-th log-mel frame of the clips a training run on ``--data`` trained on (never its
   validation clips; the test clips are never prepared), with its phoneme, place in the phoneme and neighbouring
   phonemes from the forced alignment, one byte per bin. Written as ``exemplars.npz`` into the voice folder
   (``--out`` elsewhere).
2. **Check** (unless ``--skip-check``): on the validation clips, with the projection off and on, WER and Whisper
   NLL with neutral plans (words only) and the per-segment pitch error of the measured plans shifted by
   ``--pitch-shifts`` semitones, as recipes/tune_harmonics.py measures them.

``--write`` also switches the bank on in the voice's voice.json with these settings (its render chain's
``exemplars`` stage: ``file``, ``k``, ``position_weight``, ``context_weight``, ``envelope_bins``, ``strength``). The defaults are the shipped voices' setting (docs/training.md,
runs 14 and 15). A bank depends on the training data only, but rebuild and re-check it after a new export, and refit
the centroid tilt after it (recipes/tune_centroid.py), since that calibrates the projected mel.

    python -m recipes.build_exemplars --voice tts_model/voices/ljspeech --data data/ljspeech --write
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

from recipes.validation import add_validation_args, neutral_wer_nll, validation_plans


BANK_NAME = "exemplars.npz"


def bank_frames(data: Path, every: int, step: int) -> tuple[dict[str, np.ndarray], int]:
    """({"mel": log-mel (N, n_mels), "phones": phoneme id (N,), "places": place in the phoneme (N,), "f0_hz": F0
    [Hz, 0 = unvoiced] (N,), "neighbours": (left, right) phoneme ids ((N,), (N,))}, clips used): every
    ``step``-th frame of the training clips of ``data`` (those a run with ``validation_every = every`` trains
    on); the dict's keys are :meth:`ExemplarBank.build`'s arguments."""
    from tts_model.train.dataset import load_utterances, validation_ids
    from tts_model.runtime.exemplars import FrameLayout, frame_layout

    utterances, _ = load_utterances(data)
    held = validation_ids([u.id for u in utterances], every)
    mels, f0s, layouts = [], [], []
    for utt in utterances:
        if utt.id in held:
            continue
        layout = frame_layout(utt.phoneme_ids, utt.durations)
        if layout.phones.size != utt.mel.shape[0]:
            raise ValueError(f"{data}: utterance {utt.id} has {utt.mel.shape[0]} mel frames but its durations sum "
                             f"to {layout.phones.size}; re-run python -m recipes.prepare_batontts")
        mels.append(np.asarray(utt.mel, dtype=np.float32))
        f0s.append(np.zeros(layout.phones.size, np.float32) if utt.f0_hz is None  # older shards: add it with --add-f0
                   else np.nan_to_num(np.asarray(utt.f0_hz, dtype=np.float32)))
        layouts.append(layout)
    if not layouts:
        raise ValueError(f"{data} has no training clips outside the validation split")
    mel, f0 = (np.concatenate(v)[::step] for v in (mels, f0s))
    frames = FrameLayout(*(np.concatenate(field)[::step] for field in zip(*layouts)))
    return {"mel": mel, "phones": frames.phones, "places": frames.places, "f0_hz": f0,
            "neighbours": (frames.left, frames.right)}, len(layouts)


def main(argv: list[str] | None = None) -> int:
    from recipes.evaluate_batontts import adherence, shifted
    from tts_model.runtime.chain import Exemplars, stage_to_dict
    from tts_model.runtime.exemplars import ExemplarBank
    from tts_model.runtime.synthesizer import SynthesisError, Synthesizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_validation_args(parser)
    parser.add_argument("--step", type=int, default=3,
                        help="keep every N-th frame (default 3: about 4.8 MB for LJSpeech's 36 minutes)")
    parser.add_argument("--k", type=int, default=21, help="frames averaged per projected frame (voice.json "
                        "stage exemplars: k; scale it with --step, e.g. 64 at step 1 is about 21 at step 3)")
    parser.add_argument("--position-weight", type=float, default=2.0,
                        help="weight of the place-in-phoneme difference in the match (exemplar_position_weight)")
    parser.add_argument("--context-weight", type=float, default=1.0,
                        help="weight of a neighbouring-phoneme mismatch in the match (exemplar_context_weight; "
                             "default 1, docs/training.md run 15; 0 matches as run 14 did)")
    parser.add_argument("--envelope-bins", type=int, default=40,
                        help="lowest mel bins where the exemplars give only the envelope under the model's harmonics, "
                             "so the planned pitch stays (exemplar_envelope_bins; default 40, about 2.7 kHz)")
    parser.add_argument("--strength", type=float, default=1.0, help="1 replaces the frame, 0 keeps the model's")
    parser.add_argument("--out", type=Path, help=f"where to write the bank (default: <voice>/{BANK_NAME})")
    parser.add_argument("--pitch-shifts", type=float, nargs="*", default=[-6.0, 6.0],
                        help="pitch shifts [st] of the validation plans to measure the pitch error at")
    parser.add_argument("--skip-check", action="store_true", help="build only; no validation table")
    parser.add_argument("--skip-wer", action="store_true", help="no WER and NLL in the validation table")
    parser.add_argument("--skip-off", action="store_true",
                        help="no 'off' row (when several settings are compared against one 'off' row)")
    parser.add_argument("--write", action="store_true", help="switch the bank on in the voice's voice.json")
    args = parser.parse_args(argv)
    if args.step < 1 or args.k < 1 or min(args.position_weight, args.context_weight,
                                          args.envelope_bins) < 0 or not 0 < args.strength <= 1:
        parser.error("--step and --k need whole numbers >= 1, --position-weight, --context-weight "
                     "and --envelope-bins numbers >= 0, --strength one in (0, 1]")
    try:
        voice = Synthesizer.load(args.voice, threads=args.threads, use_exemplars=False)
        started = time.time()
        frames, clips = bank_frames(args.data, args.every, args.step)
    except (SynthesisError, FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    bank = ExemplarBank.build(**frames)
    out = args.out or (voice.voice_dir / BANK_NAME)
    bank.save(out)
    print(f"bank: {bank.n_frames} frames of {clips} training clips (1 frame in {args.step}), {bank.phone_ids.size} "
          f"phonemes -> {out} ({out.stat().st_size / 1e6:.2f} MB, {time.time() - started:.0f} s)")

    stage = Exemplars(file=Path(os.path.relpath(Path(out).resolve(), voice.voice_dir.resolve())).as_posix(),
                      k=args.k, position_weight=args.position_weight, context_weight=args.context_weight,
                      strength=args.strength, envelope_bins=args.envelope_bins)
    if not args.skip_check:
        plans = validation_plans(parser, args, voice.sample_rate)
        off = dataclasses.replace(voice, config=voice.config.without_stages("exemplars"))
        on = dataclasses.replace(voice, config=voice.config.with_stage(stage), exemplars=bank)
        print(f"\n{len(plans)} validation clips of {args.data} (every {args.every}th), voice {voice.voice_dir}")
        print("| exemplars | WER, neutral plans | Whisper NLL per token | "
              + " | ".join(f"pitch {s:+g} st: median abs (signed)" for s in args.pitch_shifts) + " |")
        print("|---|---:|---:|" + "---:|" * len(args.pitch_shifts))
        rows = [] if args.skip_off else [("off", off)]
        rows.append((f"k {args.k}, position weight {args.position_weight:g}, context weight "
                     f"{args.context_weight:g}, "
                     f"envelope bins {args.envelope_bins}, strength {args.strength:g}", on))
        for name, synth in rows:
            started = time.time()
            cells = ["-", "-"]
            if not args.skip_wer:
                wer, nll = neutral_wer_nll(synth, plans, args.threads)
                cells = [f"{100 * wer:.1f} %", f"{nll:.4f}"]
            for shift in args.pitch_shifts:
                errors = np.array([r["pitch_st"] for _, plan in plans
                                   for r in adherence(synth, shifted(plan, "pitch", shift)) if "pitch_st" in r])
                cells.append(f"{np.median(np.abs(errors)):.2f} ({np.median(errors):+.2f})" if errors.size
                             else "no voiced segment")
            print(f"| {name} | " + " | ".join(cells) + f" |  ({time.time() - started:.0f} s)", flush=True)
    if args.write:
        path = voice.voice_dir / "voice.json"
        voice.config.with_stage(stage).save(path)
        print(f"\nwrote {stage_to_dict(stage)} to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
