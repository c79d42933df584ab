"""report.html: aggregate table, per-item table, direction checks and plan-vs-rendered plots.

Plots are matplotlib PNGs embedded as base64, so the report is one self-contained file.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

AGGREGATE_ROWS = (
    ("pitch_mae_st_median", "pitch error, median of item MAEs", "st"),
    ("energy_mae_db_median", "energy error, median of item MAEs", "dB"),
    ("duration_mae_pct_median", "duration error, median of item MAEs", "%"),
    ("centroid_mae_st_median", "spectral centroid error, median of item MAEs", "st"),
    ("slope_sign_agreement_mean", "slope sign agreement (pitch and energy slopes)", "fraction"),
    ("pitch_correlation_median", "pitch correlation across segments (median over items)", "r"),
    ("energy_correlation_median", "energy correlation across segments (median over items)", "r"),
    ("direction_pass_rate", "direction checks passed (emotion + controls)", "fraction"),
    ("emotion_direction_pass_rate", "emotion direction checks passed", "fraction"),
    ("wer_mean", "word error rate (Whisper tiny), mean", "fraction"),
    ("rtf_median", "real-time factor incl. planning, median", "x"),
    ("time_to_first_audio_s_median", "time to first audio, median", "s"),
    ("audio_s_total", "audio rendered", "s"),
)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def db_fs(rms: Any) -> float:
    """RMS (linear, full scale 1.0) in dB FS; NaN for missing or non-positive values."""
    return 20.0 * math.log10(rms) if isinstance(rms, (int, float)) and rms > 0 else math.nan


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def plot_item(segments: Sequence[Mapping[str, Any]], title: str) -> str:
    """PNG (base64) of requested vs rendered pitch [Hz] and energy [dB FS] per segment."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    x = list(range(len(segments)))
    fig = Figure(figsize=(7.0, 2.6), dpi=80)
    ax_p, ax_e = fig.subplots(1, 2)
    for ax, key, to_unit, label in ((ax_p, "pitch_mean", _num, "pitch [Hz]"),
                                    (ax_e, "energy_rms", db_fs, "energy [dB FS]")):
        ax.plot(x, [to_unit(s["requested"].get(key)) for s in segments], "o-", label="plan")
        ax.plot(x, [to_unit(s["measured"].get(key)) for s in segments], "s--", label="rendered")
        ax.set_xlabel("segment")
        ax.set_ylabel(label)
        ax.set_xticks(x)
        ax.grid(alpha=0.3)
    ax_p.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _checks_html(checks: Sequence[Mapping[str, Any]]) -> str:
    if not checks:
        return ""
    cells = []
    for c in checks:
        mark = "–" if c.get("ok") is None else ("✔" if c["ok"] else "✘")
        cells.append(f"{html.escape(str(c['metric']))} {c['expected']} ({_fmt(c.get('measured'))}) {mark}")
    return "; ".join(cells)


