"""Train the BatonTTS acoustic model (torch; single process or torchrun / DDP).

    python -m tts_model.train.loop recipes/configs/tiny.toml [--data DIR] [--out DIR] [--max-minutes M] [--max-steps N]
    torchrun --nproc_per_node 2 -m tts_model.train.loop recipes/configs/ljspeech.toml

DDP backend: nccl on GPU, gloo on CPU; bf16 autocast on GPU. The run resumes from ``<out>/checkpoint``
when it exists (model, optimizer, step, elapsed minutes); to fine-tune a shipped voice, write that checkpoint
from the voice first (``python -m tts_model.train.import_voice <voice dir> --out <out>/checkpoint``). Checkpoints
are saved in pieces of at most 15 MiB (:mod:`tts_model.train.checkpoint`) every ``checkpoint_minutes`` and at the end; ``--max-minutes`` stops the run
cleanly after a final checkpoint. Progress goes to ``<out>/train_log.jsonl`` (one JSON object per log step)
and stdout. Training config (this file's :class:`TrainConfig`) stays with the recipe; the model config
travels with the weights.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from tts_model.train.batching import ControlDropout, collate, make_batches, prepare_utterance
from tts_model.train.checkpoint import load_checkpoint, save_checkpoint
from tts_model.runtime.config import ConfigError, ControlNorm, ModelConfig, _from_dict
from tts_model.train.dataset import load_utterances, validation_ids
from tts_model.acoustic.discriminator import MelDiscriminator, discriminator_loss, generator_loss
from tts_model.acoustic.model import AcousticModel, count_parameters


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Paths relative to the repository root unless absolute."""

    data_dir: str = "data/ljspeech"
    out_dir: str = "runs/ljspeech"
    model: dict = field(default_factory=dict)
    """ModelConfig overrides (control_norm's phone_s / pause_s come from the prepared data)."""
    batch_frames: int = 4000
    """Padded mel frames per batch (per process)."""
    learning_rate: float = 1e-3
    warmup_steps: int = 400
    max_steps: int = 200000
    max_minutes: float = 0.0
    """Stop after this many minutes of this run (0 = no limit)."""
    weight_decay: float = 1e-6
    grad_clip: float = 1.0
    log_every: int = 20
    checkpoint_minutes: float = 10.0
    seed: int = 1234
    threads: int = 0
    """torch intra-op threads on CPU (0 = leave torch's default)."""
    loss_weights: dict = field(default_factory=lambda: {"mel": 1.0, "duration": 0.5, "pitch": 0.2,
                                                         "energy": 0.2, "controls": 0.2})
    """Weights of the loss terms. ``adversarial`` > 0 adds a least-squares GAN term on the teacher-forced mel
    against a :class:`~tts_model.acoustic.discriminator.MelDiscriminator` trained alongside (0 or absent = off)."""
    discriminator_learning_rate: float = 2e-4
    """Adam learning rate of the mel discriminator (used only when ``loss_weights["adversarial"]`` > 0)."""
    control_dropout: dict = field(default_factory=dict)
    """ControlDropout overrides: p_none, p_all, p_each."""
    validation_every: int = 0
    """Hold every n-th utterance (in id order) out of training as a validation set (0 = none). Its
    teacher-forced mel L1 is logged as ``val_mel`` at every checkpoint."""
    ema_decay: float = 0.0
    """Keep an exponential moving average of the weights with this decay per step (0 = off; e.g. 0.999). When
    on, the average is what validation measures and what export uses; ``val_mel_raw`` logs the raw weights."""

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
        return _from_dict(cls, data, f"training config {path}")


def _is_dist() -> bool:
    return dist.is_available() and dist.is_initialized()


def _rank() -> int:
    return dist.get_rank() if _is_dist() else 0


def stop_flag(stop: bool, device: torch.device) -> torch.Tensor:
    """``stop`` as a float32 tensor of shape (1,) on ``device``, the training device. It must live there: nccl
    broadcasts only CUDA tensors, and a flag left on the CPU fails the first step of every GPU run under torchrun
    ("No backend type associated with device type cpu"); gloo takes either."""
    return torch.tensor([1.0 if stop else 0.0], dtype=torch.float32, device=device)


def agree_to_stop(stop: bool, device: torch.device) -> bool:
    """Rank 0's ``stop`` on every rank (a broadcast under DDP), so every process stops at the same step."""
    flag = stop_flag(stop, device)
    if _is_dist():
        dist.broadcast(flag, 0)
    return bool(flag.item())


