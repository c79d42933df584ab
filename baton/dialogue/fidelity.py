"""Voicing fidelity: does the rendered dialogue sound like the characters it voices?

Every line is measured with feature_extract (baton.dialogue.render.measure_line); here the measurements are
compared with what was intended, per character and per moral level (as Moral RolePlay reports fidelity per
level):

* **intended**: the character's profile target (baton.dialogue.delivery.PROFILES, section 7.2 of the
  literature notes) plus its cast voice offsets;
* **pairs**: for every two characters whose intended values differ by more than :data:`MIN_DIFF` on a
  feature, the planned and the measured difference must have the same sign ("is the villain's line
  softer, slower, darker than the paragon's, as planned");
* **directions**: a line with a stage direction that implies a change ("softly", "angrily", "pausing")
  must differ from the same character's other lines in that direction, measured;
* **sanitised**: a level-4 character voiced cheerfully (measured more than +3 st and +3 dB above its cast
  voice) is flagged, the delivery failure Moral RolePlay names for villains.
"""

from __future__ import annotations

import itertools
import statistics
from typing import Any

from baton.dialogue.delivery import PROFILES, character_profile
from baton.dialogue.render import DialogueResult, RenderedLine

FEATURES = ("pitch_st", "energy_db", "rate_ratio", "centroid_ratio")
MIN_DIFF = {"pitch_st": 1.0, "energy_db": 2.0, "rate_ratio": 0.05, "centroid_ratio": 0.05}
"""Smallest intended difference between two characters that a check is made for (about a just-noticeable
difference for pitch and loudness in running speech; 5 % for rate and brightness)."""


