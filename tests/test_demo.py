"""The demo's table <-> plan conversion (the browser test in test_demo_browser.py covers the UI)."""

from __future__ import annotations

import pytest

from baton.plan import PlanError, load_plan
from demo.app import COLUMNS, HEADERS, plan_to_rows, rows_to_plan  # gradio itself is imported lazily


def test_rows_round_trip_and_blank_cells_mean_predict():
    plan = load_plan([{"word": "Wow, you really", "pitch_mean": 360, "energy_rms": 0.016, "emphasis": ["really"]},
                      {"word": "did a great job.", "pitch_slope": -80.0, "pause_after": 0.2}])
    rows = plan_to_rows(plan)
    assert len(rows[0]) == len(COLUMNS) == len(HEADERS)
    assert rows_to_plan(rows) == plan
    rows[0][COLUMNS.index("pitch_mean")] = ""  # the user cleared the cell
    rows[1][COLUMNS.index("duration")] = "0.9"  # typed as text
    edited = rows_to_plan(rows)
    assert edited.segments[0].pitch_mean is None and edited.segments[1].duration == 0.9


def test_bad_cells_are_plan_errors_naming_the_cell():
    rows = plan_to_rows(load_plan([{"word": "Hello there."}]))
    rows[0][COLUMNS.index("energy_rms")] = "loud"
    with pytest.raises(PlanError, match="segment 0, field 'energy_rms'"):
        rows_to_plan(rows)
    rows[0][COLUMNS.index("energy_rms")] = 5.0  # out of the plan's physical range
    with pytest.raises(PlanError, match="out of range"):
        rows_to_plan(rows)
    with pytest.raises(PlanError, match="empty"):
        rows_to_plan([])

