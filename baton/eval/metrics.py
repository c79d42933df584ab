"""Evaluation metrics: plan adherence, direction checks against the prosody table, aggregation.

Units: pitch errors in semitones (st), energy errors in dB, duration errors in % of the requested
duration. Every function takes plain numbers/arrays; NaN marks "not measurable" and is left out of means.

Where a segment's audio is: the synthesizer renders one chunk per plan segment, so the chunk boundaries
say exactly which samples belong to which segment (no forced-alignment error). Each chunk is trimmed to
its sounding part (frames within ``TRIM_DB`` of the chunk's loudest frame) so that the pause after a
segment counts neither in its energy nor in its duration.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

TRIM_DB = 35.0
"""Frames quieter than the loudest frame by more than this are silence when trimming [dB]."""
FRAME_S = 0.010
SLOPE_MIN = {"pitch_slope": 15.0, "energy_slope": 3.0}
"""Requested slopes smaller than this (Hz/s, dB/s) have no meaningful sign and are not scored."""
DIRECTION_METRICS = {"pitch": "pitch_st", "energy": "energy_db", "rate": "rate_ratio", "centroid": "centroid_st"}
"""Direction-check name -> prosody-table metric."""
MIN_CHANGE = {"pitch": 0.5, "energy": 1.0, "rate": math.log(1.03), "centroid": 0.5}
"""Smallest change that counts as moving in a direction (about one just-noticeable difference): 0.5 st of
pitch or centroid, 1 dB of energy, 3 % of rate (in log ratio). A smaller change fails the check."""


def sounding_region(audio: np.ndarray, sample_rate: int, floor_db: float = TRIM_DB) -> tuple[float, float]:
    """(start_s, end_s) of the part of ``audio`` (float32 (n,)) within ``floor_db`` of its loudest 10 ms
    frame; the whole signal if it is silent or shorter than one frame."""
    hop = max(1, int(round(FRAME_S * sample_rate)))
    n_frames = audio.size // hop
    if n_frames < 1:
        return 0.0, audio.size / sample_rate
    frames = np.asarray(audio[: n_frames * hop], dtype=np.float64).reshape(n_frames, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    peak = float(rms.max())
    if peak <= 1e-6:
        return 0.0, audio.size / sample_rate
    loud = np.flatnonzero(rms >= peak * 10.0 ** (-floor_db / 20.0))
    return loud[0] * hop / sample_rate, min(audio.size, (loud[-1] + 1) * hop) / sample_rate


def segment_spans(bounds_s: Sequence[tuple[float, float]], audio: np.ndarray,
                  sample_rate: int) -> list[tuple[float, float]]:
    """Trim each segment's (start_s, end_s) chunk to its sounding part; times in s in ``audio``."""
    spans = []
    for start_s, end_s in bounds_s:
        lo, hi = int(round(start_s * sample_rate)), int(round(end_s * sample_rate))
        a, b = sounding_region(audio[lo:hi], sample_rate)
        spans.append((start_s + a, start_s + b))
    return spans


def measure_spans(audio: np.ndarray, sample_rate: int, spans: Sequence[tuple[float, float]]) -> list[dict]:
    """feature_extract measurements (plan field names, NaN where undefined) of each span of ``audio``.
    The Praat trackers run once over the whole signal (as feature_extract.extract_plan does)."""
    from feature_extract.measure import FIELDS, Tracks, measure_with_tracks

    tracks = Tracks.compute(audio, sample_rate)
    out = []
    for start_s, end_s in spans:
        if end_s - start_s < 0.02:
            out.append({k: math.nan for k in FIELDS})
            continue
        values = measure_with_tracks(audio, sample_rate, tracks, start_s, end_s)
        out.append({k: float(v) for k, v in values.items()})
    return out


def _st(a: float | None, b: float | None) -> float:
    if a is None or b is None or not (a > 0 and b > 0):
        return math.nan
    return 12.0 * math.log2(a / b)


def _db(a: float | None, b: float | None) -> float:
    if a is None or b is None or not (a > 0 and b > 0):
        return math.nan
    return 20.0 * math.log10(a / b)


def nanmean(values: Iterable[float]) -> float:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else math.nan


def nanmedian(values: Iterable[float]) -> float:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(vals)) if vals else math.nan


SPREAD_EPS = 1e-9
"""Relative range below which :func:`correlation` treats a series as constant (rounding noise, not a signal)."""


