"""Does harmonic sharpening change the level of the low mel bins? Bias and L1 against the recordings.

For each validation clip (``tts_model.train.dataset.validation_ids``) the teacher-forced mel written by
``recipes/make_vocoder_pairs.py`` is sharpened (``tts_model.runtime.harmonics.sharpen``) at the F0 of the prepared
per-phoneme pitch, and compared with the recording's own prepared mel, on fully voiced frames and mel bins
centred below the ripple band's upper edge. Rows: the unsharpened mel, and each ripple variant
(``tts_model.runtime.harmonics.build_ripple``: floor, zero mean or not). A good ripple keeps the mean bias near 0.

    python benchmarks/ripple_bias.py --data data/ljspeech --pairs data/vocoder_pairs_b --every 15 --strength 0.5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tts_model.runtime.audio import mel_centres_hz  # noqa: E402
from tts_model.train.dataset import load_utterances, validation_ids  # noqa: E402
from tts_model.runtime.harmonics import COMB_FLOOR, RIPPLE_BAND_HZ, build_ripple, frame_f0, sharpen  # noqa: E402

VARIANTS = ((COMB_FLOOR, False), (-3.0, False), (-3.0, True), (-2.0, True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="prepared shards (recipes/prepare_batontts.py)")
    parser.add_argument("--pairs", type=Path, required=True, help="teacher-forced pairs of the same clips")
    parser.add_argument("--every", type=int, default=15, help="the training config's validation_every")
    parser.add_argument("--strength", type=float, default=0.5)
    args = parser.parse_args(argv)
    utterances, index = load_utterances(args.data)
    base_hz = float(index["baseline"]["pitch_mean_hz"])
    held = validation_ids([u.id for u in utterances], args.every)
    low = mel_centres_hz() < RIPPLE_BAND_HZ[1]
    clips = []  # (model mel, recording mel, f0, weight)
    for u in utterances:
        pair = args.pairs / f"{u.id}.npz"
        if u.id not in held or not pair.is_file():
            continue
        with np.load(pair) as data:
            mel = data["mel"].astype(np.float32)
        pitch_st = np.where(np.isfinite(u.pitch_hz), 12 * np.log2(np.maximum(u.pitch_hz, 1.0) / base_hz), 0.0)
        f0_hz, weight = frame_f0(u.phoneme_ids, pitch_st, u.durations, base_hz, "voiced")
        clips.append((mel, u.mel.astype(np.float32), f0_hz, weight))
    if not clips:
        parser.error(f"no validation clip of {args.data} has a pair in {args.pairs}")
    print(f"{len(clips)} validation clips, strength {args.strength}, bins below {RIPPLE_BAND_HZ[1]:g} Hz, voiced frames")
    print("| mel | mean bias (model - recording) | mean abs error |\n|---|---:|---:|")
    rows = [("unsharpened", None)] + [(f"ripple floor {floor:g}, {'zero mean' if zero else 'as is'}",
                                       build_ripple(floor, zero)) for floor, zero in VARIANTS]
    for name, table in rows:
        diffs = []
        for mel, recording, f0_hz, weight in clips:
            out = mel if table is None else sharpen(mel, f0_hz, weight, args.strength, table=table)
            voiced = weight > 0.99
            diffs.append(out[voiced][:, low] - recording[voiced][:, low])
        d = np.concatenate(diffs)
        print(f"| {name} | {d.mean():+.3f} | {np.abs(d).mean():.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
