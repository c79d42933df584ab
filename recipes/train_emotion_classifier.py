"""Train a six-emotion classifier on RAVDESS from features relative to the same actor's neutral clip.

Every clip is described by its change against the same actor's neutral rendering of the same sentence and
repetition (``feature_extract.utterance.relative``: the prosody table's seven quantities plus HNR, CPP,
alpha ratio and voiced fraction), so the classifier judges *how a voice moved away from its own neutral*, as
``benchmarks/emotion_render.py`` measures our renders against the same sentence's neutral render. Neutral
examples compare the actor's two neutral repetitions (both directions). Classes: neutral, happy, sad, angry,
fearful, surprised (both intensities).

Evaluation holds out actors: grouped K-fold over the 24 actors (every actor is tested once, by a model that
never heard them). Several model families are scored that way; ``--model`` picks the one that is saved,
refitted on all actors.

Licence: RAVDESS is CC BY-NC-SA 4.0, so the saved classifier is an NC-SA derivative. It is written to the
git-ignored ``runs/`` by default and must never be shipped or committed.

    python -m recipes.measure_prosody_table --new-keys-only --workers 1   # writes runs/ravdess_clip_features.json
    python -m recipes.train_emotion_classifier --out runs/emotion_classifier.joblib
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import sys
from pathlib import Path

import numpy as np

from baton.eval.emotion import CLASSIFIER_EMOTIONS, FEATURES, confusion, confusion_markdown
from feature_extract.utterance import relative

ROOT = Path(__file__).resolve().parents[1]

MODELS = ("logistic", "forest", "boosting")


def make_model(name: str, seed: int = 0):
    """An sklearn pipeline: median imputation of undefined changes, scaling, then the classifier."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logistic":
        head = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    elif name == "forest":
        head = RandomForestClassifier(n_estimators=300, min_samples_leaf=2, class_weight="balanced",
                                      random_state=seed, n_jobs=1)
    elif name == "boosting":
        head = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, class_weight="balanced",
                                              random_state=seed)
    else:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(MODELS)}")
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), head)


def examples(rows: list[dict[str, str]], features: dict[str, dict[str, float]]):
    """(X float64 (n, len(FEATURES)), labels, actors, intensities) of the six classifier emotions."""
    by_key = {(r["actor"], r["emotion"], r["statement_text"], r["repetition"]): r["id"] for r in rows}
    X, labels, actors, intensities = [], [], [], []
    for r in rows:
        if r["emotion"] not in CLASSIFIER_EMOTIONS or r["id"] not in features:
            continue
        if r["emotion"] == "neutral":  # the other repetition is the reference (both directions)
            other = "1" if r["repetition"] == "2" else "2"
            ref_id = by_key.get((r["actor"], "neutral", r["statement_text"], other))
        else:
            ref_id = by_key.get((r["actor"], "neutral", r["statement_text"], r["repetition"]))
        if ref_id is None or ref_id not in features:
            continue
        change = relative(features[r["id"]], features[ref_id])
        X.append([change.get(f, math.nan) for f in FEATURES])
        labels.append(r["emotion"])
        actors.append(int(r["actor"]))
        intensities.append(r["intensity"])
    return np.array(X, dtype=np.float64), np.array(labels), np.array(actors), np.array(intensities)


def held_out_predictions(name: str, X, y, actors, folds: int) -> np.ndarray:
    """Predictions for every example from a model trained without its actor (grouped K-fold)."""
    from sklearn.model_selection import GroupKFold

    predicted = np.empty(len(y), dtype=object)
    for train, test in GroupKFold(n_splits=folds).split(X, y, actors):
        model = make_model(name).fit(X[train], y[train])
        predicted[test] = model.predict(X[test])
    return predicted.astype(str)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="Licence: the output is CC BY-NC-SA (trained on RAVDESS); never ship it.")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "ravdess")
    parser.add_argument("--clip-features", type=Path, default=ROOT / "runs" / "ravdess_clip_features.json",
                        help="per-clip features from recipes/measure_prosody_table.py (measured here if missing)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "emotion_classifier.joblib",
                        help="where the classifier bundle goes (keep it under the git-ignored runs/)")
    parser.add_argument("--model", choices=MODELS, default="forest",
                        help="the family that is saved (default forest: the best held-out-actor accuracy on 2026-12-04)")
    parser.add_argument("--folds", type=int, default=6, help="grouped folds over the 24 actors (6 = 4 held out)")
    parser.add_argument("--workers", type=int, default=1, help="processes when the clips must be measured")
    args = parser.parse_args(argv)

    from recipes.measure_prosody_table import measure_corpus, read_rows

    try:
        rows = read_rows(args.corpus)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.clip_features.is_file():
        features = json.loads(args.clip_features.read_text(encoding="utf-8"))["features"]
    else:
        features, _ = measure_corpus(args.corpus, rows, args.workers)
    X, y, actors, intensities = examples(rows, features)
    labels = list(CLASSIFIER_EMOTIONS)
    print(f"{len(y)} examples, {len(set(actors))} actors, features: {', '.join(FEATURES)}\n")

    print(f"Held-out-actor accuracy ({args.folds}-fold grouped by actor; chance {1 / len(labels):.0%}):\n")
    print("| model | accuracy | balanced accuracy | normal intensity | strong intensity |")
    print("|---|---:|---:|---:|---:|")
    results = {}
    for name in MODELS:
        predicted = held_out_predictions(name, X, y, actors, args.folds)
        correct = predicted == y
        per_class = [correct[y == label].mean() for label in labels]
        emotional = y != "neutral"
        results[name] = {
            "accuracy": float(correct.mean()),
            "balanced_accuracy": float(np.mean(per_class)),
            "accuracy_normal": float(correct[emotional & (intensities == "normal")].mean()),
            "accuracy_strong": float(correct[emotional & (intensities == "strong")].mean()),
            "confusion": confusion(list(y), list(predicted), labels),
        }
        r = results[name]
        print(f"| {name} | {r['accuracy']:.1%} | {r['balanced_accuracy']:.1%} | {r['accuracy_normal']:.1%} "
              f"| {r['accuracy_strong']:.1%} |")
    chosen = results[args.model]
    print(f"\nConfusion of '{args.model}' on held-out actors (rows asked, columns judged; the intensity "
          f"columns above leave neutral out):\n")
    print(confusion_markdown(chosen["confusion"], labels))

    import joblib
    import sklearn

    model = make_model(args.model).fit(X, y)
    meta = {"name": f"RAVDESS {args.model}, relative features", "trained_utc": _dt.datetime.now(
        _dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"), "sklearn": sklearn.__version__, "n_examples": int(len(y)),
        "held_out_actor": {k: v for k, v in chosen.items()}, "folds": args.folds,
        "licence": "trained on RAVDESS (CC BY-NC-SA 4.0): non-commercial, share-alike; do not ship"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"model": model, "features": list(FEATURES), "labels": labels, "meta": meta}, args.out)
    print(f"\nwrote {args.out} (CC BY-NC-SA derivative: keep it out of the repository)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
