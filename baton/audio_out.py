"""Writing speech as it is rendered: WAV or FLAC files, or WAV on a stream (stdout), checked up front.

Long input (a chapter, a book) is written sentence group by sentence group, never held whole in memory:

* WAV (:class:`WavWriter`) updates its RIFF and data sizes after every write when the output is seekable
  (a file, or stdout redirected to a file), so the file on disk is a valid WAV at every moment, even after a
  crash or ``kill -9``. On a pipe the sizes stay at the 32-bit maximum, the convention sox and ffmpeg use
  for a WAV stream of unknown length.
* FLAC (:class:`FlacWriter`, libsndfile) is finished when the writer is closed, which the CLI does on
  errors and Ctrl-C too; a FLAC cut off by a hard kill holds decodable frames but no total length.

:func:`check_output_path` runs before any synthesis, so a wrong ``-o`` costs nothing; :func:`check_free_space`
runs once the plan (and so a lower bound on the audio's length) is known.
"""

from __future__ import annotations

import errno
import os
import shutil
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from baton.pipeline import AUDIO_FORMATS, AudioFormatError
from plan_contract import UserError

BYTES_PER_SAMPLE = 2
"""16-bit PCM."""
WAV_HEADER_BYTES = 44
_UNKNOWN_SIZE = 0xFFFFFFFF
FLAC_MIN_RATIO = 0.3
"""Lower bound of FLAC's size relative to 16-bit PCM for speech (for the free-space check only)."""
MIN_WORD_S = 0.15
"""Lower bound of a spoken word's duration where the plan leaves it out [s] (for the free-space check)."""


class OutputError(UserError, OSError):
    """The output cannot be written; ``str(err)`` is one line naming the destination, the cause and the fix."""


def check_output_path(path: Path) -> None:
    """Raise a one-line error now if ``path`` cannot take the audio: unsupported extension, a folder, a
    missing or read-only folder, an unwritable file. Creates nothing that was not there (a probe file is
    removed again)."""
    if path.suffix.lower() not in AUDIO_FORMATS:
        raise AudioFormatError(f"output '{path}': unsupported audio format '{path.suffix or '(none)'}'; "
                               "use a .wav or .flac file name, or '-o -' for WAV on stdout")
    if path.is_dir():
        raise OutputError(f"output '{path}' is an existing folder; give a file name, e.g. "
                          f"'-o {path / ('out' + path.suffix.lower())}'")
    parent = path.parent
    if not parent.is_dir():
        if parent.exists():
            raise OutputError(f"output '{path}': '{parent}' is a file, not a folder; choose another -o path")
        raise FileNotFoundError(f"output folder '{parent}' does not exist; create it first "
                                f"(mkdir -p '{parent}') or choose another -o path")
    existed = path.exists()
    try:
        # The only reliable test (permissions, read-only file systems, root on sysfs): open it for writing.
        with open(path, "r+b" if existed else "xb"):
            pass
    except OSError as err:
        raise OutputError(f"cannot write '{path}': {err.strerror or err}; choose a writable folder with -o, "
                          "or fix the folder's permissions") from None
    if not existed:
        path.unlink()


def estimated_bytes(plan, sample_rate: int, fmt: str) -> int:
    """A lower bound of the encoded size of ``plan``'s audio [bytes] (durations the plan leaves out count
    :data:`MIN_WORD_S` per word)."""
    seconds = sum((seg.duration if seg.duration is not None else MIN_WORD_S * len(seg.words))
                  + (seg.pause_after or 0.0) for seg in plan.segments)
    pcm = seconds * sample_rate * BYTES_PER_SAMPLE
    return int(pcm * (FLAC_MIN_RATIO if fmt == "FLAC" else 1.0))


def check_free_space(path: Path, plan, sample_rate: int) -> None:
    """Raise :class:`OutputError` when the disk holding ``path`` has less free space than the audio needs."""
    needed = estimated_bytes(plan, sample_rate, AUDIO_FORMATS.get(path.suffix.lower(), "WAV"))
    free = shutil.disk_usage(path.parent).free
    if free < needed:
        raise OutputError(f"not enough space for '{path}': the audio needs at least {needed / 1e6:.0f} MB, "
                          f"{free / 1e6:.0f} MB are free; free some space or write elsewhere with -o")


def wav_header(sample_rate: int, n_data_bytes: int | None = None) -> bytes:
    """A 16-bit mono PCM WAV header. ``n_data_bytes`` None: sizes of a stream of unknown length (the
    32-bit maximum, the convention sox and ffmpeg use for piped WAV)."""
    if n_data_bytes is None:
        riff_size = data_size = _UNKNOWN_SIZE
    else:
        data_size = n_data_bytes
        riff_size = WAV_HEADER_BYTES - 8 + n_data_bytes
    return (b"RIFF" + struct.pack("<I", riff_size) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * BYTES_PER_SAMPLE,
                                    BYTES_PER_SAMPLE, 16)
            + b"data" + struct.pack("<I", data_size))