def render_html(report: Mapping[str, Any]) -> str:
    agg = report["aggregate"]
    ctx = report.get("context", {})
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>baton eval report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "font-size:13px;text-align:left}th{background:#f3f3f3}.err{color:#a00}"
        "img{max-width:100%}</style></head><body>",
        "<h1>baton eval</h1>",
        f"<p>suite <code>{html.escape(str(report.get('suite')))}</code>, voice "
        f"<code>{html.escape(str(ctx.get('voice')))}</code>, conductor <code>"
        f"{html.escape(str(ctx.get('conductor')))}</code>, seed {_fmt(ctx.get('seed'))}, "
        f"{agg['n_items']} items.</p>",
        "<p>Plan adherence compares, per plan segment, what the synthesizer was asked for (plan values, or "
        "its own prediction where the plan left a field out) with what feature_extract measures in that "
        "segment's audio. Direction checks compare the rendering with a neutral rendering of the same words, "
        "in the directions the prosody table measured on RAVDESS (only directions whose inter-quartile "
        "range excludes no change are checked).</p>",
        "<h2>Aggregate</h2><table><tr><th>metric</th><th>value</th><th>unit</th></tr>",
    ]
    for key, label, unit in AGGREGATE_ROWS:
        parts.append(f"<tr><td>{label}</td><td>{_fmt(agg.get(key))}</td><td>{unit}</td></tr>")
    parts.append("</table>")
    by_emotion = agg.get("emotion_direction_pass_rate_by_emotion") or {}
    if by_emotion:
        parts.append("<h3>Emotion direction checks by emotion</h3><table><tr><th>emotion</th>"
                     "<th>passed</th></tr>")
        parts += [f"<tr><td>{html.escape(e)}</td><td>{_fmt(v)}</td></tr>" for e, v in by_emotion.items()]
        parts.append("</table>")
    by_control = agg.get("control_pass_rate_by_check") or {}
    if by_control:
        parts.append("<h3>Fine-control checks</h3><table><tr><th>check</th><th>passed</th></tr>")
        parts += [f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in by_control.items()]
        parts.append("</table>")
    judged = agg.get("emotion_classifier")
    if judged:
        labels = judged["labels"]
        parts.append(f"<h3>Emotion classifier ({html.escape(str(judged.get('name')))}): {_fmt(judged['accuracy'])}"
                     f" of {judged['n']} emotion items</h3><table><tr><th>asked \\ judged</th>"
                     + "".join(f"<th>{html.escape(label)}</th>" for label in labels) + "</tr>")
        parts += ["<tr><td>" + html.escape(label) + "</td>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
                  for label, row in zip(labels, judged["confusion"])]
        parts.append("</table>")
    parts.append("<h2>Items</h2><table><tr><th>id</th><th>emotion</th><th>instruction</th><th>text</th>"
                 "<th>pitch MAE st</th><th>energy MAE dB</th><th>dur MAE %</th><th>slope signs</th><th>WER</th><th>RTF</th>"
                 "<th>checks</th></tr>")
    for it in report["items"]:
        if "error" in it:
            parts.append(f"<tr><td>{html.escape(it['id'])}</td><td colspan='10' class='err'>"
                         f"{html.escape(it['error'])}</td></tr>")
            continue
        s = it["adherence"]["summary"]
        parts.append(
            f"<tr><td><a href='#{html.escape(it['id'])}'>{html.escape(it['id'])}</a></td>"
            f"<td>{_fmt(it.get('emotion'))}</td><td>{_fmt(it.get('instruction'))}</td><td>{_fmt(it['text'])}</td>"
            f"<td>{_fmt(s['pitch_mae_st'])}</td><td>{_fmt(s['energy_mae_db'])}</td>"
            f"<td>{_fmt(s['duration_mae_pct'])}</td><td>{_fmt(s['slope_sign_agreement'])}</td>"
            f"<td>{_fmt(it.get('wer'))}</td><td>{_fmt(it['speed']['rtf'])}</td>"
            f"<td>{_checks_html(it.get('direction_checks', []))}</td></tr>")
    parts.append("</table><h2>Plan vs rendered, per item</h2>")
    for it in report["items"]:
        if "error" in it or not it.get("segments"):
            continue
        png = plot_item(it["segments"], f"{it['id']}: {it.get('instruction') or '(no instruction)'}")
        transcript = (f"<br>ASR: <i>{html.escape(it['transcript'])}</i>" if it.get("transcript") is not None
                      else "")
        parts.append(f"<h3 id='{html.escape(it['id'])}'>{html.escape(it['id'])}</h3>"
                     f"<p>{html.escape(it['text'])}{transcript}</p>"
                     f"<img alt='plan vs rendered pitch and energy for {html.escape(it['id'])}' "
                     f"src='data:image/png;base64,{png}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(report: Mapping[str, Any], path: Path) -> None:
    Path(path).write_text(render_html(report), encoding="utf-8")
