"""One BLAS thread for the NumPy mel stages (exemplar projection, harmonic sharpening, centroid tilt).

Their matrix products are small (tens of frames by 80 mel bins by a few hundred exemplars): with the
machine's default of one OpenBLAS thread per core, the threads mostly wait on each other. Measured on the
2-core dev box under load (docs/speed.md): ``render_mel`` of a 9 s sentence 0.33-0.41 s with 2 BLAS threads,
0.13-0.16 s with 1. onnxruntime keeps its own thread pool, so the acoustic model is not affected.

The limit is set and restored by the calling thread through ``threadpoolctl``. The OpenBLAS that NumPy ships
keeps the setting per calling thread (observed with the venv's OpenBLAS 0.3.31: a limit set in one thread
was not seen in another), so concurrent renders of a server each set their own.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

_CONTROLLER: list[Any] = []


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the body with the BLAS libraries NumPy loaded limited to one thread; restored afterwards."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())  # scans the loaded libraries once (~5 ms)
    with _CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield


__all__ = ["one_blas_thread"]
