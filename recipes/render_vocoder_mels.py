"""Render a voice's own vocoder inputs for the training clips: log-mels from neutral and shifted plans.

A distilled vocoder learns to copy V1 on the mels it is shown. Teacher-forced mels (``make_vocoder_pairs.py``) and
the recordings' mels are not what the shipped chain feeds the vocoder: at run time the acoustic model runs free
(its own durations, pitch and energy where the plan is silent) and the voice sharpens the harmonics at the planned
F0. This recipe renders, for every training clip (the 50 held-out clips are skipped), the voice's
``Synthesizer.render_mel`` output for

* the neutral plan (words only: the intelligibility evaluation's input), and
* ``--shifts-per-clip`` of the evaluation's shifted plans (pitch -6/-3/+3/+6 st, energy -6/+6 dB, duration x0.7
  and x1.4 of the plan measured from the recording), drawn at random per clip (``--seed``),

* with ``--instruction`` (repeatable, e.g. "extremely angrily"), the embedded conductor's plan of the clip's
  text for that instruction, rendered sentence group by sentence group as ``baton speak`` does: the high,
  loud, fast-moving mels of emotional speech, which a vocoder distilled on neutral renders never saw,

and writes ``<out>/<id>_<variant>.npz`` with ``mel`` float16 (n_frames, 80): no audio, because the distillation's
targets come from the teacher. ``python -m recipes.distill_vocoder --rendered <out>`` adds them to its mels.
Existing files are kept unless ``--overwrite``: only missing variants are rendered (adding ``--instruction`` to
a folder adds just those), and each file is written whole or not at all. ``--held-out`` renders the 50 held-out
clips instead, to measure progress on (``distill_vocoder.py --eval-pairs``); never train on those.

    python -m recipes.render_vocoder_mels --voice tts_model/voices/ljspeech --corpus ../shared/corpora/ljspeech \
        --out data/rendered_mels_run4
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from recipes.evaluate_batontts import SHIFTS, shifted
from recipes.ljspeech import HELD_OUT, read_metadata

REPO = Path(__file__).resolve().parents[1]


def variant_name(kind: str, amount: float) -> str:
    """'pitch-6', 'energy+6', 'durationx0.7': file-name friendly shift names."""
    return f"{kind}x{amount:g}" if kind == "duration" else f"{kind}{amount:+g}"


def instruction_name(instruction: str) -> str:
    """'emo-extremely-angrily': a file-name friendly name for an instruction's variant."""
    return "emo-" + "-".join("".join(c for c in word if c.isalnum()) for word in instruction.lower().split())


def conductor_mel(pipeline, text: str, instruction: str) -> np.ndarray:
    """The log-mel (n_frames, 80) the voice feeds its vocoder for ``text`` spoken as ``instruction``: the
    pipeline's plan, rendered sentence group by sentence group (as ``Pipeline.speak``), concatenated."""
    from baton.pipeline import _segment_dict, sentence_groups

    plan = pipeline.plan(text, instruction)
    mels = [pipeline.synthesizer.render_mel([_segment_dict(s) for s in group])[0]
            for _, group in sentence_groups(plan.segments)]
    return np.concatenate(mels, axis=0)


def save_mel(target: Path, mel: np.ndarray) -> None:
    """Write ``target`` (.npz, ``mel`` float16) whole or not at all: an interrupted run leaves no half file that a
    resumed run would keep."""
    partial = target.with_name(target.name + ".part")
    with partial.open("wb") as handle:
        np.savez(handle, mel=mel.astype(np.float16))
    os.replace(partial, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", type=Path, default=REPO / "tts_model" / "voices" / "ljspeech",
                        help="voice directory whose acoustic model and sharpening render the mels")
    parser.add_argument("--corpus", type=Path, required=True, help="LJSpeech-layout folder (metadata.csv, wavs/)")
    parser.add_argument("--out", type=Path, required=True, help="output folder for <id>_<variant>.npz")
    parser.add_argument("--shifts-per-clip", type=int, default=1,
                        help=f"shifted plans per clip besides the neutral one (0 to {len(SHIFTS)})")
    parser.add_argument("--instruction", action="append", default=[], metavar="TEXT",
                        help="also render the conductor's plan for this instruction (repeatable), e.g. "
                             "'extremely angrily'")
    parser.add_argument("--held-out", action="store_true",
                        help="render only the 50 held-out clips (for --eval-pairs; never train on them)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many training clips")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if not 0 <= args.shifts_per_clip <= len(SHIFTS):
        parser.error(f"--shifts-per-clip must be 0 to {len(SHIFTS)}, got {args.shifts_per_clip}")
    if not (args.corpus / "metadata.csv").is_file():
        raise SystemExit(f"error: {args.corpus} has no metadata.csv; pass an LJSpeech-layout folder with --corpus")

    from feature_extract import extract_plan
    from feature_extract.audio import load_audio
    from tts_model.runtime.synthesizer import SynthesisError, Synthesizer

    try:
        synth = Synthesizer.load(args.voice, threads=args.threads)
    except SynthesisError as err:
        raise SystemExit(f"error: {err}") from None
    pipeline = None
    if args.instruction:  # the embedded conductor plans for the same loaded voice
        from baton.conductors import get_conductor
        from baton.pipeline import Pipeline
        pipeline = Pipeline(get_conductor("embedded"), synth)
    rows = [r for r in read_metadata(args.corpus) if (r[0] in set(HELD_OUT)) == args.held_out][: args.limit]
    if not rows:
        which = "held-out" if args.held_out else "training"
        raise SystemExit(f"error: {args.corpus} has no {which} clips with audio (held out: {HELD_OUT[0]} to "
                         f"{HELD_OUT[-1]})")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    written = kept = skipped = 0
    try:
        for uid, text, path in tqdm(rows, desc="render", unit="clip"):
            picks = rng.choice(len(SHIFTS), size=args.shifts_per_clip, replace=False)  # drawn even for kept clips
            names = (["neutral"] + [variant_name(*SHIFTS[i]) for i in picks]
                     + [instruction_name(i) for i in args.instruction])
            targets = [args.out / f"{uid}_{name}.npz" for name in names]
            todo = [args.overwrite or not t.is_file() for t in targets]  # only what is missing is rendered
            kept += todo.count(False)
            n_plans = 1 + len(picks)
            if any(todo[:n_plans]):
                wave, sample_rate = load_audio(path, synth.sample_rate)
                try:
                    plan = extract_plan(wave, sample_rate, text)
                except ValueError as err:  # a transcript the aligner cannot place: say which and go on
                    tqdm.write(f"skipped {uid}: {err}")
                    skipped += 1
                    continue
                plans = [[{"word": seg["word"]} for seg in plan]] + [shifted(plan, *SHIFTS[i]) for i in picks]
                for target, variant, needed in zip(targets, plans, todo):
                    if needed:
                        save_mel(target, synth.render_mel(variant)[0])
                        written += 1
            for target, instruction, needed in zip(targets[n_plans:], args.instruction, todo[n_plans:]):
                if needed:
                    save_mel(target, conductor_mel(pipeline, text, instruction))
                    written += 1
    except KeyboardInterrupt:
        print(f"\ninterrupted: {written} mels written, {kept} kept (every file whole); run the same command again to "
              "go on", file=sys.stderr)
        return 130
    print(f"{written} mels written, {kept} kept, {skipped} clips skipped -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
