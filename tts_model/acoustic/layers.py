"""Building blocks of the acoustic model: FFT blocks, variance predictors and segment pooling (torch).

Everything is written with plain tensor ops (no ``nn.MultiheadAttention``, no ``repeat_interleave``) so that
the model exports to ONNX with dynamic lengths through the TorchScript exporter.
Shapes: B batch, T phonemes, S segments, F mel frames, D channels.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def sinusoid_positions(length: torch.Tensor | int, channels: int, device: torch.device) -> torch.Tensor:
    """Sinusoidal position table, float32 (length, channels); computed on the fly (dynamic length)."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    half = channels // 2
    freq = torch.exp(torch.arange(half, device=device, dtype=torch.float32) * (-math.log(10000.0) / max(half - 1, 1)))
    angles = pos * freq.unsqueeze(0)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class SelfAttention(nn.Module):
    def __init__(self, channels: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = channels // n_heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)
        # No dropout on the (L x L) attention weights: on the CPU drawing that mask cost ~18 % of a training
        # step (profiled 2026-11-22); the block's residual dropout regularises enough for this model size.
        del dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (B, L, D); mask: (B, L) float, 1 = real position. Returns (B, L, D)."""
        q, k, v = self.qkv(x).unflatten(-1, (3, self.n_heads, self.head_dim)).permute(2, 0, 3, 1, 4).unbind(0)
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        scores = scores + (1.0 - mask[:, None, None, :]) * -1e4
        attn = torch.softmax(scores, dim=-1)
        y = torch.matmul(attn, v).permute(0, 2, 1, 3).flatten(2)
        return self.out(y)


class FFTBlock(nn.Module):
    """Self-attention + 1-D convolutional feed-forward, each residual with post layer norm (FastSpeech)."""

    def __init__(self, channels: int, n_heads: int, ff_channels: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.attn = SelfAttention(channels, n_heads, dropout)
        self.norm1 = nn.LayerNorm(channels)
        self.conv1 = nn.Conv1d(channels, ff_channels, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(ff_channels, channels, 1)
        self.norm2 = nn.LayerNorm(channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1)
        x = self.norm1(x + self.dropout(self.attn(x, mask))) * m
        y = self.conv2(F.relu(self.conv1(x.transpose(1, 2)))).transpose(1, 2)
        return self.norm2(x + self.dropout(y)) * m


class VariancePredictor(nn.Module):
    """Two conv layers -> one value per position: (B, T, D) -> (B, T)."""

    def __init__(self, channels: int, hidden: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(channels, hidden, kernel, padding=kernel // 2)
        self.norm1 = nn.LayerNorm(hidden)
        self.conv2 = nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2)
        self.norm2 = nn.LayerNorm(hidden)
        self.proj = nn.Linear(hidden, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1)
        y = F.relu(self.conv1((x * m).transpose(1, 2))).transpose(1, 2)
        y = self.dropout(self.norm1(y)) * m
        y = F.relu(self.conv2(y.transpose(1, 2))).transpose(1, 2)
        y = self.dropout(self.norm2(y)) * m
        return self.proj(y).squeeze(-1) * mask


def segment_onehot(segment_ids: torch.Tensor, n_segments: torch.Tensor | int, mask: torch.Tensor) -> torch.Tensor:
    """(B, T) segment index per phoneme -> float (B, T, S) membership, zero on padding."""
    seg = torch.arange(n_segments, device=segment_ids.device).view(1, 1, -1)
    return (segment_ids.unsqueeze(-1) == seg).float() * mask.unsqueeze(-1)


def segment_sum(onehot: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Sum of per-phoneme values over each segment: (B,T,S), (B,T) -> (B,S)."""
    return torch.bmm(onehot.transpose(1, 2), values.unsqueeze(-1)).squeeze(-1)


def broadcast(onehot: torch.Tensor, seg_values: torch.Tensor) -> torch.Tensor:
    """Per-segment values to their phonemes: (B,T,S), (B,S) -> (B,T)."""
    return torch.bmm(onehot, seg_values.unsqueeze(-1)).squeeze(-1)


def match_segment_line(values: torch.Tensor, weights: torch.Tensor, times_s: torch.Tensor, onehot: torch.Tensor,
                       target_mean: torch.Tensor, target_slope: torch.Tensor, power_mean: bool) -> torch.Tensor:
    """Shift and tilt per-phoneme ``values`` (B,T) so each segment's weighted mean and slope hit the targets.

    weights: (B,T) frames per phoneme (0 = not counted, e.g. pauses); times_s: (B,T) phoneme centre times;
    target_mean / target_slope: (B,S) in the units of ``values`` (per second for the slope). With
    ``power_mean`` the mean is taken in the power domain (values in dB: 10 log10 mean 10^(v/10)), matching how
    a waveform RMS over the segment averages. Segments without weight are left as they are.
    """
    total = segment_sum(onehot, weights)
    safe = total.clamp_min(1e-6)
    has = (total > 1e-6).float()
    # 1. tilt: weighted least-squares slope over phoneme centre times, replaced by the target slope
    t_mean = segment_sum(onehot, weights * times_s) / safe
    dt = (times_s - broadcast(onehot, t_mean)) * (weights > 0).float()
    var = segment_sum(onehot, weights * dt * dt) / safe
    centred = values - broadcast(onehot, segment_sum(onehot, weights * values) / safe)
    slope = segment_sum(onehot, weights * dt * centred) / safe / var.clamp_min(1e-6)
    has_slope = has * (var > 1e-4).float()
    values = values + broadcast(onehot, (target_slope - slope) * has_slope) * dt
    # 2. shift: the (arithmetic or power) mean moved onto the target; a constant shift keeps the slope
    if power_mean:
        peak = values.detach().amax(dim=1, keepdim=True)  # stabilises the exponentials
        power = torch.pow(10.0, (values - peak) / 10.0)
        mean = 10.0 * torch.log10(segment_sum(onehot, weights * power) / safe + 1e-12) + peak
    else:
        mean = segment_sum(onehot, weights * values) / safe
    return values + broadcast(onehot, (target_mean - mean) * has)


def length_regulate(x: torch.Tensor, durations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Repeat phoneme vectors by their integer frame counts.

    x: (B, T, D); durations: (B, T) int64 frames. Returns frames (B, F, D) with F = max total, and the frame
    mask (B, F) float. Uses a (B, F, T) membership matrix instead of ``repeat_interleave`` (exports to ONNX).
    """
    ends = torch.cumsum(durations, dim=1)
    starts = ends - durations
    total = ends[:, -1]
    n_frames = total.max()
    frames = torch.arange(n_frames, device=x.device).view(1, -1, 1)
    member = ((frames >= starts.unsqueeze(1)) & (frames < ends.unsqueeze(1))).to(x.dtype)
    mask = (frames.squeeze(-1) < total.unsqueeze(1)).to(x.dtype)
    return torch.bmm(member, x), mask
