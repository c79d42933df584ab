"""BatonTTS acoustic model: phonemes + per-segment plan controls -> 80-bin log-mel (torch; training/export).

Data flow (B batch, T phonemes, S segments, C = N_CONTROLS, F frames)::

    phoneme ids ─ embed ─ encoder ─ h ───────────────┬─────────────── + control & emphasis embeddings ─ hc
                                   └ pool per segment ┴ segment predictor ─ fill controls the plan left out
    hc ─ duration / pitch / energy predictors ─ forced onto the segment targets (match_segment_line, scaling)
       ─ + pitch & energy embeddings ─ length regulator ─ decoder ─ linear ─ log-mel (B, F, 80)

Controls are normalised (:mod:`tts_model.runtime.controls`); ``control_mask`` is 1 where the plan gave a value.
Given values are *honoured by construction*: per-phoneme durations are rescaled so each segment lasts the
requested time, per-phoneme pitch (semitones re baseline) and energy (dB re baseline) are shifted and tilted
so each segment's mean and slope match. The decoder is trained on ground-truth per-phoneme pitch/energy
(teacher forcing), so it learns to render whatever those tracks say.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tts_model.runtime.config import N_CONTROLS, ModelConfig
from tts_model.acoustic.layers import (FFTBlock, VariancePredictor, broadcast, length_regulate, match_segment_line,
                                       segment_onehot, segment_sum, sinusoid_positions)

# Control vector indices (tts_model.runtime.config.CONTROL_NAMES order)
PITCH, PITCH_SLOPE, ENERGY, ENERGY_SLOPE, CENTROID, DURATION, PAUSE = range(N_CONTROLS)
MAX_PITCH_ST = 24.0  # per-phoneme pitch is clamped to two octaves around the baseline
MAX_ENERGY_DB = 40.0  # per-phoneme energy is clamped to +-40 dB around the baseline


@dataclass
class AcousticOutput:
    """mel: (B, F, n_mels) log-mel; frame_mask: (B, F); durations: (B, T) frames (float in training,
    rounded at inference); log_durations: (B, T) predicted ln(1 + frames); pitch_st / energy_db: (B, T)
    per-phoneme predictions after the segment targets were applied; controls: (B, S, C) filled normalised
    controls (given where masked, else predicted); predicted_controls: (B, S, C) the segment predictor's raw
    output."""

    mel: torch.Tensor
    frame_mask: torch.Tensor
    durations: torch.Tensor
    log_durations: torch.Tensor
    pitch_st: torch.Tensor
    energy_db: torch.Tensor
    controls: torch.Tensor
    predicted_controls: torch.Tensor


class AcousticModel(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.embed = nn.Embedding(config.n_phonemes, d, padding_idx=0)
        self.encoder = nn.ModuleList(FFTBlock(d, config.n_heads, config.ff_channels, config.ff_kernel,
                                              config.dropout) for _ in range(config.encoder_layers))
        self.segment_predictor = nn.Sequential(nn.Linear(d + 2 * N_CONTROLS, d), nn.ReLU(),
                                               nn.Linear(d, d), nn.ReLU(), nn.Linear(d, N_CONTROLS))
        self.control_embed = nn.Linear(N_CONTROLS, d)
        self.emphasis_embed = nn.Parameter(torch.zeros(d))
        p = config.predictor_channels
        self.duration_predictor = VariancePredictor(d, p, config.predictor_kernel, config.dropout)
        self.pitch_predictor = VariancePredictor(d, p, config.predictor_kernel, config.dropout)
        self.energy_predictor = VariancePredictor(d, p, config.predictor_kernel, config.dropout)
        self.pitch_embed = nn.Conv1d(1, d, 3, padding=1)
        self.energy_embed = nn.Conv1d(1, d, 3, padding=1)
        self.decoder = nn.ModuleList(FFTBlock(d, config.n_heads, config.ff_channels, config.ff_kernel,
                                              config.dropout) for _ in range(config.decoder_layers))
        self.mel_out = nn.Linear(d, config.n_mels)

    def encode(self, phoneme_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(phoneme_ids) * (self.config.d_model ** 0.5)
        x = (x + sinusoid_positions(phoneme_ids.shape[1], self.config.d_model, x.device)) * mask.unsqueeze(-1)
        for block in self.encoder:
            x = block(x, mask)
        return x

    def forward(self, phoneme_ids: torch.Tensor, segment_ids: torch.Tensor, emphasis: torch.Tensor,
                controls: torch.Tensor, control_mask: torch.Tensor, phone_mask: torch.Tensor | None = None,
                target_durations: torch.Tensor | None = None, target_pitch_st: torch.Tensor | None = None,
                target_energy_db: torch.Tensor | None = None) -> AcousticOutput:
        """phoneme_ids, segment_ids: int64 (B, T); emphasis: float (B, T) 0/1; controls, control_mask: float
        (B, S, C); phone_mask: float (B, T), 1 = real phoneme (default all ones). Targets (training, teacher
        forcing): durations int64 frames (B, T), pitch in semitones re baseline (B, T), energy in dB re
        baseline (B, T)."""
        cfg, norm = self.config, self.config.control_norm
        if phone_mask is None:
            phone_mask = torch.ones_like(phoneme_ids, dtype=torch.float32)
        h = self.encode(phoneme_ids, phone_mask)
        onehot = segment_onehot(segment_ids, controls.shape[1], phone_mask)  # (B, T, S)
        counts = onehot.sum(dim=1).clamp_min(1.0)  # (B, S)
        pooled = torch.bmm(onehot.transpose(1, 2), h) / counts.unsqueeze(-1)  # (B, S, D)
        given = controls * control_mask
        predicted = self.segment_predictor(torch.cat([pooled, given, control_mask], dim=-1))
        filled = given + (1.0 - control_mask) * predicted
        # In training the targets below use the predictor's values without gradient, so that the
        # per-phoneme losses teach the per-phoneme predictors, not the segment predictor.
        steer = given + (1.0 - control_mask) * (predicted.detach() if self.training else predicted)
        hc = h + torch.bmm(onehot, self.control_embed(filled)) + emphasis.unsqueeze(-1) * self.emphasis_embed
        hc = hc * phone_mask.unsqueeze(-1)

        is_pause = (phoneme_ids == cfg.pause_id).float() * phone_mask
        is_phone = (phoneme_ids >= cfg.first_phone_id).float() * phone_mask
        spoken = phone_mask - is_pause  # phones and punctuation: what the "duration" field covers
        log_dur = self.duration_predictor(hc, phone_mask)
        dur = (torch.exp(log_dur) - 1.0).clamp_min(0.0) * spoken
        n_phones = segment_sum(onehot, is_phone).clamp_min(1.0)
        target_frames = norm.phone_s * torch.exp(steer[..., DURATION] * norm.log_duration_scale) * n_phones / cfg.frame_s
        scale = target_frames / segment_sum(onehot, dur).clamp_min(1e-3)
        dur = dur * broadcast(onehot, scale)
        pause_s = (norm.pause_s + norm.pause_floor_s) * torch.exp(steer[..., PAUSE] * norm.log_pause_scale) - norm.pause_floor_s
        dur = dur + is_pause * broadcast(onehot, pause_s.clamp_min(0.0) / cfg.frame_s)

        if target_durations is not None:
            frames = target_durations
        else:
            frames = torch.round(dur).long() * phone_mask.long()
        frames_f = frames.float()
        times_s = (torch.cumsum(frames_f, dim=1) - 0.5 * frames_f) * cfg.frame_s
        weights = frames_f * is_phone
        pitch = match_segment_line(self.pitch_predictor(hc, phone_mask) * norm.pitch_st_scale, weights, times_s,
                                   onehot, steer[..., PITCH] * norm.pitch_st_scale,
                                   steer[..., PITCH_SLOPE] * norm.slope_st_s_scale, power_mean=False)
        energy = match_segment_line(self.energy_predictor(hc, phone_mask) * norm.energy_db_scale, weights,
                                    times_s, onehot, steer[..., ENERGY] * norm.energy_db_scale,
                                    steer[..., ENERGY_SLOPE] * norm.energy_slope_scale, power_mean=True)
        # Safety rails: a steep slope over a short segment must not ask the decoder for 5 octaves.
        pitch = pitch.clamp(-MAX_PITCH_ST, MAX_PITCH_ST) * phone_mask
        energy = energy.clamp(-MAX_ENERGY_DB, MAX_ENERGY_DB) * phone_mask

        pitch_in = target_pitch_st if target_pitch_st is not None else pitch
        energy_in = target_energy_db if target_energy_db is not None else energy
        x = hc + self.pitch_embed((pitch_in / norm.pitch_st_scale).unsqueeze(1)).transpose(1, 2) \
            + self.energy_embed((energy_in / norm.energy_db_scale).unsqueeze(1)).transpose(1, 2)
        x = x * phone_mask.unsqueeze(-1)
        y, frame_mask = length_regulate(x, frames)
        y = y + sinusoid_positions(y.shape[1], cfg.d_model, y.device) * frame_mask.unsqueeze(-1)
        for block in self.decoder:
            y = block(y, frame_mask)
        mel = self.mel_out(y) * frame_mask.unsqueeze(-1)
        return AcousticOutput(mel=mel, frame_mask=frame_mask, durations=dur if self.training else frames.float(),
                              log_durations=log_dur, pitch_st=pitch, energy_db=energy, controls=filled,
                              predicted_controls=predicted)


class ExportWrapper(nn.Module):
    """Batch-1 inference graph for ONNX: fixed input/output names, see :mod:`tts_model.train.export`."""

    INPUT_NAMES = ("phoneme_ids", "segment_ids", "emphasis", "controls", "control_mask")
    OUTPUT_NAMES = ("mel", "durations", "filled_controls", "pitch_st", "energy_db")

    def __init__(self, model: AcousticModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, phoneme_ids: torch.Tensor, segment_ids: torch.Tensor, emphasis: torch.Tensor,
                controls: torch.Tensor, control_mask: torch.Tensor):
        out = self.model(phoneme_ids, segment_ids, emphasis, controls, control_mask)
        return out.mel, out.durations.long(), out.controls, out.pitch_st, out.energy_db


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["AcousticModel", "AcousticOutput", "ExportWrapper", "count_parameters"]
