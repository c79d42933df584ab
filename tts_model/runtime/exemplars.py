"""Exemplar projection: each predicted mel frame is replaced by the mean of its nearest recorded frames.

An acoustic model trained on half an hour of speech renders a mel that is smoother than speech: it averages away
the detail it cannot predict, and Whisper hears the blur as the wrong words (docs/training.md, runs 8-9 and 14).
The voice therefore carries a bank of real log-mel frames from its training recordings, grouped by phoneme.
At run time every frame of the model's mel is matched against the bank frames of its own phoneme by

    distance = mean over bins of (log-mel difference)^2  +  position_weight * (difference of place in phoneme)^2
               +  context_weight * ((1 - place) * [left neighbour differs] + place * [right neighbour differs])

and the mean of the ``k`` nearest replaces it (``strength`` 1) or is blended with it. The place in the phoneme
(0 at its start, 1 at its end) keeps a stop's closure, burst and release in order. The context term prefers frames
recorded between the same neighbouring phonemes (the ids before and after in the phoneme sequence, pauses and
punctuation included, ``<pad>`` at the ends), most for the neighbour the frame is nearer to: coarticulation.

The bank's frames carry the recordings' harmonics, at the recordings' pitch, not the plan's. To keep the planned
pitch, in the lowest ``envelope_bins`` bins the exemplars give only their envelope and the model's harmonic ripple
stays (the shipped voices use 40). A term matching voiced frames to bank frames recorded at the planned F0 cost
intelligibility on LJSpeech and did not hold the pitch (docs/training.md, run 14); it was never shipped and is gone
(issue 26). The bank file still holds each frame's measured F0 (``f0_hz``), for analysis.
The frames are stored as one byte per bin with a per-bin range (``ExemplarBank``), in a ``.npz`` next to the
voice's ONNX files.

Numbers only: numpy, no torch. Built by ``recipes/build_exemplars.py``; switched on by the ``exemplars`` stage of
the voice's render chain (tts_model.runtime.chain).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from plan_contract import UserError

BANK_FORMAT = 2
"""Format 2 adds each frame's neighbouring phonemes (format 1: run 14, without them)."""
POSITION_LEVELS = 255
"""The place in the phoneme is stored as a byte: round(place * POSITION_LEVELS)."""
ENVELOPE_WIDTH = 5
"""Mel bins averaged for the spectral envelope (see ``envelope_bins`` of :func:`project`)."""


class ExemplarError(UserError, ValueError):
    """A bank file that is missing, corrupt or inconsistent; the message names the problem and the fix."""


class FrameLayout(NamedTuple):
    """Where every frame of an utterance sits in its phoneme sequence (:func:`frame_layout`)."""

    phones: np.ndarray
    """int64 (F,): the phoneme id of each frame."""
    places: np.ndarray
    """float32 (F,): the place of each frame in its phoneme: the middle of frame j of an n-frame phoneme is at
    (j + 0.5) / n."""
    left: np.ndarray
    """int64 (F,): the id of the phoneme before the frame's phoneme in the sequence; zero-frame ones (``<sp>`` or
    punctuation without a pause) count, and 0 (``<pad>``) stands before the first."""
    right: np.ndarray
    """int64 (F,): the id of the phoneme after it; 0 (``<pad>``) after the last."""


def frame_layout(phoneme_ids: np.ndarray, durations: np.ndarray) -> FrameLayout:
    """Per-phoneme ids and frame counts -> the :class:`FrameLayout` of their frames."""
    ids = np.asarray(phoneme_ids, dtype=np.int64).reshape(-1)
    counts = np.maximum(np.asarray(durations, dtype=np.int64).reshape(-1), 0)
    if ids.shape != counts.shape:
        raise ValueError(f"phoneme_ids ({ids.size}) and durations ({counts.size}) differ in length")
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    place = (np.arange(starts.size) - starts + 0.5) / np.repeat(np.maximum(counts, 1), counts)
    padded = np.concatenate([[0], ids, [0]])
    return FrameLayout(np.repeat(ids, counts), place.astype(np.float32), np.repeat(padded[:-2], counts),
                       np.repeat(padded[2:], counts))


