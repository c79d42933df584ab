"""Transcript handling for alignment: tokens, spoken-word normalisation, and fallback pronunciations.

A *token* is a whitespace-separated piece of the transcript, kept verbatim (punctuation included), because
plans must reproduce the transcript. Each token maps to zero or more *spoken words*: lower-case, letters and
apostrophes only, which is what the pronunciation dictionary knows. ``"1845,"`` -> ``["eighteen", "forty",
"five"]``; ``"well-known"`` -> ``["well", "known"]``; ``"--"`` -> ``[]``.

Pronunciations that the dictionary lacks come from :func:`letter_pronunciation`, a small set of English
spelling rules (ARPAbet, no stress). It is rough, but the aligner only needs a plausible phone sequence to
place the word's boundaries, and it guarantees that no word is ever dropped.
"""

from __future__ import annotations

import re

ARPABET = frozenset(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH"
    .split())

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10 ** 12, "trillion"), (10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}
_ABBREVIATIONS = {"mr": "mister", "mrs": "misses", "dr": "doctor", "st": "saint", "co": "company",
                  "jr": "junior", "sr": "senior", "gen": "general", "capt": "captain", "lt": "lieutenant",
                  "col": "colonel", "rev": "reverend", "hon": "honorable", "esq": "esquire", "vs": "versus",
                  "etc": "etcetera", "no": "number", "ft": "fort", "mt": "mount", "sgt": "sergeant"}
_SYMBOLS = {"&": "and", "%": "percent", "+": "plus", "=": "equals", "@": "at", "#": "number"}
_CURRENCY = {"$": ("dollar", "dollars"), "£": ("pound", "pounds"), "€": ("euro", "euros")}

_NUMBER = re.compile(r"^(\d[\d,]*)(?:\.(\d+))?(st|nd|rd|th|s|'s)?$")
_WORD_CHARS = re.compile(r"[a-z']+|\d+(?:,\d{3})*(?:\.\d+)?(?:st|nd|rd|th|s|'s)?|[&%+=@#$£€]")


def tokens(text: str) -> list[str]:
    """The transcript's whitespace tokens, verbatim."""
    return text.split()


def spoken_words(token: str) -> list[str]:
    """Spoken words (lower-case letters and apostrophes) for one transcript token; [] for pure punctuation."""
    lowered = token.lower().replace("\u2019", "'").replace("\u2018", "'")
    core = lowered.strip(".,;:!?\"()[]{}<>\u201c\u201d-\u2014\u2013_*'")
    if core.rstrip(".") in _ABBREVIATIONS and (lowered.endswith(".") or core in ("mr", "mrs", "dr")):
        return _ABBREVIATIONS[core.rstrip(".")].split()
    if re.fullmatch(r"(?:[a-z]\.){2,}", core + ("." if not core.endswith(".") else "")):
        return [c for c in core if c.isalpha()]  # initialisms such as "U.S." or "p.m" -> letters
    words: list[str] = []
    pending_currency: tuple[str, str] | None = None
    for piece in _WORD_CHARS.findall(lowered):
        if piece in _CURRENCY:
            pending_currency = _CURRENCY[piece]
        elif piece in _SYMBOLS:
            words.append(_SYMBOLS[piece])
        elif piece[0].isdigit():
            words.extend(number_words(piece))
            if pending_currency is not None:
                words.append(pending_currency[0] if piece == "1" else pending_currency[1])
                pending_currency = None
        else:
            piece = piece.strip("'")
            if piece:
                words.append(piece)
    return words


def number_words(numeral: str) -> list[str]:
    """Spoken words for a numeral such as ``"1845"``, ``"3.5"``, ``"2nd"``, ``"1,000"``, ``"1880s"``."""
    match = _NUMBER.match(numeral)
    if match is None:
        return [_ONES[int(c)] for c in numeral if c.isdigit()]
    integer_text, fraction, suffix = match.groups()
    digits = integer_text.replace(",", "")
    value = int(digits)
    if fraction is None and "," not in integer_text and len(digits) == 4 and 1100 <= value <= 2099 \
            and value % 1000 >= 10 and suffix not in ("st", "nd", "rd", "th"):
        words = _year_words(value)
    elif len(digits) > 1 and digits.startswith("0"):
        words = [_ONES[int(c)] for c in digits]  # "007" -> digits
    else:
        words = _integer_words(value)
    if fraction is not None:
        words = words + ["point"] + [_ONES[int(c)] for c in fraction]
    if suffix in ("st", "nd", "rd", "th"):
        words[-1] = _ordinal(words[-1])
    elif suffix in ("s", "'s"):
        words[-1] = words[-1][:-1] + "ies" if words[-1].endswith("y") else words[-1] + "s"
    return words


