"""Rendered emotions against RAVDESS: per-feature "inside the inter-quartile range" checks, WER ratios, and an
optional RAVDESS-trained emotion classifier's confusion matrix.

Used by ``benchmarks/emotion_render.py``. Every rendered value is a change against the same sentence's
neutral render, measured with ``feature_extract.utterance`` (the prosody table's own definitions), so it is
directly comparable with the table's medians and quartiles (baton/data/prosody_table.json: ``table`` for
the prosody quantities, ``voice_quality.table`` for the voice-quality ones).

The classifier (``recipes/train_emotion_classifier.py``) is trained on RAVDESS (CC BY-NC-SA 4.0) and is
never shipped; it is loaded from a path the user gives (``--classifier PATH`` or env
``BATON_EMOTION_CLASSIFIER``). It is a pickle (joblib): load only files you made yourself.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from feature_extract.utterance import PROSODY_QUANTITIES, VOICE_QUALITY_QUANTITIES

FEATURES = PROSODY_QUANTITIES + VOICE_QUALITY_QUANTITIES
CLASSIFIER_ENV = "BATON_EMOTION_CLASSIFIER"
CLASSIFIER_EMOTIONS = ("neutral", "happy", "sad", "angry", "fearful", "surprised")
WER_RATIO_MAX = 1.5
"""Issue 22: an emotional render's WER may be at most this times the neutral render's."""


@dataclass(frozen=True)
class FeatureCheck:
    """One feature of one emotion x intensity: the rendered median change next to RAVDESS's quartiles."""

    quantity: str
    rendered: float
    """Median over sentences of the rendered change (NaN if no sentence gave a value)."""
    n_rendered: int
    ravdess_median: float
    q25: float
    q75: float

    @property
    def has_reference(self) -> bool:
        return math.isfinite(self.q25) and math.isfinite(self.q75)

    @property
    def inside(self) -> bool | None:
        """True when q25 <= rendered <= q75; None without a RAVDESS reference; False when the render gave no
        value (nothing measurable is not a match)."""
        if not self.has_reference:
            return None
        return bool(math.isfinite(self.rendered) and self.q25 <= self.rendered <= self.q75)


def reference_stats(document: Mapping[str, Any], emotion: str, intensity: str,
                    prosody: str = "remeasured") -> dict[str, dict[str, float]]:
    """``{quantity: {median, q25, q75, n}}`` for ``emotion``/``intensity`` from the table JSON, prosody and voice
    quality merged; quantities the JSON lacks are left out. ``neutral`` has only a ``normal`` row (its noise
    floor), used for every intensity.

    ``prosody``: ``"remeasured"`` takes the prosody quantities from the JSON's ``remeasured`` table (RAVDESS
    measured with today's feature_extract, as the renders are) where it has the row, else from ``table``;
    ``"shipped"`` always from ``table`` (the numbers the conductor plans with)."""
    if prosody not in ("remeasured", "shipped"):
        raise ValueError(f"prosody reference {prosody!r} is unknown; valid: remeasured, shipped")
    def row_of(section: Mapping[str, Any]) -> Mapping[str, Any]:
        rows = section.get(emotion, {})
        return rows.get(intensity) or (rows.get("normal") if emotion == "neutral" else None) or {}

    prosody_row = row_of(document.get("table", {}))
    if prosody == "remeasured":
        prosody_row = row_of(document.get("remeasured", {}).get("table", {})) or prosody_row
    out: dict[str, dict[str, float]] = {}
    for row in (prosody_row, row_of(document.get("voice_quality", {}).get("table", {}))):
        out.update({q: dict(v) for q, v in row.items() if q in FEATURES})
    return out


