"""What a newcomer hit (issue 23, items 1-5, 9-11, 14, 15): lost words, lost work, misleading errors.

In-process through main([...]) with the tiny test voice, and as a subprocess where a real stdin/stdout
matters. Failures of the machine (a full disk, an interrupt) are injected: /dev/full, or a patched part.
"""

from __future__ import annotations

import errno
import io
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from baton import audio_out
from baton.cli import main
from baton.pipeline import Pipeline
from baton.plan import text_words

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _voices(test_voice_dir, monkeypatch):
    monkeypatch.setenv("BATON_VOICE_PATH", str(test_voice_dir.parent))


def run_baton(args, voice_dir: Path, stdout=subprocess.PIPE, stdin: bytes | None = None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "BATON_VOICE_PATH": str(voice_dir.parent)}
    return subprocess.run([sys.executable, "-m", "baton.cli", *args], input=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, env=env, cwd=REPO, timeout=120)


def one_line_error(code: int, err: str, needle: str) -> str:
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("baton: error: ") and needle in lines[0], lines[0]
    assert "internal error" not in lines[0] and "Traceback" not in err
    return lines[0]


def plan_words(capsys) -> list[str]:
    document = json.loads(capsys.readouterr().out)
    return text_words(" ".join(s["word"] for s in document["segments"]))


# --- 1, 2: text that was silently not spoken ---------------------------------------------------------
@pytest.mark.parametrize("text", ["Note: the meeting has been moved.", "Dear John: the meeting has been moved.",
                                  "Warning: do not touch the wires."])
def test_ordinary_text_before_a_colon_is_spoken(text, capsys):
    assert main(["plan", text, "--json"]) == 0
    assert plan_words(capsys)[0] == text.split(":")[0].split()[0].lower()


def test_a_file_is_always_text(tmp_path, capsys):
    book = tmp_path / "book.txt"
    book.write_text("angrily: The storm came.\n\nIt rained all night.", encoding="utf-8")
    assert main(["plan", "--file", str(book), "--json"]) == 0
    assert plan_words(capsys)[:2] == ["angrily", "the"]


def test_empty_instruction_and_plain_turn_the_prefix_off(capsys):
    for extra in (["-i", ""], ["--plain"], ["--no-markup"]):
        assert main(["plan", "angrily: I told you.", "--json", *extra]) == 0
        assert plan_words(capsys)[0] == "angrily"


def test_the_instruction_taken_from_the_text_is_reported(tmp_path, capsys):
    assert main(["speak", "angrily: I told you.", "-o", str(tmp_path / "a.wav"), "--show-plan"]) == 0
    out = capsys.readouterr().out
    assert "instruction (from the text before ':', not spoken): 'angrily'" in out and "--plain" in out
    assert main(["plan", "sadly: It is over."]) == 0
    assert "'sadly'" in capsys.readouterr().err


def test_a_sentence_instruction_is_not_spoken(capsys):
    assert main(["plan", "Deeply unhappy.: The meeting has been moved.", "--json"]) == 0
    assert plan_words(capsys) == ["the", "meeting", "has", "been", "moved"]


# --- 3: byte-order mark -------------------------------------------------------------------------------
def test_utf8_file_with_byte_order_mark(tmp_path, capsys):
    text_file = tmp_path / "windows.txt"
    text_file.write_bytes("Hello there.\r\nHow are you?".encode("utf-8-sig"))
    assert main(["plan", "--file", str(text_file), "--json"]) == 0
    assert plan_words(capsys)[0] == "hello"
    assert main(["speak", "--file", str(text_file), "-o", str(tmp_path / "w.wav"), "-q"]) == 0


# --- 4: the destination is checked before synthesis -------------------------------------------------
@pytest.fixture
def no_synthesis(monkeypatch):
    """Fail the test if a pipeline is built: the error must come before any planning or synthesis."""
    def refuse(*args, **kwargs):
        raise AssertionError("synthesis started before the output was checked")
    monkeypatch.setattr("baton.cli._pipeline", refuse)


