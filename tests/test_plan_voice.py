"""A plan's "voice" is the voice that renders it (issue 23 item 8): Pipeline and `baton speak --plan` use the
installed voice the plan names, and refuse one that is not installed with the installed ones and the fix,
instead of rendering the default voice under the plan's voice name."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile

from baton.cli import main
from baton.conductors import get_conductor
from baton.pipeline import Pipeline, load_synthesizer
from baton.plan import PlanError, load_plan

TEXT = "Hello there, how are you?"


@pytest.fixture(scope="module")
def other_voice_dir(tmp_path_factory):
    """A second random-weight voice, 'test-voice-b' (other weights, so other audio), in its own folder."""
    from tts_model.train.testing import make_test_voice

    return make_test_voice(tmp_path_factory.mktemp("voices-b") / "test-voice-b", voice_id="test-voice-b", seed=1)


@pytest.fixture(autouse=True)
def _two_voices(test_voice_dir, other_voice_dir, monkeypatch):
    monkeypatch.setenv("BATON_VOICE_PATH", os.pathsep.join([str(test_voice_dir.parent), str(other_voice_dir.parent)]))


@pytest.fixture(scope="module")
def pipe(test_voice_dir):
    return Pipeline(get_conductor("embedded"), load_synthesizer(str(test_voice_dir)))


def test_pipeline_renders_a_plan_with_the_voice_it_names(pipe, other_voice_dir):
    plan = pipe.plan(TEXT)
    assert plan.voice == "test-voice"
    for_b = plan.with_voice("test-voice-b")
    speech = pipe.speak(plan=for_b, seed=3)
    reference = Pipeline(pipe.conductor, load_synthesizer(str(other_voice_dir))).speak(plan=for_b, seed=3)
    assert np.array_equal(speech.audio, reference.audio)
    own = pipe.speak(plan=plan, seed=3)
    assert own.audio.shape != speech.audio.shape or not np.allclose(own.audio, speech.audio)
    assert pipe.voice_id == "test-voice"  # the pipeline's own voice is unchanged


def test_pipeline_refuses_a_voice_that_is_not_installed(pipe):
    plan = pipe.plan(TEXT).with_voice("nobody")
    with pytest.raises(PlanError) as err:
        pipe.speak(plan=plan, seed=0)
    message = str(err.value)
    assert err.value.field_name == "voice" and "'nobody'" in message and "not installed" in message
    assert "test-voice, test-voice-b" in message and "--voice" in message and "\n" not in message


def _plan_file(tmp_path, voice):
    path = tmp_path / f"plan-{voice}.json"
    path.write_text(json.dumps({"version": 1, "voice": voice, "segments": [{"word": "Hello there,"},
                                                                           {"word": "how are you?"}]}))
    return path


def test_cli_speaks_a_plan_with_its_voice_or_the_one_given(tmp_path, capsys):
    plan_file = _plan_file(tmp_path, "test-voice-b")  # test-voice is the default (first on the search path)

    def speak(name, *extra):
        assert main(["speak", "--plan", str(plan_file), "-o", str(tmp_path / name), "--seed", "5", "--show-plan",
                     "-q", *extra]) == 0
        return capsys.readouterr().out, (tmp_path / name).read_bytes()

    header, own = speak("own.wav")
    assert "plan for voice 'test-voice-b'" in header
    assert own == speak("b.wav", "--voice", "test-voice-b")[1]  # the plan's voice, as if chosen with --voice
    header, other = speak("a.wav", "--voice", "test-voice")
    assert "plan for voice 'test-voice'" in header and other != own  # --voice chooses, and the header says so


def test_cli_refuses_a_plan_for_a_voice_that_is_not_installed(tmp_path, capsys):
    code = main(["speak", "--plan", str(_plan_file(tmp_path, "nobody")), "-o", str(tmp_path / "x.wav")])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "'nobody' names a voice that is not installed" in err and "test-voice-b" in err and "--voice" in err
    assert not (tmp_path / "x.wav").exists()
