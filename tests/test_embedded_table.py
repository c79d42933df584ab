"""The shipped prosody table: complete, cited, and (with ../shared) re-measurable."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from baton.prosody_table import TABLE_EMOTIONS, ProsodyTable, _monotone, default_table

SHARED = Path(__file__).resolve().parents[2] / "shared"
RAVDESS = SHARED / "corpora" / "ravdess"
needs_shared = pytest.mark.skipif(not RAVDESS.is_dir(), reason="needs ../shared/corpora/ravdess (RAVDESS clips)")


def test_table_is_complete_and_cited():
    table = default_table()
    assert set(table.emotions) == set(TABLE_EMOTIONS)
    assert "10.1371/journal.pone.0196391" in table.meta["citation"]
    assert "CC BY-NC-SA" in table.meta["citation"]
    for emotion in TABLE_EMOTIONS:
        rows = ("normal",) if emotion == "neutral" else ("normal", "strong")
        for row in rows:
            q25, q75 = table.quartiles(emotion, row, "pitch_st")
            assert q25 <= table.median(emotion, row, "pitch_st") <= q75


def test_neutral_row_is_a_noise_floor():
    table = default_table()
    assert abs(table.median("neutral", "normal", "pitch_st")) < 0.5
    assert abs(table.median("neutral", "normal", "energy_db")) < 1.0
    assert table.effect("neutral", 2.0).pitch_st == 0.0


@pytest.mark.parametrize("normal, strong", [(2.0, 5.0), (-1.0, -3.0), (2.0, -1.0), (-2.0, -1.0), (0.0, 4.0)])
def test_monotone_interpolation(normal, strong):
    levels = [0.0, 0.5, 1.0, 1.5, 2.0, 2.6, 3.0]
    values = [_monotone(normal, strong, k) for k in levels]
    sizes = [abs(v) for v in values]
    assert all(b >= a for a, b in zip(sizes, sizes[1:]))
    assert all(v * normal >= 0 for v in values) or normal == 0.0
    assert values[2] == pytest.approx(normal)


@pytest.mark.parametrize("emotion", ["happy", "angry", "fearful", "surprised", "sad"])
def test_held_quantities_stay_inside_the_strong_rows_spread_past_level_2(emotion):
    table = default_table()
    strong = table.median(emotion, "strong", "energy_db")
    q25, q75 = table.quartiles(emotion, "strong", "energy_db")
    held = table.effect(emotion, 2.6, follow_strong=True, hold_inside=("energy_db",)).energy_db
    assert q25 <= held <= q75
    free = table.effect(emotion, 2.6, follow_strong=True).energy_db
    assert abs(held - strong) <= abs(free - strong) + 1e-9  # never further out than the plain extrapolation
    # up to the strong row nothing changes
    for level in (0.5, 1.0, 2.0):
        assert table.effect(emotion, level, follow_strong=True, hold_inside=("energy_db",)) == \
            table.effect(emotion, level, follow_strong=True)


def test_extremely_fearful_was_planned_past_ravdess_and_now_is_not():
    table = default_table()
    _, q75 = table.quartiles("fearful", "strong", "energy_db")
    assert table.effect("fearful", 2.6, follow_strong=True).energy_db > q75
    assert table.effect("fearful", 2.6, follow_strong=True, hold_inside=("energy_db",)).energy_db < q75


def test_loading_a_malformed_table_fails_in_one_line(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"version": 1}')
    with pytest.raises(ValueError, match="no 'table' object"):
        ProsodyTable.load(path)


@needs_shared
def test_recipe_trims_silence_and_measures_relative_to_neutral():
    from recipes.measure_prosody_table import measure_clip, relative

    neutral = measure_clip(str(RAVDESS / "wavs" / "03-01-01-01-01-01-03.flac"))
    angry = measure_clip(str(RAVDESS / "wavs" / "03-01-05-02-01-01-03.flac"))
    assert neutral["start_s"] > 0.3 and neutral["duration"] < 3.0  # about 0.9 s of silence at each end
    diff = relative(angry, neutral)
    assert diff["energy_db"] > 3.0 and diff["pitch_st"] > 1.0
    same = relative(neutral, neutral)
    assert all(abs(v) < 1e-9 or math.isnan(v) for v in same.values() if v != 1.0)
