"""baton dialogue end to end with the shipped voice: tiny scenes written into tmp_path (few, short lines),
rendered, measured with feature_extract, and heard with Whisper tiny.en (baton.asr)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import soundfile

from baton.dialogue import run
from baton.pipeline import Pipeline

IAGO = {"name": "Iago", "thought": "Ruin Othello.",
        "morality_classification": {"level": 4, "key_traits": ["Manipulative", "Deceitful"]}}
DESDEMONA = {"name": "Desdemona", "thought": "Help Cassio.",
             "morality_classification": {"level": 1, "key_traits": ["Kind", "Honest"]}}
PROFILES = {"Iago": "Iago is a sinister ensign. He hides his deceit; his malice is his own.",
            "Desdemona": "Desdemona is kind and brave. She loves her husband and she is loyal to him."}
THOUGHT = "The treasure is buried under the old oak tree."


def scene_file(tmp_path: Path, dialogues: list[dict], name: str = "scene.json") -> Path:
    scene = {"scenario": "A hall.", "topic": "Test", "key_characters": [IAGO, DESDEMONA], "dialogues": dialogues,
             "character_profiles": PROFILES}
    path = tmp_path / name
    path.write_text(json.dumps([scene]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return Pipeline.load()


def test_villain_and_paragon_get_different_voices_plans_and_measured_prosody(pipe: Pipeline, tmp_path: Path) -> None:
    path = scene_file(tmp_path, [
        {"character": "Environment", "message": "(Night falls.)"},
        {"character": "Iago", "message": "[Needle him.] (speaking softly) My lord, think on it."},
        {"character": "Desdemona", "message": "Good morning, my lord."},
        {"character": "Iago", "message": "Aye, my lord, think on it."},
        {"character": "Desdemona", "message": "My lord, think on it."}])
    scene, cast = run.prepare(path)
    result, doc = run.voice(pipe, scene, cast, tmp_path / "out", score=True)
    out = tmp_path / "out"
    mixed, rate = soundfile.read(out / "mixed.wav")
    assert rate == pipe.sample_rate and len(doc["lines"]) == 5
    for entry in doc["lines"]:
        assert (out / entry["file"]).is_file() and entry["measured"], entry
    markdown = (out / "transcript.md").read_text()
    assert len(re.findall(r"(?m)^\| \d+ \| Iago \| [A-Z]", markdown)) == 2 and "## Voicing fidelity" in markdown
    # the mix holds every line plus turn gaps, nothing else
    lines_s = sum(e["duration_s"] for e in doc["lines"])
    assert lines_s + 4 * 0.2 < len(mixed) / rate < lines_s + 4 * 1.0 + 0.3
    starts = [e["start_s"] for e in doc["lines"]]
    assert all(b > a for a, b in zip(starts, starts[1:]))
    assert cast["Iago"].offsets.pitch_st < cast["Desdemona"].offsets.pitch_st
    fidelity = doc["scores"]["fidelity"]
    iago, desdemona = fidelity["characters"]["Iago"], fidelity["characters"]["Desdemona"]
    assert (iago["level"], desdemona["level"]) == (4, 1)
    for key in ("planned", "measured"):  # the villain is softer, lower and slower than the paragon, heard too
        assert iago[key]["energy_db"] < desdemona[key]["energy_db"] - 2.0, key
        assert iago[key]["pitch_st"] < desdemona[key]["pitch_st"] - 2.0, key
        assert iago[key]["rate_ratio"] < desdemona[key]["rate_ratio"], key
    assert fidelity["summary"]["rendered_agreement"] >= 0.75
    assert set(fidelity["levels"]) == {"1", "4"}
    landed = [d for d in fidelity["directions"] if d["speaker"] == "Iago"]
    assert landed and landed[0]["feature"] == "energy_db" and landed[0]["landed"]


def test_no_inner_thought_is_audible_in_the_mixed_file(pipe: Pipeline, tmp_path: Path) -> None:
    from baton import asr

    quiet = scene_file(tmp_path, [{"character": "Iago", "message": f"[{THOUGHT}] Good morning, my friend."}], "a.json")
    scene, cast = run.prepare(quiet)
    result, _ = run.voice(pipe, scene, cast, tmp_path / "quiet", measure=False)
    heard = asr.transcribe(result.mixed, result.sample_rate).lower()
    assert "morning" in heard or "friend" in heard, heard  # the spoken words are heard
    assert not any(w in heard for w in ("treasure", "buried", "oak")), heard
    # the check can fail: the same words, spoken, are heard
    loud = scene_file(tmp_path, [{"character": "Iago", "message": THOUGHT}], "b.json")
    scene, cast = run.prepare(loud)
    spoken, _ = run.voice(pipe, scene, cast, tmp_path / "loud", measure=False)
    heard = asr.transcribe(spoken.mixed, spoken.sample_rate).lower()
    assert sum(w in heard for w in ("treasure", "buried", "oak", "tree")) >= 2, heard


def test_whispered_thoughts_come_as_a_quiet_aside_and_narration_can_be_skipped(pipe: Pipeline, tmp_path: Path) -> None:
    path = scene_file(tmp_path, [{"character": "Environment", "message": "Night."},
                                 {"character": "Iago", "message": "[Fools, all of them.] Good night."}])
    scene, cast = run.prepare(path)
    result, doc = run.voice(pipe, scene, cast, tmp_path / "w", whisper_thoughts=True, narration=False)
    kinds = [e["kind"] for e in doc["lines"]]
    assert kinds == ["aside", "speech"] and doc["skipped"][0].startswith("message 0 (narration")
    aside, speech = doc["lines"]
    assert aside["text"] == "Fools, all of them." and "whisper" in aside["instruction"]
    assert {seg.get("voice_quality") for seg in aside["plan"]["segments"]} == {"whisper"}
    assert all(seg.get("voice_quality") != "whisper" for seg in speech["plan"]["segments"])
    assert aside["measured"]["energy_db"] < speech["measured"]["energy_db"] - 6.0


def test_sage_person_voice_rises_with_the_emotion_score(pipe: Pipeline, tmp_path: Path) -> None:
    history = []
    for point in (10, 50, 90):
        history.append({"role": "user", "content": "I talked to my sister today.", "emotion-point": str(point)})
        history.append({"role": "assistant", "content": "How did that feel?"})
    record = {"player": "* Name: Lin\n* Age: 30\n* Gender: female\n", "scene": "s", "character": "passive",
              "task": "You want the other person to listen attentively while you vent your emotions",
              "history": history[:-1]}
    path = tmp_path / "sage.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    scene, cast = run.prepare(path)
    result, doc = run.voice(pipe, scene, cast, tmp_path / "sage", score=True)
    person = [e for e in doc["lines"] if e["speaker"] == "Lin"]
    assert [e["emotion_point"] for e in person] == [10.0, 50.0, 90.0]
    for key in ("pitch_st", "energy_db"):
        measured = [e["measured"][key] for e in person]
        assert measured[0] < measured[1] < measured[2], (key, measured)
    tracking = doc["scores"]["emotion_tracking"]
    assert tracking["pitch_st_r"] > 0.9 and tracking["energy_db_r"] > 0.9
    sage = doc["scores"]["sage"]  # label jumps of 40 are clamped to +10 each by the SAGE rules: 40 -> 50 -> 60
    assert sage["labelled_changes"] == [40.0, 40.0] and sage["labelled_final"] == 60.0
    supporter = [e for e in doc["lines"] if e["speaker"] == "Supporter"]
    assert all(e["profile"] == "tender" for e in supporter)


def test_cli_writes_the_outputs_and_reports_bad_scenes_in_one_line(tmp_path: Path, capsys) -> None:
    from baton.cli import main

    path = scene_file(tmp_path, [{"character": "Iago", "message": "Good night."},
                                 {"character": "Desdemona", "message": "Good night."}])
    assert main(["dialogue", str(path), "-o", str(tmp_path / "cli"), "--max-lines", "1", "--no-measure", "-q"]) == 0
    doc = json.loads((tmp_path / "cli" / "transcript.json").read_text())
    assert [e["speaker"] for e in doc["lines"]] == ["Iago"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"scenario": "x", "key_characters": [], "dialogues": [{"character": "Nobody",
                                                                                     "message": "Hi."}]}]))
    assert main(["dialogue", str(bad), "-o", str(tmp_path / "bad")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "message 0: field 'character' names unknown character 'Nobody'" in err[0]
    assert main(["dialogue", str(path), "-o", str(tmp_path / "x"), "--score", "--no-measure"]) == 2


def test_a_wrong_output_folder_is_one_line_before_any_work(tmp_path: Path, capsys) -> None:
    from baton.cli import main

    path = scene_file(tmp_path, [{"character": "Iago", "message": "Good night."}])
    a_file = tmp_path / "taken"
    a_file.write_text("")
    assert main(["dialogue", str(path), "-o", str(a_file), "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a file, not a folder" in err[0] and "Errno" not in err[0]


def test_an_interrupt_keeps_the_lines_rendered_so_far(pipe: Pipeline, tmp_path: Path) -> None:
    path = scene_file(tmp_path, [{"character": "Iago", "message": "Good night."},
                                 {"character": "Desdemona", "message": "Good night, my lord."}])
    scene, cast = run.prepare(path)

    class InterruptedSecondLine:  # failure injection: Ctrl-C while the second line renders
        def __init__(self) -> None:
            self.calls = 0

        def __getattr__(self, name):
            return getattr(pipe, name)

        def speak(self, *args, **kwargs):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt
            return pipe.speak(*args, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        run.voice(InterruptedSecondLine(), scene, cast, tmp_path / "out", measure=False)
    kept = sorted(p.name for p in (tmp_path / "out" / "lines").iterdir())
    assert kept == ["000_iago.wav"]
    audio, _ = soundfile.read(tmp_path / "out" / "lines" / kept[0])
    assert audio.size > 0
