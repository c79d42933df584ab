"""The demo's "requested vs rendered" figure: pitch [Hz] and energy [dB relative to the plan] per segment.

Axes have a minimum span, so that a difference nobody can hear does not fill the plot: matplotlib's
autoscale once stretched a 0.17 dB energy difference over the whole axis (issue 23 item 16), which read as a
miss. Energy is drawn relative to what the plan asked for (0 dB = on target) with at least +-6 dB shown;
pitch in Hz with at least +-2 semitones around the values' middle.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

ENERGY_MIN_HALF_SPAN_DB = 6.0
"""The energy axis shows at least -6 to +6 dB around the plan (a clearly audible step either way)."""
PITCH_MIN_HALF_SPAN_ST = 2.0
"""The pitch axis shows at least +-2 semitones around the middle of the values."""


def db_re(value: Any, reference: Any) -> float:
    """20 log10(value / reference) [dB]; NaN when either is missing or not positive."""
    ok = all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in (value, reference))
    return 20.0 * math.log10(value / reference) if ok else math.nan


def padded_limits(values: Sequence[float], low: float, high: float) -> tuple[float, float]:
    """(low, high) widened to hold every finite value in ``values`` with a 5 % margin."""
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = low, high
    if finite:
        pad = 0.05 * (max(high, max(finite)) - min(low, min(finite)))
        if min(finite) < low:
            lo = min(finite) - pad
        if max(finite) > high:
            hi = max(finite) + pad
    return lo, hi


def energy_limits_db(values_db: Sequence[float]) -> tuple[float, float]:
    """Energy axis limits [dB re plan]: at least +-ENERGY_MIN_HALF_SPAN_DB, wider to hold every value."""
    return padded_limits(values_db, -ENERGY_MIN_HALF_SPAN_DB, ENERGY_MIN_HALF_SPAN_DB)


def pitch_limits_hz(values_hz: Sequence[float]) -> tuple[float, float]:
    """Pitch axis limits [Hz]: at least +-PITCH_MIN_HALF_SPAN_ST around the geometric middle of the values."""
    finite = [v for v in values_hz if math.isfinite(v) and v > 0]
    if not finite:
        return 50.0, 400.0
    middle = math.sqrt(min(finite) * max(finite))
    factor = 2.0 ** (PITCH_MIN_HALF_SPAN_ST / 12.0)
    return padded_limits(finite, middle / factor, middle * factor)


def requested_values(speech: Any) -> list[dict[str, float]]:
    """Per segment: the values the model was asked for (plan values, else what it predicted)."""
    requested = []
    for seg, piece in zip(speech.plan.segments, speech.pieces):
        values = {k: v for k, v in piece.predicted.items() if isinstance(v, (int, float))}
        values.update({k: v for k, v in seg.controls().items() if v is not None})
        requested.append(values)
    return requested


def figure(requested: Sequence[dict], measured: Sequence[dict]):
    """Matplotlib Figure with two panels from per-segment dicts of plan fields (``pitch_mean`` Hz,
    ``energy_rms`` linear RMS): requested vs rendered pitch [Hz], and rendered energy in dB relative to the
    requested energy (the plan is the 0 dB line)."""
    from matplotlib.figure import Figure

    def get(row: dict, key: str) -> float:
        value = row.get(key)
        return float(value) if isinstance(value, (int, float)) else math.nan

    x = np.arange(len(requested))
    fig = Figure(figsize=(8, 3), dpi=90)
    ax_p, ax_e = fig.subplots(1, 2)
    pitch_req = [get(r, "pitch_mean") for r in requested]
    pitch_got = [get(m, "pitch_mean") for m in measured]
    ax_p.plot(x, pitch_req, "o-", label="requested")
    ax_p.plot(x, pitch_got, "s--", label="rendered")
    ax_p.set_ylim(*pitch_limits_hz(pitch_req + pitch_got))
    ax_p.set_ylabel("pitch [Hz]")
    energy_db = [db_re(get(m, "energy_rms"), get(r, "energy_rms")) for r, m in zip(requested, measured)]
    ax_e.plot(x, [0.0 if math.isfinite(get(r, "energy_rms")) else math.nan for r in requested], "o-",
              label="requested")
    ax_e.plot(x, energy_db, "s--", label="rendered")
    ax_e.set_ylim(*energy_limits_db(energy_db))
    ax_e.set_ylabel("energy re plan [dB]")
    for ax in (ax_p, ax_e):
        ax.set_xlabel("segment")
        ax.set_xticks(x)
        ax.grid(alpha=0.3)
    ax_p.legend(fontsize=8)
    fig.tight_layout()
    return fig


def adherence_figure(speech: Any):
    """The figure for a rendered :class:`baton.pipeline.Speech`, measured with baton.eval.metrics."""
    from baton.eval import metrics

    spans = metrics.segment_spans(speech.segment_bounds_s, speech.audio, speech.sample_rate)
    measured = metrics.measure_spans(speech.audio, speech.sample_rate, spans)
    return figure(requested_values(speech), measured)


__all__ = ["adherence_figure", "figure", "energy_limits_db", "pitch_limits_hz", "db_re", "ENERGY_MIN_HALF_SPAN_DB",
           "PITCH_MIN_HALF_SPAN_ST"]