def _seekable(sink: BinaryIO) -> bool:
    try:
        return bool(sink.seekable()) and sink.tell() == 0
    except (OSError, ValueError):
        return False


class WavWriter:
    """16-bit mono WAV to ``sink`` (a binary file object), chunk by chunk.

    On a seekable sink the header's sizes are rewritten after every :meth:`write`, so what is on disk is
    always a complete WAV. ``name`` is how errors refer to the destination."""

    def __init__(self, sink: BinaryIO, sample_rate: int, name: str, owns_sink: bool = False):
        self._sink = sink
        self._owns = owns_sink
        self.sample_rate = int(sample_rate)
        self.name = name
        self.n_samples = 0
        self._seekable = _seekable(sink)
        self._guard(lambda: (sink.write(wav_header(self.sample_rate, 0 if self._seekable else None)),
                             sink.flush()))

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate

    def write(self, audio: np.ndarray) -> None:
        """Append ``audio`` (float32 (n,), [-1, 1]; clipped) and make the file complete up to here."""
        pcm = (np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0) * 32767.0).round().astype("<i2")
        if (self.n_samples + pcm.size) * BYTES_PER_SAMPLE > _UNKNOWN_SIZE - WAV_HEADER_BYTES:
            raise OutputError(f"'{self.name}': the audio passes the WAV format's 4 GB limit; write FLAC "
                              "(-o NAME.flac) or split the text")
        self._guard(lambda: self._sink.write(pcm.tobytes()))
        self.n_samples += pcm.size
        self._guard(self._finish_header)

    def _finish_header(self) -> None:
        if self._seekable:
            end = self._sink.tell()
            self._sink.seek(0)
            self._sink.write(wav_header(self.sample_rate, self.n_samples * BYTES_PER_SAMPLE))
            self._sink.seek(end)
        self._sink.flush()

    def close(self) -> None:
        try:
            self._guard(self._finish_header)
        finally:
            if self._owns:
                self._guard(self._sink.close)

    def _guard(self, action) -> None:
        try:
            action()
        except BrokenPipeError:
            raise
        except OSError as err:
            raise _write_error(self.name, err) from None


class FlacWriter:
    """16-bit mono FLAC through libsndfile, chunk by chunk; complete once :meth:`close` is called."""

    def __init__(self, path: Path, sample_rate: int):
        import soundfile

        self.name = str(path)
        self.sample_rate = int(sample_rate)
        self.n_samples = 0
        try:
            self._file = soundfile.SoundFile(str(path), "w", self.sample_rate, 1, "PCM_16", format="FLAC")
        except (OSError, RuntimeError) as err:
            raise _write_error(self.name, err) from None

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate

    def write(self, audio: np.ndarray) -> None:
        samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
        try:
            self._file.write(samples)
            self._file.flush()
        except (OSError, RuntimeError) as err:
            raise _write_error(self.name, err) from None
        self.n_samples += samples.size

    def close(self) -> None:
        try:
            self._file.close()
        except (OSError, RuntimeError) as err:
            raise _write_error(self.name, err) from None


def open_writer(path: Path, sample_rate: int) -> "WavWriter | FlacWriter":
    """A writer for ``path`` by its extension (.wav or .flac)."""
    if AUDIO_FORMATS.get(path.suffix.lower()) == "FLAC":
        return FlacWriter(path, sample_rate)
    try:
        sink = open(path, "wb")
    except OSError as err:
        raise _write_error(str(path), err) from None
    return WavWriter(sink, sample_rate, str(path), owns_sink=True)


def _write_error(name: str, err: BaseException) -> OutputError:
    code = getattr(err, "errno", None)
    cause = getattr(err, "strerror", None) or " ".join(str(err).split()) or type(err).__name__
    if code in (errno.ENOSPC, errno.EDQUOT) or "space" in cause.lower():
        fix = "free some space or write elsewhere with -o"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a writable folder with -o, or fix its permissions"
    else:
        fix = "check the destination and try again"
    out = OutputError(f"cannot write {name}: {cause}; {fix}")
    out.errno = code if code is not None else errno.EIO
    return out


def describe_sink(sink: BinaryIO) -> str:
    """'standard output' for stdout, else the file's name (for error messages)."""
    name = getattr(sink, "name", None)
    if name in ("<stdout>", 1) or (isinstance(name, int) and name == 1):
        return "standard output"
    return f"'{name}'" if isinstance(name, (str, os.PathLike)) else "the output"


__all__ = ["OutputError", "WavWriter", "FlacWriter", "open_writer", "check_output_path", "check_free_space",
           "estimated_bytes", "wav_header", "describe_sink"]