class PhoneFrames(NamedTuple):
    """One phoneme's bank frames, decoded (:meth:`ExemplarBank.frames`)."""

    mel: np.ndarray
    """float32 (n, n_mels): log-mel."""
    places: np.ndarray
    """float32 (n,): place in the phoneme."""
    norms: np.ndarray
    """float32 (n,): squared norm of each frame, for the distance."""
    left: np.ndarray
    """int64 (n,): the id of the phoneme before."""
    right: np.ndarray
    """int64 (n,): the id of the phoneme after."""


@dataclass(frozen=True)
class ExemplarBank:
    """Recorded log-mel frames grouped by phoneme id, one byte per bin."""

    phone_ids: np.ndarray
    """int64 (P,): the phoneme ids that have frames, ascending."""
    offsets: np.ndarray
    """int64 (P + 1,): the frames of phone_ids[p] are codes[offsets[p]:offsets[p + 1]]."""
    codes: np.ndarray
    """uint8 (N, n_mels): round((log-mel - low) / scale)."""
    places: np.ndarray
    """uint8 (N,): place of each frame in its phoneme, times POSITION_LEVELS."""
    low: np.ndarray
    """float32 (n_mels,)."""
    scale: np.ndarray
    """float32 (n_mels,), > 0."""
    f0_hz: np.ndarray
    """float16 (N,): F0 of each frame as measured on the recording, 0 where unvoiced."""
    left_ids: np.ndarray
    """uint8 (N,): id of the phoneme before each frame's phoneme (:attr:`FrameLayout.left`)."""
    right_ids: np.ndarray
    """uint8 (N,): id of the phoneme after it."""
    _groups: dict = field(init=False, repr=False, compare=False)
    """phoneme id -> :meth:`frames`' arrays, decoded once at construction (about 25 ms for 58k frames), so no
    synthesis call pays for it."""

    def __post_init__(self) -> None:
        groups = {}
        for p, phone_id in enumerate(self.phone_ids):
            lo, hi = int(self.offsets[p]), int(self.offsets[p + 1])
            mel = self.codes[lo:hi].astype(np.float32) * self.scale + self.low
            groups[int(phone_id)] = PhoneFrames(mel, self.places[lo:hi].astype(np.float32) / POSITION_LEVELS,
                                                np.sum(mel * mel, axis=1),
                                                self.left_ids[lo:hi].astype(np.int64),
                                                self.right_ids[lo:hi].astype(np.int64))
        object.__setattr__(self, "_groups", groups)

    @property
    def n_frames(self) -> int:
        return int(self.codes.shape[0])

    @property
    def n_mels(self) -> int:
        return int(self.codes.shape[1])

    @classmethod
    def build(cls, mel: np.ndarray, phones: np.ndarray, places: np.ndarray, f0_hz: np.ndarray | None = None,
              neighbours: tuple[np.ndarray, np.ndarray] | None = None) -> "ExemplarBank":
        """Log-mel frames (N, n_mels) with their phoneme id (N,), place in the phoneme (N,), F0 (N,; 0 or None =
        unvoiced) and neighbouring phoneme ids ((left (N,), right (N,)) as in :class:`FrameLayout`; None =
        unknown, stored as 0 on both sides) -> a bank."""
        mel = np.asarray(mel, dtype=np.float32)
        phones = np.asarray(phones, dtype=np.int64)
        places = np.clip(np.asarray(places, dtype=np.float32), 0.0, 1.0)
        f0 = np.zeros(phones.shape, np.float32) if f0_hz is None else np.asarray(f0_hz, dtype=np.float32)
        left, right = (np.zeros(phones.shape, np.int64),) * 2 if neighbours is None else \
            (np.asarray(n, dtype=np.int64) for n in neighbours)
        if mel.ndim != 2 or phones.shape != (mel.shape[0],) or places.shape != phones.shape \
                or f0.shape != phones.shape or left.shape != phones.shape or right.shape != phones.shape \
                or not mel.shape[0]:
            raise ValueError(f"need frames (N, n_mels) with N > 0 and one phoneme id, place, F0 and pair of "
                             f"neighbours per frame; got {mel.shape}, {phones.shape}, {places.shape}, {f0.shape}, "
                             f"{left.shape}, {right.shape}")
        if not np.all(np.isfinite(mel)) or not np.all(np.isfinite(f0)):
            raise ValueError("the frames hold non-finite values")
        if min(phones.min(), left.min(), right.min()) < 0 or max(left.max(), right.max()) > 255:
            raise ValueError("phoneme ids must be >= 0 and neighbour ids below 256")
        order = np.argsort(phones, kind="stable")
        mel, phones, places, f0, left, right = (a[order] for a in (mel, phones, places, f0, left, right))
        low = mel.min(axis=0)
        scale = np.maximum(mel.max(axis=0) - low, 1e-6) / 255.0
        codes = np.clip(np.round((mel - low) / scale), 0, 255).astype(np.uint8)
        ids, starts = np.unique(phones, return_index=True)
        offsets = np.append(starts, phones.size).astype(np.int64)
        return cls(phone_ids=ids.astype(np.int64), offsets=offsets, codes=codes,
                   places=np.round(places * POSITION_LEVELS).astype(np.uint8),
                   low=low.astype(np.float32), scale=scale.astype(np.float32),
                   f0_hz=np.clip(f0, 0.0, 65000.0).astype(np.float16),
                   left_ids=left.astype(np.uint8), right_ids=right.astype(np.uint8))

    def frames(self, phone_id: int) -> PhoneFrames | None:
        """The decoded frames of one phoneme, or None when the bank has no frame of it."""
        return self._groups.get(int(phone_id))

    def save(self, path: Path | str) -> None:
        np.savez_compressed(Path(path), format=np.int64(BANK_FORMAT), phone_ids=self.phone_ids,
                            offsets=self.offsets, codes=self.codes, places=self.places, low=self.low,
                            scale=self.scale, f0_hz=self.f0_hz, left_ids=self.left_ids, right_ids=self.right_ids)

    @classmethod
    def load(cls, path: Path | str, n_mels: int | None = None) -> "ExemplarBank":
        """Read a bank written by :meth:`save`. Raises ExemplarError naming the problem."""
        path = Path(path)
        if not path.is_file():
            raise ExemplarError(f"exemplar bank {path} is missing")
        try:
            with np.load(path, allow_pickle=False) as data:
                version = int(data["format"])
                arrays = {k: data[k] for k in ("phone_ids", "offsets", "codes", "places", "low", "scale", "f0_hz",
                                               "left_ids", "right_ids")} if version == BANK_FORMAT else {}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
            raise ExemplarError(f"exemplar bank {path} is corrupt or not a bank ({type(err).__name__}: "
                                f"{str(err)[:120]})") from None
        if version != BANK_FORMAT:
            raise ExemplarError(f"exemplar bank {path} has format {version}; this version reads format {BANK_FORMAT}")
        codes, offsets = arrays["codes"], arrays["offsets"]
        ok = (codes.dtype == np.uint8 and codes.ndim == 2 and arrays["places"].shape == (codes.shape[0],)
              and arrays["f0_hz"].shape == (codes.shape[0],) and np.all(np.isfinite(arrays["f0_hz"]))
              and arrays["left_ids"].shape == arrays["right_ids"].shape == (codes.shape[0],)
              and arrays["left_ids"].dtype == arrays["right_ids"].dtype == np.uint8
              and offsets.ndim == 1 and offsets.size == arrays["phone_ids"].size + 1 and offsets.size >= 2
              and offsets[0] == 0 and offsets[-1] == codes.shape[0] and np.all(np.diff(offsets) > 0)
              and np.all(np.diff(arrays["phone_ids"]) > 0)
              and arrays["low"].shape == arrays["scale"].shape == (codes.shape[1],)
              and np.all(np.isfinite(arrays["low"])) and np.all(arrays["scale"] > 0))
        if not ok:
            raise ExemplarError(f"exemplar bank {path} is inconsistent (array shapes or offsets)")
        if n_mels is not None and codes.shape[1] != n_mels:
            raise ExemplarError(f"exemplar bank {path} has {codes.shape[1]} mel bins, the voice {n_mels}")
        return cls(phone_ids=arrays["phone_ids"].astype(np.int64), offsets=offsets.astype(np.int64), codes=codes,
                   places=arrays["places"].astype(np.uint8), low=arrays["low"].astype(np.float32),
                   scale=arrays["scale"].astype(np.float32), f0_hz=arrays["f0_hz"].astype(np.float16),
                   left_ids=arrays["left_ids"], right_ids=arrays["right_ids"])


