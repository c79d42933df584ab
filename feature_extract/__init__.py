"""Feature extraction: audio (+ transcript) -> the plan segments the recording realises, measured.

Public entry points (see docs/design/interfaces.md and docs/feature_extract.md):

* :func:`feature_extract.audio.load_audio`
* :func:`feature_extract.align.align` -> :class:`feature_extract.align.Alignment`
* :func:`feature_extract.measure.measure_span`
* :func:`extract_plan` (this package)

Submodules load on first use, so ``import feature_extract`` stays cheap (no Praat, no pocketsphinx).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# ``align`` is deliberately not re-exported: it is also the name of the submodule feature_extract.align,
# and the import system would bind the module over the function.
__all__ = ["extract_plan", "measure_span", "load_audio"]

if TYPE_CHECKING:  # pragma: no cover
    from feature_extract.audio import load_audio
    from feature_extract.measure import measure_span
    from feature_extract.segment import extract_plan


def __getattr__(name: str) -> Any:
    if name == "extract_plan":
        from feature_extract.segment import extract_plan
        return extract_plan
    if name == "measure_span":
        from feature_extract.measure import measure_span
        return measure_span
    if name == "load_audio":
        from feature_extract.audio import load_audio
        return load_audio
    raise AttributeError(f"module 'feature_extract' has no attribute {name!r}")
