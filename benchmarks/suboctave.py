"""How often does the vocoder render the sub-octave, and which mel bins cure it?

For each (mel, recording) pair written by ``recipes/make_vocoder_pairs.py`` (teacher-forced acoustic-model
mels, frame-aligned with the recording), the recording and the vocoded mel are tracked with Praat
(``feature_extract.praat``). A frame voiced in both counts as *sub-octave* when the rendered F0 is below
0.7 × the recording's. Rows:

* ``recording mel``: the recording's own log-mel, vocoded (what the vocoder can do);
* ``model mel``: the acoustic model's teacher-forced mel;
* ``model mel, bins < X Hz from the recording``: the model's mel with its low bins swapped for the
  recording's (``--swap-below-hz``), to find where the missing information is;
* ``model mel, sharpened S``: ``tts_model.runtime.harmonics.sharpen`` at strength S with the recording's own Praat F0
  (an oracle F0; at run time the plan's F0 is used), voiced frames only (``--sharpen``).

    python benchmarks/suboctave.py --pairs /tmp/ho_pairs_b --vocoder tts_model/voices/ljspeech-v1/vocoder.onnx \
        --limit 8 --swap-below-hz 500 1000 --sharpen 0.3 0.5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feature_extract import praat  # noqa: E402
from tts_model.runtime import audio  # noqa: E402
from tts_model.runtime.harmonics import sharpen  # noqa: E402
from tts_model.runtime.vocoder import OnnxVocoder  # noqa: E402

SUB_OCTAVE_RATIO = 0.7


def sub_octave_fraction(reference: np.ndarray, rendered: np.ndarray) -> float:
    """Share of frames voiced in both signals whose rendered F0 is below SUB_OCTAVE_RATIO x the reference's."""
    _, f_ref = praat.pitch_track(reference, audio.SAMPLE_RATE)
    _, f_out = praat.pitch_track(rendered, audio.SAMPLE_RATE)
    n = min(f_ref.size, f_out.size)
    both = np.isfinite(f_ref[:n]) & np.isfinite(f_out[:n])
    return float(np.mean(f_out[:n][both] / f_ref[:n][both] < SUB_OCTAVE_RATIO)) if both.any() else float("nan")


def oracle_f0(recording: np.ndarray, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The recording's Praat F0 at mel frame centres (interpolated across unvoiced gaps) and a 0/1 voicing."""
    times_s, f0_hz = praat.pitch_track(recording, audio.SAMPLE_RATE)
    voiced = np.isfinite(f0_hz)
    centres_s = (np.arange(n_frames) + 0.5) * audio.HOP_LENGTH / audio.SAMPLE_RATE
    if not voiced.any():
        return np.zeros(n_frames, np.float32), np.zeros(n_frames, np.float32)
    f0 = np.interp(centres_s, times_s[voiced], f0_hz[voiced])
    weight = np.interp(centres_s, times_s, voiced.astype(float)) > 0.5
    return f0.astype(np.float32), weight.astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=Path, required=True, help="folder of <id>.npz (mel, audio) pairs")
    parser.add_argument("--vocoder", type=Path, required=True, help="vocoder ONNX")
    parser.add_argument("--limit", type=int, default=8, help="first N pairs (sorted by id)")
    parser.add_argument("--swap-below-hz", type=float, nargs="*", default=[], help="low-bin swaps to try")
    parser.add_argument("--sharpen", type=float, nargs="*", default=[], help="sharpening strengths to try")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    files = sorted(args.pairs.glob("*.npz"))[: args.limit]
    if not files:
        parser.error(f"no .npz pairs in {args.pairs}; write them with recipes/make_vocoder_pairs.py")
    vocoder = OnnxVocoder.load(args.vocoder, threads=args.threads)
    centres_hz = audio.mel_centres_hz()
    rows: dict[str, list[float]] = {}
    for path in files:
        pair = np.load(path)
        recording = pair["audio"].astype(np.float32)
        real = audio.log_mel(recording)
        model = pair["mel"].astype(np.float32)
        n = min(len(real), len(model))
        real, model = real[:n], model[:n]
        variants = {"recording mel": real, "model mel": model}
        for cut in args.swap_below_hz:
            swapped = model.copy()
            swapped[:, centres_hz < cut] = real[:, centres_hz < cut]
            variants[f"model mel, bins < {cut:g} Hz from the recording"] = swapped
        if args.sharpen:
            f0, weight = oracle_f0(recording, n)
            for strength in args.sharpen:
                variants[f"model mel, sharpened {strength:g} (oracle F0)"] = sharpen(model, f0, weight, strength)
        for name, mel in variants.items():
            rows.setdefault(name, []).append(sub_octave_fraction(recording[: n * audio.HOP_LENGTH],
                                                                 vocoder.vocode(mel)))
    print(f"{len(files)} pairs from {args.pairs}, vocoder {args.vocoder}")
    print(f"| mel given to the vocoder | sub-octave frames (F0 < {SUB_OCTAVE_RATIO} x recording's) |")
    print("|---|---:|")
    for name, values in rows.items():
        print(f"| {name} | {100 * np.nanmean(values):.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