def _smooth_bins(mel: np.ndarray) -> np.ndarray:
    """Moving average over ENVELOPE_WIDTH mel bins (edges reflected): the spectral envelope without the
    harmonic ripple of F0 between about 130 and 330 Hz, whose harmonics lie 2 to 5 low mel bins apart."""
    half = ENVELOPE_WIDTH // 2
    padded = np.pad(mel, ((0, 0), (half, half)), mode="reflect")
    return np.lib.stride_tricks.sliding_window_view(padded, ENVELOPE_WIDTH, axis=1).mean(axis=2, dtype=np.float32)


def spectral_distance(query: np.ndarray, frames: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """(R, N) mean squared log-mel difference between R query frames and N bank frames (``norms``: the bank
    frames' squared norms, PhoneFrames.norms)."""
    return (np.sum(query * query, axis=1)[:, None] - 2.0 * (query @ frames.T) + norms[None]) / frames.shape[1]


def layout_cost(places: np.ndarray, left: np.ndarray, right: np.ndarray, hit: PhoneFrames, position_weight: float,
                context_weight: float) -> np.ndarray:
    """(R, N) cost of a bank frame's place in its phoneme and neighbours for R frames of the same phoneme:
    position_weight × (difference of place)², plus context_weight × the mismatch of the neighbour on the side the
    frame is near (the left one near the phoneme's start, the right one near its end)."""
    at = np.asarray(places)[:, None]
    cost = position_weight * np.square(at - hit.places[None])
    if context_weight > 0.0:
        cost += context_weight * ((1.0 - at) * (np.asarray(left)[:, None] != hit.left[None])
                                  + at * (np.asarray(right)[:, None] != hit.right[None]))
    return cost


def nearest_rows(dist: np.ndarray, k: int) -> np.ndarray:
    """(R, min(k, N)) column indices of the ``k`` smallest entries of each row of ``dist`` (R, N), in any order."""
    n = min(int(k), dist.shape[1])
    if n < dist.shape[1]:
        return np.argpartition(dist, n - 1, axis=1)[:, :n]
    return np.broadcast_to(np.arange(n), (dist.shape[0], n))


def keep_ripple(target: np.ndarray, query: np.ndarray, bins: int) -> np.ndarray:
    """``target`` with its lowest ``bins`` bins replaced by its envelope under ``query``'s harmonic ripple (the
    query minus its moving average over ENVELOPE_WIDTH bins), which carries the planned pitch. In place."""
    if bins > 0:
        target[:, :bins] = (_smooth_bins(target) + query - _smooth_bins(query))[:, :bins]
    return target


def project(mel: np.ndarray, layout: FrameLayout, bank: ExemplarBank, k: int, position_weight: float,
            strength: float = 1.0, envelope_bins: int = 0, context_weight: float = 0.0) -> np.ndarray:
    """The model's log-mel (F, n_mels) with each frame moved towards the mean of its ``k`` nearest bank frames of
    the same phoneme (``layout``: :func:`frame_layout` of the frames). Frames whose phoneme the bank lacks are kept. ``strength`` 1 replaces, 0 keeps the model's frame.
    In the lowest ``envelope_bins`` bins only the envelope comes from the exemplars; the model's harmonic ripple
    (its frame minus its moving average over ENVELOPE_WIDTH bins), which carries the planned pitch, stays."""
    mel = np.asarray(mel, dtype=np.float32)
    phones, places, left, right = (np.asarray(a) for a in layout)
    shapes = {a.shape for a in (phones, places, left, right)}
    if mel.ndim != 2 or mel.shape[1] != bank.n_mels or shapes != {(mel.shape[0],)}:
        raise ValueError(f"mel {mel.shape} with a layout of {phones.shape[0]} frames does not fit a bank of "
                         f"{bank.n_mels} bins")
    if strength <= 0.0 or k < 1:
        return mel
    out = mel.copy()
    for phone_id in np.unique(phones):
        hit = bank.frames(int(phone_id))
        if hit is None:
            continue
        rows = np.flatnonzero(phones == phone_id)
        query = mel[rows]
        dist = spectral_distance(query, hit.mel, hit.norms)
        dist += layout_cost(places[rows], left[rows], right[rows], hit, position_weight, context_weight)
        target = keep_ripple(hit.mel[nearest_rows(dist, k)].mean(axis=1), query, envelope_bins)
        out[rows] = query + np.float32(strength) * (target - query)
    return out


__all__ = ["BANK_FORMAT", "ExemplarBank", "ExemplarError", "FrameLayout", "PhoneFrames",
           "frame_layout", "keep_ripple", "layout_cost", "nearest_rows", "project", "spectral_distance"]
