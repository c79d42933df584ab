"""Write a rendered dialogue: ``mixed.wav``, ``lines/NNN_<speaker>.wav``, ``transcript.json`` and
``transcript.md`` (speaker, spoken text, instruction, plan, measured prosody, and the scores when asked)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from baton.dialogue.render import DialogueResult
from baton.pipeline import save_audio


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower() or "speaker"


def line_file(n: int, speaker: str) -> str:
    """The file of the ``n``-th rendered line, relative to the output folder."""
    return f"lines/{n:03d}_{_slug(speaker)}.wav"


def prepare_output_dir(out_dir: str | Path) -> Path:
    """Create ``out_dir`` and its ``lines`` folder before any work; OSError with one line naming the fix."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"output '{out_dir}' is a file, not a folder; give -o a folder to create or reuse")
    try:
        (out_dir / "lines").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise type(err)(f"cannot create the output folder '{out_dir}' ({err.strerror or err}); choose a folder "
                        "you can write to with -o") from None
    return out_dir


def transcript(result: DialogueResult, scores: dict[str, Any] | None = None) -> dict[str, Any]:
    scene = result.scene
    lines = []
    for n, line in enumerate(result.lines):
        lines.append({
            "n": n, "message": line.index, "speaker": line.speaker, "kind": line.kind, "text": line.text,
            "file": line_file(n, line.speaker), "start_s": round(line.start_s, 3),
            "duration_s": round(line.duration_s, 3), "emotion_point": line.emotion_point,
            "profile": line.delivery.profile, "directions": list(line.delivery.directions),
            "unmapped_directions": list(line.delivery.unmapped), "instruction": line.instruction,
            "conductor_source": line.conductor_source, "plan": line.plan.to_dict(),
            "planned": line.planned_summary, "measured": line.measured_summary,
            "measured_segments": line.measured, "measure_error": line.measure_error,
        })
    return {
        "scene": {"kind": scene.kind, "title": scene.title, "source": scene.source, "scenario": scene.scenario,
                  "task": scene.task, "notes": list(scene.notes)},
        "characters": [{"name": c.name, "role": c.role, "level": c.level, "traits": list(c.traits),
                        "inferred": c.inferred, "persona": c.persona} for c in scene.characters],
        "cast": {name: voice.to_dict() for name, voice in result.cast.items()},
        "sample_rate": result.sample_rate, "duration_s": round(result.mixed.size / result.sample_rate, 3),
        "skipped": result.skipped, "lines": lines, "scores": scores or {},
    }


def _fmt(summary: dict[str, float]) -> str:
    if not summary:
        return "-"
    parts = []
    if "pitch_st" in summary:
        parts.append(f"{summary['pitch_st']:+.1f} st")
    if "energy_db" in summary:
        parts.append(f"{summary['energy_db']:+.1f} dB")
    if "rate_ratio" in summary:
        parts.append(f"x{summary['rate_ratio']:.2f} rate")
    if "centroid_ratio" in summary:
        parts.append(f"x{summary['centroid_ratio']:.2f} bright")
    return ", ".join(parts)


