"""tts_model.runtime.solve: bisection for a rising function."""

import math

import pytest

from tts_model.runtime.solve import bisect_rising


def test_finds_the_crossing_of_a_rising_function():
    assert bisect_rising(lambda x: x ** 3, 8.0, 0.0, 5.0, steps=40) == pytest.approx(2.0, abs=1e-9)
    assert bisect_rising(math.log, 0.0, 0.1, 10.0, steps=40) == pytest.approx(1.0, abs=1e-9)


def test_a_target_outside_the_bracket_ends_at_its_edge():
    assert bisect_rising(lambda x: x, 99.0, -1.0, 1.0, steps=30) == pytest.approx(1.0, abs=1e-8)
    assert bisect_rising(lambda x: x, -99.0, -1.0, 1.0, steps=30) == pytest.approx(-1.0, abs=1e-8)


def test_steps_bound_the_precision():
    coarse = bisect_rising(lambda x: x, 0.3, 0.0, 1.0, steps=2)
    assert coarse in (0.125, 0.375, 0.625, 0.875) and abs(coarse - 0.3) <= 0.125
