"""Corpus-level extraction: LJSpeech-style metadata, one record per clip, resumable JSONL.

A corpus folder holds ``metadata.csv`` (no header, ``|``-separated: ``id|text|normalized`` or ``id|text``)
and an audio folder (``wavs/`` by default) with ``<id>.wav`` or ``<id>.flac``.

Each output line is one JSON object::

    {"id": ..., "text": ..., "duration_s": ..., "segments": [plan segments, NaN written as null],
     "words": [{"word", "start_s", "end_s", "phones": [[phone, start_s, end_s], ...]}, ...]}
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plan_contract import UserError

AUDIO_EXTENSIONS = (".wav", ".flac")


class CorpusError(UserError, ValueError):
    """A corpus folder that cannot be read. ``str(err)`` is one line naming the problem and the fix."""


@dataclass(frozen=True)
class CorpusItem:
    """One clip: its id, transcript, and audio path (None when no audio file was found)."""

    id: str
    text: str
    audio_path: Path | None


def read_metadata(corpus_dir: Path, text_column: str = "text", audio_dir: Path | None = None) -> list[CorpusItem]:
    """Items of ``corpus_dir/metadata.csv`` in file order.

    ``text_column``: ``"text"`` (the second column, verbatim) or ``"normalized"`` (the third column when
    present, else the second). ``audio_dir`` defaults to ``corpus_dir/wavs``.
    """
    if text_column not in ("text", "normalized"):
        raise CorpusError(f"text column {text_column!r} is not valid; use 'text' or 'normalized'")
    metadata = corpus_dir / "metadata.csv"
    if not metadata.is_file():
        raise CorpusError(f"no metadata.csv in {corpus_dir}; expected an LJSpeech-style corpus folder "
                          f"(metadata.csv with id|text[|normalized] lines and a wavs/ folder)")
    audio_dir = audio_dir if audio_dir is not None else corpus_dir / "wavs"
    if not audio_dir.is_dir():
        raise CorpusError(f"audio folder {audio_dir} does not exist; pass --audio-dir")
    items: list[CorpusItem] = []
    seen: set[str] = set()
    for number, line in enumerate(metadata.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        clip_id = fields[0].strip()
        if not clip_id or clip_id in seen:
            raise CorpusError(f"{metadata}:{number}: {'empty' if not clip_id else 'duplicate'} id "
                              f"{clip_id!r}; every line needs a unique id before the first '|'")
        seen.add(clip_id)
        text = fields[1] if len(fields) > 1 else ""
        if text_column == "normalized" and len(fields) > 2 and fields[2].strip():
            text = fields[2]
        items.append(CorpusItem(clip_id, text.strip(), _find_audio(audio_dir, clip_id)))
    return items


def _find_audio(audio_dir: Path, clip_id: str) -> Path | None:
    for extension in AUDIO_EXTENSIONS:
        candidate = audio_dir / f"{clip_id}{extension}"
        if candidate.is_file():
            return candidate
    return None


def process_item(item: CorpusItem, per_word: bool = False) -> dict[str, Any]:
    """Align and measure one clip; returns its output record. Raises on any problem with the clip."""
    from feature_extract.align import align
    from feature_extract.audio import load_audio
    from feature_extract.segment import extract_plan

    if item.audio_path is None:
        raise FileNotFoundError(f"no audio file for id {item.id} (looked for "
                                f"{' or '.join(item.id + e for e in AUDIO_EXTENSIONS)})")
    audio, sample_rate = load_audio(item.audio_path)
    alignment = align(audio, sample_rate, item.text)
    segments = extract_plan(audio, sample_rate, item.text, per_word=per_word, alignment=alignment)
    return {"id": item.id, "text": item.text, "duration_s": round(alignment.duration_s, 4),
            "segments": [_json_ready(segment) for segment in segments], "words": alignment.to_dicts()}


def _json_ready(segment: dict[str, Any]) -> dict[str, Any]:
    """NaN -> None (JSON has no NaN; null means "predict" in a plan); floats rounded to 4 significant-ish
    decimals."""
    out: dict[str, Any] = {}
    for name, value in segment.items():
        if isinstance(value, float):
            out[name] = None if math.isnan(value) else round(value, 6)
        else:
            out[name] = value
    return out


def done_ids(output: Path) -> set[str]:
    """Ids already written to ``output``. A last line cut short by an interrupt is removed from the file
    (its clip is redone); any other unreadable line is an error."""
    if not output.exists():
        return set()
    data = output.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with open(output, "r+b") as handle:
            handle.truncate(cut)
        data = data[:cut]
    ids: set[str] = set()
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            ids.add(json.loads(line)["id"])
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise CorpusError(f"{output}:{number} is not an output record ({err}); "
                              f"move the file away or pass another --output") from err
    return ids


def append_line(handle, record: dict[str, Any]) -> None:
    """Write one JSON line and push it to the OS, so an interrupt never loses a finished record."""
    handle.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
    handle.flush()
    os.fsync(handle.fileno())
