"""A tiny random-weight voice built from the real classes, for testing the runtime, CLI and pipeline.

``make_test_voice(dir)`` exports a very small :class:`~tts_model.acoustic.model.AcousticModel` and a very small
HiFi-GAN generator through the same export code as a real voice, so everything downstream (voice.json,
onnxruntime sessions, graph contracts, streaming by segment) is exercised without trained weights.
The audio is noise-like, of plausible length; do not judge quality with it. Needs torch (tests only).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from tts_model.runtime.config import ControlNorm, ModelConfig, VoiceConfig
from tts_model.train.export import export_acoustic
from tts_model.text.frontend import PHONEMES

TEST_BASELINE = {"pitch_mean_hz": 205.0, "energy_rms": 0.065, "spectral_centroid_hz": 1900.0,
                 "speaking_rate_sps": 4.3, "pitch_range_st": 2.5, "pause_s": 0.25}
TEST_MODEL = ModelConfig(d_model=16, n_heads=2, encoder_layers=1, decoder_layers=1, ff_channels=32, ff_kernel=3,
                         predictor_channels=16, control_norm=ControlNorm(phone_s=0.08, pause_s=0.25))


def tiny_acoustic_model(seed: int = 0, config: ModelConfig = TEST_MODEL):
    """Random-weight acoustic model whose untrained duration predictor still gives ~5 frames per phoneme."""
    from tts_model.acoustic.model import AcousticModel

    torch.manual_seed(seed)
    model = AcousticModel(config).eval()
    with torch.no_grad():
        model.duration_predictor.proj.bias.fill_(math.log(6.0))
    return model


def tiny_vocoder(seed: int = 0):
    """Random-weight HiFi-GAN generator with the real architecture class, ~20k parameters."""
    from tts_model.vocoder.model import HiFiGANConfig, HiFiGANGenerator

    torch.manual_seed(seed)
    config = HiFiGANConfig(upsample_initial_channel=16, resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1,),))
    return HiFiGANGenerator(config).eval()


def write_noise_pairs(directory: Path | str, count: int, n_frames: int, seed: int = 0) -> Path:
    """``count`` vocoder training pairs ``clip<i>.npz`` (``mel`` = log-mel of ``audio``, white noise of
    ``n_frames`` frames at 0.1 standard deviation) in ``directory``, created; returns it."""
    import numpy as np

    from tts_model.runtime import audio

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        wave = (0.1 * rng.standard_normal(n_frames * audio.HOP_LENGTH)).astype(np.float32)
        np.savez(directory / f"clip{index}.npz", mel=audio.log_mel(wave), audio=wave)
    return directory


def make_test_voice(directory: Path | str, voice_id: str = "test-voice", seed: int = 0) -> Path:
    """Write a complete tiny voice (voice.json, acoustic.onnx, vocoder.onnx, MODEL_CARD.md) into
    ``directory`` and return it. Takes a few seconds on one CPU core."""
    from tts_model.vocoder.export import export_onnx

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = tiny_acoustic_model(seed)
    export_acoustic(model, directory / "acoustic.onnx", precision="fp32")
    export_onnx(tiny_vocoder(seed), directory / "vocoder.onnx", precision="fp32")
    VoiceConfig(voice_id=voice_id, model=model.config, baseline=dict(TEST_BASELINE), phonemes=PHONEMES,
                licence="test fixture, no data", provenance=f"tts_model.train.testing.make_test_voice(seed={seed}); "
                "random weights").save(directory / "voice.json")
    (directory / "MODEL_CARD.md").write_text(
        f"# {voice_id}\n\nRandom-weight test voice made by `tts_model.train.testing.make_test_voice`. It produces "
        "noise of plausible length; it exists only to test the runtime and CLI.\n", encoding="utf-8")
    return directory


__all__ = ["make_test_voice", "tiny_acoustic_model", "tiny_vocoder", "TEST_BASELINE", "TEST_MODEL"]
