"""Training checkpoints stored as a directory of pieces of at most 15 MiB (torch).

Layout of a checkpoint directory::

    meta.json        {"step": ..., "model": ModelConfig dict, "extra": {...}, "parts": [{"file", "bytes", "sha256"}]}
    part-000.bin ... the bytes of one ``torch.save`` of {"model": state_dict, "optimizer": ..., ...}, cut in pieces

Pieces keep every file small enough to travel through size-limited transfers (the GPU machine's $OUT, git).
Writes go to a temporary directory that is renamed into place, so a run killed mid-save never leaves a
half-written checkpoint behind; loading verifies each piece's SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import torch

from plan_contract import UserError
from tts_model.runtime.config import ModelConfig

PIECE_BYTES = 15 * 1024 * 1024


class CheckpointError(UserError, RuntimeError):
    """A missing or damaged checkpoint; the message names the directory and the fix."""


def write_pieces(directory: Path, state: dict[str, Any], meta: dict[str, Any],
                 piece_bytes: int = PIECE_BYTES) -> Path:
    """``torch.save`` of ``state`` cut into pieces, plus ``meta.json`` (``meta`` + the piece list).

    Written to a temporary directory renamed into place, so an interrupted save leaves the previous one intact.
    Used for both acoustic-model and vocoder checkpoints.
    """
    directory = Path(directory)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    parts = []
    for index, start in enumerate(range(0, max(len(data), 1), piece_bytes)):
        chunk = data[start:start + piece_bytes]
        name = f"part-{index:03d}.bin"
        (tmp / name).write_bytes(chunk)
        parts.append({"file": name, "bytes": len(chunk), "sha256": hashlib.sha256(chunk).hexdigest()})
    (tmp / "meta.json").write_text(json.dumps({**meta, "parts": parts}, indent=2) + "\n", encoding="utf-8")
    old = directory.with_name(directory.name + ".old")
    if directory.exists():
        shutil.rmtree(old, ignore_errors=True)
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    return directory


def read_pieces(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a directory written by :func:`write_pieces` -> (state, meta). Raises CheckpointError."""
    directory = Path(directory)
    meta_path = directory / "meta.json"
    if not meta_path.is_file():
        raise CheckpointError(f"no checkpoint at {directory} (meta.json missing); pass the directory that "
                              "the training recipe wrote (e.g. runs/<name>/checkpoint)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{meta_path} is not valid JSON ({err.msg}); the checkpoint is damaged, use an "
                              "earlier one") from None
    chunks = []
    for part in meta["parts"]:
        path = directory / part["file"]
        if not path.is_file():
            raise CheckpointError(f"checkpoint piece {path} is missing; copy every part-*.bin of the checkpoint")
        chunk = path.read_bytes()
        if hashlib.sha256(chunk).hexdigest() != part["sha256"]:
            raise CheckpointError(f"checkpoint piece {path} is damaged (SHA-256 mismatch); copy it again")
        chunks.append(chunk)
    state = torch.load(io.BytesIO(b"".join(chunks)), map_location="cpu", weights_only=False)
    return state, meta


def save_checkpoint(directory: Path, model_config: ModelConfig, state: dict[str, Any], step: int,
                    extra: dict[str, Any] | None = None, piece_bytes: int = PIECE_BYTES) -> Path:
    """Write ``state`` (tensors / state dicts) as a checkpoint directory; returns its path."""
    meta = {"step": int(step), "model": model_config.to_dict(), "extra": extra or {}}
    return write_pieces(directory, state, meta, piece_bytes)


def load_checkpoint(directory: Path) -> tuple[ModelConfig, dict[str, Any], dict[str, Any]]:
    """Read a checkpoint directory -> (model config, state dict bundle, meta). Raises CheckpointError."""
    state, meta = read_pieces(directory)
    return ModelConfig.from_dict(meta["model"]), state, meta


__all__ = ["save_checkpoint", "load_checkpoint", "write_pieces", "read_pieces", "CheckpointError", "PIECE_BYTES"]