def markdown(doc: dict[str, Any]) -> str:
    scene = doc["scene"]
    out = [f"# {scene['title']}", "", f"Source: `{scene['source']}` ({scene['kind']}), "
           f"{doc['duration_s']:.1f} s of audio in `mixed.wav`.", ""]
    if scene["scenario"]:
        out += [f"> {' '.join(scene['scenario'].split())[:600]}", ""]
    if scene["notes"]:
        out += ["Notes:", *[f"- {n}" for n in scene["notes"]], ""]
    out += ["## Cast", "", "| character | level | traits | pitch | energy | rate | brightness | seed |",
            "|---|---|---|---|---|---|---|---|"]
    levels = {c["name"]: c for c in doc["characters"]}
    for name, v in doc["cast"].items():
        c = levels.get(name, {})
        level = f"{c.get('level')}{' (inferred)' if c.get('inferred') else ''}" if c.get("level") else "-"
        out.append(f"| {name} | {level} | {', '.join(c.get('traits', [])) or '-'} | {v['pitch_st']:+.1f} st | "
                   f"{v['energy_db']:+.1f} dB | x{v['rate_ratio']:.2f} | x{v['centroid_ratio']:.2f} | {v['seed']} |")
    out += ["", "## Lines", "", "All values relative to the voice's neutral baseline.", "",
            "| # | speaker | text | instruction | planned | measured |", "|---|---|---|---|---|---|"]
    for line in doc["lines"]:
        text = line["text"].replace("|", "/")
        if line["kind"] != "speech":
            text = f"*({line['kind']})* {text}"
        if line["emotion_point"] is not None:
            text += f" [score {line['emotion_point']:g}]"
        measured = _fmt(line["measured"]) if not line["measure_error"] else f"not measured ({line['measure_error']})"
        out.append(f"| {line['n']} | {line['speaker']} | {text} | {line['instruction'][:120].replace('|', '/')} | "
                   f"{_fmt(line['planned'])} | {measured} |")
    if doc["skipped"]:
        out += ["", "Skipped: " + "; ".join(doc["skipped"])]
    scores = doc.get("scores") or {}
    fidelity = scores.get("fidelity")
    if fidelity:
        s = fidelity["summary"]
        out += ["", "## Voicing fidelity", "",
                f"{s['pair_checks']} character-pair checks: plan agrees with intent in "
                f"{_pct(s['plan_agreement'])}, rendered audio in {_pct(s['rendered_agreement'])}; "
                f"stage directions landed in {_pct(s['directions_landed'])} of {s['direction_checks']}; "
                f"villain lines voiced cheerfully: {s['sanitised_villain_lines']}.", "",
                "| character | level | profile | intended | planned | measured | fidelity |", "|---|---|---|---|---|---|---|"]
        for name, v in fidelity["characters"].items():
            out.append(f"| {name} | {v['level'] or '-'} | {v['profile']} | {_fmt(v['intended'])} | {_fmt(v['planned'])} | "
                       f"{_fmt(v['measured'])} | {_pct(v['fidelity'])} |")
        if fidelity["levels"]:
            out += ["", "| level | characters | planned | measured | fidelity |", "|---|---|---|---|---|"]
            for level, v in fidelity["levels"].items():
                out.append(f"| {level} | {', '.join(v['characters'])} | {_fmt(v['planned'])} | {_fmt(v['measured'])} | "
                           f"{_pct(v['fidelity'])} |")
    tracking = scores.get("emotion_tracking")
    if tracking:
        out += ["", "## Emotion trajectory (SAGE)", "",
                f"Person's measured pitch vs score: r = {tracking.get('pitch_st_r')}, "
                f"{tracking.get('pitch_st_per_10_points')} st per 10 points; energy: r = {tracking.get('energy_db_r')}, "
                f"{tracking.get('energy_db_per_10_points')} dB per 10 points ({tracking['n_lines']} lines)."]
    sage = scores.get("sage")
    if sage:
        out += ["", f"Offline SAGE scorer: predicted final score {sage['predicted_final']:g} "
                f"({sage['predicted_band']}), labelled {sage.get('labelled_final')} ({sage.get('labelled_band')}); "
                f"sign accuracy {_pct(sage.get('sign_accuracy'))}, MAE {sage.get('mae')}."]
    judge = scores.get("llm_judge")
    if judge:
        out += ["", f"LLM judge ({judge['backend']}): final score {judge['final']:g} ({judge['band']}); "
                f"changes {judge['changes']}."]
    return "\n".join(out) + "\n"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} %"


def write_outputs(result: DialogueResult, out_dir: str | Path, scores: dict[str, Any] | None = None, *,
                  write_lines: bool = True) -> dict[str, Any]:
    """Write every file into ``out_dir`` (created); returns the transcript document. ``write_lines=False``:
    the per-line files are already there (:func:`baton.dialogue.run.voice` writes each as it is rendered)."""
    out_dir = prepare_output_dir(out_dir)
    doc = transcript(result, scores)
    if write_lines:
        for line, entry in zip(result.lines, doc["lines"]):
            save_audio(out_dir / entry["file"], line.audio, line.sample_rate)
    save_audio(out_dir / "mixed.wav", result.mixed, result.sample_rate)
    (out_dir / "transcript.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    (out_dir / "transcript.md").write_text(markdown(doc), encoding="utf-8")
    return doc


__all__ = ["write_outputs", "transcript", "markdown", "line_file", "prepare_output_dir"]
