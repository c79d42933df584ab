"""Distil HiFi-GAN V1 into a faster generator with fewer residual blocks in its costly early stages (torch).

Where V1's arithmetic is: every upsampling stage averages three residual blocks (kernels 3, 7, 11, each six
convolutions). Multiply-adds per second of audio go with channels^2 x positions, so stage 2 (128 channels at
5.5 kHz) costs about 44 % of the generator, stages 1 and 3 about 22 % each, stage 4 about 11 %. The student
keeps one residual block (kernel 7) in stages 1-3 and all three in stage 4 (``FAST_STAGE_BLOCKS``): about 40 %
of V1's multiply-adds (vocoder RTF 0.234 against 0.461 for V1, 2 threads, docs/vocoder.md).

Training, on the teacher's own outputs (no recordings needed, no discriminators):
  1. **features**: the student starts as a copy of V1 with the kept blocks' weights; in each reduced stage its
     block learns to map the teacher's stage input to the teacher's stage output (the three-block average),
     an L1 normalised by the output's mean magnitude. The stages train side by side on teacher inputs.
  2. **waveform**: the whole student (every weight) learns to reproduce the teacher's waveform from the mel:
     log-mel L1 + multi-resolution STFT (spectral convergence + log magnitude) + waveform L1. Step 1's stages
     each saw teacher inputs; this step repairs the errors they pass on to each other.

``recipes/distill_vocoder.py`` runs both, time-boxed and resumable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch.nn import functional as F

from tts_model.vocoder.model import HiFiGANConfig, HiFiGANGenerator

FAST_STAGE_BLOCKS: tuple[tuple[int, ...], ...] = ((1,), (1,), (1,), (0, 1, 2))
"""Per stage, the indices into V1's (3, 7, 11) residual kernels the fast vocoder keeps."""
STFT_RESOLUTIONS: tuple[tuple[int, int], ...] = ((512, 128), (1024, 256), (2048, 512))
"""(n_fft, hop) of the multi-resolution STFT loss."""
MEL_WEIGHT, STFT_WEIGHT, WAVE_WEIGHT = 1.0, 1.0, 10.0


def student_from_teacher(teacher: HiFiGANGenerator, stage_blocks=FAST_STAGE_BLOCKS) -> HiFiGANGenerator:
    """A generator with ``stage_blocks`` whose every weight is copied from ``teacher`` (a full V1-layout
    generator): the input and output convolutions, the upsampling layers, and each kept residual block."""
    if teacher.config.stage_blocks is not None:
        raise ValueError("the teacher must have every residual block in every stage (stage_blocks=None)")
    config = replace(teacher.config, stage_blocks=tuple(tuple(b) for b in stage_blocks))
    student = HiFiGANGenerator(config)
    student.conv_pre.load_state_dict(teacher.conv_pre.state_dict())
    student.ups.load_state_dict(teacher.ups.state_dict())
    student.conv_post.load_state_dict(teacher.conv_post.state_dict())
    for stage in range(len(config.upsample_rates)):
        for mine, block in zip(student.blocks(stage), config.blocks_of(stage)):
            mine.load_state_dict(teacher.blocks(stage)[block].state_dict())
    return student


def reduced_stages(config: HiFiGANConfig) -> tuple[int, ...]:
    """Stages whose block set differs from the full V1 set (the ones feature distillation trains)."""
    full = tuple(range(len(config.resblock_kernel_sizes)))
    return tuple(s for s in range(len(config.upsample_rates)) if config.blocks_of(s) != full)


def feature_loss(student: HiFiGANGenerator, trace: dict[int, tuple[torch.Tensor, torch.Tensor]]
                 ) -> tuple[torch.Tensor, dict[int, float]]:
    """``trace``: the teacher's ``HiFiGANGenerator.trace`` stage tensors. Sum over traced stages of mean |student stage(teacher input) - teacher output| / mean |teacher output|."""
    total, per_stage = 0.0, {}
    for stage, (inp, target) in trace.items():
        loss = (student.stage_mix(stage, inp) - target).abs().mean() / target.abs().mean().clamp_min(1e-6)
        per_stage[stage] = float(loss.detach())
        total = total + loss
    return total, per_stage


def stft_loss(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss: mean over STFT_RESOLUTIONS of spectral convergence + log-magnitude L1."""
    total = 0.0
    for n_fft, hop in STFT_RESOLUTIONS:
        window = torch.hann_window(n_fft, device=generated.device)
        mags = [torch.stft(w.float(), n_fft, hop, window=window, return_complex=True).abs().clamp_min(1e-5)
                for w in (generated, target)]
        convergence = torch.linalg.norm(mags[1] - mags[0]) / torch.linalg.norm(mags[1]).clamp_min(1e-6)
        total = total + convergence + (mags[0].log() - mags[1].log()).abs().mean()
    return total / len(STFT_RESOLUTIONS)


@dataclass(frozen=True)
class WaveLosses:
    total: float
    mel_l1: float
    stft: float
    wave_l1: float


def wave_loss(log_mel_fn, generated: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, WaveLosses]:
    """Student waveform against the teacher's: MEL_WEIGHT x log-mel L1 + STFT_WEIGHT x multi-resolution STFT +
    WAVE_WEIGHT x waveform L1."""
    mel_l1 = F.l1_loss(log_mel_fn(generated.float()), log_mel_fn(target.float()))
    stft = stft_loss(generated, target)
    wave_l1 = F.l1_loss(generated, target)
    total = MEL_WEIGHT * mel_l1 + STFT_WEIGHT * stft + WAVE_WEIGHT * wave_l1
    return total, WaveLosses(float(total.detach()), float(mel_l1.detach()), float(stft.detach()),
                             float(wave_l1.detach()))


__all__ = ["FAST_STAGE_BLOCKS", "student_from_teacher", "reduced_stages", "feature_loss",
           "stft_loss", "wave_loss", "WaveLosses"]
