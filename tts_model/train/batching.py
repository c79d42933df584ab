"""Utterances -> padded training batches (torch), with normalised targets and random control dropout.

Targets relative to the voice baseline: per-phoneme pitch in semitones (unvoiced phonemes take the nearest
voiced value, linearly interpolated), per-phoneme energy in dB (phonemes without frames take -40 dB).
Control dropout: per batch item, all controls hidden with probability ``p_none``, all given with
``p_all``, otherwise each measured control given independently with probability ``p_each``; so the model
learns both to follow a control and to predict it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from tts_model.runtime.config import ControlNorm
from tts_model.runtime.controls import normalize_controls
from tts_model.runtime.config import CONTROL_NAMES
from tts_model.train.dataset import Utterance
from tts_model.text.frontend import ARPABET, PHONEMES

_FIRST_PHONE = PHONEMES.index(ARPABET[0])
SILENT_DB = -40.0


@dataclass(frozen=True)
class ControlDropout:
    p_none: float = 0.2
    p_all: float = 0.2
    p_each: float = 0.5


@dataclass
class Prepared:
    """One utterance's tensors, ready to pad (numpy)."""

    id: str
    phoneme_ids: np.ndarray
    segment_ids: np.ndarray
    emphasis: np.ndarray
    durations: np.ndarray
    pitch_st: np.ndarray
    energy_db: np.ndarray
    controls: np.ndarray
    measured: np.ndarray
    """1 where the control was measured (finite), float32 (S, C)."""
    mel: np.ndarray

    @property
    def n_frames(self) -> int:
        return len(self.mel)


def _interpolate(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    if not valid.any():
        return np.zeros_like(values)
    idx = np.arange(len(values))
    return np.interp(idx, idx[valid], values[valid]).astype(np.float32)


def prepare_utterance(u: Utterance, baseline: dict, norm: ControlNorm) -> Prepared:
    n_phones = [int(np.sum((u.segment_ids == s) & (u.phoneme_ids >= _FIRST_PHONE))) for s in range(len(u.controls))]
    segments = [dict(zip(CONTROL_NAMES, row.tolist())) for row in u.controls]
    controls, measured = normalize_controls(segments, n_phones, baseline, norm)
    pitch = np.where(np.isfinite(u.pitch_hz), 12.0 * np.log2(np.maximum(u.pitch_hz, 1.0) / baseline["pitch_mean_hz"]), np.nan)
    voiced = np.isfinite(pitch) & (u.phoneme_ids >= _FIRST_PHONE)
    pitch_st = _interpolate(np.nan_to_num(pitch), voiced)
    base_db = 20.0 * math.log10(baseline["energy_rms"])
    energy = np.where(np.isfinite(u.energy_db), u.energy_db - base_db, SILENT_DB).astype(np.float32)
    return Prepared(id=u.id, phoneme_ids=u.phoneme_ids.astype(np.int64), segment_ids=u.segment_ids.astype(np.int64),
                    emphasis=u.emphasis.astype(np.float32), durations=u.durations.astype(np.int64),
                    pitch_st=pitch_st, energy_db=np.maximum(energy, SILENT_DB), controls=controls,
                    measured=measured, mel=u.mel.astype(np.float32))


def make_batches(items: list[Prepared], max_frames: int, rng: np.random.Generator) -> list[list[int]]:
    """Length-bucketed batches of indices, each at most ``max_frames`` padded frames, in random order."""
    order = sorted(range(len(items)), key=lambda i: items[i].n_frames + rng.random())
    batches, current, longest = [], [], 0
    for i in order:
        longest_new = max(longest, items[i].n_frames)
        if current and longest_new * (len(current) + 1) > max_frames:
            batches.append(current)
            current, longest_new = [], items[i].n_frames
        current.append(i)
        longest = longest_new
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(items: list[Prepared], dropout: ControlDropout | None, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """Pad a list of utterances into a batch dict of tensors (see AcousticModel.forward for names)."""
    b = len(items)
    t = max(len(x.phoneme_ids) for x in items)
    s = max(len(x.controls) for x in items)
    f = max(x.n_frames for x in items)
    c = items[0].controls.shape[1]
    out = {
        "phoneme_ids": np.zeros((b, t), np.int64), "segment_ids": np.zeros((b, t), np.int64),
        "emphasis": np.zeros((b, t), np.float32), "phone_mask": np.zeros((b, t), np.float32),
        "target_durations": np.zeros((b, t), np.int64), "target_pitch_st": np.zeros((b, t), np.float32),
        "target_energy_db": np.zeros((b, t), np.float32), "controls": np.zeros((b, s, c), np.float32),
        "control_mask": np.zeros((b, s, c), np.float32), "measured": np.zeros((b, s, c), np.float32),
        "true_controls": np.zeros((b, s, c), np.float32), "mel": np.zeros((b, f, items[0].mel.shape[1]), np.float32),
    }
    for i, x in enumerate(items):
        n, m = len(x.phoneme_ids), len(x.controls)
        out["phoneme_ids"][i, :n] = x.phoneme_ids
        out["segment_ids"][i, :n] = x.segment_ids
        out["emphasis"][i, :n] = x.emphasis
        out["phone_mask"][i, :n] = 1.0
        out["target_durations"][i, :n] = x.durations
        out["target_pitch_st"][i, :n] = x.pitch_st
        out["target_energy_db"][i, :n] = x.energy_db
        out["true_controls"][i, :m] = x.controls
        out["measured"][i, :m] = x.measured
        if dropout is None:
            keep = x.measured
        else:
            roll = rng.random()
            if roll < dropout.p_none:
                keep = np.zeros_like(x.measured)
            elif roll < dropout.p_none + dropout.p_all:
                keep = x.measured
            else:
                keep = x.measured * (rng.random(x.measured.shape) < dropout.p_each)
        out["control_mask"][i, :m] = keep
        out["controls"][i, :m] = x.controls * keep
        out["mel"][i, : x.n_frames] = x.mel
    return {k: torch.from_numpy(v) for k, v in out.items()}


__all__ = ["ControlDropout", "Prepared", "prepare_utterance", "make_batches", "collate"]
