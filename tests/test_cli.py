"""`baton` CLI: in-process through main([...]) and, where a real stdin/stdout matters, as a subprocess."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from baton import __version__, cli
from baton.cli import main
from plan_contract import UserError

REPO = Path(__file__).resolve().parents[1]



@pytest.fixture(scope="module")
def voice_path(test_voice_dir) -> Path:
    return test_voice_dir.parent


@pytest.fixture(autouse=True)
def _voices(voice_path, monkeypatch):
    monkeypatch.setenv("BATON_VOICE_PATH", str(voice_path))


def run_baton(args: list[str], stdin: bytes | None = None, voice_path: Path | None = None):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if voice_path is not None:
        env["BATON_VOICE_PATH"] = str(voice_path)
    return subprocess.run([sys.executable, "-m", "baton.cli", *args], input=stdin, capture_output=True,
                          env=env, cwd=REPO, timeout=120)


def assert_one_line_error(code: int, err: str, needle: str) -> None:
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("baton: error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"baton {__version__}"


def test_help_explains_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["speak", "--help"])
    out = capsys.readouterr().out
    for flag in ("--plan", "--show-plan", "--voice", "--conductor", "--file", "--instruction", "-o", "--plain"):
        assert flag in out
    assert "--seed" not in out  # it never changed the audio (issue 23, item 11)


def test_speak_wav_and_flac(tmp_path, capsys):
    for name, fmt in (("out.wav", "WAV"), ("out.flac", "FLAC")):
        out = tmp_path / name
        assert main(["speak", "angrily: I told you not to touch that!", "-o", str(out), "--voice", "test-voice"]) == 0
        info = soundfile.info(str(out))
        assert info.format == fmt and info.samplerate == 22050 and info.frames > 2205
    assert "wrote" in capsys.readouterr().err


def test_same_text_same_audio(tmp_path):
    """The voice is deterministic: no seed needed for repeatable audio."""
    for name in ("a.wav", "b.wav"):
        assert main(["speak", "Good morning to you.", "-o", str(tmp_path / name), "-q"]) == 0
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_show_plan_and_hand_edited_plan(tmp_path, capsys):
    assert main(["plan", "sadly: It is over now.", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    document["segments"][0]["pitch_mean"] = 171.0
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(document))
    assert main(["speak", "--plan", str(plan_file), "-o", str(tmp_path / "edited.wav"), "--show-plan"]) == 0
    out = capsys.readouterr().out
    assert "171" in out and "F0 Hz" in out
    assert soundfile.info(str(tmp_path / "edited.wav")).frames > 0


def test_plan_table(capsys):
    assert main(["plan", "Wow, you really did a great job.", "-i", "happily"]) == 0
    out = capsys.readouterr().out
    assert "words" in out and "F0 Hz" in out and "great" in out


def test_text_from_file(tmp_path):
    text_file = tmp_path / "in.txt"
    text_file.write_text("First sentence here. Second sentence there.\n\nA new paragraph.", encoding="utf-8")
    assert main(["speak", "--file", str(text_file), "-o", str(tmp_path / "f.wav"), "-q"]) == 0
    assert soundfile.info(str(tmp_path / "f.wav")).frames > 0


def test_stdin_to_stdout_streams_wav(voice_path):
    result = run_baton(["speak", "-o", "-", "-q"], stdin=b"Hello from standard input.",
                       voice_path=voice_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout[:4] == b"RIFF" and result.stdout[8:12] == b"WAVE"
    audio, sample_rate = soundfile.read(io.BytesIO(result.stdout))
    assert sample_rate == 22050 and audio.size == (len(result.stdout) - 44) // 2 > 2205


def test_subprocess_error_is_one_line_without_traceback(voice_path):
    result = run_baton(["speak", "Hello.", "-o", "x.wav", "--voice", "no-such-voice"], voice_path=voice_path)
    assert_one_line_error(result.returncode, result.stderr.decode(), "voice 'no-such-voice' not found")


@pytest.mark.parametrize("args, needle", [
    (["speak", "Hi there.", "-o", "out.mp3"], "use a .wav or .flac"),
    (["speak", "--plan", "missing.json", "-o", "x.wav"], "plan file 'missing.json' does not exist"),
    (["speak", "Hi there.", "-o", "no/such/dir/x.wav"], "does not exist; create it first"),
    (["speak", "Hi.", "--llm-base-url", "http://localhost:1"], "--conductor openai"),
    (["speak", "--file", "missing.txt"], "text file 'missing.txt' does not exist"),
    (["plan", "<prosody rate='warp'>Hi there</prosody>"], "rate 'warp' is not valid"),
    (["plan", "--from-audio", "nothing.wav"], "needs --transcript"),
    (["eval", "missing.jsonl", "-o", "out"], "suite 'missing.jsonl' does not exist"),
    (["speak", "--bogus"], "unrecognized arguments"),
])
def test_user_errors_are_one_line(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(args) if args[-1] != "--bogus" else _exit_code(args)
    assert_one_line_error(code, capsys.readouterr().err, needle)


def _exit_code(args):
    with pytest.raises(SystemExit) as info:
        main(args)
    return info.value.code


class _NewUserError(UserError, RuntimeError):
    """A user error that no front end names: it is one by its base class alone."""


def _failing_voices(error: BaseException):
    def cmd_voices(args):
        raise error
    return cmd_voices


@pytest.mark.parametrize("error", [_NewUserError("the thing is wrong; give another thing"),
                                   FileNotFoundError("voice file 'x' does not exist; give another thing")])
def test_a_user_error_is_one_line_by_its_class(error, monkeypatch, capsys):
    monkeypatch.delenv("BATON_DEBUG", raising=False)
    monkeypatch.setattr(cli, "cmd_voices", _failing_voices(error))
    code = main(["voices"])
    err = capsys.readouterr().err
    assert_one_line_error(code, err, "give another thing")
    assert code == 1 and "internal error" not in err


def test_a_bug_is_reported_as_one_and_shows_its_traceback_with_baton_debug(monkeypatch, capsys):
    monkeypatch.delenv("BATON_DEBUG", raising=False)
    monkeypatch.setattr(cli, "cmd_voices", _failing_voices(KeyError("pitch_mean")))
    code = main(["voices"])
    err = capsys.readouterr().err
    assert_one_line_error(code, err, "internal error (KeyError: 'pitch_mean'); please report it")
    monkeypatch.setenv("BATON_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["voices"])
    # A plain ValueError is a bug too: only UserError (and the built-in path errors) are user errors
    monkeypatch.delenv("BATON_DEBUG")
    monkeypatch.setattr(cli, "cmd_voices", _failing_voices(ValueError("math domain error")))
    assert_one_line_error(main(["voices"]), capsys.readouterr().err, "internal error (ValueError")


def test_absurd_plan_value_is_one_line(tmp_path, capsys):
    plan_file = tmp_path / "p.json"
    plan_file.write_text(json.dumps([{"word": "Hello there.", "pitch_mean": 790}]))
    code = main(["speak", "--plan", str(plan_file), "-o", str(tmp_path / "x.wav")])
    assert_one_line_error(code, capsys.readouterr().err, "segment 0, field 'pitch_mean'")


def test_plan_that_does_not_match_text(tmp_path, capsys):
    plan_file = tmp_path / "p.json"
    plan_file.write_text(json.dumps([{"word": "Hello there."}]))
    code = main(["speak", "Goodbye there.", "--plan", str(plan_file), "-o", str(tmp_path / "x.wav")])
    assert_one_line_error(code, capsys.readouterr().err, "where the text has 'goodbye'")


def test_voices_lists_the_test_voice(capsys, voice_path):
    assert main(["voices"]) == 0
    out = capsys.readouterr().out
    assert "test-voice" in out and str(voice_path) in out and "205 Hz" in out
    from baton.pipeline import load_synthesizer

    marked = [line for line in out.splitlines() if " (default)  " in line]
    assert len(marked) == 1 and marked[0].startswith(load_synthesizer(None).voice_id + " (default)")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)")
def test_plan_from_audio_copies_a_recording(tmp_path, capsys):
    """A real speech recording (espeak-ng; the tiny test voice only makes noise, which cannot be aligned)."""
    wav = tmp_path / "rec.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "Please call me back tomorrow."], check=True, timeout=60)
    assert main(["plan", "--from-audio", str(wav), "--transcript", "Please call me back tomorrow.",
                 "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    words = " ".join(s["word"] for s in document["segments"]).lower()
    assert words.replace(".", "").split() == ["please", "call", "me", "back", "tomorrow"]
    assert all(s.get("duration", 0) > 0 for s in document["segments"])
    assert any(80 < s.get("pitch_mean", 0) < 300 for s in document["segments"])  # espeak's voice is ~100-200 Hz



def test_skip_stage_renders_without_it_and_names_the_stages_when_unknown(tmp_path, capsys):
    plan_file = tmp_path / "p.json"
    plan_file.write_text(json.dumps([{"word": "Hello there.", "energy_rms": 0.2}]))
    args = ["speak", "--plan", str(plan_file), "--voice", "test-voice", "-q"]
    assert main([*args, "-o", str(tmp_path / "all.wav")]) == 0
    assert main([*args, "-o", str(tmp_path / "ungained.wav"), "--skip-stage", "segment_gain"]) == 0
    full, ungained = (soundfile.read(tmp_path / f"{n}.wav")[0] for n in ("all", "ungained"))
    rms = [float(np.sqrt(np.mean(np.square(a)))) for a in (full, ungained)]
    assert full.shape == ungained.shape and abs(20 * np.log10(rms[0] / rms[1])) > 1.0, rms  # the gain is gone
    capsys.readouterr()
    code = main([*args, "-o", str(tmp_path / "x.wav"), "--skip-stage", "harmonic"])
    assert_one_line_error(code, capsys.readouterr().err, "cannot skip unknown stage(s) ['harmonic']; stages: "
                                                         "pitch_calibration, exemplars")
