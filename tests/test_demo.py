"""The demo's table <-> plan conversion (the browser test in test_demo_browser.py covers the UI)."""

from __future__ import annotations

import math

import pytest

from baton.plan import PlanError, load_plan
from demo.app import COLUMNS, HEADERS, plan_to_rows, rows_to_plan  # gradio itself is imported lazily
from plan_contract import UserError


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



def test_energy_is_plotted_relative_to_the_plan_with_a_minimum_span():
    """Issue 23 item 16: a 0.17 dB difference filled the whole energy axis and read as a miss."""
    from demo.plots import ENERGY_MIN_HALF_SPAN_DB, figure

    requested = [{"pitch_mean": 200.0, "energy_rms": 0.1}, {"pitch_mean": 201.0, "energy_rms": 0.05}]
    measured = [{"pitch_mean": 200.5, "energy_rms": 0.1 * 10 ** (0.17 / 20)}, {"pitch_mean": 200.0, "energy_rms": 0.05}]
    ax_pitch, ax_energy = figure(requested, measured).axes
    low, high = ax_energy.get_ylim()
    assert low <= -ENERGY_MIN_HALF_SPAN_DB and high >= ENERGY_MIN_HALF_SPAN_DB and high - low < 14
    assert "plan" in ax_energy.get_ylabel() and "dB" in ax_energy.get_ylabel()
    rendered = ax_energy.get_lines()[1].get_ydata()
    assert rendered[0] == pytest.approx(0.17, abs=1e-6) and rendered[1] == pytest.approx(0.0, abs=1e-9)
    assert list(ax_energy.get_lines()[0].get_ydata()) == [0.0, 0.0]  # the plan is the 0 dB line
    low, high = ax_pitch.get_ylim()
    assert 12 * math.log2(high / low) >= 4.0  # at least +-2 semitones, not a 1 Hz wide axis


def test_plot_axes_widen_to_show_a_real_miss():
    from demo.plots import figure

    requested = [{"pitch_mean": 200.0, "energy_rms": 0.1}]
    measured = [{"pitch_mean": 400.0, "energy_rms": 0.1 * 10 ** (-15 / 20)}]  # an octave up, 15 dB too quiet
    ax_pitch, ax_energy = figure(requested, measured).axes
    assert ax_energy.get_ylim()[0] < -15 and ax_energy.get_ylim()[1] >= 6
    assert ax_pitch.get_ylim()[0] < 200 and ax_pitch.get_ylim()[1] > 400


def test_error_status_is_one_escaped_line():
    from demo.app import error_status

    line = error_status(PlanError("value '<b>x</b>' is not a number;\n type a number.", segment=0))
    assert "\n" not in line and "&lt;b&gt;" in line and "<b>" not in line and "number." in line
    assert "number.." not in line and "edits are kept" in line


class _NewUserError(UserError, RuntimeError):
    """A user error that the demo names nowhere: one line at start-up by its base class alone."""


@pytest.mark.parametrize("error", [_NewUserError("voice 'x' not found; give another"),
                                   FileNotFoundError("voice folder 'x' does not exist; give another")])
def test_start_up_user_error_is_one_line(error, monkeypatch, capsys):
    from baton.pipeline import Pipeline
    from demo.app import main

    monkeypatch.setattr(Pipeline, "load", _raising(error))
    assert main(["--voice", "x"]) == 1
    assert capsys.readouterr().err.splitlines() == [f"demo: error: {error}"]


def test_start_up_bug_raises(monkeypatch):
    from baton.pipeline import Pipeline
    from demo.app import main

    monkeypatch.setattr(Pipeline, "load", _raising(KeyError("pitch_mean")))
    with pytest.raises(KeyError):
        main(["--voice", "x"])


def _raising(error: BaseException):
    def load(*args, **kwargs):
        raise error
    return load
