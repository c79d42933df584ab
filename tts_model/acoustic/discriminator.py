"""A log-mel discriminator for adversarial training of the acoustic model (torch, training only; never exported).

Trained with an L1 loss alone, the acoustic model predicts the average of what a phoneme could look like. Its
teacher-forced mels change from frame to frame only about 60 % as much as the recordings' do (docs/training.md,
run 9), and that smear hides consonant bursts. A least-squares GAN term (Mao et al. 2017) rewards detail the
recordings have. :class:`MelDiscriminator` scores every (frame, band) patch of a log-mel. Its 2-D convolutions
stride over mel bins only, so the time axis keeps one score per frame and padded frames can be masked out.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MelDiscriminator(nn.Module):
    """log-mel (B, F, M) -> scores (B, F, M / 2 ** len(channels)); one score per frame and band. Training only:
    its shape is fixed here, not in a config, because it never travels with a voice."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64), kernel: int = 5) -> None:
        """``channels``: the strided layers (each halves the mel bins); a last 3 x 3 layer gives the scores."""
        super().__init__()
        sizes = (1, *channels)
        self.layers = nn.ModuleList(nn.Conv2d(a, b, kernel, stride=(1, 2), padding=kernel // 2)
                                    for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Conv2d(channels[-1], 1, 3, padding=1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = mel.unsqueeze(1)
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)
        return self.out(x).squeeze(1)


def _masked_error(discriminator: MelDiscriminator, mel: torch.Tensor, target: float,
                  frames: torch.Tensor) -> torch.Tensor:
    """Mean of (D(mel) - target)^2 over the frames where ``frames`` (B, F) is 1. Padded frames are zeroed before
    scoring, so what a batch holds there (the recording's padding, the model's output) cannot tell real from
    generated at the edges the convolutions see across."""
    mask = frames.unsqueeze(-1).float()
    errors = (discriminator(mel.float() * mask) - target) ** 2
    return (errors * mask).sum() / (mask.sum() * errors.shape[-1]).clamp_min(1)


def generator_loss(discriminator: MelDiscriminator, fake: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN loss of the acoustic model: (D(fake) - 1)^2 over real frames."""
    return _masked_error(discriminator, fake, 1.0, frames)


def discriminator_loss(discriminator: MelDiscriminator, real: torch.Tensor, fake: torch.Tensor,
                       frames: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN loss of the discriminator: (D(real) - 1)^2 + D(fake)^2, fake detached."""
    return _masked_error(discriminator, real, 1.0, frames) + _masked_error(discriminator, fake.detach(), 0.0, frames)


__all__ = ["MelDiscriminator", "generator_loss", "discriminator_loss"]
