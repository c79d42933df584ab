"""tts_model.runtime.blas: one BLAS thread inside, the caller's setting restored after, in any thread."""

from __future__ import annotations

import threading

import numpy  # noqa: F401  (loads the BLAS library that threadpoolctl looks for)
import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

from tts_model.runtime.blas import one_blas_thread  # noqa: E402


def _blas_threads() -> set[int]:
    """Threads of NumPy's own BLAS (the one the mel stages use). Other BLAS copies loaded later by other
    libraries (SciPy's, torch's) are not limited, and not looked at: the controller scans once."""
    return {i["num_threads"] for i in threadpoolctl.threadpool_info()
            if i["user_api"] == "blas" and "numpy" in i["filepath"]}


def test_limits_inside_and_restores_after():
    if not _blas_threads():
        pytest.skip("numpy has no BLAS library that threadpoolctl can see")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        with one_blas_thread():
            assert _blas_threads() == {1}
        assert _blas_threads() == {2}


def test_a_render_thread_gets_one_blas_thread_and_leaves_the_setting_as_it_was():
    if not _blas_threads():
        pytest.skip("numpy has no BLAS library that threadpoolctl can see")
    seen: dict[str, set[int]] = {}

    def render():
        before = _blas_threads()
        with one_blas_thread():
            seen["inside"] = _blas_threads()
        seen["after"] = _blas_threads() == before

    worker = threading.Thread(target=render)
    worker.start()
    worker.join(10)
    assert seen == {"inside": {1}, "after": True}
