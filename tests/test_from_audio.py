"""`baton plan --from-audio` refuses recordings it cannot copy (issue 23 item 7): silence, noise and failed
alignments are one-line errors naming the file, not plans measured from nothing. Speech is made at test time
with espeak-ng (as tests/test_feature_align.py does); the tiny test voice only makes noise."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile

from baton.cli import main
from feature_extract.align import AlignmentError
from feature_extract.recording import NoSpeechError, check_speech, plan_from_recording

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (apt install espeak-ng); "
                                                          "it synthesises the speech these tests align")
SENTENCE = "Please call me back tomorrow, I will be at home all evening."


def espeak(path, text, *options):
    subprocess.run([ESPEAK, *options, "-w", str(path), text], check=True, capture_output=True, timeout=60)
    return path


def plan_error(path, transcript, capsys) -> str:
    code = main(["plan", "--from-audio", str(path), "--transcript", transcript, "--json"])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == "", captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert lines[0].startswith(f"baton: error: recording '{path}': "), lines[0]
    return lines[0]


@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_silence_and_noise_are_no_speech(kind, tmp_path, capsys):
    rng = np.random.default_rng(0)
    audio = np.zeros(44100, np.float32) if kind == "silence" else 0.05 * rng.standard_normal(44100)
    path = tmp_path / f"{kind}.wav"
    soundfile.write(str(path), audio.astype(np.float32), 22050)
    message = plan_error(path, "Hello there.", capsys)
    assert "no speech found" in message and ("digital silence" if kind == "silence" else "-26 dBFS") in message


@needs_espeak
def test_whisper_is_no_speech(tmp_path):
    path = espeak(tmp_path / "whisper.wav", SENTENCE, "-v", "en+whisper")
    with pytest.raises(NoSpeechError, match="whisper"):
        plan_from_recording(path, SENTENCE)


@needs_espeak
@pytest.mark.parametrize("transcript, needle", [
    ("Hello there.", "cover only"),                                         # a short part of what was said
    ("The weather will be fine in the mountains all week long.", "squeezed"),  # other words, similar length
    (SENTENCE + " " + SENTENCE + " " + SENTENCE, "did not reach the end"),  # far more words than were said
])
def test_failed_alignments_are_errors_naming_the_file(transcript, needle, tmp_path, capsys):
    path = espeak(tmp_path / "speech.wav", SENTENCE)
    message = plan_error(path, transcript, capsys)
    assert "alignment" in message and needle in message and "transcript" in message


@needs_espeak
@pytest.mark.parametrize("words_per_minute", [175, 350])
def test_matching_recordings_pass_at_normal_and_double_speed(words_per_minute, tmp_path, capsys):
    path = espeak(tmp_path / "speech.wav", SENTENCE, "-s", str(words_per_minute))
    assert main(["plan", "--from-audio", str(path), "--transcript", SENTENCE, "--json"]) == 0
    segments = json.loads(capsys.readouterr().out)["segments"]
    assert " ".join(s["word"] for s in segments) == SENTENCE


def test_check_speech_without_alignment_flags_only_missing_speech():
    with pytest.raises(NoSpeechError):
        check_speech(np.zeros(16000, np.float32), 16000, None)
    assert issubclass(NoSpeechError, AlignmentError)  # callers that handle alignment failures handle this too