def test_output_is_an_existing_folder(tmp_path, capsys, no_synthesis):
    folder = tmp_path / "out.wav"
    folder.mkdir()
    code = main(["speak", "Hello there.", "-o", str(folder)])
    one_line_error(code, capsys.readouterr().err, "is an existing folder; give a file name")


def test_output_folder_missing(tmp_path, capsys, no_synthesis):
    code = main(["speak", "Hello there.", "-o", str(tmp_path / "no" / "x.wav")])
    one_line_error(code, capsys.readouterr().err, "does not exist; create it first")


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write to: a read-only one, or (as root, who ignores permissions) sysfs."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        return folder
    (folder / "probe").unlink()
    if Path("/sys/kernel").is_dir():
        return Path("/sys/kernel")
    pytest.skip("no unwritable folder available (root without sysfs)")


def test_output_folder_read_only(tmp_path, capsys, no_synthesis):
    target = _unwritable_folder(tmp_path) / "x.wav"
    code = main(["speak", "Hello there.", "-o", str(target)])
    one_line_error(code, capsys.readouterr().err, f"cannot write '{target}'")
    assert not target.exists()


def test_not_enough_free_space_is_found_before_synthesis(tmp_path, capsys, monkeypatch):
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(audio_out.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    rendered = []
    monkeypatch.setattr(Pipeline, "stream", lambda *a, **k: rendered.append(1) or iter(()))
    code = main(["speak", "Hello there. How are you today?", "-o", str(tmp_path / "x.wav")])
    one_line_error(code, capsys.readouterr().err, "not enough space")
    assert rendered == [] and not (tmp_path / "x.wav").exists()


def test_a_full_disk_while_writing_is_a_one_line_error():
    with open("/dev/full", "wb", buffering=0) as sink, pytest.raises(audio_out.OutputError) as info:
        writer = audio_out.WavWriter(sink, 22050, "'/dev/full'")
        writer.write(np.zeros(100_000, dtype=np.float32))
    assert "No space left on device" in str(info.value) and "free some space" in str(info.value)


# --- 5: long input is written as it is rendered --------------------------------------------------------
LONG_TEXT = " ".join(f"This is sentence number {i}, spoken in one voice." for i in range(1, 13))


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_an_interrupt_keeps_a_valid_file_of_what_was_rendered(tmp_path, capsys, monkeypatch, suffix):
    out = tmp_path / f"book{suffix}"
    real_stream = Pipeline.stream
    seen = []

    def interrupted_stream(self, *args, **kwargs):
        for piece in real_stream(self, *args, **kwargs):
            yield piece
            seen.append(piece.audio.size)
            if suffix == ".wav":
                # The writer is still open, and the WAV on disk is already complete up to this piece.
                assert soundfile.info(str(out)).frames == sum(seen)
            if len(seen) == 4:
                raise KeyboardInterrupt
    monkeypatch.setattr(Pipeline, "stream", interrupted_stream)
    book = tmp_path / "book.txt"
    book.write_text(LONG_TEXT, encoding="utf-8")
    assert main(["speak", "--file", str(book), "-o", str(out)]) == 130
    audio, sample_rate = soundfile.read(str(out))
    assert sample_rate == 22050 and audio.size == sum(seen) > 0
    assert f"kept the first {audio.size / sample_rate:.1f} s of audio in {out}" in capsys.readouterr().err


def test_memory_stays_flat_for_long_input(tmp_path):
    """Traced memory at its peak is a small part of the audio: the audio is never held whole."""
    import tracemalloc

    book = tmp_path / "long.txt"
    book.write_text(" ".join([LONG_TEXT] * 6), encoding="utf-8")  # ~600 words
    out = tmp_path / "long.wav"
    tracemalloc.start()
    try:
        assert main(["speak", "--file", str(book), "-o", str(out), "-q"]) == 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    audio_bytes = soundfile.info(str(out)).frames * 4  # as float32, the way Speech.audio held it
    assert audio_bytes > 8_000_000 and peak < 0.35 * audio_bytes, (peak, audio_bytes)


# --- 9: user and system conditions, not internal errors ----------------------------------------------
@pytest.mark.parametrize("content, needle", [
    (b"", "empty file (0 bytes)"),
    (b"This is a text file, not audio.\n", "cannot decode"),
    (b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 22050, 44100, 2, 16)
     + b"data" + struct.pack("<I", 0), "holds no samples"),
])
def test_from_audio_on_something_that_is_not_a_recording(tmp_path, capsys, content, needle):
    recording = tmp_path / "take.wav"
    recording.write_bytes(content)
    code = main(["plan", "--from-audio", str(recording), "--transcript", "Hello there."])
    line = one_line_error(code, capsys.readouterr().err, needle)
    assert "give a WAV or FLAC recording" in line


