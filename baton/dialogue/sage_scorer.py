"""An offline SAGE scorer: predicts the simulated person's emotion change after each supporter reply.

SAGE (Sentient Agent as a Judge, arXiv 2505.02847) scores a supporter with an LLM that plays the person: the
score starts at 40, each reply changes it by at most 10 either way, and the final score falls in a band
(S >= 100, A >= 70, B >= 40, C >= 10, F < 10). Offline we have no LLM, so this module predicts the change from
text features of the reply, weighted by what the person secretly needs (the profile's ``task``) and their
persona type, after ../shared/notes/offline-dialogue-scoring.md section 8.2 A.

The weights are a ridge regression fitted by ``recipes/fit_sage_scorer.py`` on part of the labelled English
turns (../shared/scenes/sage_en) and stored in ``baton/data/sage_scorer.json`` (derived numbers only); its
agreement on held-out dialogues is in docs/dialogue.md. It is a rough proxy, not a replacement for the judge.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from baton.dialogue.scenes import SAGE_START_SCORE, Scene

WEIGHTS_PATH = Path(__file__).resolve().parents[1] / "data" / "sage_scorer.json"
MAX_CHANGE = 10.0
BANDS = ((100.0, "S"), (70.0, "A"), (40.0, "B"), (10.0, "C"), (-math.inf, "F"))


def band(score: float) -> str:
    """SAGE band of a score: S >= 100, A >= 70, B >= 40, C >= 10, F < 10."""
    return next(name for floor, name in BANDS if score >= floor)


def clamp_change(change: float) -> float:
    return max(-MAX_CHANGE, min(MAX_CHANGE, float(change)))


def trajectory(changes: Sequence[float], start: float = SAGE_START_SCORE) -> list[float]:
    """Scores after each change (clamped to +-10, kept within 0..100), stopping at >= 100 or < 10 as SAGE does."""
    scores, score = [], start
    for change in changes:
        score = min(100.0, max(0.0, score + clamp_change(change)))
        scores.append(score)
        if score >= 100.0 or score < 10.0:
            break
    return scores


def _phrases(*items: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(items) + r")\b")


EMPATHY = _phrases(r"sounds? like", r"i hear", r"that must", r"must (?:be|have been|feel)", r"it makes sense",
                   r"understandable", r"i can (?:see|imagine|feel|tell)", r"no wonder", r"you(?:'re| are) not alone",
                   r"of course you", r"that(?:'s| is) (?:really |so )?(?:hard|tough|painful|exhausting)",
                   r"you feel", r"you(?:'ve| have) been", r"hurt", r"frustrat\w*", r"heavy")
ADVICE = _phrases(r"you (?:could|might|should|can) (?:try|consider|start)", r"try to", r"i suggest", r"suggest\w*",
                  r"consider", r"how about", r"step", r"first,", r"next,", r"make a plan", r"set (?:a|some)",
                  r"it(?:'s| is) important to", r"focus on", r"remember to")
GENERIC = _phrases(r"don'?t be sad", r"cheer up", r"it(?:'ll| will) (?:all )?be (?:ok|okay|fine|alright)",
                   r"stay positive", r"everything will", r"keep going", r"hang in there", r"you(?:'ve| have) got this",
                   r"look on the bright side", r"don'?t worry", r"it(?:'s| is) (?:all )?(?:ok|okay) to")
ANALYSIS = _phrases(r"maybe (?:because|he|she|they)", r"might (?:be|have)", r"perhaps", r"probably", r"because",
                    r"the reason", r"on (?:the )?one hand", r"on the other hand", r"from (?:his|her|their) (?:side|perspective|point of view)",
                    r"it(?:'s| is) possible", r"could be that")
VALIDATION = _phrases(r"not your fault", r"did nothing wrong", r"you did(?:n'?t)? (?:the right|nothing|well|your best)",
                      r"you(?:'re| are) right", r"that(?:'s| is) fair", r"of course", r"makes sense", r"reasonable",
                      r"valid", r"anyone would")
PRAISE = _phrases(r"well done", r"amazing", r"impressive", r"proud", r"brave", r"admire", r"great (?:job|work)",
                  r"you handled", r"that took", r"strength", r"courage")
NEGATIVE_USER = _phrases(r"useless", r"pointless", r"whatever", r"forget it", r"too general", r"hollow",
                         r"missing the point", r"not enough", r"still (?:not|too|feels?|doesn'?t)", r"you don'?t (?:get|understand)",
                         r"don'?t need", r"annoy\w*", r"sick of", r"enough", r"helpless", r"no idea", r"can'?t (?:figure|stand)",
                         r"driving me crazy", r"hurts", r"assumptions", r"guesses", r"just tell me", r"directly")
POSITIVE_USER = _phrases(r"thanks?", r"thank you", r"you(?:'re| are) right", r"useful", r"helpful", r"practical",
                         r"feel (?:a lot |a bit |much )?better", r"understood", r"get me", r"ha(?:ha)?", r"lol", r"wow",
                         r"fun", r"calmer", r"comfortable", r"i(?:'ll| will| might| could) try", r"makes sense", r"good idea")
"""The person's last turn, before the reply: how they took the previous reply. SAGE persons' moods carry
over (a warming person keeps warming), so this is the strongest single cue offline."""

TASK_KINDS = {
    "listen": ("listen", "vent"),
    "advice": ("advice", "predicament", "get out of"),
    "empathy": ("empathise", "empathize", "simple reassurance"),
    "praise": ("praise",),
    "analyse": ("why the other", "analyse why", "analyze why"),
    "dialectical": ("dialectical",),
    "reflect": ("reflect",),
    "not_my_fault": ("no responsibility", "did nothing wrong", "no mistakes"),
}

FEATURE_NAMES = ("negative_persona", "passive_persona", "avoidant_persona", "log_words", "questions",
                 "empathy", "advice", "generic_comfort", "list_format", "specificity", "repetition",
                 "task_match", "task_mismatch", "user_negativity", "user_positivity")


def task_kind(task: str | None) -> str | None:
    text = (task or "").lower()
    for kind, keys in TASK_KINDS.items():
        if any(k in text for k in keys):
            return kind
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


_STOP = frozenset("the a an and or but to of in on at for with as it is are was were be been i you he she they we "
                  "me my your his her their our this that these those so just really very what how why when do does "
                  "did not no have has had can could would should will it's i'm you're don't".split())


def _content(text: str) -> set[str]:
    return {w for w in _words(text) if w not in _STOP and len(w) > 2}


def features(reply: str, user_before: str, earlier_replies: Sequence[str], persona: str | None,
             task: str | None) -> np.ndarray:
    """The feature vector (:data:`FEATURE_NAMES`) of one supporter reply. Counts are per reply; specificity is
    the share of the person's last content words the reply takes up; repetition the largest word overlap
    (Jaccard) with an earlier reply; task_match / task_mismatch count the phrases that serve / go against
    the hidden need (8.2 A's table)."""
    low = reply.lower()
    n_words = max(1, len(_words(reply)))
    counts = {name: len(p.findall(low)) for name, p in (("empathy", EMPATHY), ("advice", ADVICE),
                                                        ("generic", GENERIC), ("analysis", ANALYSIS),
                                                        ("validation", VALIDATION), ("praise", PRAISE))}
    questions = reply.count("?")
    listing = len(re.findall(r"(?m)^\s*(?:\d+[.)]|[-*\u2022])\s", reply))
    user = _content(user_before)
    specificity = len(user & _content(reply)) / len(user) if user else 0.0
    mine = _content(reply)
    repetition = max((len(mine & _content(r)) / max(1, len(mine | _content(r))) for r in earlier_replies), default=0.0)
    kind = task_kind(task)
    match = {"listen": counts["empathy"] + 0.5 * questions, "advice": counts["advice"] + listing,
             "empathy": counts["empathy"] + 3 * specificity, "praise": counts["praise"],
             "analyse": counts["analysis"], "dialectical": counts["analysis"], "reflect": questions,
             "not_my_fault": counts["validation"]}.get(kind or "", 0.0)
    mismatch = {"listen": counts["advice"] + listing, "advice": counts["generic"], "empathy": counts["generic"],
                "analyse": counts["generic"] + counts["empathy"] * 0.5, "dialectical": counts["generic"],
                "not_my_fault": counts["advice"], "praise": counts["advice"], "reflect": counts["generic"]
                }.get(kind or "", 0.0)
    return np.array([
        persona == "negative", persona == "passive", persona == "avoidant", math.log(n_words), questions,
        counts["empathy"], counts["advice"], counts["generic"], listing, specificity, repetition, match, mismatch,
        len(NEGATIVE_USER.findall(user_before.lower())), len(POSITIVE_USER.findall(user_before.lower())),
    ], dtype=float)


@dataclass(frozen=True)
class SageScorer:
    """Ridge regression on standardised features: change = bias + sum(weights * (x - mean) / std)."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    std: np.ndarray
    info: dict

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted change per row of ``x`` (shape (n, len(FEATURE_NAMES))), clamped to +-10."""
        z = (np.atleast_2d(x) - self.mean) / self.std
        return np.clip(self.bias + z @ self.weights, -MAX_CHANGE, MAX_CHANGE)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, alpha: float, info: dict | None = None) -> "SageScorer":
        mean = x.mean(axis=0)
        std = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
        z = (x - mean) / std
        bias = float(y.mean())
        weights = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - bias))
        return cls(weights, bias, mean, std, dict(info or {}, alpha=alpha))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURE_NAMES), "weights": [round(float(w), 5) for w in self.weights],
                "bias": round(self.bias, 5), "mean": [round(float(m), 5) for m in self.mean],
                "std": [round(float(s), 5) for s in self.std], **self.info}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SageScorer":
        if list(data.get("features", [])) != list(FEATURE_NAMES):
            raise ValueError(f"SAGE scorer weights were fitted on features {data.get('features')}; this version "
                             f"computes {list(FEATURE_NAMES)}; refit with python -m recipes.fit_sage_scorer")
        info = {k: v for k, v in data.items() if k not in ("features", "weights", "bias", "mean", "std")}
        return cls(np.array(data["weights"], float), float(data["bias"]), np.array(data["mean"], float),
                   np.array(data["std"], float), info)


