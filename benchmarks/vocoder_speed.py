"""Vocoder ONNX files side by side: real-time factor and log-mel distance to an fp32 reference.

Vocodes the log-mel of the first ``--clips`` held-out LJSpeech recordings (LJ002-0151 on) with each file,
one whole clip per call, after a warm-up call, and prints per file the RTF (compute seconds per audio second,
summed over the clips) and the mean log-mel L1 between its waveform and the reference's.
Sessions are opened the way ``tts_model.runtime.vocoder.OnnxVocoder`` opens them.

    python -m tts_model.vocoder.export --precision fp32 --out /tmp/voc/v_fp32.onnx
    python -m benchmarks.vocoder_speed --reference /tmp/voc/v_fp32.onnx --threads 1 \
        --vocoder tts_model/voices/ljspeech-v1/vocoder.onnx --vocoder /tmp/voc/v_int8.onnx
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tts_model.runtime import audio
from tts_model.runtime.vocoder import OnnxVocoder

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocoder", type=Path, action="append", required=True, help="ONNX file (repeatable)")
    parser.add_argument("--reference", type=Path, required=True, help="fp32 vocoder the others are compared with")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpora/ljspeech")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    paths = [args.corpus / "wavs" / f"LJ002-{151 + k:04d}.flac" for k in range(args.clips)]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"error: {missing[0]} not found; pass --corpus (an LJSpeech folder with wavs/)", file=sys.stderr)
        return 2
    mels = [audio.log_mel(sf.read(p, dtype="float32")[0]) for p in paths]
    seconds = sum(len(m) for m in mels) * audio.HOP_LENGTH / audio.SAMPLE_RATE
    reference = OnnxVocoder.load(args.reference, threads=args.threads)
    expected = [audio.log_mel(reference.vocode(m)) for m in mels]
    print(f"{args.clips} held-out clips, {seconds:.1f} s of audio, {args.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| vocoder | size [MB] | RTF | log-mel L1 vs reference |")
    print("|---|---:|---:|---:|")
    for path in args.vocoder:
        vocoder = OnnxVocoder.load(path, threads=args.threads)
        vocoder.vocode(mels[0][:50])
        compute_s, distances = 0.0, []
        for mel, want in zip(mels, expected):
            start = time.perf_counter()
            wave = vocoder.vocode(mel)
            compute_s += time.perf_counter() - start
            distances.append(float(np.abs(audio.log_mel(wave) - want).mean()))
        print(f"| {path} | {path.stat().st_size / 1e6:.1f} | {compute_s / seconds:.3f} | {np.mean(distances):.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