def teacher_forced(model: Any, batch: dict[str, torch.Tensor]) -> Any:
    """The model's output on a :func:`~tts_model.train.batching.collate` batch with the recorded durations, pitch and
    energy as targets (teacher forcing): training, validation and vocoder pairs all render this way."""
    return model(batch["phoneme_ids"], batch["segment_ids"], batch["emphasis"], batch["controls"],
                 batch["control_mask"], phone_mask=batch["phone_mask"], target_durations=batch["target_durations"],
                 target_pitch_st=batch["target_pitch_st"], target_energy_db=batch["target_energy_db"])


def compute_losses(model: Any, batch: dict[str, torch.Tensor], weights: dict[str, float],
                   discriminator: MelDiscriminator | None = None) -> dict[str, torch.Tensor]:
    """Weighted loss terms for one batch; ``total`` is their sum. Units: mel L1 in log units, the rest MSE
    in normalised control units (pitch / pitch_st_scale, energy / energy_db_scale, ln(1 + frames)).
    With a ``discriminator``: ``adversarial`` (the model's least-squares GAN term, part of ``total``) and
    ``discriminator`` (the discriminator's own loss on the recording's mel and the detached model mel, not
    part of ``total``; the caller back-propagates it separately)."""
    core = model.module if hasattr(model, "module") else model
    cfg = core.config
    out = teacher_forced(model, batch)
    frames = out.frame_mask.unsqueeze(-1)

    mel_loss = (torch.abs(out.mel.float() - batch["mel"]) * frames).sum() / (frames.sum() * cfg.n_mels).clamp_min(1)
    pmask = batch["phone_mask"]
    phones = (batch["phoneme_ids"] >= cfg.first_phone_id).float() * pmask
    spoken = pmask * (batch["phoneme_ids"] != cfg.pause_id).float()
    target_d = torch.log1p(batch["target_durations"].float())
    dur_loss = ((torch.log1p(out.durations.float()) - target_d) ** 2 * spoken).sum() / spoken.sum().clamp_min(1)
    norm = cfg.control_norm
    voiced = phones * (batch["target_durations"] > 0).float()
    pitch_loss = (((out.pitch_st.float() - batch["target_pitch_st"]) / norm.pitch_st_scale) ** 2 * voiced).sum() \
        / voiced.sum().clamp_min(1)
    energy_loss = (((out.energy_db.float() - batch["target_energy_db"]) / norm.energy_db_scale) ** 2 * voiced).sum() \
        / voiced.sum().clamp_min(1)
    measured = batch["measured"]
    ctrl_loss = ((out.predicted_controls.float() - batch["true_controls"]) ** 2 * measured).sum() \
        / measured.sum().clamp_min(1)
    terms = {"mel": mel_loss, "duration": dur_loss, "pitch": pitch_loss, "energy": energy_loss, "controls": ctrl_loss}
    if discriminator is not None:
        terms["adversarial"] = generator_loss(discriminator, out.mel, out.frame_mask)
    terms["total"] = sum(weights.get(k, 0.0) * v for k, v in terms.items())
    if discriminator is not None:
        terms["discriminator"] = discriminator_loss(discriminator, batch["mel"], out.mel, out.frame_mask)
    return terms


def _learning_rate(config: TrainConfig, step: int) -> float:
    warm = min(1.0, (step + 1) / max(config.warmup_steps, 1))
    return config.learning_rate * warm * min(1.0, math.sqrt(max(config.warmup_steps, 1) / (step + 1)))


