"""python -m feature_extract over a tiny corpus made at test time: completes, logs bad clips, resumes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from feature_extract.__main__ import main
from feature_extract.corpus import CorpusError, done_ids, read_metadata

ROOT = Path(__file__).resolve().parents[1]
ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (apt install espeak-ng); "
                                                          "it synthesises the corpus' speech")

GOOD = {"c1": "Printing, in the only sense with which we are concerned.",
        "c2": "It was 1845, and the night was cold.",
        "c3": "Hello there."}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed (apt install espeak-ng); it synthesises the corpus' speech")
    root = tmp_path_factory.mktemp("corpus")
    wavs = root / "wavs"
    wavs.mkdir()
    for clip_id, text in GOOD.items():
        subprocess.run([ESPEAK, "-w", str(wavs / f"{clip_id}.wav"), text], check=True, capture_output=True)
    (wavs / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 20)
    shutil.copy(wavs / "c3.wav", wavs / "empty_text.wav")
    lines = [f"{clip_id}|{text}|{text}" for clip_id, text in GOOD.items()]
    lines += ["corrupt|Some words here.", "missing_audio|No file for this one.", "empty_text|"]
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@needs_espeak
def test_cli_completes_logs_errors_and_resumes(corpus, tmp_path, capsys):
    output = tmp_path / "out" / "plans.jsonl"
    errors = tmp_path / "out" / "plans.errors.jsonl"
    assert main([str(corpus), "-o", str(output), "--workers", "2", "--no-progress"]) == 1  # some failed
    summary = capsys.readouterr().out
    assert "3 done, 0 skipped" in summary and "3 failed" in summary

    records = read_jsonl(output)
    assert sorted(r["id"] for r in records) == ["c1", "c2", "c3"]
    for record in records:
        assert record["text"] == GOOD[record["id"]]
        assert " ".join(s["word"] for s in record["segments"]) == record["text"]
        assert [w["word"] for w in record["words"]] == record["text"].split()
        assert all(w["phones"] and w["end_s"] > w["start_s"] for w in record["words"])
        assert all(s["duration"] > 0 for s in record["segments"])
    failed = {e["id"]: e for e in read_jsonl(errors)}
    assert set(failed) == {"corrupt", "missing_audio", "empty_text"}
    assert failed["corrupt"]["error"] == "AudioError" and "cannot decode" in failed["corrupt"]["message"]
    assert failed["missing_audio"]["error"] == "FileNotFoundError"
    assert "transcript is empty" in failed["empty_text"]["message"]

    # rerun: finished ids are skipped, only the failures are retried
    assert main([str(corpus), "-o", str(output), "--no-progress"]) == 1
    summary = capsys.readouterr().out
    assert "0 done, 3 skipped" in summary and "3 failed" in summary
    assert len(read_jsonl(output)) == 3


@needs_espeak
def test_cli_recovers_from_a_line_cut_by_an_interrupt(corpus, tmp_path, capsys):
    output = tmp_path / "plans.jsonl"
    assert main([str(corpus), "-o", str(output), "--limit", "2", "--no-progress"]) == 0
    lines = output.read_text(encoding="utf-8").splitlines(keepends=True)
    output.write_text(lines[0] + lines[1][: len(lines[1]) // 2], encoding="utf-8")  # killed mid-write
    assert done_ids(output) == {json.loads(lines[0])["id"]}
    assert main([str(corpus), "-o", str(output), "--limit", "2", "--no-progress"]) == 0
    assert "1 done, 1 skipped" in capsys.readouterr().out
    assert sorted(r["id"] for r in read_jsonl(output)) == ["c1", "c2"]


@needs_espeak
def test_cli_normalized_column_and_per_word(corpus, tmp_path):
    output = tmp_path / "plans.jsonl"
    assert main([str(corpus), "-o", str(output), "--limit", "1", "--per-word", "--text-column", "normalized",
                 "--no-progress"]) == 0
    (record,) = read_jsonl(output)
    assert [s["word"] for s in record["segments"]] == GOOD["c1"].split()


def test_cli_help_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "feature_extract", "--help"], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0
    assert "resumable" in result.stdout and "--workers" in result.stdout


def test_cli_missing_corpus_is_one_clear_error(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.jsonl")]) == 2
    assert "no metadata.csv" in capsys.readouterr().err


def test_cli_rejects_zero_workers(tmp_path):
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--workers", "0"])


def test_read_metadata_errors(tmp_path):
    (tmp_path / "wavs").mkdir()
    (tmp_path / "metadata.csv").write_text("a|one\na|two\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="duplicate id"):
        read_metadata(tmp_path)
    with pytest.raises(CorpusError, match="text column"):
        read_metadata(tmp_path, text_column="raw")


def test_done_ids_rejects_a_foreign_file(tmp_path):
    other = tmp_path / "notes.jsonl"
    other.write_text("this is not json\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="not an output record"):
        done_ids(other)
