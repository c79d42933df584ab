"""Fit the offline SAGE scorer (baton/dialogue/sage_scorer.py) on part of ../shared/scenes/sage_en and report
its agreement on the dialogues it was not fitted on.

    python -m recipes.fit_sage_scorer                 # print the table
    python -m recipes.fit_sage_scorer --write         # also write baton/data/sage_scorer.json

Split: the first --train dialogues (default 4: one negative, one passive, two avoidant personas) fit the
weights; the rest are held out. The feature set (FEATURE_SETS) and the ridge strength are chosen by
leave-one-dialogue-out inside the training part. Also printed: leave-one-dialogue-out over all dialogues (each dialogue predicted by a scorer fitted on
the others), and two baselines (the training mean change; persona type only).
Metrics: sign accuracy over replies whose labelled change is not 0, mean absolute error of the change, and
Pearson r between predicted and labelled final scores (trajectory from 40 with the predicted changes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from baton.dialogue.sage_scorer import FEATURE_NAMES, WEIGHTS_PATH, SageScorer, labelled_turns, trajectory
from baton.dialogue.scenes import load_scenes

ROOT = Path(__file__).resolve().parents[1]

ALPHAS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
FEATURE_SETS = {
    "mood": ("user_negativity", "user_positivity"),
    "mood+task": ("user_negativity", "user_positivity", "task_match", "task_mismatch"),
    "mood+task+style": ("user_negativity", "user_positivity", "task_match", "task_mismatch", "repetition", "questions",
                        "empathy", "advice", "generic_comfort"),
    "all": FEATURE_NAMES,
}
"""Candidate feature sets; the recipe picks one (and the ridge strength) by leave-one-dialogue-out inside the
training part, so the held-out dialogues never influence the choice."""


def dataset(path: Path):
    out = []
    for scene in load_scenes(path):
        rows = [r for r in labelled_turns(scene) if r["label"] is not None]
        out.append((scene, np.stack([r["x"] for r in rows]), np.array([r["label"] for r in rows], float)))
    return out


def evaluate(predict, dialogues) -> dict:
    signs, errors, finals_p, finals_l = [], [], [], []
    for _, x, y in dialogues:
        p = predict(x)
        signs += [np.sign(a) == np.sign(b) for a, b in zip(p, y) if b != 0]
        errors += list(np.abs(p - y))
        finals_p.append(trajectory(p)[-1])
        finals_l.append(trajectory(y)[-1])
    r = float(np.corrcoef(finals_p, finals_l)[0, 1]) if len(finals_p) > 2 and np.std(finals_p) > 0 else float("nan")
    return {"n_dialogues": len(dialogues), "n_replies": len(errors), "sign_accuracy": round(float(np.mean(signs)), 3),
            "mae": round(float(np.mean(errors)), 2), "final_r": round(r, 3),
            "finals_predicted": [round(f, 1) for f in finals_p], "finals_labelled": [round(f, 1) for f in finals_l]}


def loo_error(dialogues, alpha, cols) -> float:
    errs = []
    for i in range(len(dialogues)):
        model = fit([d for j, d in enumerate(dialogues) if j != i], alpha, cols)
        errs += list(np.abs(model.predict(dialogues[i][1]) - dialogues[i][2]))
    return float(np.mean(errs))


def select(dialogues) -> tuple[str, float, list[int]]:
    """(feature set name, alpha, columns) with the lowest leave-one-dialogue-out MAE on ``dialogues``."""
    best = None
    for name, names in FEATURE_SETS.items():
        cols = [FEATURE_NAMES.index(n) for n in names]
        for alpha in ALPHAS:
            err = loo_error(dialogues, alpha, cols)
            if best is None or err < best[0] - 1e-9:
                best = (err, name, alpha, cols)
    return best[1], best[2], best[3]


def fit_selected(dialogues) -> SageScorer:
    name, alpha, cols = select(dialogues)
    model = fit(dialogues, alpha, cols)
    return SageScorer(model.weights, model.bias, model.mean, model.std, dict(model.info, feature_set=name))


def fit(dialogues, alpha=None, columns=None) -> SageScorer:
    cols = list(range(len(FEATURE_NAMES))) if columns is None else columns
    if alpha is None:  # leave-one-dialogue-out inside the training part
        best = None
        for a in ALPHAS:
            errs = []
            for i in range(len(dialogues)):
                rest = [d for j, d in enumerate(dialogues) if j != i]
                model = fit(rest, a, cols)
                errs += list(np.abs(model.predict(dialogues[i][1]) - dialogues[i][2]))
            if best is None or np.mean(errs) < best[0]:
                best = (float(np.mean(errs)), a)
        alpha = best[1]
    x = np.concatenate([d[1] for d in dialogues])
    y = np.concatenate([d[2] for d in dialogues])
    if columns is not None:  # a baseline on a subset: zero the other features' weights
        mask = np.zeros(len(FEATURE_NAMES), bool)
        mask[cols] = True
        model = SageScorer.fit(x[:, mask], y, alpha)
        weights = np.zeros(len(FEATURE_NAMES))
        weights[mask] = model.weights
        mean, std = np.zeros(len(FEATURE_NAMES)), np.ones(len(FEATURE_NAMES))
        mean[mask], std[mask] = model.mean, model.std
        return SageScorer(weights, model.bias, mean, std, model.info)
    return SageScorer.fit(x, y, alpha)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "scenes" / "sage_en" / "dialogues.en.jsonl")
    parser.add_argument("--train", type=int, default=4, help="number of leading dialogues to fit on (default 4)")
    parser.add_argument("--write", action="store_true", help=f"write the weights to {WEIGHTS_PATH.relative_to(ROOT)}")
    args = parser.parse_args()
    if not args.data.is_file():
        parser.error(f"{args.data} does not exist; pass --data PATH/TO/sage_en/dialogues.en.jsonl")
    dialogues = dataset(args.data)
    train, test = dialogues[:args.train], dialogues[args.train:]
    model = fit_selected(train)
    persona_cols = [FEATURE_NAMES.index(n) for n in ("negative_persona", "passive_persona", "avoidant_persona")]
    mean_change = float(np.concatenate([d[2] for d in train]).mean())
    rows = {
        "scorer, held-out dialogues": evaluate(model.predict, test),
        "scorer, fitted dialogues": evaluate(model.predict, train),
        "baseline: training mean change, held out": evaluate(lambda x: np.full(len(x), mean_change), test),
        "baseline: persona type only, held out": evaluate(fit(train, model.info["alpha"], persona_cols).predict, test),
    }
    loo_p = []
    for i in range(len(dialogues)):
        m = fit_selected([d for j, d in enumerate(dialogues) if j != i])
        loo_p.append(m.predict)
    loo = {"sign": [], "err": [], "fp": [], "fl": []}
    for predict, (_, x, y) in zip(loo_p, dialogues):
        p = predict(x)
        loo["sign"] += [np.sign(a) == np.sign(b) for a, b in zip(p, y) if b != 0]
        loo["err"] += list(np.abs(p - y))
        loo["fp"].append(trajectory(p)[-1])
        loo["fl"].append(trajectory(y)[-1])
    rows["scorer, leave-one-dialogue-out (all 7)"] = {
        "n_dialogues": len(dialogues), "n_replies": len(loo["err"]),
        "sign_accuracy": round(float(np.mean(loo["sign"])), 3), "mae": round(float(np.mean(loo["err"])), 2),
        "final_r": round(float(np.corrcoef(loo["fp"], loo["fl"])[0, 1]), 3),
        "finals_predicted": [round(f, 1) for f in loo["fp"]], "finals_labelled": [round(f, 1) for f in loo["fl"]]}
    print(f"{'evaluation':44s} {'dlg':>4s} {'replies':>7s} {'sign acc':>8s} {'MAE':>6s} {'final r':>8s}  finals predicted / labelled")
    for name, r in rows.items():
        print(f"{name:44s} {r['n_dialogues']:4d} {r['n_replies']:7d} {r['sign_accuracy']:8.3f} {r['mae']:6.2f} "
              f"{r['final_r']:8.3f}  {r['finals_predicted']} / {r['finals_labelled']}")
    print("weights (standardised features):", {n: round(float(w), 2) for n, w in zip(FEATURE_NAMES, model.weights)},
          "bias", round(model.bias, 2), "alpha", model.info["alpha"], "feature set", model.info["feature_set"])
    if args.write:
        info = {"fitted_on": [s.source for s, _, _ in train], "held_out": [s.source for s, _, _ in test],
                "source": "../shared/scenes/sage_en/dialogues.en.jsonl (SAGE, MIT, Tencent); derived numbers only",
                "alpha": model.info["alpha"], "feature_set": model.info["feature_set"], "evaluation": rows}
        scorer = SageScorer(model.weights, model.bias, model.mean, model.std, info)
        WEIGHTS_PATH.write_text(json.dumps(scorer.to_dict(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