def _log(path: Path, record: dict) -> None:
    """Append one JSON line to the training log and echo it."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    print(f"[train] {json.dumps(record)}", flush=True)


def split_validation(items: list, every: int) -> tuple[list, list]:
    """(training items, validation items): the items whose id :func:`~tts_model.train.dataset.validation_ids` holds out."""
    held = validation_ids([item.id for item in items], every)
    return [x for x in items if x.id not in held], [x for x in items if x.id in held]


class WeightAverage:
    """Exponential moving average of a model's weights (``ema_decay``), kept in a second model for validation
    and export. The tensor pairs are collected once; each :meth:`update` is one fused in-place lerp. Works for
    any model built from its ``config`` alone (AcousticModel, HiFiGANGenerator); ``state`` resumes a saved
    average."""

    def __init__(self, model: torch.nn.Module, decay: float, state: dict | None = None) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.model = type(model)(model.config).to(next(model.parameters()).device)
        self.model.load_state_dict(state if state is not None else model.state_dict(), strict=True)
        self.model.eval()
        pairs = list(zip(self.model.state_dict().values(), model.state_dict().values()))  # views of the live tensors
        self._floats = [(a, b) for a, b in pairs if a.dtype.is_floating_point]
        self._others = [(a, b) for a, b in pairs if not a.dtype.is_floating_point]

    @torch.no_grad()
    def update(self, step: int) -> None:
        """average <- average + (1 - decay) * (model - average); the decay ramps up over the first steps."""
        decay = min(self.decay, (1.0 + step) / (10.0 + step))
        averages, current = zip(*self._floats)
        torch._foreach_lerp_(list(averages), list(current), 1.0 - decay)
        for average, value in self._others:
            average.copy_(value)


@torch.no_grad()
def validation_mel_l1(model: AcousticModel, items: list, device: torch.device) -> float:
    """Mean absolute log-mel error per frame and bin, teacher-forced (recorded durations, pitch, energy and
    every measured control given), with dropout off; the model is left in the mode it was in."""
    was_training = model.training
    model.eval()
    total, frames = 0.0, 0
    for item in items:
        batch = {k: v.to(device) for k, v in collate([item], None, np.random.default_rng(0)).items()}
        out = teacher_forced(model, batch)
        n = item.n_frames
        total += float(torch.abs(out.mel[0, :n].float() - batch["mel"][0, :n]).sum())
        frames += n * batch["mel"].shape[-1]
    model.train(was_training)
    return total / max(frames, 1)


def train(config: TrainConfig, root: Path = Path(".")) -> dict[str, Any]:
    """Run (or resume) training; returns a summary dict. Works in a torchrun process group when launched so."""
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1 and not _is_dist():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = (_rank(), dist.get_world_size()) if _is_dist() else (0, 1)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    elif config.threads:
        torch.set_num_threads(config.threads)
    data_dir, out_dir = (root / config.data_dir), (root / config.out_dir)
    utterances, index = load_utterances(data_dir)
    baseline = index["baseline"]
    ckpt_dir = out_dir / "checkpoint"
    resume = (ckpt_dir / "meta.json").is_file()
    if resume:
        model_config, state, meta = load_checkpoint(ckpt_dir)
    else:
        overrides = dict(config.model)
        norm = ControlNorm.from_dict({**overrides.pop("control_norm", {}), "phone_s": index["phone_s"],
                                      "pause_s": baseline["pause_s"]})
        model_config = ModelConfig.from_dict({**overrides, "control_norm": asdict(norm)})
        state, meta = None, {"step": 0, "extra": {}}
    torch.manual_seed(config.seed)
    model = AcousticModel(model_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, betas=(0.9, 0.98),
                                  weight_decay=config.weight_decay)
    step = int(meta["step"])
    elapsed_before = float(meta["extra"].get("minutes_total", 0.0))
    if state is not None:
        model.load_state_dict(state["model"], strict=True)
        if "optimizer" in state:  # absent in a checkpoint made from a voice (tts_model.train.import_voice): fresh Adam
            optimizer.load_state_dict(state["optimizer"])
    ema = WeightAverage(model, config.ema_decay, (state or {}).get("ema")) if config.ema_decay > 0.0 and rank == 0 else None
    disc, disc_optimizer = None, None
    if config.loss_weights.get("adversarial", 0.0) > 0.0:
        # Not wrapped in DDP (it runs three forwards per step); its gradients are averaged by hand below.
        disc = MelDiscriminator().to(device)
        disc_optimizer = torch.optim.AdamW(disc.parameters(), lr=config.discriminator_learning_rate, betas=(0.5, 0.9))
        if state is not None and "discriminator" in state:  # a run that turns the GAN on later starts it fresh
            disc.load_state_dict(state["discriminator"], strict=True)
            disc_optimizer.load_state_dict(state["discriminator_optimizer"])
    ddp_model = torch.nn.parallel.DistributedDataParallel(model) if _is_dist() else model
    items = [prepare_utterance(u, baseline, model_config.control_norm) for u in utterances]
    items, val_items = split_validation(items, config.validation_every)
    dropout = ControlDropout(**config.control_dropout)
    rng = np.random.default_rng(config.seed + 1000 * rank + step)
    log_path = out_dir / "train_log.jsonl"
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        start = "from scratch"
        if resume:
            start = (f"resuming at step {step}" if "optimizer" in state else
                     f"fine-tuning {meta['extra'].get('imported_from', 'an imported voice')} from step {step}")
        print(f"[train] {len(items)} utterances, {count_parameters(model) / 1e6:.2f} M parameters, world {world}, "
              f"device {device}, {start}"
              f"{f', {len(val_items)} held for validation' if val_items else ''}", flush=True)
    started = last_ckpt = time.time()
    sums: dict[str, float] = {}
    count = 0
    stop = False
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    while not stop:
        for batch_idx in make_batches(items, config.batch_frames, rng):
            batch = {k: v.to(device) for k, v in collate([items[i] for i in batch_idx], dropout, rng).items()}
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(config, step)
            ddp_model.train()
            with autocast:
                terms = compute_losses(ddp_model, batch, config.loss_weights, disc)
            optimizer.zero_grad(set_to_none=True)
            terms["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            if disc is not None:
                disc_optimizer.zero_grad(set_to_none=True)  # drops what the model's GAN term left there
                terms["discriminator"].backward()
                if _is_dist():
                    for p in disc.parameters():
                        dist.all_reduce(p.grad)
                        p.grad /= world
                disc_optimizer.step()
            step += 1
            if ema is not None:
                ema.update(step)
            count += 1
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            minutes = (time.time() - started) / 60
            stop = agree_to_stop(step >= config.max_steps or bool(config.max_minutes and minutes >= config.max_minutes),
                                 device)
            if rank == 0 and (step % config.log_every == 0 or stop):
                _log(log_path, {"step": step, "minutes": round(elapsed_before + minutes, 2),
                                "lr": _learning_rate(config, step), **{k: round(v / count, 4) for k, v in sums.items()}})
                sums, count = {}, 0
            if rank == 0 and (stop or (time.time() - last_ckpt) / 60 >= config.checkpoint_minutes):
                if val_items:
                    record = {"step": step, "minutes": round(elapsed_before + (time.time() - started) / 60, 2),
                              "val_mel": round(validation_mel_l1(ema.model if ema else model, val_items, device), 4)}
                    if ema is not None:
                        record["val_mel_raw"] = round(validation_mel_l1(model, val_items, device), 4)
                    _log(log_path, record)
                tensors = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
                if ema is not None:
                    tensors["ema"] = ema.model.state_dict()
                if disc is not None:
                    tensors["discriminator"] = disc.state_dict()
                    tensors["discriminator_optimizer"] = disc_optimizer.state_dict()
                save_checkpoint(ckpt_dir, model_config, tensors,
                                step, extra={"baseline": baseline, "train_config": asdict(config),
                                             "minutes_total": elapsed_before + (time.time() - started) / 60,
                                             "data_stats": {k: v for k, v in index["stats"].items() if k != "skipped"}})
                last_ckpt = time.time()
            if stop:
                break
    if _is_dist():
        dist.barrier()
    summary = {"step": step, "rank": rank, "world": world, "minutes": (time.time() - started) / 60,
               "param_checksum": float(sum(p.detach().double().sum() for p in model.parameters()))}
    if disc is not None:
        summary["discriminator_checksum"] = float(sum(p.detach().double().sum() for p in disc.parameters()))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the BatonTTS acoustic model.")
    parser.add_argument("config", type=Path, help="training config TOML (recipes/configs/*.toml)")
    parser.add_argument("--data", help="prepared data directory (overrides data_dir)")
    parser.add_argument("--out", help="run directory (overrides out_dir)")
    parser.add_argument("--max-minutes", type=float)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--summary", type=Path, help="write a JSON summary (per rank: summary.rank<N>.json)")
    args = parser.parse_args(argv)
    try:
        config = TrainConfig.load(args.config)
    except (ConfigError, tomllib.TOMLDecodeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    overrides = {k: v for k, v in {"data_dir": args.data, "out_dir": args.out, "max_minutes": args.max_minutes,
                                   "max_steps": args.max_steps}.items() if v is not None}
    config = replace(config, **overrides)
    try:
        summary = train(config)
    except (FileNotFoundError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.summary:
        path = args.summary.with_name(f"{args.summary.stem}.rank{summary['rank']}{args.summary.suffix}")
        path.write_text(json.dumps(summary) + "\n", encoding="utf-8")
    if _is_dist():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
