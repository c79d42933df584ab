"""Audio encoding for the speech server: whole files and incremental streams, through soundfile (libsndfile).

Formats (OpenAI's ``response_format`` names):

==========  =====================================  ==========  ===========================================
format      container / codec                      streamable  note
==========  =====================================  ==========  ===========================================
``wav``     RIFF, 16-bit PCM                       yes         streamed with the unknown-length header
``pcm``     raw 16-bit little-endian, no header    yes         ``sample_rate`` Hz mono, as OpenAI's pcm
``mp3``     MPEG layer III (libsndfile + LAME)     yes         VBR file; streamed as 80 kbit/s CBR
``opus``    Ogg Opus at 24 kHz                     yes         Opus has no 22.05 kHz mode: resampled 147:160
``flac``    FLAC 16-bit                            no          libsndfile seeks back to write the header
==========  =====================================  ==========  ===========================================

``aac`` (an OpenAI format) is not offered: libsndfile does not write it. Audio in: float32 (n,), [-1, 1].
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np

OPUS_SAMPLE_RATE = 24000
MP3_STREAM_COMPRESSION = 0.5
"""libsndfile compression level of streamed (constant bitrate) MP3: 0.5 is 80 kbit/s at 22.05 kHz mono."""


@dataclass(frozen=True)
class AudioFormat:
    name: str
    media_type: str
    sf_format: str | None
    """soundfile format name; None for raw PCM (written by hand)."""
    sf_subtype: str | None
    streamable: bool


FORMATS: dict[str, AudioFormat] = {f.name: f for f in (
    AudioFormat("wav", "audio/wav", "WAV", "PCM_16", True),
    AudioFormat("pcm", "audio/pcm", None, None, True),
    AudioFormat("mp3", "audio/mpeg", "MP3", "MPEG_LAYER_III", True),
    AudioFormat("opus", "audio/ogg", "OGG", "OPUS", True),
    AudioFormat("flac", "audio/flac", "FLAC", "PCM_16", False),
)}


def available_formats() -> dict[str, AudioFormat]:
    """The formats this libsndfile build can write (mp3 and opus need libsndfile >= 1.1 / 1.0.29)."""
    import soundfile

    have = soundfile.available_formats()
    return {name: f for name, f in FORMATS.items()
            if f.sf_format is None or (f.sf_format in have and f.sf_subtype in soundfile.available_subtypes(f.sf_format))}


def output_sample_rate(fmt: AudioFormat, sample_rate: int) -> int:
    """The rate the encoded audio has: the voice's own, except Opus (24 kHz)."""
    return OPUS_SAMPLE_RATE if fmt.name == "opus" else int(sample_rate)


