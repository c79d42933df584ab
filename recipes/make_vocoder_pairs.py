"""Ground-truth-aligned (teacher-forced) vocoder training pairs from an acoustic checkpoint.

For every utterance of a prepared data directory, the acoustic model renders its log-mel with the
*recorded* per-phoneme durations, pitch and energy and every measured plan control given. That mel lines
up frame by frame with the recording, so the vocoder can learn to turn the acoustic model's (blurred)
output back into the real waveform (HiFi-GAN's fine-tuning recipe, Kong et al. 2020, section 4.4).

    python recipes/make_vocoder_pairs.py --checkpoint runs/ljspeech_cpu/checkpoint --data data/ljspeech \
        --corpus ../shared/corpora/ljspeech --out data/vocoder_pairs

Writes ``<out>/<id>.npz`` with ``mel`` float32 (n_frames, 80) and ``audio`` float32 (n_frames * 256,), the
input of ``recipes/finetune_vocoder.py --pairs``, and prints the mean L1 between the teacher-forced mel and
the recording's mel (a quick measure of how blurred the acoustic model's output is). Existing files are
kept unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tts_model import audio  # noqa: E402
from tts_model.batching import collate, prepare_utterance  # noqa: E402
from tts_model.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from tts_model.dataset import load_utterances  # noqa: E402
from tts_model.model import AcousticModel  # noqa: E402


def recording(corpus: Path, clip_id: str) -> np.ndarray:
    for ext in (".flac", ".wav"):
        path = corpus / "wavs" / f"{clip_id}{ext}"
        if path.is_file():
            wave, sample_rate = sf.read(path, dtype="float32")
            if sample_rate != audio.SAMPLE_RATE:
                raise SystemExit(f"error: {path} is {sample_rate} Hz; the vocoder needs {audio.SAMPLE_RATE} Hz")
            return wave if wave.ndim == 1 else wave.mean(axis=1)
    raise SystemExit(f"error: no wavs/{clip_id}.flac or .wav under {corpus}")


@torch.no_grad()
def teacher_forced_mel(model: AcousticModel, item) -> np.ndarray:
    """(n_frames, 80) log-mel rendered with the recording's durations, pitch, energy and measured controls."""
    batch = collate([item], dropout=None, rng=np.random.default_rng(0))
    out = model(batch["phoneme_ids"], batch["segment_ids"], batch["emphasis"], batch["controls"],
                batch["control_mask"], phone_mask=batch["phone_mask"], target_durations=batch["target_durations"],
                target_pitch_st=batch["target_pitch_st"], target_energy_db=batch["target_energy_db"])
    return out.mel[0, : item.n_frames].float().numpy()


def aligned_audio(wave: np.ndarray, n_mel_frames: int) -> np.ndarray:
    """The recording's samples under the prepared (start-trimmed) mel: the prepare recipe drops the first
    ``len(log_mel(wave)) - n_mel_frames`` frames and keeps the rest."""
    first = len(wave) // audio.HOP_LENGTH - n_mel_frames  # log_mel gives n_samples // hop frames
    if first < 0:
        raise ValueError(f"prepared mel has {n_mel_frames} frames but the recording only {n_mel_frames + first}")
    piece = wave[audio.n_samples(first): audio.n_samples(first + n_mel_frames)]
    return np.pad(piece, (0, audio.n_samples(n_mel_frames) - len(piece))).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="acoustic model checkpoint directory")
    parser.add_argument("--data", type=Path, required=True, help="prepared data directory (index.json + shards)")
    parser.add_argument("--corpus", type=Path, required=True, help="the corpus the data was prepared from (wavs/)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    try:
        config, state, meta = load_checkpoint(args.checkpoint)
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    baseline = meta["extra"].get("baseline")
    if not baseline:
        print("error: the checkpoint has no voice baseline in meta.json 'extra'", file=sys.stderr)
        return 2
    model = AcousticModel(config)
    model.load_state_dict(state["model"], strict=True)
    model.eval()
    utterances, _ = load_utterances(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    l1s, written = [], 0
    try:
        from tqdm import tqdm
        progress = tqdm(utterances, desc="pairs", unit="utt")
    except ImportError:
        progress = utterances
    for u in progress:
        path = args.out / f"{u.id}.npz"
        if path.is_file() and not args.overwrite:
            continue
        item = prepare_utterance(u, baseline, config.control_norm)
        mel = teacher_forced_mel(model, item)
        wave = aligned_audio(recording(args.corpus, u.id), len(mel))
        l1s.append(float(np.mean(np.abs(mel - item.mel))))
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, mel=mel.astype(np.float32), audio=wave)
        tmp.replace(path)
        written += 1
    summary = f"wrote {written} pairs to {args.out} ({len(utterances) - written} already there)"
    if l1s:
        summary += f"; teacher-forced mel vs recording: mean L1 {np.mean(l1s):.3f} (log-mel units)"
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