def _mean(lines: list[RenderedLine], attr: str) -> dict[str, float]:
    out = {}
    for feature in FEATURES:
        values = [getattr(l, attr).get(feature) for l in lines if getattr(l, attr).get(feature) is not None]
        if values:
            out[feature] = round(statistics.fmean(values), 3)
    return out


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def voicing_fidelity(result: DialogueResult) -> dict[str, Any]:
    """The fidelity report (a JSON-ready dict): per character, per level, pair checks, direction checks."""
    scene = result.scene
    spoken = [l for l in result.lines if l.kind == "speech"]
    characters: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(l.speaker for l in spoken):
        c = scene.character(name)
        profile = character_profile(c)
        target = PROFILES[profile].target.plus(result.cast[name].offsets)
        mine = [l for l in spoken if l.speaker == name]
        characters[name] = {"level": c.level, "traits": list(c.traits), "inferred": c.inferred, "profile": profile,
                            "n_lines": len(mine), "intended": target.to_dict(),
                            "planned": _mean(mine, "planned_summary"), "measured": _mean(mine, "measured_summary"),
                            "checks": 0, "passed": 0}
    pairs = []
    for a, b in itertools.combinations(characters, 2):
        A, B = characters[a], characters[b]
        for feature in FEATURES:
            want = A["intended"][feature] - B["intended"][feature]
            if feature in ("rate_ratio", "centroid_ratio"):
                want = A["intended"][feature] / B["intended"][feature] - 1.0
            if abs(want) < MIN_DIFF[feature] or feature not in A["planned"] or feature not in B["planned"]:
                continue
            planned = A["planned"][feature] - B["planned"][feature]
            measured = (A["measured"].get(feature, float("nan")) - B["measured"].get(feature, float("nan")))
            ok_plan = _sign(planned) == _sign(want)
            ok_meas = measured == measured and _sign(measured) == _sign(want)
            pairs.append({"a": a, "b": b, "feature": feature, "intended": round(want, 3), "planned": round(planned, 3),
                          "measured": round(measured, 3) if measured == measured else None,
                          "plan_ok": ok_plan, "rendered_ok": ok_meas})
            for name in (a, b):
                characters[name]["checks"] += 1
                characters[name]["passed"] += int(ok_meas)
    directions = []
    for line in spoken:
        if not line.delivery.expect or not line.measured_summary:
            continue
        others = [l for l in spoken if l.speaker == line.speaker and l is not line and l.measured_summary]
        for feature, sign in line.delivery.expect:
            rest = [l.measured_summary[feature] for l in others if feature in l.measured_summary]
            if not rest or feature not in line.measured_summary:
                continue
            diff = line.measured_summary[feature] - statistics.median(rest)
            directions.append({"line": line.index, "speaker": line.speaker, "directions": list(line.delivery.directions),
                               "feature": feature, "expected_sign": sign, "measured_diff": round(diff, 3),
                               "landed": _sign(diff) == sign})
    sanitised = []
    for line in spoken:
        c = scene.character(line.speaker)
        m = line.measured_summary
        cast = result.cast[line.speaker].offsets
        if c.level == 4 and m.get("pitch_st") is not None and m.get("energy_db") is not None \
                and m["pitch_st"] - cast.pitch_st > 3.0 and m["energy_db"] - cast.energy_db > 3.0:
            sanitised.append({"line": line.index, "speaker": line.speaker, "measured": m})
    levels: dict[str, dict[str, Any]] = {}
    for level in sorted({v["level"] for v in characters.values() if v["level"] is not None}):
        names = [n for n, v in characters.items() if v["level"] == level]
        mine = [l for l in spoken if l.speaker in names]
        checks = sum(characters[n]["checks"] for n in names)
        passed = sum(characters[n]["passed"] for n in names)
        levels[str(level)] = {"characters": names, "planned": _mean(mine, "planned_summary"),
                              "measured": _mean(mine, "measured_summary"), "checks": checks,
                              "fidelity": round(passed / checks, 3) if checks else None}
    for v in characters.values():
        v["fidelity"] = round(v["passed"] / v["checks"], 3) if v["checks"] else None
    n_pairs = len(pairs)
    return {
        "characters": characters, "levels": levels, "pairs": pairs, "directions": directions,
        "sanitised_villain_lines": sanitised,
        "summary": {
            "pair_checks": n_pairs,
            "plan_agreement": round(sum(p["plan_ok"] for p in pairs) / n_pairs, 3) if n_pairs else None,
            "rendered_agreement": round(sum(p["rendered_ok"] for p in pairs) / n_pairs, 3) if n_pairs else None,
            "direction_checks": len(directions),
            "directions_landed": round(sum(d["landed"] for d in directions) / len(directions), 3) if directions else None,
            "sanitised_villain_lines": len(sanitised),
        },
    }


def emotion_tracking(result: DialogueResult) -> dict[str, Any] | None:
    """SAGE: how the person's measured prosody follows the emotion score (Pearson r of score vs pitch and
    energy over the person's lines, and the slope per 10 points). None for non-SAGE scenes."""
    import numpy as np

    rows = [(l.emotion_point, l.measured_summary) for l in result.lines
            if l.kind == "speech" and l.emotion_point is not None and l.measured_summary]
    if result.scene.kind != "sage" or len(rows) < 3:
        return None
    scores = np.array([r[0] for r in rows], dtype=float)
    out: dict[str, Any] = {"n_lines": len(rows), "scores": scores.tolist()}
    for feature in ("pitch_st", "energy_db"):
        values = np.array([r[1].get(feature, np.nan) for r in rows], dtype=float)
        ok = np.isfinite(values)
        if ok.sum() >= 3 and np.ptp(scores[ok]) > 0:
            out[f"{feature}_r"] = round(float(np.corrcoef(scores[ok], values[ok])[0, 1]), 3)
            out[f"{feature}_per_10_points"] = round(float(np.polyfit(scores[ok], values[ok], 1)[0] * 10), 3)
        out[feature] = [None if not np.isfinite(v) else round(float(v), 3) for v in values]
    return out


__all__ = ["voicing_fidelity", "emotion_tracking", "FEATURES", "MIN_DIFF"]
