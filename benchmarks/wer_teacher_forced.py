"""WER of teacher-forced acoustic-model output: where does BatonTTS lose intelligibility?

Vocodes the ``mel`` of each pair written by ``recipes/make_vocoder_pairs.py`` (the acoustic model's output
with the recording's own durations, pitch and energy) and, with ``--resynth``, the log-mel of the pair's
recording, then transcribes both with Whisper tiny.en (``baton.asr``) and prints the pooled WER against the
corpus transcript. Teacher forcing takes duration and prosody prediction out of the picture, so the gap
between the two rows is what the decoder and vocoder lose.

    python recipes/make_vocoder_pairs.py --checkpoint runs/ljspeech_cpu/checkpoint --data <prepared> \
        --corpus ../shared/corpora/ljspeech --out /tmp/pairs
    python benchmarks/wer_teacher_forced.py --pairs /tmp/pairs --corpus ../shared/corpora/ljspeech \
        --vocoder tts_model/voices/ljspeech-v1/vocoder.onnx --resynth [--limit 50]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "recipes"))

from baton.asr import corpus_wer, transcribe  # noqa: E402
from prepare_batontts import read_metadata  # noqa: E402
from tts_model.runtime import audio  # noqa: E402
from tts_model.runtime.vocoder import OnnxVocoder  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, required=True, help="folder of <id>.npz (mel, audio) pairs")
    parser.add_argument("--corpus", type=Path, required=True, help="corpus with metadata.csv (the references)")
    parser.add_argument("--vocoder", type=Path, action="append", required=True, help="vocoder ONNX (repeatable)")
    parser.add_argument("--resynth", action="store_true", help="also vocode the recording's own log-mel")
    parser.add_argument("--limit", type=int, default=0, help="first N pairs only (0 = all)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    refs = {uid: text for uid, text, _ in read_metadata(args.corpus)}
    files = sorted(args.pairs.glob("*.npz"))
    files = [f for f in files if f.stem in refs][: args.limit or None]
    if not files:
        print(f"error: no pairs in {args.pairs} with a transcript in {args.corpus / 'metadata.csv'}", file=sys.stderr)
        return 2
    rows = []
    for path in args.vocoder:
        vocoder = OnnxVocoder.load(path, threads=args.threads)
        sources = [("teacher-forced mel", "mel")] + ([("recording's log-mel", None)] if args.resynth else [])
        for label, key in sources:
            pairs = []
            for f in files:
                with np.load(f) as data:
                    mel = data["mel"] if key else audio.log_mel(data["audio"])
                wave = vocoder.vocode(mel.astype(np.float32))
                pairs.append((refs[f.stem], transcribe(wave, audio.SAMPLE_RATE, cpu_threads=args.threads)))
            result = corpus_wer(pairs)
            errors = result.substitutions + result.deletions + result.insertions
            rows.append((path.name, label, errors, result.ref_words, result.substitutions, result.deletions,
                         result.insertions))
    print(f"{len(files)} clips from {args.pairs}")
    print("| vocoder | input | WER | errors / words | S / D / I |")
    print("|---|---|---:|---:|---|")
    for name, label, errors, words, s, d, i in rows:
        print(f"| {name} | {label} | {100 * errors / max(words, 1):.1f} % | {errors} / {words} | {s} / {d} / {i} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
