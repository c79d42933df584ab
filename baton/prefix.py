"""The ``"instruction: text"`` form: which words before a colon are an instruction, and which are text.

``"angrily: I told you twice."`` is an instruction and a text; ``"Note: the meeting has been moved."``,
``"Dear John: ..."``, ``"Ingredients: ..."``, ``"Warning: ..."`` and ``"Chapter one: ..."`` are text, and every
word of them is spoken. A prefix is taken only when it reads as something the conductor understands: an
emotion or manner phrase its rules recognise, an adverb of manner, or a manner phrase ("like someone who
...", "in a hushed voice"). A whole-sentence instruction ("Deeply unhappy.: ...") counts too. Anything else
is spoken: losing the user's words is worse than missing an instruction, which ``--instruction`` can
always give explicitly.
"""

from __future__ import annotations

import re

from baton.plan import text_words

# A prefix: letters, spaces, commas, apostrophes and hyphens, optionally ending a sentence ("Deeply
# unhappy.: ..."), then a colon and more text.
_PREFIX = re.compile(r"^\s*([A-Za-z][A-Za-z' ,-]{0,58}?)\s*\.?\s*:\s+(?=\S)")
_PREFIX_MAX_WORDS = 8
_PREFIX_MAX_UNKNOWN_WORDS = 3
"""At most this many words of a prefix may be unknown to the conductor's rules ("cheerful and upbeat, like a
morning show host": 'morning show host'); more and the prefix is ordinary text."""
# Manner phrases the rules need not know word by word: the embedded conductor's sentence embeddings (and
# LLM conductors) read them.
_MANNER = re.compile(
    r"\bas\s+(?:if|though)\s+\w|\blike\s+(?:a|an|someone|somebody|the|you're|you've|he's|she's|they're|"
    r"you\s+(?:just|had|were|are|have)|hearing|reading|talking|telling|speaking)\b|^sounding\b|"
    r"\bthe\s+way\s+(?:you|you'd|someone|a|an|people)\b|"
    r"\bin\s+(?:a|an|your|his|her|their)\s+(?:[\w'-]+\s+){0,3}(?:voice|tone|way|manner|whisper)\b|"
    r"\bwith\s+an?\s+(?:[\w'-]+\s+){0,3}(?:voice|tone)\b")
# One adverb in -ly ("sarcastically", "wistfully"), optionally after an intensity word; minus common words
# in -ly that are not adverbs of manner and open ordinary text ("Family: ...", "Reply: ...").
_ADVERB = re.compile(r"^(?:(?:very|really|so|quite|rather|slightly|a\s+bit|a\s+little|extremely|somewhat)\s+)?"
                     r"([a-z]{4,}ly)$")
_NOT_ADVERBS = frozenset("""
family italy july reply supply assembly anomaly butterfly monopoly rally ally belly bully jelly holly lily
emily sally kelly molly billy early daily weekly monthly yearly hourly nightly quarterly only friendly lovely
ugly silly holy oily curly elderly likely unlikely costly deadly orderly homily firefly dragonfly apply
comply multiply imply sicily kindly
""".split())
# Single words that name an emotion to the rules but usually open ordinary text as a heading or label.
_HEADINGS = frozenset("content gross blue cross wonder sunny horror shock bitter".split())
def reads_as_instruction(phrase: str) -> bool:
    """Whether ``phrase`` (the words before a colon) reads as an instruction rather than ordinary text.

    True for a manner or emotion phrase the embedded conductor's rules understand ("angrily", "deeply
    unhappy", "a bit happier than normal", "tired but trying to sound cheerful"), an adverb of manner
    ("sarcastically"), or a manner phrase ("like someone who just heard terrible news", "in a hushed
    voice"). False for headings, labels and salutations ("Note", "Dear John", "Ingredients", "Warning",
    "Chapter one") and for noun phrases that merely start with an emotion word ("Sad news", "Happy
    birthday"): those are spoken.
    """
    from baton.conductors.embedded_intent import Intent, parse_rules

    words = re.findall(r"[a-z][a-z'-]*", phrase.lower())
    if not words or len(words) > _PREFIX_MAX_WORDS:
        return False
    joined = " ".join(words)
    if _MANNER.search(joined):
        return True
    adverb = _ADVERB.match(joined)
    if adverb and adverb.group(1) not in _NOT_ADVERBS:
        return True
    if len(words) == 1 and words[0] in _HEADINGS:
        return False
    intent, residual = parse_rules(phrase)
    if intent == Intent(level=intent.level):  # nothing but (maybe) an intensity word was recognised
        return False
    unknown = residual.split()
    if len(unknown) > _PREFIX_MAX_UNKNOWN_WORDS:
        return False
    # "Sad news", "Happy birthday", "Angry birds": an emotion word followed by an unknown last word is a
    # noun phrase, not an instruction ("sad and tired" is, and so is "tired but cheerful").
    adjacent = re.search(r"[a-z][a-z'-]*\s+[a-z][a-z'-]*\W*$", phrase.lower())  # no comma between the two
    if len(words) >= 2 and words[-1] in unknown and adjacent:
        before, _ = parse_rules(words[-2])
        if before != Intent(level=before.level):
            return False
    return True


def split_prefix(text: str) -> tuple[str | None, str]:
    """``("angrily", "I told you.")`` for ``"angrily: I told you."``; ``(None, text)`` when the text has no
    prefix that :func:`reads_as_instruction`."""
    match = _PREFIX.match(text)
    if not match or not text_words(text[match.end():]):
        return None, text
    phrase = match.group(1).strip()
    if len(phrase.split()) > _PREFIX_MAX_WORDS or not reads_as_instruction(phrase):
        return None, text
    return phrase, text[match.end():]


__all__ = ["reads_as_instruction", "split_prefix"]
