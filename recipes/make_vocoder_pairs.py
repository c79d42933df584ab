"""Ground-truth-aligned (teacher-forced) vocoder training pairs from an acoustic checkpoint.

For every utterance of a prepared data directory, the acoustic model renders its log-mel with the
*recorded* per-phoneme durations, pitch and energy and every measured plan control given. That mel lines
up frame by frame with the recording, so the vocoder can learn to turn the acoustic model's (blurred)
output back into the real waveform (HiFi-GAN's fine-tuning recipe, Kong et al. 2020, section 4.4).

    python -m recipes.make_vocoder_pairs --checkpoint runs/ljspeech_cpu/checkpoint --data data/ljspeech \
        --corpus ../shared/corpora/ljspeech --out data/vocoder_pairs

Writes ``<out>/<id>.npz`` with ``mel`` float32 (n_frames, 80) and ``audio`` float32 (n_frames * 256,), the
input of ``python -m recipes.finetune_vocoder --pairs``, and prints the mean L1 between the teacher-forced mel and
the recording's mel (a quick measure of how blurred the acoustic model's output is). Existing files are
kept unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from feature_extract.audio import load_audio
from recipes.ljspeech import read_metadata
from tts_model.runtime import audio
from tts_model.train.batching import collate, prepare_utterance
from tts_model.train.checkpoint import CheckpointError
from tts_model.train.dataset import load_utterances
from tts_model.train.export import load_trained
from tts_model.train.loop import teacher_forced


def aligned_audio(wave: np.ndarray, n_mel_frames: int) -> np.ndarray:
    """The recording's samples under the prepared mel: the prepare recipe drops the first
    ``len(log_mel(wave)) - n_mel_frames`` frames (leading silence before the first phone) and keeps the rest."""
    first = len(wave) // audio.HOP_LENGTH - n_mel_frames  # log_mel gives n_samples // hop frames
    if first < 0:
        raise ValueError(f"prepared mel has {n_mel_frames} frames but the recording only {n_mel_frames + first}")
    piece = wave[audio.n_samples(first): audio.n_samples(first + n_mel_frames)]
    return np.pad(piece, (0, audio.n_samples(n_mel_frames) - len(piece))).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="acoustic model checkpoint directory")
    parser.add_argument("--data", type=Path, required=True, help="prepared data directory (index.json + shards)")
    parser.add_argument("--corpus", type=Path, required=True, help="the corpus the data was prepared from")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    try:
        model, baseline, _ = load_trained(args.checkpoint)
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    utterances, _ = load_utterances(args.data)
    paths = {uid: path for uid, _, path in read_metadata(args.corpus)}
    missing = [u.id for u in utterances if u.id not in paths]
    if missing:
        print(f"error: {len(missing)} prepared utterances (e.g. {missing[0]}) have no audio in {args.corpus}; "
              "pass the corpus the data was prepared from", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    l1s, written = [], 0
    for u in tqdm(utterances, desc="pairs", unit="utt"):
        path = args.out / f"{u.id}.npz"
        if path.is_file() and not args.overwrite:
            continue
        item = prepare_utterance(u, baseline, model.config.control_norm)
        with torch.no_grad():
            mel = teacher_forced(model, collate([item], None, np.random.default_rng(0))).mel[0, : item.n_frames]
        mel = mel.float().numpy()
        wave = aligned_audio(load_audio(paths[u.id], audio.SAMPLE_RATE)[0], len(mel))
        l1s.append(float(np.mean(np.abs(mel - item.mel))))
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, mel=mel, audio=wave)
        tmp.replace(path)
        written += 1
    summary = f"wrote {written} pairs to {args.out} ({len(utterances) - written} already there)"
    if l1s:
        summary += f"; teacher-forced mel vs recording: mean L1 {np.mean(l1s):.3f} (log-mel units)"
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
