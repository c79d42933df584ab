"""baton.dialogue without audio: message parsing, the scene loaders and their errors, casting, the delivery
mapping, line plans (embedded conductor, plan only) and the offline SAGE scorer. Fixtures are tiny scenes
written into tmp_path; the shared scene files are read only when ../shared is there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from baton.dialogue.cast import MIN_PITCH_GAP_ST, cast_scene, load_cast_file, spread_pitches
from baton.dialogue.delivery import (PROFILES, character_profile, classify, line_delivery, score_offsets,
                                     score_words)
from baton.dialogue.messages import clean_speech, parse_message
from baton.dialogue.sage_scorer import band, features, load_scorer, score_scene, trajectory
from baton.dialogue.scenes import MAX_FILE_BYTES, SceneError, load_scenes, pick_scene

SHARED = Path(__file__).resolve().parents[2] / "shared"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared not available")

IAGO = {"name": "Iago", "thought": "He wants to ruin Othello.",
        "morality_classification": {"level": 4, "key_traits": ["Manipulative", "Deceitful"]}}
DESDEMONA = {"name": "Desdemona", "thought": "She pleads for Cassio.",
             "morality_classification": {"level": 1, "key_traits": ["Kind", "Honest"]}}
PROFILES_TEXT = {"Iago": "Iago is a sinister ensign. He schemes; his deceit is boundless and he hides it.",
                 "Desdemona": "Desdemona is kind and brave. She loves her husband and she is loyal to him."}


def moral_scene(dialogues: list[dict] | None = None, **extra) -> dict:
    return {"scenario": "A hall in the castle.", "topic": "Suspicion", "key_characters": [IAGO, DESDEMONA],
            "dialogues": dialogues or [
                {"character": "Environment", "message": "(Night falls over the castle.)"},
                {"character": "Iago", "message": "[She is the net.] (speaking softly) 'My lord, beware of jealousy.'"},
                {"character": "Desdemona", "message": "[I must help him.] (gently) Good morning, my lord."}],
            "character_profiles": PROFILES_TEXT, **extra}


def write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def sage_record(points=(40, 30, 60), persona="negative") -> dict:
    history = []
    for i, point in enumerate(points):
        history.append({"role": "user", "content": f"I feel bad, turn {i}.", "emotion-point": str(point)})
        if i < len(points) - 1:
            history.append({"role": "assistant", "content": "That sounds really hard. What happened?"})
    return {"id": "x", "player": "* Name: Li Wei\n* Age: 30\n* Gender: male\n", "scene": "He lost his job.",
            "task": "You want the other person to listen attentively while you vent your emotions",
            "character": persona, "topic": "Job loss", "emo_point": str(points[-1]), "history": history}


# --- messages ---------------------------------------------------------------------------------------------
def test_message_parts_are_split_and_thoughts_never_reach_the_speech() -> None:
    m = parse_message("[Make him doubt his judgment.] (pausing strategically) 'Aye, my lord, yet appearances "
                      "often reveal truths.' (smiling)")
    assert m.thoughts == ("Make him doubt his judgment.",)
    assert m.actions == ("pausing strategically", "smiling")
    assert m.speech == "Aye, my lord, yet appearances often reveal truths."
    assert "doubt" not in m.speech and "[" not in m.speech and "(" not in m.speech


def test_speech_is_cleaned_of_markup_and_emoji_but_keeps_apostrophes() -> None:
    assert clean_speech("\u201cI can't *really* <do> it \U0001F622\u201d") == "I can't really do it"
    assert clean_speech("It\u2019s fine\u2026 really.") == "It's fine... really."
    assert clean_speech("You're not too sensitive\". 'Aye,' he said") == "You're not too sensitive. Aye, he said"


# --- loaders ----------------------------------------------------------------------------------------------
def test_moral_scene_loads_levels_traits_lines_and_narration(tmp_path: Path) -> None:
    scene = load_scenes(write(tmp_path, "moral.json", [moral_scene()]))[0]
    assert scene.kind == "moral" and scene.title == "Suspicion"
    iago = scene.character("Iago")
    assert (iago.level, iago.traits, iago.inferred) == (4, ("Manipulative", "Deceitful"), False)
    assert iago.profile.startswith("Iago is a sinister")
    narration, line, _ = scene.lines
    assert narration.is_narration and narration.speech == "Night falls over the castle."
    assert line.speech == "My lord, beware of jealousy." and line.actions == ("speaking softly",)
    assert scene.character("Environment").role == "narrator"


def test_coser_book_gives_one_scene_per_conversation_with_book_profiles(tmp_path: Path) -> None:
    conv = {"scenario": "A street.", "topic": "t", "key_characters": [{"name": "Iago", "motivation": "m"}],
            "dialogues": [{"character": "Iago", "message": "Awake!"}, {"character": "Brabantio", "message": "What?"}]}
    book = {"plots": [{"conversation": [conv, conv]}, {"conversation": [conv]}],
            "character_datasets": {"Iago": {"profile": PROFILES_TEXT["Iago"]}, "Brabantio": {"profile": "An old senator."}}}
    scenes = load_scenes(write(tmp_path, "Book.json", book))
    assert len(scenes) == 3 and "plots[1].conversation[0]" in scenes[2].source
    assert scenes[0].character("Iago").profile == PROFILES_TEXT["Iago"]
    assert any("Brabantio" in n for n in scenes[0].notes)  # a speaking non-key character is said, not refused
    classified = classify(scenes[0])
    assert classified.character("Iago").inferred and classified.character("Iago").level == 4
    assert any("inferred level 4" in n for n in classified.notes)


def test_sage_dialogue_loads_person_supporter_and_scores(tmp_path: Path) -> None:
    scene = load_scenes(write(tmp_path, "d.jsonl", json.dumps(sage_record()) + "\n"))[0]
    person = scene.character("Li Wei")
    assert scene.kind == "sage" and person.role == "person" and person.persona == "negative"
    assert [l.emotion_point for l in scene.lines] == [40.0, None, 30.0, None, 60.0]
    assert scene.task.startswith("You want the other person to listen")


@pytest.mark.parametrize("mutate, expected", [
    (lambda s: s.pop("dialogues"), "scene 0: field 'dialogues' is missing"),
    (lambda s: s["dialogues"][1].pop("character"), "scene 0, message 1: field 'character' is missing"),
    (lambda s: s["dialogues"][1].update(character="Cassio"),
     "scene 0, message 1: field 'character' names unknown character 'Cassio'; valid: Desdemona, Iago, Environment"),
    (lambda s: s["dialogues"][2].update(message="   "), "scene 0, message 2 (Desdemona): field 'message' is empty"),
    (lambda s: s["key_characters"][0].update(morality_classification={"level": 7, "key_traits": []}),
     "key_characters[0]: field 'morality_classification.level' is 7; valid: 1 (paragon)"),
    (lambda s: s.update(dialogues=[]), "field 'dialogues' is empty"),
])
def test_bad_scenes_are_one_line_naming_scene_message_and_field(tmp_path: Path, mutate, expected: str) -> None:
    scene = moral_scene()
    scene["key_characters"] = [dict(IAGO), dict(DESDEMONA)]
    mutate(scene)
    with pytest.raises(SceneError) as err:
        load_scenes(write(tmp_path, "bad.json", [scene]))
    message = str(err.value)
    assert expected in message and "\n" not in message and message.startswith("bad.json")


def test_bad_sage_turns_are_named(tmp_path: Path) -> None:
    record = sage_record()
    record["history"][2]["emotion-point"] = "lots"
    with pytest.raises(SceneError, match=r"d.jsonl dialogue 0, message 2: field 'emotion-point' is 'lots'"):
        load_scenes(write(tmp_path, "d.jsonl", json.dumps(record)))
    record = sage_record()
    record["history"][1]["role"] = "narrator"
    with pytest.raises(SceneError, match=r"message 1: field 'role' is 'narrator'; valid: 'user', 'assistant'"):
        load_scenes(write(tmp_path, "d.jsonl", json.dumps(record)))
    with pytest.raises(SceneError, match=r"line 2 is not valid JSON"):
        load_scenes(write(tmp_path, "d.jsonl", json.dumps(sage_record()) + "\n{oops\n"))


def test_files_over_10_mb_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:  # sparse: no 10 MB written to disk
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(SceneError, match=r"huge.json' is 10.0 MB; the limit is 10 MB"):
        load_scenes(path)
    with pytest.raises(SceneError, match="does not exist"):
        load_scenes(tmp_path / "missing.json")


def test_pick_scene_names_the_valid_range(tmp_path: Path) -> None:
    scenes = load_scenes(write(tmp_path, "two.json", [moral_scene(), moral_scene()]))
    assert pick_scene(scenes, 1, "two.json") is scenes[1]
    with pytest.raises(SceneError, match=r"--scene 5 does not exist; valid: 0 to 1"):
        pick_scene(scenes, 5, "two.json")


# --- casting ----------------------------------------------------------------------------------------------
def test_cast_is_deterministic_distinct_and_follows_stated_sex(tmp_path: Path) -> None:
    scene = load_scenes(write(tmp_path, "m.json", [moral_scene()]))[0]
    cast, again = cast_scene(scene), cast_scene(scene)
    assert {k: v.to_dict() for k, v in cast.items()} == {k: v.to_dict() for k, v in again.items()}
    pitches = sorted(v.offsets.pitch_st for v in cast.values())
    assert min(np.diff(pitches)) >= MIN_PITCH_GAP_ST - 1e-9
    assert cast["Iago"].sex == "male" and cast["Desdemona"].sex == "female"
    assert cast["Iago"].offsets.pitch_st < cast["Desdemona"].offsets.pitch_st - 3.0
    assert len({v.seed for v in cast.values()}) == len(cast)


def test_spread_pitches_keeps_the_gap_inside_bounds() -> None:
    out = spread_pitches({"a": 0.0, "b": 0.0, "c": 0.1, "d": 3.9}, gap=1.2, bounds=(-7.0, 4.0))
    values = sorted(out.values())
    assert min(np.diff(values)) >= 1.2 - 1e-9 and values[-1] <= 4.0 and values[0] >= -7.0


def test_cast_file_overrides_in_json_and_toml_and_rejects_mistakes(tmp_path: Path) -> None:
    scene = load_scenes(write(tmp_path, "m.json", [moral_scene()]))[0]
    overrides = load_cast_file(write(tmp_path, "cast.toml", "[Iago]\npitch_st = -6.5\nrate_ratio = 0.9\n"))
    cast = cast_scene(scene, overrides)
    assert cast["Iago"].offsets.pitch_st == -6.5 and cast["Iago"].offsets.rate_ratio == 0.9
    assert cast["Iago"].source == "cast file" and cast["Desdemona"].source == "profile"
    assert cast_scene(scene, load_cast_file(write(tmp_path, "c.json", {"Iago": {"seed": 7}})))["Iago"].seed == 7
    for data, expected in [({"Iago": {"pitch": 1}}, "unknown key(s) pitch; valid:"),
                           ({"Iago": {"pitch_st": 30}}, "pitch_st = 30 is out of range; valid: -7 to 4")]:
        with pytest.raises(SceneError, match=re.escape(expected)):
            load_cast_file(write(tmp_path, "c.json", data))
    with pytest.raises(SceneError, match=r"character\(s\) Cassio that are not in .*valid: Iago, Desdemona"):
        cast_scene(scene, {"Cassio": {"pitch_st": 0}})


# --- delivery ---------------------------------------------------------------------------------------------
def test_trait_and_level_mapping_follows_the_documented_rules(tmp_path: Path) -> None:
    scene = load_scenes(write(tmp_path, "m.json", [moral_scene()]))[0]
    assert character_profile(scene.character("Iago")) == "cold menace"
    assert character_profile(scene.character("Desdemona")) == "warm"
    from baton.dialogue.scenes import Character

    assert character_profile(Character("X", level=4, traits=("Cruel", "Violent"))) == "hot anger"
    assert character_profile(Character("X", level=4, traits=("Kind",))) == "cold menace"  # a villain is never warm
    assert character_profile(Character("X", level=3)) == "cool"
    iago_line = scene.lines[1]
    delivery = line_delivery(scene.character("Iago"), iago_line)
    assert delivery.instruction.startswith("softly") and "slowly" in delivery.instruction
    assert delivery.expect == (("energy_db", -1),)
    assert PROFILES["cold menace"].target.energy_db < 0 < PROFILES["hot anger"].target.energy_db


def test_sage_score_offsets_and_words_rise_with_the_score() -> None:
    offsets = [score_offsets(s) for s in (5, 30, 50, 70, 95)]
    assert all(a.pitch_st < b.pitch_st and a.energy_db < b.energy_db for a, b in zip(offsets, offsets[1:]))
    assert "sad" in score_words(20, "passive", -10) and "happy" in score_words(80, "passive", 10)
    assert "contempt" in score_words(5, "negative", -5) and "flat" in score_words(20, "avoidant", -5)


def test_villain_plans_softer_slower_and_lower_than_the_paragon(tmp_path: Path) -> None:
    from baton.conductors import get_conductor
    from baton.dialogue.render import plan_line, summarise
    from baton.pipeline import Pipeline

    pipe = Pipeline(get_conductor("embedded", use_embeddings=False))
    text = "My lord, I pray you, hear me now."
    dialogues = [{"character": "Iago", "message": text}, {"character": "Desdemona", "message": text}]
    scene = load_scenes(write(tmp_path, "m.json", [moral_scene(dialogues)]))[0]
    cast = cast_scene(scene)
    summary = {}
    for line in scene.lines:
        character = scene.character(line.speaker)
        plan, instruction, _ = plan_line(pipe, scene, character, line.speech, line_delivery(character, line),
                                         cast[line.speaker])
        plan.check_text(text)
        summary[line.speaker] = summarise(list(plan.segments), pipe.baseline)
    iago, desdemona = summary["Iago"], summary["Desdemona"]
    assert iago["energy_db"] < desdemona["energy_db"] - 2.0
    assert iago["rate_ratio"] < desdemona["rate_ratio"]
    assert iago["pitch_st"] < desdemona["pitch_st"] - 2.0


# --- offline SAGE scorer ----------------------------------------------------------------------------------
def test_bands_and_trajectory_follow_the_sage_rules() -> None:
    assert [band(s) for s in (100, 99, 70, 69, 40, 39, 10, 9.9)] == ["S", "A", "A", "B", "B", "C", "C", "F"]
    assert trajectory([15, -20, 5]) == [50.0, 40.0, 45.0]  # changes clamped to +-10
    assert trajectory([10] * 10) == [50.0, 60.0, 70.0, 80.0, 90.0, 100.0]  # stops at 100
    assert trajectory([-10, -10, -10, -10, 10]) == [30.0, 20.0, 10.0, 0.0]  # stops below 10


def test_scorer_reads_the_persons_mood_and_ships_its_fit_and_evaluation() -> None:
    scorer = load_scorer()
    assert scorer.info["held_out"] and scorer.info["fitted_on"]
    assert set(scorer.info["held_out"]).isdisjoint(scorer.info["fitted_on"])
    task = "You want the other person to listen attentively while you vent your emotions"
    warm = features("That sounds so hard.", "Thanks, you're right, I feel a lot better.", [], "passive", task)
    cold = features("That sounds so hard.", "This is too general, you don't understand, just tell me.", [],
                    "passive", task)
    assert scorer.predict(warm)[0] > scorer.predict(cold)[0]
    assert np.all(np.abs(scorer.predict(np.stack([warm, cold]))) <= 10)


def test_score_scene_reports_agreement_with_labels(tmp_path: Path) -> None:
    scene = load_scenes(write(tmp_path, "d.jsonl", json.dumps(sage_record((40, 30, 20)))))[0]
    result = score_scene(scene)
    assert result["n_replies"] == 2 and result["labelled_changes"] == [-10.0, -10.0]
    assert result["labelled_final"] == 20.0 and result["labelled_band"] == "C"
    assert 0.0 <= result["sign_accuracy"] <= 1.0 and result["mae"] >= 0


@needs_shared
def test_shared_scene_files_all_load() -> None:
    scenes = SHARED / "scenes"
    assert len(load_scenes(scenes / "coser" / "example_test_set.othello_only.json")) == 1
    book = load_scenes(scenes / "coser" / "Othello.json")
    assert len(book) == 14 and sum(len(s.lines) for s in book) == 137
    moral = load_scenes(scenes / "moral_roleplay" / "othello.moral.json")
    assert moral[1].character("Iago").level == 4 and moral[1].character("Desdemona").level == 1
    sage = load_scenes(scenes / "sage_en" / "dialogues.en.jsonl")
    assert len(sage) == 7 and all(s.kind == "sage" for s in sage)


def test_every_generated_instruction_is_fully_read_by_the_embedded_rules() -> None:
    """No leftover words: the embedded conductor never needs its sentence-embedding model for dialogue lines."""
    from baton.conductors.embedded_intent import parse_rules
    from baton.dialogue.delivery import DIRECTIONS
    from baton.dialogue.render import ASIDE

    instructions = [p.instruction for p in PROFILES.values()] + [w for _, w, _ in DIRECTIONS] + [ASIDE]
    instructions += [score_words(s, p, c) for s in (5, 20, 50, 80, 100) for p in ("negative", "passive", "avoidant")
                     for c in (5, 10)]
    leftovers = {i: parse_rules(i)[1] for i in instructions if parse_rules(i)[1]}
    assert not leftovers
