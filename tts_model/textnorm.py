"""Offline English text normalisation: numbers, currency, ordinals, years, abbreviations and symbols to words.

Works token by token (a whitespace-separated token in, zero or more words out), so that the front-end can keep
the map from every spoken word back to the token of the input text it came from. Standard library only.
"""

from __future__ import annotations

import re
import unicodedata

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10 ** 12, "trillion"), (10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand")]
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}

# Abbreviations expanded only when written with their period (``Dr.``), matched case-insensitively.
ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miz", "dr": "doctor", "st": "saint", "jr": "junior",
    "sr": "senior", "prof": "professor", "gen": "general", "col": "colonel", "capt": "captain",
    "lt": "lieutenant", "sgt": "sergeant", "rev": "reverend", "hon": "honorable", "gov": "governor",
    "co": "company", "corp": "corporation", "inc": "incorporated", "ltd": "limited", "no": "number",
    "vs": "versus", "etc": "et cetera", "e.g": "for example", "i.e": "that is", "approx": "approximately",
    "dept": "department", "ft": "feet", "mt": "mount", "ave": "avenue", "jan": "january", "feb": "february",
    "mar": "march", "apr": "april", "aug": "august", "sept": "september", "oct": "october",
    "nov": "november", "dec": "december",
}
SYMBOLS = {"&": "and", "%": "percent", "+": "plus", "@": "at", "=": "equals", "#": "number", "°": "degrees",
           "×": "times", "½": "one half", "¼": "one quarter", "¾": "three quarters"}
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
             "€": ("euro", "euros", "cent", "cents")}
_UNICODE_PUNCT = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": " - ",
                  "\u2026": "...", "\u00a0": " "}

_ROMAN = re.compile(r"^(X{0,3})(IX|IV|V?I{0,3})$")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
# After these words a Roman numeral is a cardinal ("World War II" -> "world war two", "Chapter IV" -> "chapter four").
CARDINAL_NUMERAL_WORDS = frozenset({
    "act", "appendix", "article", "book", "canto", "chapter", "class", "edition", "figure", "grade", "level", "part",
    "phase", "plate", "psalm", "scene", "section", "series", "stage", "table", "title", "type", "vol", "volume", "war",
})

_NUMBER = re.compile(r"^(?P<cur>[$£€])?(?P<num>\d[\d,]*(?:\.\d+)?|\.\d+)(?P<suffix>st|nd|rd|th|s|'s|%)?$",
                     re.IGNORECASE)


