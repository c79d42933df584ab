"""Training-data shards: the packed output of recipes/prepare_batontts.py (numpy only).

A data directory holds ``index.json`` and shards ``shard-000.npz`` ... (each at most 60 MiB). A shard packs
many utterances as concatenated arrays plus offsets (U utterances, P phonemes, S segments, F frames):

    ids (U,) str; phone_offsets, segment_offsets, frame_offsets int64 (U+1,)
    phoneme_ids int16 (P,); segment_ids int16 (P,) segment index within the utterance;
    durations int16 (P,) mel frames; pitch_hz float32 (P,) mean F0 over the phoneme's voiced frames, NaN if
    none; energy_db float32 (P,) 10 log10 of the mean waveform power over the phoneme (dB re full scale);
    emphasis uint8 (P,); controls float32 (S, 7) the measured plan fields in plan units (CONTROL_NAMES order,
    NaN where undefined); mel float16 (F, 80) log-mel targets; f0_hz float16 (F,) the recording's F0 at each
    mel frame, NaN where unvoiced (optional: older shards lack it; ``prepare_batontts.py --add-f0`` adds it).

``index.json``: ``{"format": 1, "shards": [...], "utterances": {id: shard}, "held_out": [...],
"baseline": {VoiceBaseline fields}, "phone_s": float, "stats": {...}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHARD_MAX_BYTES = 60 * 1024 * 1024
ARRAYS = ("phoneme_ids", "segment_ids", "durations", "pitch_hz", "energy_db", "emphasis")


@dataclass(frozen=True)
class Utterance:
    """One training utterance (arrays as in the module docstring, sliced to this utterance)."""

    id: str
    phoneme_ids: np.ndarray
    segment_ids: np.ndarray
    durations: np.ndarray
    pitch_hz: np.ndarray
    energy_db: np.ndarray
    emphasis: np.ndarray
    controls: np.ndarray
    mel: np.ndarray
    f0_hz: np.ndarray | None = None
    """Per mel frame, float (F,), NaN where unvoiced; None when the shard has none."""


def write_shard(path: Path, utterances: list[Utterance]) -> int:
    """Pack ``utterances`` into ``path`` (npz); returns its size in bytes."""
    def offsets(lengths: list[int]) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    arrays = {
        "ids": np.asarray([u.id for u in utterances]),
        "phone_offsets": offsets([len(u.phoneme_ids) for u in utterances]),
        "segment_offsets": offsets([len(u.controls) for u in utterances]),
        "frame_offsets": offsets([len(u.mel) for u in utterances]),
        "phoneme_ids": np.concatenate([u.phoneme_ids for u in utterances]).astype(np.int16),
        "segment_ids": np.concatenate([u.segment_ids for u in utterances]).astype(np.int16),
        "durations": np.concatenate([u.durations for u in utterances]).astype(np.int16),
        "pitch_hz": np.concatenate([u.pitch_hz for u in utterances]).astype(np.float32),
        "energy_db": np.concatenate([u.energy_db for u in utterances]).astype(np.float32),
        "emphasis": np.concatenate([u.emphasis for u in utterances]).astype(np.uint8),
        "controls": np.concatenate([u.controls for u in utterances]).astype(np.float32),
        "mel": np.concatenate([u.mel for u in utterances]).astype(np.float16),
    }
    if all(u.f0_hz is not None for u in utterances):
        if any(len(u.f0_hz) != len(u.mel) for u in utterances):
            raise ValueError("f0_hz must have one value per mel frame")
        arrays["f0_hz"] = np.concatenate([u.f0_hz for u in utterances]).astype(np.float16)
    np.savez(path, **arrays)
    return Path(path).stat().st_size


def read_shard(path: Path) -> list[Utterance]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    out = []
    po, so, fo = arrays["phone_offsets"], arrays["segment_offsets"], arrays["frame_offsets"]
    for i, uid in enumerate(arrays["ids"]):
        p = slice(po[i], po[i + 1])
        f = slice(fo[i], fo[i + 1])
        out.append(Utterance(id=str(uid), **{k: arrays[k][p] for k in ARRAYS},
                             controls=arrays["controls"][so[i]:so[i + 1]], mel=arrays["mel"][f],
                             f0_hz=arrays["f0_hz"][f] if "f0_hz" in arrays else None))
    return out


def load_index(data_dir: Path) -> dict:
    path = Path(data_dir) / "index.json"
    if not path.is_file():
        raise FileNotFoundError(f"no prepared data at {data_dir} (index.json missing); run "
                                "python -m recipes.prepare_batontts first")
    return json.loads(path.read_text(encoding="utf-8"))


def load_utterances(data_dir: Path) -> tuple[list[Utterance], dict]:
    """All utterances of a prepared data directory, and its index."""
    index = load_index(data_dir)
    utterances = [u for shard in index["shards"] for u in read_shard(Path(data_dir) / shard)]
    held_out = set(index.get("held_out", []))
    leaked = [u.id for u in utterances if u.id in held_out]
    if leaked:
        raise ValueError(f"held-out utterances {leaked[:3]} are in the training shards; re-run the prepare recipe")
    return utterances, index


def validation_ids(ids: list[str], every: int) -> set[str]:
    """The ids a training run with ``validation_every = every`` holds out: every ``every``-th in sorted order
    (none for 0). Shared by training and by recipes that evaluate on those clips."""
    if every <= 0:
        return set()
    if every == 1:
        raise ValueError("validation_every = 1 would hold out every utterance; use 0 (none) or >= 2")
    return {uid for k, uid in enumerate(sorted(ids)) if k % every == every - 1}


__all__ = ["Utterance", "write_shard", "read_shard", "load_index", "load_utterances", "validation_ids",
           "SHARD_MAX_BYTES"]
