"""What each render-chain stage contributes: the shipped voice with its whole chain, and with one stage skipped.

For held-out LJSpeech clips (LJ002-0151 on; never trained on), the plan measured from the recording
(feature_extract) is rendered as it is, with its pitch shifted by ``--pitch-shift`` semitones (where the pitch
calibration works), and with its spectral centroid scaled by each ``--centroid-factors`` (what the centroid tilt is
for), and each segment of the render is measured again (recipes/evaluate_batontts.py's ``adherence``): median
absolute pitch error [st], energy error [dB] and spectral-centroid error [st]. Unless
``--skip-wer``, each clip is also spoken from its words alone (neutral plan) and transcribed by Whisper tiny.en
(baton.asr; offline): corpus WER and the reference's NLL per token. The stages ``pitch_range`` and
``voice_quality`` render plan fields that measured plans do not have, so they change nothing here (the rows say
so); benchmarks/segment_pitch_range.py and docs/design/voice_quality.md measure them.

    OMP_NUM_THREADS=1 python -m benchmarks.render_chain --clips 10
    python -m benchmarks.render_chain --voice ljspeech-v1 --skip harmonics centroid_tilt --skip-wer
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "ljspeech"


def measured_rows(corpus: Path, n_clips: int, sample_rate: int) -> list[tuple[str, list[dict]]]:
    """(transcript, plan measured from the recording) of the first ``n_clips`` held-out clips."""
    from feature_extract import extract_plan
    from feature_extract.audio import load_audio
    from recipes.evaluate_batontts import clean_plan
    from recipes.ljspeech import HELD_OUT, read_metadata

    rows = {uid: (text, path) for uid, text, path in read_metadata(corpus)}
    out = []
    for uid in [u for u in HELD_OUT if u in rows][:n_clips]:
        text, path = rows[uid]
        recording, rate = load_audio(path, sample_rate)
        out.append((text, clean_plan(extract_plan(recording, rate, text))))
    return out


def median_abs(rows: list[dict], key: str) -> str:
    values = np.array([r[key] for r in rows if key in r])
    return f"{np.median(np.abs(values)):.2f} ({np.median(values):+.2f})" if values.size else "-"


def main(argv: list[str] | None = None) -> int:
    from recipes.evaluate_batontts import adherence, shifted
    from recipes.validation import wer_nll_cell
    from tts_model.runtime.chain import STAGES
    from tts_model.runtime.synthesizer import SynthesisError, Synthesizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voice", default="ljspeech", help="voice id or directory (default: ljspeech)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="LJSpeech 1.1 folder")
    parser.add_argument("--clips", type=int, default=10, help="held-out clips (default 10)")
    parser.add_argument("--skip", nargs="+", default=None, metavar="STAGE",
                        help=f"stages to measure by skipping each (default: every stage of the voice's chain); "
                             f"of: {', '.join(STAGES)}")
    parser.add_argument("--pitch-shift", type=float, default=-6.0, help="the shifted cell's pitch [st] (default -6)")
    parser.add_argument("--centroid-factors", type=float, nargs="*", default=[0.8, 1.25],
                        help="centroid cells: the plan's centroid times each (default 0.8 1.25)")
    parser.add_argument("--skip-wer", action="store_true", help="no Whisper WER/NLL columns")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        full = Synthesizer.load(args.voice, threads=args.threads)
        for name in args.skip or ():
            Synthesizer.load(args.voice, threads=args.threads, skip_stages=(name,))  # checks the name
    except SynthesisError as err:
        parser.error(str(err))
    if not (args.corpus / "metadata.csv").is_file():
        parser.error(f"no LJSpeech corpus at {args.corpus} (metadata.csv); pass --corpus")
    chain = [s.name for s in full.config.render_chain]
    names = args.skip if args.skip is not None else chain
    started = time.time()
    plans = measured_rows(args.corpus, args.clips, full.sample_rate)
    print(f"{len(plans)} held-out clips, voice {full.voice_id}, chain {' > '.join(chain)} "
          f"(plans measured in {time.time() - started:.0f} s)\n")
    shift = f"pitch {args.pitch_shift:+g} st"
    print("| render | pitch err [st], as measured | energy err [dB] | centroid err [st] | "
          f"pitch err [st], {shift} | "
          + "".join(f"centroid err [st], x{f:g} | " for f in args.centroid_factors)
          + "WER, neutral plans | Whisper NLL per token |")
    print("|---|---:|---:|---:|---:|" + "---:|" * len(args.centroid_factors) + "---:|---:|")
    variants = [("whole chain", full)]
    for name in names:
        note = "" if name in chain else " (not in the chain)"
        variants.append((f"without {name}{note}",
                         dataclasses.replace(full, config=full.config.without_stages(name),
                                             exemplars=None if name == "exemplars" else full.exemplars)))
    for label, synth in variants:
        started = time.time()
        as_is, moved, bright = [], [], {f: [] for f in args.centroid_factors}
        for _, plan in plans:
            as_is += adherence(synth, plan)
            moved += adherence(synth, shifted(plan, "pitch", args.pitch_shift))
            for factor in args.centroid_factors:
                bright[factor] += adherence(synth, shifted(plan, "centroid", factor))
        wer_nll = wer_nll_cell(synth, plans, args.threads, skip=args.skip_wer)
        print(f"| {label} | {median_abs(as_is, 'pitch_st')} | {median_abs(as_is, 'energy_db')} | "
              f"{median_abs(as_is, 'centroid_st')} | {median_abs(moved, 'pitch_st')} | "
              + "".join(f"{median_abs(rows, 'centroid_st')} | " for rows in bright.values())
              + f"{wer_nll} |  "
              f"({time.time() - started:.0f} s)", flush=True)
    print("\nmedian absolute error per segment (signed median in brackets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