def number_to_words(n: int) -> str:
    """Cardinal words for a non-negative integer: 1234 -> 'one thousand two hundred thirty-four'."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("-" + _ONES[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + (" " + number_to_words(rest) if rest else "")
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return number_to_words(high) + " " + name + (" " + number_to_words(rest) if rest else "")
    raise AssertionError("unreachable")


def ordinal_words(n: int) -> str:
    """Ordinal words: 21 -> 'twenty-first'."""
    words = number_to_words(n)
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return head + sep + last


def year_words(n: int) -> str:
    """A year read the usual way: 1990 -> 'nineteen ninety', 1905 -> 'nineteen oh five', 2000 -> 'two thousand'."""
    if 2000 <= n <= 2009 or n % 1000 == 0 and n < 10000 or not 1000 <= n <= 9999:
        return number_to_words(n)
    high, low = divmod(n, 100)
    if low == 0:
        return number_to_words(high) + " hundred"
    return number_to_words(high) + (" oh " if low < 10 else " ") + number_to_words(low)


def _digits(text: str) -> str:
    return " ".join(_ONES[int(d)] for d in text)


def _expand_number(match: re.Match[str]) -> str:
    currency, num, suffix = match.group("cur"), match.group("num").replace(",", ""), (match.group("suffix") or "")
    suffix = suffix.lower()
    whole_text, _, frac_text = num.partition(".")
    whole = int(whole_text) if whole_text else 0
    if currency:
        one, many, sub_one, sub_many = _CURRENCY[currency]
        words = f"{number_to_words(whole)} {one if whole == 1 else many}"
        if frac_text:
            cents = int((frac_text + "0")[:2])
            if cents:
                words += f" and {number_to_words(cents)} {sub_one if cents == 1 else sub_many}"
        return words
    if suffix in ("st", "nd", "rd", "th") and not frac_text:
        return ordinal_words(whole)
    if frac_text:
        words = f"{number_to_words(whole)} point {_digits(frac_text)}"
    elif 1100 <= whole <= 2099 and "," not in match.group("num") and suffix != "%":
        words = year_words(whole)
    else:
        words = number_to_words(whole)
    if suffix in ("s", "'s"):  # the 1990s, 3s
        words = words[:-1] + "ies" if words.endswith("y") else words + ("es" if words.endswith("x") else "s")
    elif suffix == "%":
        words += " percent"
    return words


def roman_value(text: str) -> int | None:
    """1..39 for a Roman numeral written in capitals with I, V and X (``"XIV"`` -> 14), else None."""
    if not text or not _ROMAN.match(text):
        return None
    values = [_ROMAN_VALUES[ch] for ch in text]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _numeral_words(core: str, previous: str | None) -> str | None:
    """The spoken form of a Roman numeral read from its context, or None when ``core`` is not read as one.

    After a word of :data:`CARDINAL_NUMERAL_WORDS` it is a cardinal ("War II" -> "two"); after another capitalised
    word, a regnal ordinal ("George II" -> "the second", "Henry V" -> "the fifth"). The single letters "I" and "X"
    are never regnal ("then I", "Malcolm X"), and a previous token ending in punctuation breaks the link."""
    value = roman_value(core)
    if value is None or not previous or not re.fullmatch(r"[\"'(\[]*[A-Za-z]+", previous):
        return None
    word = previous.lstrip("\"'([")
    if word.lower() in CARDINAL_NUMERAL_WORDS and (core != "I" or word[0].isupper()):  # "the war I saw": a pronoun
        return number_to_words(value)
    if word[0].isupper() and not word.isupper() and core not in ("I", "X"):
        return "the " + ordinal_words(value)
    return None


def normalize_token(token: str, previous: str | None = None) -> str:
    """One whitespace token -> its spoken form (words and punctuation, lower-case letters kept as given).

    ``"$3.50,"`` -> ``"three dollars and fifty cents,"``; ``"Dr."`` -> ``"doctor"``; ``"21st"`` -> ``"twenty-first"``.
    ``previous`` (the token before, as written) reads Roman numerals: ``"II"`` after ``"George"`` is
    ``"the second"``, after ``"War"`` ``"two"``. Characters that are not speakable are left in place; the front-end
    rejects them with a clear error.
    """
    for src, dst in _UNICODE_PUNCT.items():
        token = token.replace(src, dst)
    token = unicodedata.normalize("NFKD", token)
    token = "".join(ch for ch in token if not unicodedata.combining(ch))  # café -> cafe
    lead = re.match(r"^[\"'(\[{]*", token).group(0)
    token = token[len(lead):]
    trail = re.search(r"[\"')\]}.,;:!?]*$", token).group(0)
    core = token[: len(token) - len(trail)] if trail else token
    # Abbreviations keep their trailing period in ``trail``; "Dr." -> core "Dr", trail ".".
    if trail.startswith(".") and core.lower() in ABBREVIATIONS:
        return lead + ABBREVIATIONS[core.lower()] + trail[1:]
    if core.lower().rstrip(".") in ("e.g", "i.e"):
        return lead + ABBREVIATIONS[core.lower().rstrip(".")] + trail.lstrip(".")
    numeral = _numeral_words(core, previous)
    if numeral is not None:
        return lead + numeral + trail
    match = _NUMBER.match(core)
    if match:
        return lead + _expand_number(match) + trail
    if re.fullmatch(r"\d+(?:-\d+)+", core):  # ranges and dates: 1914-1918
        return lead + " to ".join(_expand_number(_NUMBER.match(p)) for p in core.split("-")) + trail
    parts = re.split(r"(\d[\d,]*(?:\.\d+)?)", core)
    if len(parts) > 1:  # digits glued to letters: 3D, B52
        core = " ".join(p if not p[:1].isdigit() else _expand_number(_NUMBER.match(p)) for p in parts if p)
    for sym, word in SYMBOLS.items():
        if sym in core:
            core = core.replace(sym, f" {word} ")
    for cur, (_, many, _, _) in _CURRENCY.items():
        core = core.replace(cur, f" {many} ")
    core = re.sub(r"\s+", " ", core).strip()
    return lead + core + trail


def normalize(text: str) -> str:
    """Spoken form of ``text`` (see :func:`normalize_token`); whitespace collapsed to single spaces."""
    for src, dst in _UNICODE_PUNCT.items():
        text = text.replace(src, dst)
    tokens = text.split()
    return " ".join(n for n in (normalize_token(t, tokens[i - 1] if i else None) for i, t in enumerate(tokens)) if n)


__all__ = ["normalize", "normalize_token", "number_to_words", "ordinal_words", "roman_value", "year_words",
           "ABBREVIATIONS", "CARDINAL_NUMERAL_WORDS", "SYMBOLS"]