@lru_cache(maxsize=2)
def load_scorer(path: str | None = None) -> SageScorer:
    return SageScorer.from_dict(json.loads(Path(path or WEIGHTS_PATH).read_text(encoding="utf-8")))


def labelled_turns(scene: Scene) -> list[dict[str, Any]]:
    """Every supporter reply of a SAGE scene with its features and, where the next person turn carries a
    score, the labelled change."""
    person = next(c for c in scene.characters if c.role == "person")
    rows, last_user, last_score, replies = [], "", None, []
    lines = list(scene.lines)
    for k, line in enumerate(lines):
        if line.speaker == person.name:
            last_user, last_score = line.speech or line.message, line.emotion_point
            continue
        if not line.speech:
            continue
        nxt = next((l for l in lines[k + 1:] if l.speaker == person.name), None)
        label = None
        if nxt is not None and nxt.emotion_point is not None and last_score is not None:
            label = nxt.emotion_point - last_score
        rows.append({"line": line.index, "x": features(line.speech, last_user, replies, person.persona, scene.task),
                     "label": label})
        replies.append(line.speech)
    return rows


def score_scene(scene: Scene, scorer: SageScorer | None = None) -> dict[str, Any]:
    """Predicted change per supporter reply and the resulting trajectory; agreement with the labels when the
    scene has them (sign accuracy over non-zero labelled changes, MAE)."""
    scorer = scorer or load_scorer()
    rows = labelled_turns(scene)
    if not rows:
        return {"n_replies": 0, "predicted_final": SAGE_START_SCORE, "predicted_band": band(SAGE_START_SCORE)}
    predicted = scorer.predict(np.stack([r["x"] for r in rows]))
    labelled = [r["label"] for r in rows if r["label"] is not None]
    pairs = [(p, r["label"]) for p, r in zip(predicted, rows) if r["label"] is not None]
    path = trajectory(predicted)
    out: dict[str, Any] = {"n_replies": len(rows), "predicted_changes": [round(float(p), 2) for p in predicted],
                           "predicted_trajectory": [round(s, 2) for s in path],
                           "predicted_final": round(path[-1], 2), "predicted_band": band(path[-1])}
    if pairs:
        labelled_path = trajectory(labelled)
        signs = [(np.sign(p) == np.sign(l)) for p, l in pairs if l != 0]
        out.update({"labelled_changes": labelled, "labelled_final": labelled_path[-1],
                    "labelled_band": band(labelled_path[-1]),
                    "sign_accuracy": round(float(np.mean(signs)), 3) if signs else None,
                    "mae": round(float(np.mean([abs(p - l) for p, l in pairs])), 2)})
    return out


__all__ = ["band", "trajectory", "features", "FEATURE_NAMES", "SageScorer", "load_scorer", "score_scene",
           "labelled_turns", "task_kind", "clamp_change", "BANDS", "WEIGHTS_PATH"]
