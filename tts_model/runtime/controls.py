"""Plan fields (physical units) <-> the acoustic model's normalised control vector. numpy only.

The mapping is defined by :class:`tts_model.runtime.config.ControlNorm`; see its docstring for each field's formula.
A control that is missing (None) or undefined (NaN) gets mask 0 ("predict it"), value 0.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from plan_contract import CONTROL_NAMES, NUMERIC_FIELDS
from tts_model.runtime.config import N_CONTROLS, ControlNorm

_ST_PER_LN = 12.0 / math.log(2.0)  # semitones per natural-log unit of frequency ratio


def _given(value: object) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(float(value))


def normalize_controls(segments: Sequence[Mapping[str, object]], n_phones: Sequence[int],
                       baseline: Mapping[str, float], norm: ControlNorm) -> tuple[np.ndarray, np.ndarray]:
    """Segment dicts with plan fields -> ``(controls, mask)``, both float32 of shape (n_segments, N_CONTROLS).

    n_phones: spoken phonemes per segment (for the per-phoneme duration). Values must already be
    range-checked (baton.plan does that); this only converts units.
    """
    controls = np.zeros((len(segments), N_CONTROLS), dtype=np.float32)
    mask = np.zeros_like(controls)
    base_pitch = float(baseline["pitch_mean_hz"])
    for s, seg in enumerate(segments):
        values = {name: seg.get(name) for name in CONTROL_NAMES}
        ref_pitch = float(values["pitch_mean"]) if _given(values["pitch_mean"]) else base_pitch
        for c, name in enumerate(CONTROL_NAMES):
            value = values[name]
            if not _given(value):
                continue
            v = float(value)
            if name == "pitch_mean":
                out = _ST_PER_LN * math.log(v / base_pitch) / norm.pitch_st_scale
            elif name == "pitch_slope":
                out = _ST_PER_LN * v / ref_pitch / norm.slope_st_s_scale
            elif name == "energy_rms":
                out = 20.0 * math.log10(v / float(baseline["energy_rms"])) / norm.energy_db_scale
            elif name == "energy_slope":
                out = v / norm.energy_slope_scale
            elif name == "spectral_centroid":
                out = _ST_PER_LN * math.log(v / float(baseline["spectral_centroid_hz"])) / norm.centroid_st_scale
            elif name == "duration":
                per_phone = v / max(int(n_phones[s]), 1)
                out = math.log(per_phone / norm.phone_s) / norm.log_duration_scale
            else:  # pause_after
                base_pause = norm.pause_s
                out = math.log((v + norm.pause_floor_s) / (base_pause + norm.pause_floor_s)) / norm.log_pause_scale
            controls[s, c] = out
            mask[s, c] = 1.0
    return controls, mask


def denormalize_controls(controls: np.ndarray, n_phones: Sequence[int], baseline: Mapping[str, float],
                         norm: ControlNorm) -> list[dict[str, float]]:
    """Inverse of :func:`normalize_controls` for fully filled controls (n_segments, N_CONTROLS) -> dicts."""
    out = []
    base_pitch = float(baseline["pitch_mean_hz"])
    for s, row in enumerate(np.asarray(controls, dtype=np.float64)):
        pitch = base_pitch * math.exp(row[0] * norm.pitch_st_scale / _ST_PER_LN)
        base_pause = norm.pause_s
        out.append({k: float(v) for k, v in {
            "pitch_mean": pitch,
            "pitch_slope": row[1] * norm.slope_st_s_scale * pitch / _ST_PER_LN,
            "energy_rms": float(baseline["energy_rms"]) * 10.0 ** (row[2] * norm.energy_db_scale / 20.0),
            "energy_slope": row[3] * norm.energy_slope_scale,
            "spectral_centroid": float(baseline["spectral_centroid_hz"])
            * math.exp(row[4] * norm.centroid_st_scale / _ST_PER_LN),
            "duration": norm.phone_s * math.exp(row[5] * norm.log_duration_scale) * max(int(n_phones[s]), 1),
            "pause_after": max((base_pause + norm.pause_floor_s) * math.exp(row[6] * norm.log_pause_scale)
                               - norm.pause_floor_s, 0.0),
        }.items()})
    return out


def check_control(name: str, value: object, segment: int) -> float | None:
    """``value`` as float, None for missing/NaN; raises ValueError with one line for anything outside the plan
    contract's range (plan_contract.NUMERIC_FIELDS). Values outside are refused, not clipped. Unlike
    FieldSpec.check, numpy scalars are numbers here."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"segment {segment}: '{name}' is {value!r}, not a number; give a number or leave it out")
    v = float(value)
    if math.isnan(v):
        return None
    spec = NUMERIC_FIELDS[name]
    low, high, unit = spec.minimum, spec.maximum, spec.unit
    if not low <= v <= high:
        raise ValueError(f"segment {segment}: '{name}' = {v:g} {unit} is outside {low:g}..{high:g} {unit}; "
                         "give a value in range or leave it out to let the model predict it")
    return v


__all__ = ["normalize_controls", "denormalize_controls", "check_control"]
