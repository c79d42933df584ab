"""One scene message -> what is spoken, what is thought, and the stage directions.

CoSER and Moral RolePlay write every message as ``[inner thought] spoken words (action)`` in any order and
number: ``[Make him doubt.] (pausing strategically) 'Aye, my lord, ...'``. Thoughts are never spoken (an
option whispers them as an aside), actions are stage directions that steer the prosody, the rest is spoken.

The spoken text is cleaned for the voice's front-end: quote marks around the whole line, emoji and symbols
the front-end refuses, and characters that baton.syntax reads as markup (``* [ ] < > &``) are removed, so a
line is planned as plain words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_THOUGHT = re.compile(r"\[([^\[\]]*)\]")
_ACTION = re.compile(r"\(([^()]*)\)")
_MARKUP = re.compile(r"[*\[\]<>&_#~^|]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2014": " - ",
                         "\u2013": " - ", "\u2026": "...", "\u00a0": " "})


@dataclass(frozen=True)
class Message:
    """A parsed message. ``speech`` is '' for a line that is only thought or action."""

    speech: str
    thoughts: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()


def parse_message(message: str) -> Message:
    """Split ``[thought] speech (action)`` into its parts (see the module docstring)."""
    thoughts = tuple(t.strip() for t in _THOUGHT.findall(message) if t.strip())
    rest = _THOUGHT.sub(" ", message)
    actions = tuple(a.strip() for a in _ACTION.findall(rest) if a.strip())
    rest = _ACTION.sub(" ", rest)
    return Message(speech=clean_speech(rest), thoughts=thoughts, actions=actions)


def clean_speech(text: str) -> str:
    """Plain speakable text: typographic quotes normalised, markup characters and emoji removed, outer
    quote marks dropped, whitespace collapsed. Letters, digits and ordinary punctuation stay."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category.startswith(("So", "Sk", "Cs", "Co", "Cn", "Cc")) and char not in "\n\t":
            continue  # emoji and pictographs: the front-end refuses them, nobody speaks them
        kept.append(char)
    text = _MARKUP.sub(" ", "".join(kept))
    text = " ".join(text.split())
    # Quote marks are not words: double quotes go, and a single quote stays only between two letters
    # (an apostrophe: can't, Cassio's). "'Aye, my lord,' he said" -> "Aye, my lord, he said".
    text = text.replace('"', " ")
    text = re.sub(r"(?<![A-Za-z])'|'(?![A-Za-z])", " ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return " ".join(text.split())


def has_words(text: str) -> bool:
    return bool(re.search(r"[A-Za-z0-9]", text))


__all__ = ["Message", "parse_message", "clean_speech", "has_words"]
