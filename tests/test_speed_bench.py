"""benchmarks/speed_vs_piper.py: its statistics and tables on fake timings, and the BatonVoice side on 2 texts
(the Piper side only where its venv .venv-bench exists; CI does not build it)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import speed_common as sc

ROOT = Path(__file__).resolve().parents[1]
BENCH_VENV = ROOT / ".venv-bench"


def _row(synth_s, audio_s, first_s, cpu_s, rss_mb, stages=None):
    return {"synth_s": synth_s, "audio_s": audio_s, "first_audio_s": first_s, "cpu_s": cpu_s,
            "peak_rss_mb": rss_mb, **({"stages": stages} if stages else {})}


FAKE = [_row(1.0, 2.0, 0.5, 0.8, 100.0), _row(3.0, 4.0, 0.2, 2.0, 150.0), _row(1.0, 10.0, 0.1, 1.0, 120.0)]


def test_summarize_fake_timings():
    s = sc.summarize(FAKE)
    assert s["n"] == 3
    assert s["rtf_median"] == pytest.approx(0.5)          # per-text RTFs 0.5, 0.75, 0.1
    assert s["rtf_total"] == pytest.approx(5.0 / 16.0)    # sums, not a mean of ratios
    assert s["cpu_rtf_total"] == pytest.approx(3.8 / 16.0)
    assert s["first_audio_s_median"] == pytest.approx(0.2)
    assert s["first_audio_s_max"] == pytest.approx(0.5)
    assert s["peak_rss_mb"] == 150.0
    empty = sc.summarize([])
    assert empty["n"] == 0 and math.isnan(empty["rtf_total"])


def test_ratio_and_tables():
    assert sc.ratio(0.5, 0.1) == pytest.approx(5.0)
    assert math.isnan(sc.ratio(1.0, 0.0)) and math.isnan(sc.ratio(math.nan, 1.0))
    baton = sc.summarize([_row(2.0, 4.0, 0.6, 2.0, 400.0)])
    piper = sc.summarize([_row(0.4, 4.0, 0.3, 0.4, 200.0)])
    text = sc.engines_table({"1": {"batonvoice": baton, "piper": piper}, "2": {"batonvoice": baton}})
    lines = text.splitlines()
    assert lines[0].startswith("| engine |") and len(lines) == 2 + 3 + 1  # header, rule, 3 rows, 2 threads' row
    ratio_row = next(line for line in lines if "BatonVoice / Piper" in line)
    assert "5.00x" in ratio_row and "2.00x" in ratio_row   # RTF 0.5 / 0.1, first audio 0.6 / 0.3, RSS
    assert sum("BatonVoice / Piper" in line for line in lines) == 1  # no ratio without Piper at 2 threads
    assert "| 0.500 |" in lines[2] and "| 1.00x | 5.00x |" in ratio_row  # same audio seconds, then RTF


def test_stage_profile_and_table():
    rows = [_row(2.0, 4.0, 0.5, 1.0, 1.0, {"vocoder": 1.5, "acoustic": 0.3}),
            _row(2.0, 4.0, 0.5, 1.0, 1.0, {"vocoder": 1.5, "post: pitch range": 0.2})]
    profile = sc.stage_profile(rows)
    assert list(profile) == ["vocoder", "acoustic", "post: pitch range"]
    assert profile["vocoder"]["s"] == pytest.approx(3.0)
    assert profile["vocoder"]["share"] == pytest.approx(0.75)
    assert profile["vocoder"]["rtf"] == pytest.approx(3.0 / 8.0)
    text = sc.stages_table({"neutral": sc.stage_profile(rows[:1]), "angry": profile})
    pitch_line = next(line for line in text.splitlines() if line.startswith("| post: pitch range"))
    assert "| - |" in pitch_line and "(5.0 %)" in pitch_line  # absent in neutral, 0.2 of 4 s in angry
    assert "| 0.3750 (75.0 %) |" in text
    cold = sc.cold_table({"baton speak": [3.0, 1.0, 2.0]})
    assert "| baton speak | 3 | 2.00 | 1.00 | 3.00 |" in cold
    phases = sc.phases_table({"plain": {"import": [0.2, 0.4, 0.3], "render": [1.0, 1.0, 1.0]},
                              "free-form": {"import": [0.3], "plan": [9.0], "render": [1.0]}})
    assert "| import | 0.30 | 0.30 |" in phases and "| plan | - | 9.00 |" in phases
    assert "| **total** | 1.30 | 10.30 |" in phases   # sum of the medians
    first = sc.first_audio_table({"1": [{"first_audio_s": 0.5, "first_audio_stages": {"vocoder": 0.4}},
                                        {"first_audio_s": 0.9, "first_audio_stages": {"vocoder": 0.6, "plan": 0.2}},
                                        {"first_audio_s": 0.7, "first_audio_stages": {"vocoder": 0.5}}]})
    assert "| vocoder | 0.500 |" in first and "| plan | 0.000 |" in first  # a stage that did not run counts 0
    assert "| **time to first audio** | 0.700 |" in first


def test_timed_stream_first_piece_and_total():
    def pieces():
        time.sleep(0.05)
        yield 1.5
        time.sleep(0.05)
        yield 0.5

    row = sc.timed_stream(pieces(), lambda seconds: seconds)
    assert row["audio_s"] == pytest.approx(2.0)
    assert 0.04 < row["first_audio_s"] < row["synth_s"]
    assert row["synth_s"] >= 0.09


def test_missing_piper_venv_is_a_clear_error(tmp_path, capsys):
    from benchmarks import speed_vs_piper

    with pytest.raises(SystemExit) as exit_info:
        speed_vs_piper.main(["--bench-venv", str(tmp_path / "nowhere"), "--texts", "1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "setup_piper_venv.sh" in err and "--engines batonvoice" in err


def test_texts_fall_back_to_built_in_sentences(tmp_path):
    from benchmarks import speed_vs_piper

    texts, source = speed_vs_piper.load_texts(tmp_path / "no-corpus", 20)
    assert len(texts) == 20 == len(set(texts)) and "built-in" in source
    assert all(len(t.split()) >= 8 for t in texts)  # sentences of LJSpeech's length, not "Hello."


def test_unknown_voice_is_a_one_line_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.speed_vs_piper", "--engines", "batonvoice",
                           "--voice", "no-such-voice", "--texts", "1", "--threads", "1", "--cold-runs", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the batonvoice worker failed") and "no-such-voice" in last and "ljspeech" in last
    assert "Traceback" not in done.stderr


def _run_bench(tmp_path: Path, *engines: str, emotional: int) -> dict:
    out = tmp_path / "speed.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.speed_vs_piper", "--texts", "2",
                           "--threads", "1", "--engines", *engines, "--emotional", str(emotional),
                           "--cold-runs", "0", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| engine |" in done.stdout and "load average" in done.stdout
    report = json.loads(out.read_text())
    load = report["load_average_1min"]
    assert load["n"] >= 2 and load["min"] <= load["mean"] <= load["max"]
    return report


def _check_rows(rows: list[dict]) -> None:
    assert len(rows) == 2
    for row in rows:
        assert row["audio_s"] > 0.5                       # a sentence of speech, not an empty render
        assert 0.0 < row["first_audio_s"] <= row["synth_s"]
        assert 0.0 < row["cpu_s"] and row["peak_rss_mb"] > 50.0


@pytest.mark.slow  # loads the shipped voice and renders 4 sentences: 12-27 s on the shared 2-core box
def test_batonvoice_side_on_two_texts(tmp_path):
    report = _run_bench(tmp_path, "batonvoice", emotional=1)
    run = report["runs"]["1"]
    rows = run["rows"]["batonvoice"]
    _check_rows(rows)
    for row in rows:
        stages = row["stages"]
        assert stages["vocoder (onnx)"] > 0.0 and stages["acoustic model (onnx)"] > 0.0
        assert sum(stages.values()) == pytest.approx(row["synth_s"], rel=0.02)  # "other" closes the sum
        before = row["first_audio_stages"]
        assert sum(before.values()) == pytest.approx(row["first_audio_s"], rel=0.02)
        assert 0.0 < before["vocoder (onnx)"] <= stages["vocoder (onnx)"]
    assert report["summary"]["1"]["batonvoice"]["n"] == 2
    angry, whisper = run["emotional_rows"]["angry"][0], run["emotional_rows"]["whisper"][0]
    assert angry["stages"]["post: pitch range"] > 10 * rows[0]["stages"]["post: pitch range"]
    assert whisper["stages"]["post: voice quality"] > 10 * rows[0]["stages"]["post: voice quality"]


@pytest.mark.skipif(not (BENCH_VENV / "bin" / "python").is_file(),
                    reason="no Piper venv (.venv-bench; bash benchmarks/setup_piper_venv.sh makes it)")
def test_piper_side_on_two_texts(tmp_path):
    report = _run_bench(tmp_path, "piper", emotional=0)
    _check_rows(report["runs"]["1"]["rows"]["piper"])
    assert "piper-tts 1.8.0" in report["runs"]["1"]["workers"]["piper"]["version"]
