"""Fine-control phrases of an instruction, for the embedded conductor's rule layer (:mod:`embedded_intent`).

Each rule is a regular expression over the lower-cased instruction and a function that updates the
:class:`~baton.conductors.embedded_intent.Intent`. A matched phrase is removed from the instruction, so the
emotion lexicon and the sentence embeddings see only what is left. Kinds:

* a question ("as a question", "with a rising end", "inquisitively"): the last segment rises;
* a pause after a named word ("hold a beat after 'door'", "let 'silence' hang");
* stress on a named word ("stress 'never'", "lean on 'really'", "give 'only' extra weight") or on a word by
  its place ("stress the second word");
* ramps (louder / softer towards the end, slow down / speed up at the end), speed, loudness, pitch,
  whisper, monotone / expressive.

The phrasings were collected from baton/data/instructions_dev.jsonl's misses (docs/conductor.md).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable

Apply = Callable[[Any, float], Any]
# A named word: optionally quoted (straight or curly quotes, or *stars*). Group "q" is the opening quote.
_WORD = r"(?P<q>[\"'“‘*])?(?P<w>[a-z0-9][\w'-]*)"
_THE_WORD = r"(?:the\s+word\s+|the\s+)?"
_END = r"(?:at|towards?|near|by|to)\s+the\s+end"
# Words an unquoted name cannot be ("pause after the first sentence" names no word).
_NOT_A_NAME = frozenset("""the a an it this that each every first second last next word sentence line one
into onto in on at to from with up out over off about through by for of me you him her them us it's its some
is are was were be been should must will would can could goes falls lands needs here there""".split())

_DEGREE_WORDS = r"much|a lot|way|far|a (?:little )?bit|a little|slightly|somewhat|even"
DEGREE = {"much": 1.6, "a lot": 1.6, "way": 1.8, "far": 1.6, "even": 1.3, "a bit": 0.55, "a little bit": 0.55,
          "a little": 0.55, "slightly": 0.55, "somewhat": 0.6}
"""A little is 0.55 of a step, so that "a little faster" is still 10 % faster (1.2 ** 0.55 = 1.105)."""

NAMED_PAUSE_S = 0.6
"""Pause after a named word ("hold a beat after 'door'") [s]."""
LONG_NAMED_PAUSE_S = 1.0
"""... when asked for a long or dramatic one [s]."""
OCTAVE_ST = 6.0
"""Shift for "an octave lower/higher": half an octave, so that the voice stays within its range."""

_SOFT = r"(?:soft|quiet)\w*"
_LOUD = r"loud\w*"
_FIRST = r"\s+(?:at\s+first|at\s+the\s+start|to\s+begin\s+with),?\s+(?:and\s+)?(?:then\s+)?"
"""The middle of "quiet at first, loud by the end": the end phrase (_END) is optional and left to the
lexicon-free residual."""

_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1, "final": -1}


def _mod(pattern: str, apply: Apply, negatable: bool = True) -> tuple[re.Pattern, Apply, bool]:
    """A modifier rule. ``negatable``: a negation before the phrase reverses it (``apply`` gets a negative
    degree: "not so fast" is slower, "no need to shout" softer); otherwise a negation cancels it ("not a
    question")."""
    return re.compile(rf"(?:(?P<deg>{_DEGREE_WORDS})\s+)?\b(?:{pattern})\b"), apply, negatable


# A negation in the three words before a phrase, inside its clause and conjunct ("don't speak too quickly",
# "less loud"; not "not sure and asking").
_NEGATED_BEFORE = re.compile(r"\b(?:not|no|don'?t|do\s+not|never|without|less|stop|quit|avoid|nor)\s+"
                             r"(?:(?!(?:and|but|or)\b)[a-z'-]+\s+){0,2}$")


def _ramp(db: float) -> Apply:
    return lambda i, d: replace(i, energy_ramp_db=i.energy_ramp_db + db * d)


def _volume(db: float) -> Apply:
    return lambda i, d: replace(i, volume_db=i.volume_db + db * d)


def _pitch(st: float) -> Apply:
    return lambda i, d: replace(i, pitch_st=i.pitch_st + st * d)


def _rate(ratio: float) -> Apply:
    return lambda i, d: replace(i, rate_ratio=i.rate_ratio * ratio ** d)


def _range(scale: float) -> Apply:
    """Negated, monotone becomes expressive ("don't be so monotone") and expressive monotone ("not animated")."""
    return lambda i, d: replace(i, range_scale=i.range_scale * (scale if d > 0 else 1.5 if scale < 1 else 0.25))


MODIFIERS: tuple[tuple[re.Pattern, Apply, bool], ...] = (
    # questions first: "end on a rising pitch" is not "higher pitch"
    # not a bare "question": "Question: what is ...?" is a heading, and is spoken (baton.prefix)
    _mod(r"(?:as|like|into|make\s+it|,)\s+an?\s+(?:yes[/-]?(?:or[/-])?no\s+)?question|question\s+mark|"
         r"inflect\w*\s+(?:it\s+)?up(?:ward)?s?|(?:intonation|inflection|tone|melody)\s+of\s+a\s+question|"
         r"questioning(?:ly)?|inquisitive(?:ly)?|quizzical(?:ly)?|"
         r"interrogative(?:ly)?|up-?talk|up-?speak|asking|ask\s+it|upward\s+inflection|"
         r"rising\s+(?:intonation|inflection|pitch|tone|contour|end(?:ing)?)|"
         r"(?:rise|rising|go(?:es|ing)?\s+up|lift(?:ing)?)\s+(?:at|towards?)\s+the\s+end|"
         r"end(?:ing)?\s+(?:on\s+a\s+|with\s+a\s+)?(?:rise|rising|high|up)(?:\s+(?:pitch|tone|note|intonation))?",
         lambda i, d: replace(i, question=True), negatable=False),
    _mod(r"(?:slow(?:s|ing)?\s+down|slower)\s+" + _END + r"|ritardando|rallentando",
         lambda i, d: replace(i, end_rate_ratio=i.end_rate_ratio * 0.75 ** d)),
    _mod(r"(?:speed(?:s|ing)?\s+up|faster)\s+" + _END + r"|accelerando|accelerat\w*",
         lambda i, d: replace(i, end_rate_ratio=i.end_rate_ratio * 1.3 ** d)),
    _mod(r"start\w*\s+(?:soft|quiet)\w*\s+and\s+(?:finish|end)\w*\s+loud\w*|" + _SOFT + _FIRST + _LOUD + r"|"
         r"from\s+(?:a\s+)?(?:murmur|whisper|hush|quiet|soft)\w*\s+to\s+(?:a\s+)?(?:shout|yell|roar|scream|loud)\w*|"
         r"(?:end|finish)(?:s|ing)?\s+(?:loud(?:ly)?|louder|strong(?:ly)?)|"
         r"(?:raise|raising|increase|increasing|turn(?:ing)?\s+up|build(?:ing)?\s+up|ramp(?:ing)?\s+up|"
         r"crank(?:ing)?\s+up)\s+(?:the\s+|your\s+)?"
         r"(?:volume|loudness)(?:\s+(?:as\s+you\s+go|gradually|" + _END + r"))?|"
         r"(?:ris\w*|grow\w*|swell\w*|increas\w*|build\w*)\s+in\s+(?:volume|loudness)(?:\s+" + _END + r")?|"
         r"(?:get(?:s|ting)?|grow(?:s|ing)?|build(?:s|ing)?|becom(?:e|es|ing))\s+(?:gradually\s+|steadily\s+)?"
         r"louder(?:\s+and\s+louder)?(?:\s+" + _END + r")?|louder\s+(?:and\s+louder|" + _END + r")|crescendo|"
         r"build(?:s|ing)?\s+(?:up|to\s+a\s+(?:climax|peak))|swell\w*", _ramp(8.0)),
    _mod(r"start\w*\s+loud\w*\s+and\s+(?:finish|end)\w*\s+(?:soft|quiet)\w*|" + _LOUD + _FIRST + _SOFT + r"|"
         r"(?:lower|reduce|decrease|turn\s+down|drop)\w*\s+(?:the\s+|your\s+)?(?:volume|loudness)\s+"
         r"(?:as\s+you\s+go|gradually|" + _END + r")|"
         r"(?:die|dies|dying|fall|falls|falling|drift|drifts|drifting)\s+(?:away|off|out)|"
         r"(?:get(?:s|ting)?|grow(?:s|ing)?|becom(?:e|es|ing))\s+(?:gradually\s+)?(?:quieter|softer|fainter)"
         r"(?:\s+" + _END + r")?|(?:quieter|softer)\s+(?:and\s+(?:quieter|softer)|" + _END + r")|"
         r"fad(?:e|es|ing)(?:\s+out|\s+away)?|dwindl\w*|trail(?:s|ing)?\s+off|diminuendo|decrescendo|peter(?:s|ing)?\s+out",
         _ramp(-8.0)),
    _mod(r"(?:barely|hardly|scarcely)\s+voiced|(?:mostly|all|only|just|pure)\s+(?:air|breath)|airy\s+voice|whisper\w*|hushed|under\s+(?:your|my|his|her|their|the|one's)\s+breath|sotto voce|breathy|"
         r"breathe\s+(?:the\s+words|it)|voiceless|unvoiced|(?:no|without\s+(?:any\s+)?)\s*voic(?:e|ing)",
         lambda i, d: replace(i, style="whisper"), negatable=False),
    _mod(r"shout\w*|yell\w*|scream\w*|bellow\w*|at the top of (?:your|my|his|her|their) lungs",
         lambda i, d: replace(i, volume_db=i.volume_db + 10.0 * d, centroid_st=i.centroid_st + 2.0 * d)),
    _mod(r"(?:no|without(?:\s+any)?|don'?t|do\s+not|never)\s+(?:rush\w*|hurry\w*)", _rate(0.8)),
    _mod(r"(?:at\s+)?(?:double|twice\s+the)\s+(?:the\s+)?(?:speed|pace|tempo)|(?:in\s+)?double[- ]time|speed\s+(?:it\s+)?up|rattl\w*\s+(?:it\s+)?off|at\s+a\s+(?:brisk|fast|quick|rapid)\s+(?:pace|clip)|"
         r"rapid-?fire|up\s+the\s+tempo|pick\s+up\s+the\s+pace|faster|quickly|quicker|quick|fast|rapid(?:ly)?|"
         r"hurr(?:y|ied|iedly)|rush(?:ed|ing)?|brisk(?:ly)?|hasty|hastily", _rate(1.2)),
    _mod(r"(?:at\s+)?half\s+(?:the\s+)?(?:speed|pace|tempo)|(?:in\s+)?half[- ]time|slow\s+(?:it\s+)?(?:right\s+)?down|drag\w*\s+(?:it\s+)?out|at\s+a\s+(?:slow|leisurely|relaxed|gentle|easy|lazy|calm|steady)\s+"
         r"(?:pace|tempo|speed|rate)|slower|slowly|slow|take (?:your|my|his|her|their) (?:own |sweet )?time|leisurely|unhurried(?:ly)?|drawn[- ]out|drawl\w*|"
         r"deliberately", _rate(0.8)),
    _mod(r"(?:drop|lower)\w*\s+(?:your|the|my|his|her)\s+(?:voice|pitch)\s+(?:by\s+)?an\s+octave|"
         r"an\s+octave\s+(?:lower|down|deeper)|down\s+an\s+octave", _pitch(-OCTAVE_ST)),
    _mod(r"(?:raise|lift)\w*\s+(?:your|the|my|his|her)\s+(?:voice|pitch)\s+(?:by\s+)?an\s+octave|"
         r"an\s+octave\s+(?:higher|up)|up\s+an\s+octave", _pitch(OCTAVE_ST)),
    _mod(r"lower (?:your|the|my|his|her) voice|quieter|quietly|quiet|softly|softer|soft-spoken|murmur\w*|"
         r"mumbl\w*|low volume|barely audible", _volume(-6.0)),
    _mod(r"louder|loudly|loud|projecting|booming|at full volume|forcefully", _volume(6.0)),
    _mod(r"higher(?:[- ]pitched)?|high[- ]pitched|(?:in\s+a\s+)?high(?:er)?\s+(?:pitch|voice|register)|"
         r"raise (?:your|the) pitch|pitch\s+(?:it\s+)?up|squeak\w*|falsetto|soprano", _pitch(3.0)),
    _mod(r"deeper|deepen\w*|deep voice|lower(?:[- ]pitched)?|low[- ]pitched|(?:in\s+a\s+)?low(?:er)?,?\s+(?:\w+\s+)?"
         r"(?:pitch|voice|register)|lower (?:your|the) pitch|pitch\s+(?:it\s+)?down|gravelly|gruff|husky|"
         r"baritone|bass\s+voice", _pitch(-3.0)),
    _mod(r"(?:tele)?phone\s*book|directory|shopping\s+list|reading\s+(?:out\s+)?(?:a\s+)?list|monoton\w*|flat(?:ly)?|talking\s+clock|toneless\w*|unchanging|automated|computeri[sz]ed|synthesi[sz]ed|"
         r"text[- ]to[- ]speech|(?:level|steady|constant|even),?\s+(?:pitch|tone|intonation)|robotic\w*|robot(?:-like|\s+voice)|like\s+a\s+robot|droning|mechanical(?:ly)?|deadpan|"
         r"like\s+a\s+(?:machine|computer)|machine-?like|(?:no|without\s+(?:any\s+)?)\s*ups\s+and\s+downs|"
         r"(?:all\s+)?on\s+(?:one|a\s+single|the\s+same)\s+(?:pitch|note|tone)|"
         r"(?:keep|hold)\s+(?:the\s+|your\s+)?pitch\s+(?:\w+\s+)?(?:level|steady|flat|constant|even)|"
         r"without\s+(?:any\s+)?(?:melody|intonation|inflection)|no\s+(?:intonation|inflection|melody)",
         _range(0.25)),
    _mod(r"expressive\w*|animated|lively|sing-?song|melodic\w*", _range(1.5)),
)

# Stress on a word by its place: "stress the second word", "emphasise the last word".
_ORDINAL_EMPHASIS = re.compile(
    r"\b(?:stress(?:es|ing)?|emphasi[sz](?:e|es|ing)|accent(?:uate)?|highlight|hit|lean\s+on|"
    r"(?:put|place)\s+(?:the\s+|some\s+)?(?:stress|emphasis|weight)\s+on)\s+the\s+"
    r"(?P<n>first|second|third|fourth|fifth|last|final)\s+word\b|"
    r"\bthe\s+(?P<n2>first|second|third|fourth|fifth|last|final)\s+word\s+(?:should|must|needs?\s+to)\s+(?:be\s+)?"
    r"(?:stressed|emphasi[sz]ed|accented)")
_EMPHASIS: tuple[re.Pattern, ...] = tuple(re.compile(p) for p in (
    r"\b(?:emphasi[sz](?:e|es|ing)|(?:put|place|with)\s+(?:the\s+|an?\s+|some\s+|extra\s+)?(?:stress|emphasis|weight)"
    r"\s+on|emphasis\s+on|stress(?:es|ing)?|accent(?:uate|uating)?|punch(?:ing)?|lean(?:ing)?\s+(?:on|in)?to|"
    r"lean(?:ing)?\s+on|hit(?:ting)?|highlight(?:ing)?|underline|underscore|focus(?:ing)?\s+on|bring(?:ing)?\s+out|"
    r"(?:give|giving|add|adding|put|putting)\s+(?:\w+\s+)?(?:emphasis|stress|weight)\s+to)\s+(?:on\s+)?"
    + _THE_WORD + _WORD,
    r"\bmake\s+" + _THE_WORD + _WORD + r"[\"'”’*]?\s+(?:stand\s+out|pop|prominent)",
    r"\bgive\s+" + _THE_WORD + _WORD + r"[\"'”’*]?\s+(?:\w+\s+)?(?:weight|stress|emphasis|punch|accent)",
    r"\b(?:say|pronounce|deliver)\s+" + _THE_WORD + _WORD + r"[\"'”’*]?\s+(?:with\s+(?:\w+\s+)?"
    r"(?:emphasis|stress|weight|force)|(?:more\s+)?(?:emphatically|forcefully|strongly|firmly))",
    r"(?:^|\s)" + _THE_WORD + _WORD + r"[\"'”’*]?\s+is\s+the\s+(?:important|key|main|stressed|focus)\s+"
    r"(?:one|word|bit|part)",
    r"(?:^|\s)" + _THE_WORD + _WORD + r"[\"'”’*]?\s+(?:(?:should|must|needs?\s+to)\s+(?:be\s+)?|is\s+|gets\s+)"
    r"(?:stressed|emphasi[sz]ed|accented|stand\s+out)",
    r"(?:^|\s)" + _THE_WORD + _WORD + r"[\"'”’*]?\s+needs?\s+(?:\w+\s+)?(?:stress|emphasis|weight)",
))
_PAUSE_WORDS = (r"pause|beat|break|breath|stop|silence|wait|rest|gap|moment|hesitat\w*|linger\w*|"
                r"hold\s+(?:a|the)\s+(?:beat|pause|moment)")
_NAMED_PAUSE: tuple[re.Pattern, ...] = tuple(re.compile(p) for p in (
    r"\b(?:" + _PAUSE_WORDS + r")\b[^'\"“‘*]{0,40}?\b(?:after|following|once\s+you(?:'ve|\s+have)?\s+said|"
    r"when\s+you(?:'ve|\s+have)?\s+said|when\s+you\s+(?:say|reach|get\s+to))\s+(?:the\s+word\s+|saying\s+|you\s+say\s+)?"
    + _WORD,
    r"\bafter\s+(?:the\s+word\s+|saying\s+)?" + _WORD + r"[\"'”’*]?,?\s+(?:\w+\s+){0,3}?(?:" + _PAUSE_WORDS + r")\b",
    r"\blet\s+" + _THE_WORD + _WORD + r"[\"'”’*]?\s+(?:hang|sink\s+in|land|breathe|ring)",
))
_LONG = re.compile(r"\b(?:long|longer|dramatic|big|full|extended|second|seconds)\b")


def _name(match: re.Match) -> str | None:
    """The named word of a match, or None when an unquoted 'name' is a function word."""
    word = match.group("w").strip("'")
    if not word or (not match.group("q") and word in _NOT_A_NAME):
        return None
    return word


def apply_named(text: str, intent):
    """Apply the phrases that name a word (stress, pause after it, stress by place) found in ``text``
    (lower-case, padded with spaces) to ``intent``. Returns the new intent, the text with the phrases
    removed, and whether any was found."""
    found = False

    def named(field: str, value_of: Callable[[re.Match, str], Any]) -> Callable[[re.Match], str]:
        def substitute(match: re.Match) -> str:
            nonlocal intent, found
            word = _name(match)
            if word is None:
                return match.group(0)  # "stop crying after the funeral" names no word: leave it for the lexicon
            intent = replace(intent, **{field: getattr(intent, field) + (value_of(match, word),)})
            found = True
            return " "
        return substitute

    def ordinal(match: re.Match) -> str:
        nonlocal intent, found
        place = match.group("n") or match.group("n2")
        intent = replace(intent, emphasis_index=intent.emphasis_index + (_ORDINALS[place],))
        found = True
        return " "

    text = _ORDINAL_EMPHASIS.sub(ordinal, text)
    for pattern in _NAMED_PAUSE:
        text = pattern.sub(named("pauses", lambda m, w: (w, LONG_NAMED_PAUSE_S if _LONG.search(
            m.string[max(0, m.start() - 16):m.end()]) else NAMED_PAUSE_S)), text)  # "a long pause after"
    for pattern in _EMPHASIS:
        text = pattern.sub(named("emphasis", lambda m, w: w), text)
    return intent, text, found


def apply_modifiers(text: str, intent):
    """Apply the modifier phrases (question, ramps, whisper, speed, loudness, pitch, range) found in ``text``;
    returns as :func:`apply_named` does."""
    found = False
    for pattern, apply, negatable in MODIFIERS:
        def modify(match: re.Match) -> str:
            nonlocal intent, found
            degree = DEGREE.get(match.group("deg") or "", 1.0)
            if _NEGATED_BEFORE.search(match.string[:match.start()]):
                if not negatable:
                    return " "  # "not a question", "don't whisper": nothing asked
                degree = -degree
            intent = apply(intent, degree)
            found = True
            return " "
        text = pattern.sub(modify, text)
    return intent, text, found


__all__ = ["apply_named", "apply_modifiers", "MODIFIERS", "DEGREE", "NAMED_PAUSE_S", "LONG_NAMED_PAUSE_S"]
