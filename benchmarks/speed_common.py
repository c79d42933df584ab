"""Shared parts of benchmarks/speed_vs_piper.py: the worker protocol, statistics and tables.

Standard library only: the Piper worker imports this from Piper's own venv (.venv-bench), where the project is
not installed. Numbers are in seconds (``_s``), megabytes (``_mb``) or plain ratios (RTF).

Worker protocol (one JSON object per line): the worker answers ``{"ready": ..., "load_s": ...}`` once it has
loaded and warmed up; then for each request ``{"text": ..., "kind": ...}`` it answers one :func:`measure`-style
row; an empty line or end of input ends it. A failure is answered ``{"error": "one line"}``.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import sys
import time
from typing import Any, Callable, Iterable, Mapping, Sequence


# ---------------------------------------------------------------------------------------------------------------
# worker side
def protocol_stdout() -> Any:
    """A private copy of stdout for the protocol; fd 1 then points at stderr, so a library that prints cannot
    corrupt the replies."""
    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)
    return proto


def peak_rss_mb() -> float:
    """This process's peak resident set size [MB] (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def serve(render: Callable[[str, str], dict], ready: dict, proto: Any) -> None:
    """Answer requests from stdin with ``render(text, kind)`` until an empty line or EOF."""
    proto.write(json.dumps({"ready": True, "peak_rss_mb": peak_rss_mb(), **ready}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            break
        request = json.loads(line)
        try:
            row = render(request["text"], request.get("kind", "neutral"))
        except Exception as error:  # reported to the driver as one line, which stops the run
            row = {"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"}
        row["peak_rss_mb"] = peak_rss_mb()
        proto.write(json.dumps(row) + "\n")


def timed_stream(pieces: Iterable[Any], audio_s_of: Callable[[Any], float]) -> dict:
    """Consume an iterator of audio pieces (created, not yet started) and time it: wall seconds to the first
    piece and to the end, CPU seconds of this process (all threads), seconds of audio."""
    cpu0, start = time.process_time(), time.perf_counter()
    first_s, audio_s = math.nan, 0.0
    for piece in pieces:
        if math.isnan(first_s):
            first_s = time.perf_counter() - start
        audio_s += audio_s_of(piece)
    return {"synth_s": time.perf_counter() - start, "first_audio_s": first_s, "audio_s": audio_s,
            "cpu_s": time.process_time() - cpu0}


# ---------------------------------------------------------------------------------------------------------------
# statistics
def summarize(rows: Sequence[Mapping[str, Any]]) -> dict:
    """Statistics over one engine's rows (synth_s, first_audio_s, audio_s, cpu_s, peak_rss_mb each):
    RTF median (per text) and total (sum of synthesis time / sum of audio), CPU RTF, time to first audio
    median and max, peak RSS (max). Empty input gives NaNs and n=0."""
    if not rows:
        return {"n": 0, "rtf_median": math.nan, "rtf_total": math.nan, "cpu_rtf_total": math.nan,
                "first_audio_s_median": math.nan, "first_audio_s_max": math.nan, "audio_s": 0.0,
                "synth_s": 0.0, "peak_rss_mb": math.nan}
    audio_s = sum(r["audio_s"] for r in rows)
    synth_s = sum(r["synth_s"] for r in rows)
    firsts = [r["first_audio_s"] for r in rows]
    return {"n": len(rows),
            "rtf_median": statistics.median(r["synth_s"] / r["audio_s"] for r in rows),
            "rtf_total": synth_s / audio_s,
            "cpu_rtf_total": sum(r["cpu_s"] for r in rows) / audio_s,
            "first_audio_s_median": statistics.median(firsts), "first_audio_s_max": max(firsts),
            "audio_s": audio_s, "synth_s": synth_s, "peak_rss_mb": max(r["peak_rss_mb"] for r in rows)}


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when either is missing (NaN) or the denominator is 0."""
    if math.isnan(numerator) or math.isnan(denominator) or denominator == 0.0:
        return math.nan
    return numerator / denominator


def stage_profile(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per stage over rows that carry ``stages`` ({name: seconds}): total seconds, share of the summed
    synthesis time, and seconds per second of audio (the stage's RTF). Stages keep first-seen order."""
    total_synth = sum(r["synth_s"] for r in rows)
    total_audio = sum(r["audio_s"] for r in rows)
    sums: dict[str, float] = {}
    for row in rows:
        for name, seconds in row.get("stages", {}).items():
            sums[name] = sums.get(name, 0.0) + seconds
    return {name: {"s": s, "share": ratio(s, total_synth), "rtf": ratio(s, total_audio)} for name, s in sums.items()}


# ---------------------------------------------------------------------------------------------------------------
# tables (Markdown, so docs/speed.md can take them verbatim)
def fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rule = "|".join("---" if i == 0 else "---:" for i in range(len(header)))
    lines = ["| " + " | ".join(header) + " |", "|" + rule + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def engines_table(summaries: Mapping[str, Mapping[str, dict]]) -> str:
    """``summaries[threads][engine]`` -> one row per (threads, engine) plus a BatonVoice/Piper ratio row."""
    rows = []
    for threads, by_engine in summaries.items():
        for engine, s in by_engine.items():
            rows.append([f"{engine}, {threads} thread(s)", str(s["n"]), fmt(s["audio_s"], 1), fmt(s["rtf_median"]),
                         fmt(s["rtf_total"]),
                         fmt(s["cpu_rtf_total"]), fmt(s["first_audio_s_median"]), fmt(s["first_audio_s_max"]),
                         fmt(s["peak_rss_mb"], 0)])
        if "batonvoice" in by_engine and "piper" in by_engine:
            b, p = by_engine["batonvoice"], by_engine["piper"]
            keys = ("audio_s", "rtf_median", "rtf_total", "cpu_rtf_total", "first_audio_s_median",
                    "first_audio_s_max", "peak_rss_mb")
            rows.append([f"**BatonVoice / Piper**, {threads} thread(s)", "",
                         *(fmt(ratio(b[k], p[k]), 2) + "x" for k in keys)])
    return table(["engine", "texts", "audio [s]", "RTF median", "RTF total", "CPU RTF total", "first audio median [s]",
                  "first audio max [s]", "peak RSS [MB]"], rows)


def kinds_table(summaries: Mapping[str, Mapping[str, dict]]) -> str:
    """``summaries[threads][kind]`` for BatonVoice's neutral and emotional renders of the same texts."""
    rows = [[f"{kind}, {threads} thread(s)", str(s["n"]), fmt(s["rtf_median"]), fmt(s["rtf_total"]),
             fmt(s["first_audio_s_median"])] for threads, by_kind in summaries.items() for kind, s in by_kind.items()]
    return table(["BatonVoice render", "texts", "RTF median", "RTF total", "first audio median [s]"], rows)


def stages_table(profiles: Mapping[str, Mapping[str, dict]]) -> str:
    """``profiles[column]`` = stage_profile(...) -> one row per stage, seconds per audio second and share."""
    names: list[str] = []
    for profile in profiles.values():
        names += [n for n in profile if n not in names]
    rows = []
    for name in names:
        cells = []
        for profile in profiles.values():
            entry = profile.get(name)
            cells.append("-" if entry is None else f"{fmt(entry['rtf'], 4)} ({fmt(100 * entry['share'], 1)} %)")
        rows.append([name, *cells])
    return table(["stage: s per audio s (share of synthesis)", *profiles], rows)


def cold_table(results: Mapping[str, Sequence[float]]) -> str:
    rows = [[name, str(len(walls)), fmt(statistics.median(walls), 2) if walls else "n/a",
             fmt(min(walls), 2) if walls else "n/a", fmt(max(walls), 2) if walls else "n/a"]
            for name, walls in results.items()]
    return table(["cold start (fresh process, wall)", "runs", "median [s]", "min [s]", "max [s]"], rows)


def phases_table(phases: Mapping[str, Mapping[str, Sequence[float]]]) -> str:
    """``phases[command][phase]`` = seconds per run -> median seconds, one column per command."""
    names: list[str] = []
    for by_phase in phases.values():
        names += [n for n in by_phase if n not in names]
    rows = [[name, *(fmt(statistics.median(by_phase[name]), 2) if by_phase.get(name) else "-"
                     for by_phase in phases.values())] for name in names]
    rows.append(["**total**", *(fmt(sum(statistics.median(v) for v in by_phase.values()), 2)
                                for by_phase in phases.values())])
    return table(["cold start phase, median [s]", *phases], rows)


def first_audio_table(columns: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """``columns[name]`` = rows with ``first_audio_s`` and ``first_audio_stages`` -> per stage, the median
    seconds it spent before the first audio, and the median time to first audio."""
    names: list[str] = []
    for rows in columns.values():
        for row in rows:
            names += [n for n in row.get("first_audio_stages", {}) if n not in names]
    body = [[name, *(fmt(statistics.median(r.get("first_audio_stages", {}).get(name, 0.0) for r in rows))
                     if rows else "-" for rows in columns.values())] for name in names]
    body.append(["**time to first audio**", *(fmt(statistics.median(r["first_audio_s"] for r in rows)) if rows
                                              else "-" for rows in columns.values())])
    return table(["before the first audio, median [s]", *columns], body)