def correlation(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson r over pairs where both are finite; NaN with fewer than 3 pairs or no spread (a side whose range
    is within floating-point noise of its values, e.g. a plan that asks every segment for the same energy)."""
    pairs = [(a, b) for a, b in zip(x, y) if a is not None and b is not None and math.isfinite(a)
             and math.isfinite(b)]
    if len(pairs) < 3:
        return math.nan
    a, b = np.array(pairs, dtype=np.float64).T
    if any(np.ptp(v) <= SPREAD_EPS * max(1.0, float(np.abs(v).max())) for v in (a, b)):
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def adherence(requested: Sequence[Mapping[str, Any]], measured: Sequence[Mapping[str, float]]) -> dict:
    """Compare per-segment requested plan values with measured ones.

    ``requested``: the values the model was asked for (the plan where it set a value, else what the model
    predicted for itself). Returns per-segment errors and the item summary:
    pitch/energy/spectral-centroid mean absolute error [st, dB, st], duration mean absolute error [%], slope
    sign agreement
    [fraction] and across-segment correlations of pitch and energy.
    """
    rows = []
    for req, got in zip(requested, measured):
        rows.append({
            "pitch_error_st": _st(got.get("pitch_mean"), req.get("pitch_mean")),
            "energy_error_db": _db(got.get("energy_rms"), req.get("energy_rms")),
            "centroid_error_st": _st(got.get("spectral_centroid"), req.get("spectral_centroid")),
            "duration_error_pct": (100.0 * (got["duration"] - req["duration"]) / req["duration"]
                                   if req.get("duration") and math.isfinite(got.get("duration", math.nan))
                                   else math.nan),
            **{f"{name}_sign_ok": _sign_ok(req.get(name), got.get(name), SLOPE_MIN[name]) for name in SLOPE_MIN},
        })
    signs = [r[f"{n}_sign_ok"] for r in rows for n in SLOPE_MIN if r[f"{n}_sign_ok"] is not None]
    summary = {
        "pitch_mae_st": nanmean(abs(r["pitch_error_st"]) for r in rows),
        "energy_mae_db": nanmean(abs(r["energy_error_db"]) for r in rows),
        "centroid_mae_st": nanmean(abs(r["centroid_error_st"]) for r in rows),
        "duration_mae_pct": nanmean(abs(r["duration_error_pct"]) for r in rows),
        "slope_sign_agreement": float(np.mean(signs)) if signs else math.nan,
        "n_slopes_scored": len(signs),
        "pitch_correlation": correlation([r.get("pitch_mean") for r in requested],
                                         [m.get("pitch_mean") for m in measured]),
        "energy_correlation": correlation([_db(r.get("energy_rms"), 1.0) for r in requested],
                                          [_db(m.get("energy_rms"), 1.0) for m in measured]),
    }
    return {"segments": rows, "summary": summary}


def _sign_ok(requested: float | None, measured: float | None, minimum: float) -> bool | None:
    if requested is None or measured is None or not math.isfinite(measured) or abs(requested) < minimum:
        return None
    return bool(math.copysign(1.0, requested) == math.copysign(1.0, measured))


def utterance_measures(audio: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Whole-utterance measures over the sounding region: pitch_mean [Hz], energy_rms, spectral_centroid
    [Hz], duration [s] (what the prosody table compares, see its provenance)."""
    from feature_extract.measure import measure_span

    start_s, end_s = sounding_region(audio, sample_rate, floor_db=30.0)
    values = measure_span(audio, sample_rate, start_s, end_s)
    return {k: float(values[k]) for k in ("pitch_mean", "energy_rms", "spectral_centroid", "duration")}


def relative_to_neutral(emotional: Mapping[str, float], neutral: Mapping[str, float]) -> dict[str, float]:
    """The prosody table's units: pitch_st, energy_db, rate_ratio (>1 faster), centroid_st."""
    return {
        "pitch_st": _st(emotional["pitch_mean"], neutral["pitch_mean"]),
        "energy_db": _db(emotional["energy_rms"], neutral["energy_rms"]),
        "rate_ratio": (neutral["duration"] / emotional["duration"]) if emotional["duration"] > 0 else math.nan,
        "centroid_st": _st(emotional["spectral_centroid"], neutral["spectral_centroid"]),
    }


def table_directions(table: Mapping[str, Any], emotion: str, intensity: str) -> dict[str, int]:
    """Directions (+1/-1) the prosody table is sure of for ``emotion``: those whose inter-quartile range
    excludes 'no change' (0 st / 0 dB / ratio 1). Metrics whose IQR straddles it are not checked."""
    row = table["table"].get(emotion, {})
    column = row.get(intensity) or row.get("normal") or next(iter(row.values()), {})
    directions = {}
    for name, metric in DIRECTION_METRICS.items():
        stats = column.get(metric)
        if not stats:
            continue
        centre = 1.0 if metric == "rate_ratio" else 0.0
        lo, hi = stats["q25"] - centre, stats["q75"] - centre
        if lo > 0 and hi > 0:
            directions[name] = 1
        elif lo < 0 and hi < 0:
            directions[name] = -1
    return directions


def direction_checks(expected: Mapping[str, int], relative: Mapping[str, float]) -> list[dict]:
    """One row per expected direction: measured change, expected sign, pass/fail (NaN -> not scored)."""
    rows = []
    for name, sign in expected.items():
        value = relative.get(DIRECTION_METRICS[name], math.nan)
        if DIRECTION_METRICS[name] == "rate_ratio" and math.isfinite(value) and value > 0:
            change = math.log(value)
        else:
            change = value
        ok = None if not math.isfinite(change) else bool(change * sign >= MIN_CHANGE[name])
        rows.append({"metric": name, "expected": "+" if sign > 0 else "-", "measured": value, "ok": ok})
    return rows


def prominence(words: Sequence[Mapping[str, Any]], target: str) -> dict[str, float]:
    """How much ``target`` stands out from the other words of a per-word measured plan:
    pitch [st] and energy [dB] of the word minus the median of the others."""
    from baton.plan import text_words

    key = text_words(target)
    idx = [i for i, w in enumerate(words) if text_words(str(w.get("word", ""))) == key]
    if not idx:
        return {"pitch_st": math.nan, "energy_db": math.nan}
    i = idx[0]
    others = [w for j, w in enumerate(words) if j != i]
    other_pitch = nanmedian(w.get("pitch_mean", math.nan) for w in others)
    other_rms = nanmedian(w.get("energy_rms", math.nan) for w in others)
    return {"pitch_st": _st(words[i].get("pitch_mean"), other_pitch),
            "energy_db": _db(words[i].get("energy_rms"), other_rms)}


def aggregate(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Suite-level numbers: medians of per-item adherence, pass rates of direction checks, WER, speed."""
    summaries = [it["adherence"]["summary"] for it in items if it.get("adherence")]
    checks = [c for it in items for c in it.get("direction_checks", []) if c.get("ok") is not None]
    emotion_checks = [c for it in items if it.get("emotion") for c in it.get("direction_checks", [])
                      if c.get("ok") is not None]
    per_emotion: dict[str, list[bool]] = {}
    for it in items:
        for c in it.get("direction_checks", []):
            if it.get("emotion") and c.get("ok") is not None:
                per_emotion.setdefault(it["emotion"], []).append(c["ok"])
    per_control: dict[str, list[bool]] = {}
    for it in items:
        for c in it.get("direction_checks", []):
            if not it.get("emotion") and c.get("ok") is not None:
                name = "emphasis" if str(c["metric"]).startswith("emphasis") else f"{c['metric']} {c['expected']}"
                per_control.setdefault(name, []).append(c["ok"])
    speeds = [it["speed"] for it in items if it.get("speed")]
    wers = [it["wer"] for it in items if it.get("wer") is not None]
    return {
        "n_items": len(items),
        "pitch_mae_st_median": nanmedian(s["pitch_mae_st"] for s in summaries),
        "energy_mae_db_median": nanmedian(s["energy_mae_db"] for s in summaries),
        "centroid_mae_st_median": nanmedian(s["centroid_mae_st"] for s in summaries),
        "duration_mae_pct_median": nanmedian(s["duration_mae_pct"] for s in summaries),
        "slope_sign_agreement_mean": nanmean(s["slope_sign_agreement"] for s in summaries),
        "pitch_correlation_median": nanmedian(s["pitch_correlation"] for s in summaries),
        "energy_correlation_median": nanmedian(s["energy_correlation"] for s in summaries),
        "direction_pass_rate": float(np.mean([c["ok"] for c in checks])) if checks else math.nan,
        "n_direction_checks": len(checks),
        "emotion_direction_pass_rate": (float(np.mean([c["ok"] for c in emotion_checks]))
                                        if emotion_checks else math.nan),
        "emotion_direction_pass_rate_by_emotion": {k: float(np.mean(v)) for k, v in sorted(per_emotion.items())},
        "control_pass_rate_by_check": {k: float(np.mean(v)) for k, v in sorted(per_control.items())},
        "wer_mean": nanmean(wers) if wers else None,
        "n_wer": len(wers),
        "rtf_median": nanmedian(s["rtf"] for s in speeds),
        "time_to_first_audio_s_median": nanmedian(s["time_to_first_audio_s"] for s in speeds),
        "audio_s_total": float(sum(s["audio_s"] for s in speeds)),
    }