def to_pcm16(audio: np.ndarray) -> bytes:
    """float32 (n,) [-1, 1] -> 16-bit little-endian PCM bytes."""
    return (np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def wav_stream_header(sample_rate: int) -> bytes:
    """A 16-bit mono PCM WAV header for a stream of unknown length (sizes at the 32-bit maximum, the
    convention sox, ffmpeg and ``baton speak -o -`` use)."""
    unknown = 0xFFFFFFFF
    return (b"RIFF" + struct.pack("<I", unknown) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data" + struct.pack("<I", unknown))


def encode(audio: np.ndarray, sample_rate: int, fmt: AudioFormat) -> bytes:
    """A complete file (correct headers and lengths) of ``audio`` in ``fmt``."""
    encoder = StreamEncoder(fmt, sample_rate, whole_file=True)
    return encoder.write(audio) + encoder.close()


class _Sink(io.RawIOBase):
    """A write-only file for soundfile's virtual I/O that hands out what was appended since the last call.

    ``whole_file``: keep everything and honour seeks (a complete file); otherwise bytes already handed out
    are final, and rewrites of them (libsndfile's header updates at close) are dropped."""

    def __init__(self, whole_file: bool):
        super().__init__()
        self._buffer = bytearray()
        self._position = 0
        self._sent = 0
        self._whole = whole_file

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        end = len(self._buffer) if size is None or size < 0 else min(len(self._buffer), self._position + size)
        data = bytes(self._buffer[self._position:end])
        self._position = end
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def write(self, data) -> int:
        data = bytes(data)
        end = self._position + len(data)
        if end > len(self._buffer):
            self._buffer.extend(b"\0" * (end - len(self._buffer)))
        self._buffer[self._position:end] = data
        self._position = end
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: len(self._buffer)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        """Bytes not handed out yet (all of them at the end, for a whole file)."""
        if self._whole:
            return b""
        data = bytes(self._buffer[self._sent:])
        self._sent = len(self._buffer)
        return data

    def everything(self) -> bytes:
        return bytes(self._buffer)


class Resampler22to24:
    """Streaming 22050 -> 24000 Hz resampling (ratio 160/147, scipy's polyphase filter) whose output equals
    resampling the whole signal at once, away from its two ends.

    Input is processed in blocks of whole 147-sample units, with CONTEXT units of input kept on each side so
    the filter (10 input samples each side) never sees a block edge; the last input is held back until more
    arrives or :meth:`flush`."""

    UP, DOWN = 160, 147
    CONTEXT = 1  # units of DOWN input samples (147 > the filter's 10-sample half-length)

    def __init__(self) -> None:
        self._history = np.zeros(0, dtype=np.float32)  # already emitted input kept as left context
        self._pending = np.zeros(0, dtype=np.float32)  # input not emitted yet

    def _run(self, emit_units: int, final: bool) -> np.ndarray:
        from scipy.signal import resample_poly

        left = self._history.size
        emit = emit_units * self.DOWN if not final else self._pending.size
        block = np.concatenate([self._history, self._pending])
        out = resample_poly(block, self.UP, self.DOWN).astype(np.float32)
        start = left * self.UP // self.DOWN
        stop = start + (emit * self.UP // self.DOWN if not final else out.size - start)
        emitted = self._pending[:emit]
        self._pending = self._pending[emit:]
        keep = self.CONTEXT * self.DOWN
        self._history = np.concatenate([self._history, emitted])[-keep:] if not final else self._history
        return out[start:stop]

    def write(self, audio: np.ndarray) -> np.ndarray:
        self._pending = np.concatenate([self._pending, np.asarray(audio, dtype=np.float32)])
        units = self._pending.size // self.DOWN - self.CONTEXT  # keep CONTEXT units as right context
        if units <= 0:
            return np.zeros(0, dtype=np.float32)
        return self._run(units, final=False)

    def flush(self) -> np.ndarray:
        if not self._pending.size:
            return np.zeros(0, dtype=np.float32)
        return self._run(0, final=True)


class StreamEncoder:
    """Encode audio piece by piece: ``write(piece)`` returns the bytes ready so far, ``close()`` the rest.

    With ``whole_file`` the bytes come only from ``close()`` and form a complete file with correct lengths;
    otherwise they are safe to send as they come (``wav`` then has the unknown-length header)."""

    def __init__(self, fmt: AudioFormat, sample_rate: int, whole_file: bool = False):
        self.format = fmt
        self.sample_rate = output_sample_rate(fmt, sample_rate)
        self._whole = whole_file
        self._resampler = Resampler22to24() if fmt.name == "opus" and sample_rate != self.sample_rate else None
        if fmt.name == "opus" and self._resampler is None and sample_rate != OPUS_SAMPLE_RATE:
            raise ValueError(f"opus output needs 22050 or 24000 Hz audio, got {sample_rate} Hz")
        self._pcm_header = b""
        self._pcm_parts: list[bytes] = []
        self._sink = None
        self._file = None
        if fmt.sf_format is None or (fmt.name == "wav" and not whole_file):
            if fmt.name == "wav":
                self._pcm_header = wav_stream_header(self.sample_rate)
            return
        import soundfile

        options = {}
        if fmt.name == "mp3" and not whole_file:
            # A streamed MP3 cannot get its VBR (Xing) header rewritten at the end, and readers that estimate
            # the length from the first frame's bitrate (libsndfile/mpg123) then stop early: stream CBR.
            options = {"bitrate_mode": "CONSTANT", "compression_level": MP3_STREAM_COMPRESSION}
        self._sink = _Sink(whole_file)
        self._file = soundfile.SoundFile(self._sink, "w", samplerate=self.sample_rate, channels=1,
                                         format=fmt.sf_format, subtype=fmt.sf_subtype, **options)

    def write(self, audio: np.ndarray) -> bytes:
        audio = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
        if self._resampler is not None:
            audio = self._resampler.write(audio)
        return self._encode(audio)

    def _encode(self, audio: np.ndarray) -> bytes:
        if self._file is None:
            data, self._pcm_header = self._pcm_header + to_pcm16(audio), b""
            if self._whole:
                self._pcm_parts.append(data)
                return b""
            return data
        if audio.size:
            self._file.write(audio)
        return self._sink.take()

    def close(self) -> bytes:
        tail = self._encode(self._resampler.flush()) if self._resampler is not None else b""
        if self._file is None:
            if self._whole:
                return b"".join(self._pcm_parts) + self._pcm_header
            return tail + self._pcm_header
        self._file.close()
        if self._whole:
            return self._sink.everything()
        return tail + self._sink.take()
