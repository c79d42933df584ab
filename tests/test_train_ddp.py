"""Training under DDP: the stop flag that every rank agrees on lives on the training device, so nccl (GPU, CUDA
tensors only) can broadcast it. The two-process gloo run is tests/test_tts_pipeline.py's
test_ddp_two_cpu_processes_agree; the nccl run below needs a CUDA GPU and is skipped without one."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

from tts_model.train import loop
from tts_model.train.dataset import Utterance, write_shard
from tts_model.train.testing import TEST_BASELINE

ROOT = Path(__file__).resolve().parents[1]
N_MELS = 80


def synthetic_data(directory: Path, count: int = 6, seed: int = 0) -> Path:
    """A prepared-data directory (index.json + one shard) of ``count`` random utterances: one segment each,
    8 to 12 phonemes of 3 to 6 frames, random log-mel, no measured controls. Enough to run training steps;
    nothing in it is speech."""
    rng = np.random.default_rng(seed)
    utterances = []
    for k in range(count):
        n = int(rng.integers(8, 13))
        durations = rng.integers(3, 7, size=n)
        frames = int(durations.sum())
        utterances.append(Utterance(
            id=f"SYN-{k:04d}", phoneme_ids=rng.integers(9, 78, size=n).astype(np.int16),
            segment_ids=np.zeros(n, np.int16), durations=durations.astype(np.int16),
            pitch_hz=rng.uniform(150.0, 250.0, size=n).astype(np.float32),
            energy_db=rng.uniform(-30.0, -20.0, size=n).astype(np.float32), emphasis=np.zeros(n, np.uint8),
            controls=np.full((1, 7), np.nan, np.float32),
            mel=rng.normal(-5.0, 1.0, size=(frames, N_MELS)).astype(np.float16)))
    directory.mkdir(parents=True, exist_ok=True)
    write_shard(directory / "shard-000.npz", utterances)
    index = {"format": 1, "shards": ["shard-000.npz"], "utterances": {u.id: "shard-000.npz" for u in utterances},
             "held_out": [], "baseline": dict(TEST_BASELINE), "phone_s": 0.08, "stats": {}}
    (directory / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return directory


def tiny_config(tmp_path: Path, steps: int):
    config = loop.TrainConfig.load(ROOT / "recipes/configs/tiny.toml")
    return replace(config, data_dir=str(synthetic_data(tmp_path / "data")), out_dir=str(tmp_path / "run"),
                   max_steps=steps, threads=1)


def test_stop_flag_is_made_on_the_given_device():
    flag = loop.stop_flag(True, torch.device("cpu"))
    assert flag.dtype == torch.float32 and flag.shape == (1,) and float(flag) == 1.0
    assert float(loop.stop_flag(False, torch.device("cpu"))) == 0.0
    # any device, not the CPU by default: the meta device exists on every machine
    assert loop.stop_flag(True, torch.device("meta")).device.type == "meta"


@pytest.mark.parametrize("group", [None, "gloo"])
def test_training_builds_its_stop_flag_on_the_models_device(tmp_path, monkeypatch, group):
    """Every step's flag goes to the device the model trains on (here the CPU; on a GPU, cuda:LOCAL_RANK), alone
    and inside a one-rank gloo group (DDP wrapper, broadcast and barrier on the synthetic data)."""
    seen = []
    real = loop.stop_flag

    def recording(stop, device):
        seen.append(device)
        return real(stop, device)

    monkeypatch.setattr(loop, "stop_flag", recording)
    if group:
        dist.init_process_group(group, init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        summary = loop.train(tiny_config(tmp_path, steps=3))
    finally:
        if group:
            dist.destroy_process_group()
    assert summary["step"] == 3 and summary["world"] == 1 and math.isfinite(summary["param_checksum"])
    assert len(seen) == 3 and all(d == torch.device("cpu") for d in seen)


@pytest.mark.skipif(not (torch.cuda.is_available() and dist.is_nccl_available()), reason="needs a CUDA GPU and nccl")
def test_nccl_process_group_trains_and_stops(tmp_path):
    """One rank in an nccl group on the GPU: every collective of a training step (DDP's gradient all-reduce,
    the stop-flag broadcast, the final barrier) gets a CUDA tensor. A CPU flag fails here with 'No backend type
    associated with device type cpu'."""
    dist.init_process_group("nccl", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        summary = loop.train(tiny_config(tmp_path, steps=3))
    finally:
        dist.destroy_process_group()
    assert summary["step"] == 3 and summary["world"] == 1 and math.isfinite(summary["param_checksum"])
    assert (tmp_path / "run/checkpoint/meta.json").is_file()