def nanmedian(values: Iterable[float]) -> tuple[float, int]:
    """(median of the finite values, how many there were); (NaN, 0) if none."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    return (float(np.median(finite)), len(finite)) if finite else (math.nan, 0)


def compare(rendered: Mapping[str, Sequence[float]], reference: Mapping[str, Mapping[str, float]],
            quantities: Sequence[str] = FEATURES) -> dict[str, FeatureCheck]:
    """One :class:`FeatureCheck` per quantity: median of ``rendered[q]`` (per-sentence changes) against
    ``reference[q]`` (``{median, q25, q75}``; missing = no reference)."""
    checks = {}
    for q in quantities:
        median, n = nanmedian(rendered.get(q, ()))
        ref = reference.get(q, {})
        checks[q] = FeatureCheck(q, median, n, _num(ref.get("median")), _num(ref.get("q25")), _num(ref.get("q75")))
    return checks


def fully_inside(checks: Mapping[str, FeatureCheck], quantities: Sequence[str] = FEATURES) -> bool | None:
    """True when every quantity with a RAVDESS reference is inside its IQR; None when none has a reference."""
    marks = [checks[q].inside for q in quantities if q in checks and checks[q].inside is not None]
    return all(marks) if marks else None


def count_fully_inside(rows: Mapping[tuple[str, str], Mapping[str, FeatureCheck]], intensity: str,
                       quantities: Sequence[str] = FEATURES) -> tuple[int, int, list[str]]:
    """(emotions fully inside, emotions counted, their names) at ``intensity``, neutral excluded."""
    counted, inside = 0, []
    for (emotion, level), checks in rows.items():
        if level != intensity or emotion == "neutral":
            continue
        verdict = fully_inside(checks, quantities)
        if verdict is None:
            continue
        counted += 1
        if verdict:
            inside.append(emotion)
    return len(inside), counted, inside


def wer_ok(wer: float, neutral_wer: float, ratio_max: float = WER_RATIO_MAX) -> bool | None:
    """Issue 22's bar: ``wer <= ratio_max * neutral_wer`` (so 0 errors are needed when neutral has none)."""
    if not (math.isfinite(wer) and math.isfinite(neutral_wer)):
        return None
    return bool(wer <= ratio_max * neutral_wer + 1e-12)


def mark(value: bool | None) -> str:
    return {True: "✓", False: "✗", None: "·"}[value]


def confusion(asked: Sequence[str], judged: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Counts ``[i][j]`` of items asked as ``labels[i]`` and judged ``labels[j]`` (others are ignored)."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for a, j in zip(asked, judged):
        if a in index and j in index:
            matrix[index[a]][index[j]] += 1
    return matrix


def confusion_markdown(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> str:
    """Rows = asked, columns = judged, with per-row recall."""
    lines = ["| asked \\ judged | " + " | ".join(labels) + " | recall |",
             "|---|" + "---:|" * (len(labels) + 1)]
    for label, row in zip(labels, matrix):
        total = sum(row)
        recall = f"{row[labels.index(label)] / total:.0%}" if total else "–"
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + f" | {recall} |")
    return "\n".join(lines)


def classifier_summary(items: Sequence[Mapping[str, Any]], classifier: "EmotionClassifier") -> dict[str, Any]:
    """``baton eval``'s aggregate: confusion of the items that name one of the classifier's emotions (neutral
    items are left out: they have no neutral rendering to differ from) and were judged."""
    labels = list(classifier.labels)
    judged = [(it["emotion"], it["judged_emotion"]) for it in items
              if it.get("emotion") in labels and it.get("emotion") != "neutral" and it.get("judged_emotion")]
    return {"labels": labels, "name": classifier.meta.get("name"), "n": len(judged),
            "accuracy": sum(a == j for a, j in judged) / len(judged) if judged else math.nan,
            "confusion": confusion([a for a, _ in judged], [j for _, j in judged], labels)}


class EmotionClassifier:
    """A RAVDESS-trained classifier of relative features (``feature_extract.utterance.relative``).
    Build with :meth:`load`; the file is written by ``recipes/train_emotion_classifier.py``."""

    def __init__(self, model: Any, features: Sequence[str], labels: Sequence[str], meta: Mapping[str, Any]):
        self.model, self.features, self.labels, self.meta = model, tuple(features), tuple(labels), dict(meta)

    @classmethod
    def load(cls, path: str | Path) -> "EmotionClassifier":
        """Raises FileNotFoundError / ValueError with one line naming the fix."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"emotion classifier {path} not found; train one with "
                                    f"python -m recipes.train_emotion_classifier --out {path}")
        import joblib

        bundle = joblib.load(path)
        if not isinstance(bundle, dict) or not {"model", "features", "labels"} <= set(bundle):
            raise ValueError(f"{path} is not an emotion classifier bundle (model, features, labels); "
                             "re-create it with python -m recipes.train_emotion_classifier")
        return cls(bundle["model"], bundle["features"], bundle["labels"], bundle.get("meta", {}))

    @classmethod
    def from_env(cls, path: str | Path | None = None) -> "EmotionClassifier | None":
        """``path``, else env ``BATON_EMOTION_CLASSIFIER``, else None (no classifier configured)."""
        chosen = path or os.environ.get(CLASSIFIER_ENV)
        return cls.load(chosen) if chosen else None

    def matrix(self, changes: Sequence[Mapping[str, float]]) -> np.ndarray:
        """float64 (n_items, n_features); NaN where a change is missing (the model imputes)."""
        return np.array([[_num(c.get(f)) for f in self.features] for c in changes], dtype=np.float64)

    def predict(self, changes: Sequence[Mapping[str, float]]) -> list[str]:
        """The judged emotion of each item's relative features."""
        if not changes:
            return []
        return [str(label) for label in self.model.predict(self.matrix(changes))]


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and value is not None else math.nan
