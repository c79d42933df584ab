"""Offline English text normalisation: numbers, currency, ordinals, years, abbreviations and symbols to words.

Works token by token (a whitespace-separated token in, zero or more words out), so that the front-end can keep
the map from every spoken word back to the token of the input text it came from. Standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

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
    "mar": "march", "apr": "april", "jun": "june", "jul": "july", "aug": "august", "sep": "september",
    "sept": "september", "oct": "october",
    "nov": "november", "dec": "december", "ca": "circa",
}
SYMBOLS = {"°F": "degrees fahrenheit", "°C": "degrees celsius", "<": "less than", ">": "greater than",
           "~": "about", "^": "to the power of", "|": " - ", "±": "plus or minus", "≤": "less than or equal to",
           "≥": "greater than or equal to", "≠": "not equal to", "≈": "approximately", "÷": "divided by",
           "μ": "micro", "§": "section", "©": "copyright", "®": "registered", "•": " - ", "→": " - ", "←": " - ",
           "·": " - ", "&": "and", "%": "percent", "+": "plus", "@": "at", "=": "equals", "#": "number", "°": "degrees",
           "×": "times", "½": "one half", "¼": "one quarter", "¾": "three quarters"}
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
             "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", "sen", "sen")}
# Letters that accent stripping cannot reduce to English letters.
_LETTERS = {"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ł": "l", "Ł": "L",
            "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "Þ": "Th", "ı": "i"}
_UNICODE_PUNCT = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": " - ",
                  "\u2026": "...", "\u00a0": " "}

_ROMAN = re.compile(r"^(X{0,3})(IX|IV|V?I{0,3})$")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
# After these words a Roman numeral is a cardinal ("World War II" -> "world war two", "Chapter IV" -> "chapter four").
CARDINAL_NUMERAL_WORDS = frozenset({
    "act", "appendix", "article", "book", "canto", "chapter", "class", "edition", "figure", "grade", "level", "part",
    "phase", "plate", "psalm", "scene", "section", "series", "stage", "table", "title", "type", "vol", "volume", "war",
})

_SCALE_WORDS = frozenset(("thousand", "million", "billion", "trillion"))
# Units read out only right after a number ("10 km", "10km"): (singular, plural).
UNITS = {
    "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"), "mm": ("millimeter", "millimeters"),
    "kg": ("kilogram", "kilograms"), "mg": ("milligram", "milligrams"), "ml": ("milliliter", "milliliters"),
    "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"), "mi": ("mile", "miles"),
    "yd": ("yard", "yards"), "mph": ("mile per hour", "miles per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"), "km/h": ("kilometer per hour", "kilometers per hour"),
    "hz": ("hertz", "hertz"), "khz": ("kilohertz", "kilohertz"), "mhz": ("megahertz", "megahertz"),
    "ghz": ("gigahertz", "gigahertz"), "kb": ("kilobyte", "kilobytes"), "mb": ("megabyte", "megabytes"),
    "gb": ("gigabyte", "gigabytes"), "tb": ("terabyte", "terabytes"), "kw": ("kilowatt", "kilowatts"),
    "μm": ("micrometer", "micrometers"), "μs": ("microsecond", "microseconds"), "μg": ("microgram", "micrograms"),
    "min": ("minute", "minutes"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"), "sec": ("second", "seconds"),
}
_FRACTION_WORDS = {2: ("half", "halves"), 4: ("quarter", "quarters")}
_FRACTION_DENOMINATORS = frozenset((2, 3, 4, 5, 6, 8, 10, 16))
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_MONTH_NAMES = frozenset(m.lower() for m in _MONTHS) | {k for k, v in ABBREVIATIONS.items() if v.title() in _MONTHS}
"""A month's name or its abbreviation (ABBREVIATIONS): a day number after one is an ordinal."""
_TIME = re.compile(r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?(?P<ampm>[ap]\.?m\.?)?$", re.IGNORECASE)
_WEB = re.compile(r"^(?:https?://)?(?:[\w-]+\.)+(?:com|org|net|edu|gov|io|ai|co|uk|de|fr|us|info|dev)(?:/[\w./-]*)?$",
                  re.IGNORECASE)
_DOTTED = re.compile(r"^[A-Za-z]{1,2}(?:\.[A-Za-z]{1,2})+\.?$")

_NUMBER = re.compile(r"^(?P<cur>[$£€¥])?(?P<num>\d[\d,]*(?:\.\d+)?|\.\d+)(?P<suffix>st|nd|rd|th|s|'s|%)?$",
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
        cents = int((frac_text + "0")[:2]) if frac_text else 0
        if whole == 0 and cents:  # $0.99 -> ninety-nine cents
            return f"{number_to_words(cents)} {sub_one if cents == 1 else sub_many}"
        words = f"{number_to_words(whole)} {one if whole == 1 else many}"
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


_NEVER_FINAL = frozenset("mr mrs ms dr st prof gen col capt lt sgt rev hon gov mt vs e.g i.e".split())
"""Abbreviations whose period never ends a sentence: titles written before a name, "vs." and "e.g."."""


def _abbreviation(key: str, at: "_Context") -> str | None:
    """The expansion of an abbreviation with its period, or None where the word is meant as written:
    'No.' is 'number' only before a number ('No. 5'; 'He said no.' stays), 'Mar.' is 'march' only before one,
    and 'St.' is 'street' after a capitalised word unless a capitalised word follows ('Main St.', 'St. Louis')."""
    if key in ("no", "mar") and not at.next_core[:1].isdigit():
        return None
    if key == "st" and not at.next_core[:1].isupper() and at.prev_core[:1].isupper():
        return "street"
    return ABBREVIATIONS[key]


def _period_ends(at: "_Context") -> bool:
    """Whether the period after a shortened word (an abbreviation, an acronym) also ends the sentence: at the end of
    the text, or before a capitalised word. The one rule the front-end's pauses and the conductor's sentences use."""
    return at.following is None or at.next_core[:1].isupper()


def _plain_number(text: str) -> float | None:
    """The value of a bare number token ("1,000", "2.5"), else None."""
    match = re.fullmatch(r"\d[\d,]*(?:\.\d+)?|\.\d+", text)
    return float(text.replace(",", "")) if match else None


def _time_words(core: str, following: str | None) -> str | None:
    """'3:30' -> 'three thirty', '3:05' -> 'three oh five', '3:00' -> "three o'clock", '7pm' -> 'seven P M'."""
    match = _TIME.match(core)
    if not match or (match.group("m") is None and match.group("ampm") is None):
        return None
    hour, minute = int(match.group("h")), int(match.group("m") or 0)
    if hour > 24 or minute > 59:
        return None
    ampm = match.group("ampm")
    words = number_to_words(hour)
    if minute:
        words += (" oh " if minute < 10 else " ") + number_to_words(minute)
    elif ampm is None and not _is_ampm(following):
        words += " o'clock"
    if ampm:
        words += " " + " ".join(ampm.replace(".", "").upper())
    return words


def _is_ampm(token: str | None) -> bool:
    return bool(token) and token.strip("\"'()[],;:!?").lower().rstrip(".") in ("am", "pm", "a.m", "p.m")


def _slash_words(core: str) -> str | None:
    """'1/2' -> 'one half', '3/4' -> 'three quarters', '12/25/2024' -> 'December twenty-fifth, twenty twenty-four'
    (month first unless the first number cannot be a month), '11/22' -> 'November twenty-second', '24/7' ->
    'twenty-four seven'. Fractions are proper ones over the usual denominators (halves to sixteenths, not 7 or 11ths,
    so 9/11 is a date)."""
    parts = core.split("/")
    if not all(p.isdigit() for p in parts) or len(parts) not in (2, 3):
        return None
    values = [int(p) for p in parts]
    if len(parts) == 3:
        month, day = (values[0], values[1]) if values[0] <= 12 else (values[1], values[0])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        year = values[2]
        year_text = year_words(year) if year >= 100 else ("oh " if year < 10 else "") + number_to_words(year)
        return f"{_MONTHS[month - 1]} {ordinal_words(day)}, {year_text}"
    top, bottom = values
    if 0 < top < bottom and bottom in _FRACTION_DENOMINATORS:
        one, many = _FRACTION_WORDS.get(bottom, (ordinal_words(bottom), ordinal_words(bottom) + "s"))
        return f"{number_to_words(top)} {one if top == 1 else many}"
    if 1 <= top <= 12 and 1 <= bottom <= 31:  # 11/22 -> November twenty-second
        return f"{_MONTHS[top - 1]} {ordinal_words(bottom)}"
    return f"{number_to_words(top)} {number_to_words(bottom)}"


def _web_words(core: str) -> str | None:
    """A web address or e-mail read out: 'www.example.com/a' -> 'W W W dot example dot com slash a',
    'ann@example.org' -> 'ann at example dot org'; None for anything else."""
    user, at, address = core.rpartition("@")
    if at and not re.fullmatch(r"[\w.+-]+", user):
        return None
    if not _WEB.match(address):
        return None
    address = re.sub(r"^https?://", "", address, flags=re.IGNORECASE)
    address = re.sub(r"^www\.", "W W W.", address, flags=re.IGNORECASE)
    spoken = address.replace(".", " dot ").replace("/", " slash ")
    if at:
        spoken = user.replace(".", " dot ") + " at " + spoken
    return re.sub(r"\s+", " ", spoken).strip()


def _digit_groups(core: str) -> str | None:
    """Hyphenated digit groups that are not a range, as a phone number is read: '555-1234' ->
    'five five five, one two three four'. A range ('1914-1918', '10-20') returns None."""
    parts = core.split("-")
    if len(parts) == 2 and (len(parts[0]) == len(parts[1]) <= 4 or max(map(len, parts)) <= 2):
        return None
    return ", ".join(_digits(p) for p in parts)


def _unit_words(unit: str, value: float | None) -> str | None:
    names = UNITS.get(unit.lower())
    if names is None or value is None:
        return None
    return names[0] if value == 1 else names[1]


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


def normalize_token(token: str, previous: str | None = None, following: str | None = None) -> str:
    """One whitespace token -> its spoken form (words and punctuation, lower-case letters kept as given).

    ``"$3.50,"`` -> ``"three dollars and fifty cents,"``; ``"Dr."`` -> ``"doctor"``; ``"21st"`` -> ``"twenty-first"``.
    The tokens around it (as written) settle what a token alone cannot: ``"II"`` after ``"George"`` is
    ``"the second"``, after ``"War"`` ``"two"``; ``"$1.5"`` before ``"million"`` is ``"one point five"`` and the
    ``"million"`` becomes ``"million dollars"``; ``"km"`` after a number is ``"kilometers"``; a dotted acronym
    (``"U.S."``) is spelled, and its period is no sentence end before a lower-case word. Characters that are not
    speakable are left in place; the front-end rejects them with a clear error.
    """
    for src, dst in (*_UNICODE_PUNCT.items(), *_LETTERS.items()):
        token = token.replace(src, dst)
    token = unicodedata.normalize("NFKD", token)
    token = "".join(ch for ch in token if not unicodedata.combining(ch))  # café -> cafe
    lead = re.match(r"^[\"'(\[{]*", token).group(0)
    token = token[len(lead):]
    trail = re.search(r"[\"')\]}.,;:!?]*$", token).group(0)
    core = token[: len(token) - len(trail)] if trail else token
    at = _Context(core, trail, previous, following, _core(previous), _core(following))
    for reader in _READERS:
        read = reader(at)
        if read is not None:
            words, trail = read
            return lead + words + trail
    return lead + _spell_symbols(core) + trail


class _Context(NamedTuple):
    """A token split for the readers: its core and trailing punctuation, the tokens around it as written, and
    their cores (without quotes, brackets and trailing punctuation; '' where there is none)."""

    core: str
    trail: str
    previous: str | None
    following: str | None
    prev_core: str
    next_core: str


_Read = tuple[str, str] | None
"""A reader's result: (spoken words, the trailing punctuation to keep), or None when the token is not its kind."""


def _read_abbreviation(at: _Context) -> _Read:
    """Dr. -> doctor; e.g. -> for example (the period is kept only where it also ends a sentence)."""
    key = at.core.lower()
    if at.trail.startswith(".") and key in ABBREVIATIONS:
        expanded = _abbreviation(key, at)
        if expanded is not None:
            ends = key not in _NEVER_FINAL and _period_ends(at)
            return expanded, (at.trail if ends else at.trail[1:])
    if key.rstrip(".") in ("e.g", "i.e"):
        return ABBREVIATIONS[key.rstrip(".")], at.trail.lstrip(".")
    return None


def _read_ampm(at: _Context) -> _Read:
    """'pm' after a time or number -> 'P M'."""
    if _is_ampm(at.core + at.trail) and at.prev_core[-1:].isdigit():
        return " ".join(at.core.replace(".", "").upper()), at.trail.lstrip(".")
    return None


def _read_dotted(at: _Context) -> _Read:
    """U.S. -> U S; Ph.D. -> P H D; the period is kept only where it also ends a sentence."""
    if _DOTTED.match(at.core + at.trail[:1]) and "." in at.core:
        return (" ".join(ch.upper() for ch in at.core if ch.isalpha()),
                at.trail if _period_ends(at) else at.trail.lstrip("."))
    return None


def _read_initial(at: _Context) -> _Read:
    """An initial: a capital with a period before a capitalised word ("John F. Kennedy") has no pause after it."""
    if re.fullmatch(r"[A-Z]", at.core) and at.trail.startswith(".") and at.next_core[:1].isupper():
        return at.core, at.trail[1:]
    return None


def _read_numeral(at: _Context) -> _Read:
    words = _numeral_words(at.core, at.previous)
    return None if words is None else (words, at.trail)


def _read_time(at: _Context) -> _Read:
    words = _time_words(at.core, at.following)
    return None if words is None else (words, at.trail)


def _read_scale_word(at: _Context) -> _Read:
    """'million' after '$1.5' -> 'million dollars' (the amount before it leaves its unit to this word)."""
    if at.core.lower() in _SCALE_WORDS and at.prev_core[:1] in _CURRENCY and \
            _plain_number(at.prev_core[1:]) is not None:
        return at.core + " " + _CURRENCY[at.prev_core[:1]][1], at.trail
    return None


def _read_unit(at: _Context) -> _Read:
    words = _unit_words(at.core, _plain_number(at.prev_core))
    return None if words is None else (words, at.trail)


def _read_negative(at: _Context) -> _Read:
    """-5 -> minus five (not after a number: '3 -5' is a range or a sum)."""
    if re.fullmatch(r"[-\u2212]\d[\d,]*(?:\.\d+)?", at.core) and not at.prev_core[-1:].isdigit():
        return "minus " + _expand_number(_NUMBER.match(at.core[1:])), at.trail
    return None


def _read_month_day(at: _Context) -> _Read:
    """'5' after 'Jan.' -> 'fifth'."""
    if at.prev_core.lower() in _MONTH_NAMES and re.fullmatch(r"\d{1,2}", at.core) and 1 <= int(at.core) <= 31:
        return ordinal_words(int(at.core)), at.trail
    return None


def _read_web(at: _Context) -> _Read:
    words = _web_words(at.core)
    return None if words is None else (words, at.trail)


def _read_word_slash(at: _Context) -> _Read:
    """and/or -> 'and or'; N/A -> 'not applicable'."""
    if re.fullmatch(r"[A-Za-z]+/[A-Za-z]+", at.core):
        return ("not applicable" if at.core.lower() == "n/a" else at.core.replace("/", " ")), at.trail
    return None


def _read_number(at: _Context) -> _Read:
    """Numbers, money, ordinals, years, percentages; '$1.5' before 'million' leaves its unit to that word."""
    match = _NUMBER.match(at.core)
    if match is None:
        return None
    if match.group("cur") and at.next_core.lower() in _SCALE_WORDS:
        return _expand_number(_NUMBER.match(match.group("num"))), at.trail
    return _expand_number(match), at.trail


def _read_slash_numbers(at: _Context) -> _Read:
    words = _slash_words(at.core) if re.fullmatch(r"\d+(?:/\d+)+", at.core) else None
    return None if words is None else (words, at.trail)


def _read_hyphen_numbers(at: _Context) -> _Read:
    """Ranges (1914-1918 -> 'nineteen fourteen to nineteen eighteen') or digit groups (555-1234)."""
    if not re.fullmatch(r"\d+(?:-\d+)+", at.core):
        return None
    groups = _digit_groups(at.core)
    if groups is not None:
        return groups, at.trail
    return " to ".join(_expand_number(_NUMBER.match(p)) for p in at.core.split("-")), at.trail


def _read_glued_unit(at: _Context) -> _Read:
    """10km -> 'ten kilometers'."""
    glued = re.fullmatch(r"(\d[\d,]*(?:\.\d+)?)([A-Za-zμ/]+)", at.core)
    unit = _unit_words(glued.group(2), _plain_number(glued.group(1))) if glued else None
    return None if unit is None else (_expand_number(_NUMBER.match(glued.group(1))) + " " + unit, at.trail)


_READERS = (_read_abbreviation, _read_ampm, _read_dotted, _read_initial, _read_numeral, _read_time, _read_scale_word, _read_unit,
            _read_negative, _read_month_day, _read_web, _read_word_slash, _read_number, _read_slash_numbers,
            _read_hyphen_numbers, _read_glued_unit)
"""Tried in this order; the first that reads the token gives its spoken form."""


def _spell_symbols(core: str) -> str:
    """What no reader took: digits glued to letters (3D, B52) expanded, symbols and currency signs as words."""
    parts = re.split(r"(\d[\d,]*(?:\.\d+)?)", core)
    if len(parts) > 1:
        core = " ".join(p if not p[:1].isdigit() else _expand_number(_NUMBER.match(p)) for p in parts if p)
    for sym, word in SYMBOLS.items():
        if sym in core:
            core = core.replace(sym, f" {word} ")
    for cur, (_, many, _, _) in _CURRENCY.items():
        core = core.replace(cur, f" {many} ")
    return re.sub(r"\s+", " ", core).strip()


def _core(token: str | None) -> str:
    """A token without its surrounding quotes, brackets and trailing punctuation ('' for None)."""
    if not token:
        return ""
    return re.sub(r"[\"')\]}.,;:!?]+$", "", token.lstrip("\"'([{"))


def normalize(text: str) -> str:
    """Spoken form of ``text`` (see :func:`normalize_token`); whitespace collapsed to single spaces."""
    for src, dst in _UNICODE_PUNCT.items():
        text = text.replace(src, dst)
    tokens = text.split()
    return " ".join(n for n in (normalize_token(*context(tokens, i)) for i in range(len(tokens))) if n)


def context(tokens: list[str], index: int) -> tuple[str, str | None, str | None]:
    """(token, the one before, the one after) for :func:`normalize_token`."""
    return (tokens[index], tokens[index - 1] if index else None,
            tokens[index + 1] if index + 1 < len(tokens) else None)


__all__ = ["context", "normalize", "normalize_token", "number_to_words", "ordinal_words", "roman_value", "year_words",
           "ABBREVIATIONS", "CARDINAL_NUMERAL_WORDS", "SYMBOLS", "UNITS"]
