"""Letter-to-sound rules for English words that are not in CMUdict.

A small, hand-written, greedy grapheme-cluster table (longest match first, a few context rules such as soft
c/g, silent final e and the "magic e" long vowel). It is a fallback for rare names and made-up words, not a
replacement for the dictionary: good enough that an unknown word is spoken plausibly rather than refused.
Output is ARPAbet with stress digits (first vowel primary stress, later vowels unstressed).
"""

from __future__ import annotations

VOWEL_LETTERS = set("aeiouy")
_LONG = {"a": "EY", "e": "IY", "i": "AY", "o": "OW", "u": "UW", "y": "AY"}
_SHORT = {"a": "AE", "e": "EH", "i": "IH", "o": "AA", "u": "AH", "y": "IH"}
_CLUSTERS: dict[str, tuple[str, ...]] = {
    "tion": ("SH", "AH", "N"), "sion": ("ZH", "AH", "N"), "ough": ("AO",), "augh": ("AO",), "eigh": ("EY",),
    "igh": ("AY",), "tch": ("CH",), "dge": ("JH",), "sch": ("S", "K"), "ture": ("CH", "ER"),
    "ch": ("CH",), "sh": ("SH",), "th": ("TH",), "ph": ("F",), "wh": ("W",), "ck": ("K",), "ng": ("NG",),
    "qu": ("K", "W"), "ee": ("IY",), "ea": ("IY",), "oo": ("UW",), "ou": ("AW",), "ow": ("OW",),
    "oi": ("OY",), "oy": ("OY",), "ai": ("EY",), "ay": ("EY",), "au": ("AO",), "aw": ("AO",), "ie": ("IY",),
    "ei": ("EY",), "oa": ("OW",), "ue": ("UW",), "ew": ("UW",), "er": ("ER",), "ar": ("AA", "R"),
    "or": ("AO", "R"), "ir": ("ER",), "ur": ("ER",), "x": ("K", "S"), "q": ("K",), "j": ("JH",),
    "b": ("B",), "d": ("D",), "f": ("F",), "h": ("HH",), "k": ("K",), "l": ("L",), "m": ("M",), "n": ("N",),
    "p": ("P",), "r": ("R",), "s": ("S",), "t": ("T",), "v": ("V",), "w": ("W",), "z": ("Z",),
}
_ARPA_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


def _letter_phones(word: str, i: int) -> tuple[tuple[str, ...], int]:
    """Phones for the grapheme cluster starting at ``word[i]`` and the number of letters it used."""
    rest = word[i:]
    if i == 0 and rest[:2] in ("kn", "wr", "gn"):
        return ((("N",) if rest[0] != "w" else ("R",)), 2)
    if rest.startswith("gh"):
        return (("G",), 2) if i == 0 else ((), 2)
    for size in (4, 3, 2):
        cluster = rest[:size]
        if len(cluster) == size and cluster in _CLUSTERS:
            return _CLUSTERS[cluster], size
    ch = rest[0]
    nxt = rest[1:2]
    if len(rest) > 1 and rest[1] == ch and ch not in VOWEL_LETTERS:  # doubled consonant
        phones, used = _letter_phones(word, i + 1)
        if not phones:  # the second letter is silent in its cluster ("ggh": "gh" inside a word): keep the first's
            return _letter_phones(ch, 0)[0], 1
        return phones, used + 1
    if ch == "c":
        return (("S",) if nxt in ("e", "i", "y") else ("K",)), 1
    if ch == "g":
        return (("JH",) if nxt in ("e", "i", "y") else ("G",)), 1
    if ch == "y":
        return (("Y",) if i == 0 else ("IY",)), 1
    if ch == "e" and i == len(word) - 1 and i > 0:
        return (), 1  # silent final e
    if rest == "age" and any(c in VOWEL_LETTERS for c in word[:i]):
        return ("IH", "JH"), 3  # unstressed final -age: village, chummage (not the magic-e "EY" of "page")
    if ch in _SHORT:
        # magic e: vowel + single consonant + final e -> long vowel (make, time, home, cute)
        if len(rest) == 3 and rest[2] == "e" and rest[1] not in VOWEL_LETTERS and i > 0 or (
                len(rest) == 3 and rest[2] == "e" and rest[1] not in VOWEL_LETTERS and len(word) <= 4):
            return (_LONG[ch],), 1
        if i == len(word) - 1 and ch in ("o", "e", "i", "a"):  # open final syllable: go, be, hi, pasta
            return ((_LONG[ch],) if ch != "a" else ("AH",)), 1
        return (_SHORT[ch],), 1
    if ch in _CLUSTERS:
        return _CLUSTERS[ch], 1
    return (), 1  # apostrophes and anything else: silent


def letters_to_sounds(word: str) -> list[str]:
    """ARPAbet (with stress digits) for a lower-case word of letters a-z and apostrophes.

    >>> letters_to_sounds("blick")
    ['B', 'L', 'IH1', 'K']
    """
    phones: list[str] = []
    i = 0
    while i < len(word):
        got, used = _letter_phones(word, i)
        phones.extend(got)
        i += used
    stressed = False
    out = []
    for p in phones:
        if p in _ARPA_VOWELS:
            out.append(p + ("0" if stressed else "1"))
            stressed = True
        else:
            out.append(p)
    if not stressed and out:  # no vowel letter at all ("hmm", "brr"): add a schwa so it is sayable
        out.insert(1 if len(out) > 1 else 0, "AH1")
    return out


__all__ = ["letters_to_sounds"]