def _year_words(value: int) -> list[str]:
    high, low = divmod(value, 100)
    if value % 1000 < 10 and value >= 2000:
        return _integer_words(value)
    tail = ["hundred"] if low == 0 else (["oh", _ONES[low]] if low < 10 else _integer_words(low))
    return _integer_words(high) + tail


def _integer_words(value: int) -> list[str]:
    if value < 20:
        return [_ONES[value]]
    if value < 100:
        tens, ones = divmod(value, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return [_ONES[hundreds], "hundred"] + (_integer_words(rest) if rest else [])
    for scale, name in _SCALES:
        if value >= scale:
            high, rest = divmod(value, scale)
            return _integer_words(high) + [name] + (_integer_words(rest) if rest else [])
    raise AssertionError("unreachable")  # pragma: no cover


def _ordinal(word: str) -> str:
    if word in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[word]
    if word.endswith("y"):
        return word[:-1] + "ieth"
    return word + "th"


# Letter names, for initialisms and for single letters the dictionary lacks.
LETTER_NAMES = {
    "a": "EY", "b": "B IY", "c": "S IY", "d": "D IY", "e": "IY", "f": "EH F", "g": "JH IY", "h": "EY CH",
    "i": "AY", "j": "JH EY", "k": "K EY", "l": "EH L", "m": "EH M", "n": "EH N", "o": "OW", "p": "P IY",
    "q": "K Y UW", "r": "AA R", "s": "EH S", "t": "T IY", "u": "Y UW", "v": "V IY", "w": "D AH B AH L Y UW",
    "x": "EH K S", "y": "W AY", "z": "Z IY",
}

# Spelling -> sound rules, longest match first. Deliberately small: enough to give unknown names and
# coinages a plausible phone string of about the right length.
_RULES = sorted({
    "tch": "CH", "sch": "S K", "igh": "AY", "ough": "AO", "augh": "AO", "tion": "SH AH N", "sion": "ZH AH N",
    "ch": "CH", "sh": "SH", "th": "TH", "ph": "F", "wh": "W", "ck": "K", "ng": "NG", "qu": "K W",
    "gh": "G", "kn": "N", "wr": "R", "dg": "JH",
    "ee": "IY", "ea": "IY", "oo": "UW", "ou": "AW", "ow": "OW", "oi": "OY", "oy": "OY", "ai": "EY",
    "ay": "EY", "au": "AO", "aw": "AO", "ie": "IY", "ei": "EY", "ey": "IY", "oa": "OW", "ue": "UW",
    "ew": "UW", "ar": "AA R", "er": "ER", "ir": "ER", "ur": "ER", "or": "AO R",
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH", "i": "IH",
    "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P", "q": "K", "r": "R", "s": "S",
    "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S", "y": "IY", "z": "Z",
}.items(), key=lambda item: -len(item[0]))


def letter_pronunciation(word: str) -> str:
    """A rough ARPAbet pronunciation (space-separated, no stress) for a word the dictionary lacks.

    Single letters and vowel-less strings (``"pj"``) are spelled out letter by letter.
    """
    letters = "".join(c for c in word.lower() if "a" <= c <= "z")
    if not letters:
        raise ValueError(f"no letters in {word!r}; cannot make a pronunciation")
    if len(letters) == 1 or not re.search(r"[aeiouy]", letters):
        return " ".join(LETTER_NAMES[c] for c in letters)
    if letters.endswith("e") and len(letters) > 2 and letters[-2] not in "aeiouy":
        letters = letters[:-1]  # silent final e
    phones: list[str] = []
    position = 0
    while position < len(letters):
        for spelling, sound in _RULES:
            if letters.startswith(spelling, position):
                if not phones or phones[-1] != sound:  # doubled consonants sound once
                    phones.append(sound)
                position += len(spelling)
                break
        else:  # pragma: no cover - every letter a-z has a rule
            position += 1
    return " ".join(phones)
