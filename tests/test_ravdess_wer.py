"""benchmarks/ravdess_wer.py: clip selection and the pooled WER table (no corpus needed)."""

from __future__ import annotations

import math

from benchmarks.ravdess_wer import markdown, select, summarize


def _row(emotion, intensity, actor=1, repetition=1, errors=0, words=5):
    return {"emotion": emotion, "intensity": intensity, "actor": str(actor), "repetition": str(repetition),
            "word_errors": errors, "ref_words": words}


def test_select_keeps_the_six_emotions_of_the_asked_actors_and_takes():
    rows = [_row("neutral", "normal"), _row("calm", "normal"), _row("disgust", "strong"),
            _row("angry", "strong", actor=2), _row("angry", "strong", repetition=2)]
    assert [r["emotion"] for r in select(rows, None, {1})] == ["neutral", "angry"]
    assert select(rows, {1}, {1, 2}) == [rows[0], rows[4]]


def test_summary_pools_errors_over_words_and_divides_by_neutral():
    records = [_row("neutral", "normal", errors=1, words=5), _row("neutral", "normal", errors=0, words=5),
               _row("angry", "strong", errors=3, words=5), _row("angry", "strong", errors=0, words=5)]
    by_cell = {(s["emotion"], s["intensity"]): s for s in summarize(records)}
    assert by_cell[("neutral", "normal")]["wer"] == 0.1
    assert by_cell[("angry", "strong")]["wer"] == 0.3 and by_cell[("angry", "strong")]["clips"] == 2
    assert math.isclose(by_cell[("angry", "strong")]["ratio_to_neutral"], 3.0)
    assert "| angry | strong | 2 | 30.0 % | 3.00 |" in markdown(summarize(records))


def test_a_perfect_neutral_gives_no_ratio_instead_of_infinity():
    summary = summarize([_row("neutral", "normal"), _row("sad", "normal", errors=1)])
    assert math.isnan(summary[1]["ratio_to_neutral"]) and "n/a" in markdown(summary)