def test_full_disk_on_stdout(test_voice_dir):
    with open("/dev/full", "wb") as full:
        result = run_baton(["speak", "Hello there.", "-o", "-", "-q"], test_voice_dir, stdout=full)
    one_line_error(result.returncode, result.stderr.decode(), "No space left on device")


# --- 10: an impossible word ---------------------------------------------------------------------------
def test_an_over_long_word_is_an_error_about_the_word(tmp_path, capsys):
    code = main(["speak", "a" * 500, "-o", str(tmp_path / "x.wav")])
    line = one_line_error(code, capsys.readouterr().err, "500 letters")
    assert "segment" not in line and "duration" not in line


# --- 11: --seed ---------------------------------------------------------------------------------------
def test_seed_is_gone_from_help_and_warns_when_given(tmp_path, capsys):
    """Synthesis is deterministic: two seeds give the same bytes, so the option is retired (with a note)."""
    for seed in ("1", "2"):
        assert main(["speak", "Good morning.", "-o", str(tmp_path / f"{seed}.wav"), "--seed", seed]) == 0
        assert "--seed has no effect" in capsys.readouterr().err
    assert (tmp_path / "1.wav").read_bytes() == (tmp_path / "2.wav").read_bytes()
    with pytest.raises(SystemExit):
        main(["speak", "--help"])
    assert "--seed" not in capsys.readouterr().out


# --- 14: the table is not a plan file -----------------------------------------------------------------
def test_a_table_given_as_plan_says_to_use_json(tmp_path, capsys):
    assert main(["plan", "sadly: It is over."]) == 0
    captured = capsys.readouterr()
    assert "add --json" in captured.err  # stdout is not a terminal here
    table = tmp_path / "plan.json"
    table.write_text(captured.out, encoding="utf-8")
    code = main(["speak", "--plan", str(table), "-o", str(tmp_path / "x.wav")])
    one_line_error(code, capsys.readouterr().err, "baton plan --json")


# --- 15: WAV on stdout --------------------------------------------------------------------------------
def test_wav_to_a_seekable_stdout_gets_its_real_sizes(tmp_path, test_voice_dir):
    target = tmp_path / "piped.wav"
    with open(target, "wb") as sink:
        result = run_baton(["speak", "-o", "-", "-q"], test_voice_dir, stdout=sink, stdin=b"Hello from a pipe.")
    assert result.returncode == 0, result.stderr.decode()
    data = target.read_bytes()
    riff_size, data_size = struct.unpack("<I", data[4:8])[0], struct.unpack("<I", data[40:44])[0]
    assert riff_size == len(data) - 8 and data_size == len(data) - 44 > 0
    assert soundfile.info(str(target)).frames == data_size // 2


def test_wav_to_a_pipe_keeps_the_stream_sizes(test_voice_dir):
    result = run_baton(["speak", "-o", "-", "-q"], test_voice_dir, stdin=b"Hello from a pipe.")
    assert result.returncode == 0 and struct.unpack("<I", result.stdout[40:44])[0] == 0xFFFFFFFF
    audio, _ = soundfile.read(io.BytesIO(result.stdout))
    assert audio.size == (len(result.stdout) - 44) // 2 > 0


def test_write_errors_name_the_cause():
    err = audio_out._write_error("'x.wav'", OSError(errno.EROFS, "Read-only file system"))
    assert str(err) == ("cannot write 'x.wav': Read-only file system; choose a writable folder with -o, "
                        "or fix its permissions")
