"""recipes/finetune_vocoder.py: a few CPU steps on a tiny generator, resume, export; the torch log-mel twin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tts_model.runtime import audio

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

REPO = Path(__file__).resolve().parents[1]


def test_torch_log_mel_matches_numpy():
    from tts_model.vocoder.train import TorchLogMel

    rng = np.random.default_rng(0)
    wave = (0.2 * rng.standard_normal((2, 4096))).astype(np.float32)
    got = TorchLogMel()(torch.from_numpy(wave)).numpy()
    assert got.shape == (2, audio.N_MELS, 16)
    for row in range(2):
        np.testing.assert_allclose(got[row].T, audio.log_mel(wave[row]), atol=2e-3)


@pytest.mark.slow
def test_finetune_runs_resumes_and_exports(tmp_path):
    from tts_model.train.testing import write_noise_pairs

    pairs = write_noise_pairs(tmp_path / "pairs", count=2, n_frames=20, seed=1)
    run = tmp_path / "run"
    command = [sys.executable, "-m", "recipes.finetune_vocoder", "--pairs", str(pairs), "--run", str(run), "--tiny",
               "--batch-size", "1", "--segment-frames", "8"]
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    first = subprocess.run(command + ["--steps", "2"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    meta = json.loads((run / "checkpoint" / "meta.json").read_text())
    assert meta["step"] == 2
    second = subprocess.run(command + ["--steps", "3", "--export", "fp32"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resumed from" in second.stdout and "at step 2" in second.stdout
    assert json.loads((run / "checkpoint" / "meta.json").read_text())["step"] == 3
    assert (run / "vocoder.onnx").is_file()
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["mel_l1"]) and np.isfinite(r["discriminator"]) for r in records)


def test_mel_only_finetune_lowers_mel_loss_and_guards_resume(tmp_path):
    rng = np.random.default_rng(2)
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    t = np.arange(24 * 256) / audio.SAMPLE_RATE
    wave = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    np.savez(pairs / "tone.npz", mel=audio.log_mel(wave), audio=wave)
    run = tmp_path / "run"
    command = [sys.executable, "-m", "recipes.finetune_vocoder", "--pairs", str(pairs), "--run", str(run), "--tiny",
               "--batch-size", "2", "--segment-frames", "8", "--lr", "2e-3", "--mel-only"]
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(command + ["--steps", "100"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert all("discriminator" not in r for r in records)
    assert records[-1]["mel_l1"] < records[0]["mel_l1"]
    # a mel-only checkpoint cannot be resumed as a GAN run (it has no discriminators)
    gan = [c for c in command if c != "--mel-only"] + ["--steps", "101"]
    mismatch = subprocess.run(gan, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert mismatch.returncode != 0 and "--mel-only run" in mismatch.stderr
    assert "Traceback" not in mismatch.stderr
