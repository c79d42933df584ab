"""The LJSpeech corpus as the recipes, benchmarks and tests use it: its 50 held-out test clips and its rows.

A corpus folder in LJSpeech layout holds ``metadata.csv`` (``id|raw text|normalised text``) and ``wavs/<id>.flac``
(or ``.wav``). No recipe trains on, tunes on or builds a bank from the :data:`HELD_OUT` clips; they measure.
"""

from __future__ import annotations

from pathlib import Path

HELD_OUT = tuple(f"LJ002-{n:04d}" for n in range(151, 201))
"""The 50 held-out test clips LJ002-0151..0200, in order."""


def read_metadata(corpus: Path) -> list[tuple[str, str, Path]]:
    """(id, normalised text, audio path) per row of metadata.csv whose audio exists."""
    rows = []
    for line in (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        parts = line.split("|")
        uid, text = parts[0], (parts[2] if len(parts) > 2 and parts[2].strip() else parts[1])
        for ext in (".flac", ".wav"):
            path = corpus / "wavs" / f"{uid}{ext}"
            if path.is_file():
                rows.append((uid, text.strip(), path))
                break
    return rows
