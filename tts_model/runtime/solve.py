"""Bisection for a rising function: the one numeric solver the mel and audio stages share (pitch range's
spread factor, centroid tilt's slope)."""

from __future__ import annotations

from typing import Callable


def bisect_rising(f: Callable[[float], float], target: float, low: float, high: float, steps: int) -> float:
    """The x in [low, high] where a rising ``f`` reaches ``target``, after ``steps`` halvings of the bracket
    (the bracket's midpoint; the caller checks the ends when ``target`` may lie outside)."""
    for _ in range(steps):
        mid = 0.5 * (low + high)
        if f(mid) < target:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


__all__ = ["bisect_rising"]
