"""Instruction controls by sense, not by phrase: the embedded conductor's second rule layer.

The phrase rules (:mod:`embedded_controls`) match whole wordings ("hold a beat after 'door'"); a wording
nobody listed fails. This layer reads what is left after them as *words with a sense*, in families:

* words are normalised (quotes of any style, British spellings) and reduced to candidate base forms
  (``dawdling`` -> dawdle, ``quieter`` -> quiet, ``notches`` -> notch), then looked up in a small curated
  lexicon per sense (fast, slow, loud, soft, high, low, rise, fall, volume, pitch, end, pause, stress, ask,
  monotone, variation, expressive, whisper);
* negation flips a direction or cancels a cue ("don't dawdle" is faster, "not so fast" slower, "no need to
  shout" softer, "with zero inflection" monotone);
* senses combine within a clause: a volume word and an end word make a ramp ("let your voice sink to a
  murmur by the end"), a rise and an end without a volume word make a question ("lift the last word"), a
  direction and a pitch word make a pitch shift ("drop the pitch a little");
* a named word (quoted in any style, or "the word x") is paused after when a pause word is near, otherwise
  stressed when a stress word is near ("make the word 'free' louder than the rest").

Words a rule used are removed, as in :mod:`embedded_controls`, so that the emotion lexicon and the sentence
embeddings see only the rest. The lexicons were written from the kinds of issue 22 item 4 and from English
usage, not from one item set (docs/conductor.md has the held-out scores).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from baton.conductors.embedded_controls import DEGREE, LONG_NAMED_PAUSE_S, NAMED_PAUSE_S

# --- normalisation --------------------------------------------------------------------------------------
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "`": "'", "´": "'", "“": '"', "”": '"', "„": '"',
                         "«": '"', "»": '"', "‹": "'", "›": "'"})
_BRITISH = ((r"\b(emphas|accentu|synthes|computer|robot|vocal|dramat)is(e|ed|es|ing)\b", r"\1iz\2"),
            (r"\bcolour", "color"), (r"\benquir", "inquir"), (r"\bsavour", "savor"), (r"\binflexion", "inflection"))


def normalise(instruction: str) -> str:
    """Lower case, one straight quote style, American spellings, single spaces, padded with a space."""
    text = instruction.lower().translate(_QUOTES)
    for pattern, repl in _BRITISH:
        text = re.sub(pattern, repl, text)
    return " " + re.sub(r"\s+", " ", text).strip() + " "


_SUFFIXES = ("ingly", "edly", "ily", "ly", "ing", "ied", "ed", "ier", "iest", "er", "est", "ies", "es", "s", "y")


@lru_cache(maxsize=4096)
def lemmas(word: str) -> frozenset[str]:
    """Candidate base forms of ``word``: itself and each suffix removed (with a dropped ``e`` restored, a
    doubled consonant undone and ``i`` back to ``y``). Over-generates on purpose: only forms that are in a
    lexicon matter."""
    out = {word}
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            stem = word[:-len(suffix)]
            out.update((stem, stem + "e"))
            if suffix in ("ily", "ier", "iest", "ies", "ied"):
                out.add(stem + "y")
            if len(stem) >= 3 and stem[-1] == stem[-2]:
                out.add(stem[:-1])
    return frozenset(out)


def _senses(words: str) -> frozenset[str]:
    return frozenset(words.split())


FAST = _senses("fast quick rapid speed speedy hurry rush brisk swift haste hasty hastily race zip zippy pacy pacey snappy "
               "hustle hasten quicken accelerate clip urgent breathless rattle sprint gallop breakneck nippy")
SLOW = _senses("slow leisurely unhurried dawdle drawl languid lazy sluggish crawl measured deliberate unrushed "
               "plod ponderous savor stately stretch linger lingering snail snail's tortoise amble meander stroll "
               "saunter glacial molasses")
SPEED_NOUNS = _senses("pace speed tempo rate")
LOUD = _senses("belt blast louden loud shout yell scream bellow roar boom blare project forceful thunderous noisy holler "
               "full-volume")
SOFT = _senses("gone quieten hush quiet soft murmur mumble muted muffled subdued nothing silence inaudible barely hush")
SOFT_TARGETS = _senses("gone nothing silence barely")
"""Soft only as where a fall or the end leads ("drop to almost nothing by the end"), not alone ("as though all
hope is gone")."""
VOLUME_NOUNS = _senses("volume loudness level power force intensity strength energy projection")
EFFORT = _senses("power force intensity strength energy projection")
"""Volume nouns that mean more by themselves ("end with real force"; "with less force" is softer)."""
RISE = _senses("gather rise raise lift climb grow swell build increase mount ramp intensify boost gain heighten surge "
               "escalate pump up upward upwards upturn uptick upswing inflect tilt curl")
FALL = _senses("fall drop sink fade dwindle die trail tail taper diminish ebb decline subside soften quieten wane "
               "decay shrink lessen reduce lower down recede drift peter ease slacken cut lose")
PROGRESSIVE = _senses("gather ramp fade dwindle trail tail taper peter ebb swell crescendo decrescendo diminuendo build climb mount "
                      "escalate grow die wane subside recede")
FADE = _senses("fade dwindle taper ebb wane subside decrescendo diminuendo trail tail peter die wind")
"""Verbs that are a fading volume by themselves ("tail off quietly"); trail, tail, peter, die with off/away/out."""
SWELL = _senses("swell crescendo")
LEVEL_UP = _senses("full max maximum top peak high")
LEVEL_DOWN = _senses("min minimum zero low")
"""Levels that say loud or soft only next to a volume noun ("finish at full volume")."""
_RAISE, _LOWER = _senses("raise"), _senses("lower drop")
_WITH_PARTICLE = _senses("trail tail peter die dy wind")
END = _senses("end ending finish close conclusion last final gradually gradual progressively steadily increasingly "
              "eventually finally until till")
HIGH = _senses("high squeaky shrill piping falsetto soprano treble helium chipmunk")
LOW = _senses("low deep bass baritone gravelly gruff husky rumbling sonorous growly")
PITCH_ALONE = _senses("squeaky shrill piping falsetto soprano treble helium chipmunk bass baritone gravelly gruff "
                      "husky sonorous growly")
PITCH_NOUNS = _senses("pitch register key note notch tone octave voice")
ASK = _senses("ask query inquire inquiry interrogative interrogate quizzical inquisitive questioning confirm "
            "confirmation verify wondering checking double-checking double-check")
MONOTONE = _senses("monotone monotonous monotonic drone robot robotic automaton android machine mechanical computer "
                   "automate synthetic toneless uninflected expressionless affectless lifeless deadpan flat one-note "
                   "dalek clock metronome satnav sat-nav gps answerphone voicemail dull bored boring listless tedious "
                   "flatten zombie uninterested disinterested apathetic")
STEADY = _senses("level even steady constant same one single unchanging unvarying fixed uniform")
VARIATION = _senses("variation vary variety change movement move inflection intonation melody rise fall ups downs "
                    "expression modulation modulate fluctuation fluctuate swing lilt music musicality wobble contour color "
                    "life feeling")
EXPRESSIVE = _senses("expressive animated lively dynamic varied sing-song singsong melodic musical colorful vivid")
WHISPER = _senses("whisper whispery hush voiceless unvoiced sotto")
NEGATORS = _senses("not no don't dont never without nor less zero none avoid stop quit minimal minimum "
                   "hardly isn't aren't strip remove lose kill eliminate iron drain devoid lacking lack")
DRAINED = _senses("drained stripped removed gone taken flattened ironed")
"""Negation after the word ("with all the colour drained out of your voice")."""
PAUSE = _senses("count pause beat break breath breather breathe stop halt silence silent wait rest gap moment second sec "
                "hesitate hesitation linger hang hold caesura interval space hush stall freeze still suspense hiatus lull")
STRONG_PAUSE = _senses("count pause beat break breath breather silence gap rest moment second hesitate hesitation linger "
                       "hang freeze halt caesura interval")
STRESS = _senses("stress emphasis emphasize emphatic accent accentuate weight punch hit lean highlight underline "
                 "underscore bold spotlight focus stand pop prominent prominence important key main loud strong force "
                 "forceful firm hard clear crisp extra land mark drive attention special enunciate bite slam bang "
                 "nail push press single isolate flag shout power intensity oomph energy hammer matter count crucial central vital essential word ring resound "
                 "shine")
LONG = _senses("long dramatic big full extended lengthy good proper generous healthy seconds")
NOUN_CUES = _senses("robot automaton android machine computer dalek clock metronome satnav sat-nav gps drone bass baritone soprano treble falsetto")
"""Nouns that are a cue only after another word of their clause ("like a bored automaton", "an even drone"):
first in a clause they are headings or noun phrases ("Robot:", "Bass guitar:", baton.prefix)."""
_FUNCTION = frozenset("the a an it this that each every first second last next word sentence line one and or but "
                      "then to of in on at for with as is be you your me my i".split())

_CLAUSE = re.compile(r"[^,;:.!?()]+")
_TOKEN = re.compile(r"[a-z0-9][a-z0-9'-]*")
_NAMED = re.compile(r"(?<![\w'])(?P<q>['\"*])(?P<w>[a-z0-9][\w-]*(?:'[a-z]+)?)(?P=q)(?![\w])|"
                    r"\bthe\s+word\s+(?P<u>[a-z0-9][\w'-]*)|"
                    r"\b(?:(?:once|when)\s+you(?:'ve|\s+have)?\s+(?:say|said|reach|reached|get\s+to)|after\s+(?:saying|"
                    r"you\s+say|you've\s+said))\s+(?P<r>[a-z0-9][\w'-]*)|\bafter\s+(?P<a>[a-z0-9][\w'-]*)")
"""A named word: quoted in any style, "the word x", or unquoted after "once you say" (a pause only) or
"after" (a pause only, with a pause noun: "take a breath after hello", not "stop crying after dinner")."""
_NAMED_QUOTED = re.compile(r"(?<![\w'])(['\"*])[a-z0-9][\w-]*(?:'[a-z]+)?\1(?![\w])")
_PROGRESS = re.compile(r"\bas\s+(?:you|it|we|they)\s+(?:go|goes|continue|proceed)\b|\bbit\s+by\s+bit\b|"
                       r"\blittle\s+by\s+little\b|\bmore\s+and\s+more\b|\bover\s+time\b|\balong\s+the\s+way\b|"
                       r"\bstep\s+by\s+step\b|\bwith\s+(?:every|each)\s+(?:new\s+)?(?:word|line|phrase|syllable|sentence)\b|"
                       r"\bword\s+by\s+word\b|\b(?:each|every)\s+(?:new\s+)?(?:word|line|phrase|syllable)\b|"
                       r"\bthan\s+the\s+(?:one|word|line|last)\s+before\b")
"""Phrases of progression that count as an end word for ramps ("quieten down as you go")."""



def _has(word: str, sense: frozenset[str]) -> bool:
    return word in sense or not sense.isdisjoint(lemmas(word))


def _negated(words: list[str], i: int, span: int = 3) -> bool:
    """A negator within the ``span`` words before ``words[i]`` and after any "and"/"but"/"or" ("not so fast",
    "don't rush it"; not "not sure and asking")."""
    window = words[max(0, i - span):i]
    for conjunction in ("and", "but", "or"):
        if conjunction in window:
            window = window[len(window) - window[::-1].index(conjunction):]
    return any(_has(w, NEGATORS) for w in window) or (i >= 2 and words[i - 2:i] == ["no", "need"])


def _degree(clause: str) -> float:
    match = re.search(r"\b(" + "|".join(sorted(map(re.escape, DEGREE), key=len, reverse=True)) + r")\b", clause)
    return DEGREE[match.group(1)] if match else 1.0


# --- named words --------------------------------------------------------------------------------------
def apply_named_senses(text: str, intent):
    """Pause after or stress a named word (quoted in any style, or "the word x") that the phrase rules did
    not read. Returns the new intent, the text with the named word and the cue words removed, and whether
    anything was found."""
    found = False
    for match in list(_NAMED.finditer(text)):
        word = (match.group("w") or match.group("u") or match.group("r") or match.group("a") or "").strip("'-")
        unquoted = not match.group("w")
        if not word or (unquoted and word in _FUNCTION):
            continue
        words = _TOKEN.findall(text[:match.start()]) + ["<w>"] + _TOKEN.findall(text[match.end():])
        at = words.index("<w>")
        pause_at = [i for i, w in enumerate(words) if (_has(w, PAUSE) and not _negated(words, i))
                    or (w == "before" and i + 1 < len(words)  # "... before going on"
                        and words[i + 1] in ("going", "continuing", "carrying", "moving", "the", "you"))]
        stress_at = [i for i, w in enumerate(words) if i != at and _has(w, STRESS)]
        if match.group("a"):
            pause_at = [i for i in pause_at if _has(words[i], STRONG_PAUSE)]
        if match.group("r") or match.group("a"):
            stress_at = []
        before = words[max(0, at - 3):at]
        after_word = any(w in ("after", "following", "behind") or w == "once" or w == "when" for w in before)
        if pause_at and (after_word or not stress_at
                         or min(abs(i - at) for i in pause_at) <= min(abs(i - at) for i in stress_at)):
            long = any(_has(w, LONG) for w in words)
            intent = replace(intent, pauses=intent.pauses + ((word, LONG_NAMED_PAUSE_S if long else NAMED_PAUSE_S),))
            used = PAUSE | LONG
        elif stress_at:
            intent = replace(intent, emphasis=intent.emphasis + (word,))
            used = STRESS
        else:
            continue
        found = True
        head = text[:match.start()]
        tail = text[match.end():]
        text = _drop(head, used) + " " + _drop(tail, used)
        return _again(text, intent)
    # a quoted word left over ("stress is on 'her', not 'his'") names a word of the text, not a feeling
    return intent, _NAMED_QUOTED.sub(" ", text), found


def _again(text: str, intent):
    """One named word per pass (positions change when words are removed)."""
    intent, text, _ = apply_named_senses(text, intent)
    return intent, text, True


def _drop(text: str, sense: frozenset[str]) -> str:
    return _TOKEN.sub(lambda m: " " if _has(m.group(0), sense) else m.group(0), text)


# --- controls -----------------------------------------------------------------------------------------
def apply_control_senses(text: str, intent, ramps_only: bool = False):
    """Question, ramps, speed, loudness, pitch, monotone / expressive and whisper by sense, clause by clause,
    in what the phrase rules left. Returns as :func:`apply_named_senses` does."""
    found = False
    kept: list[str] = []
    for clause in _CLAUSE.findall(text):
        new, used = _clause_controls(clause, intent, ramps_only)
        if used or new != intent:
            found, intent = True, new
            clause = " ".join(w for i, w in enumerate(_TOKEN.findall(clause)) if i not in used)
        kept.append(clause)
    return intent, " " + " , ".join(kept) + " ", found


def _whisper_and_question(words, intent, at, sign, use, volume_words: bool):
    """Whisper; a question from an asking word, or from a rise at the end without a volume word."""
    whisper = at(WHISPER)
    if whisper and sign(whisper[0]) > 0:
        intent = replace(intent, style="whisper")
        use(whisper)
    ask = at(ASK) + [i for i, w in enumerate(words) if w in ("question", "questions") and i > 0
                     and words[i - 1] in ("a", "as", "like", "into", "the", "of")]
    ask += [i for i, w in enumerate(words) if w in ("answer", "reply", "response") and i > 0
            and words[i - 1] in ("an", "a")]  # "as if you need an answer", not "an answering machine"
    rise, end, pitch = at(RISE), at(END), at(PITCH_NOUNS)
    if ask and sign(ask[0]) > 0:
        intent = replace(intent, question=True)
        use(ask)
    elif rise and (end or any(words[i] in ("upturn", "uptick", "upswing") for i in rise)) \
            and not volume_words and (pitch or not at(SPEED_NOUNS)):
        intent = replace(intent, question=True)
        use(rise, end, pitch)
    return intent


_LOUD_STATES = frozenset("strong strongly powerful powerfully forceful big forte".split())
_SOFT_STATES = frozenset("gentle gently weak weakly piano small light lightly".split())
"""Loudness states only where a ramp is read from two of them ("start strong and go softer")."""
_TRANSITION = _senses("go goes going to into then until till build grow rise swell climb end finish become get turn "
                      "move work")


def _two_states(text: str, intent):
    """A ramp from one loudness to the other across the instruction ("begin softly and build to a shout",
    "quiet at first, loud by the end"): a loud and a soft word in either order with a transition word between;
    the ramp goes towards the later one. Returns the intent, the text without those words, and whether found."""
    words = _TOKEN.findall(text)

    def state(w: str) -> int:
        if _has(w, LOUD) or w in _LOUD_STATES:
            return 1
        return -1 if (_has(w, SOFT) and w not in SOFT_TARGETS) or w in _SOFT_STATES else 0

    states = [(i, state(w)) for i, w in enumerate(words) if state(w) and not _negated(words, i)]
    for (i, first), (j, last) in zip(states, states[1:]):
        if first != last and any(_has(w, _TRANSITION) or _has(w, END) for w in words[i + 1:j]):
            intent = replace(intent, energy_ramp_db=intent.energy_ramp_db + 8.0 * last)
            drop = {i, j} | {k for k in range(i + 1, j) if _has(words[k], _TRANSITION | END | RISE | FALL)}
            return intent, " " + " ".join(w for k, w in enumerate(words) if k not in drop) + " ", True
    return intent, text, False


def apply_ramp_senses(text: str, intent):
    """Ramps read by sense *before* the phrase rules, which would take the volume words of "finish at full
    volume" or "by the last word you should be barely audible" as a level: a clause with a volume word and an
    end word (or a fading verb); "start soft and finish loud" has both directions and is left to the phrase rules.
    Returns as :func:`apply_named_senses` does."""
    intent, text, found = _two_states(text, intent)
    if found:
        return intent, text, True
    return apply_control_senses(text, intent, ramps_only=True)


def _clause_controls(clause: str, intent, ramps_only: bool = False):
    """The intent after one clause's controls, and the indexes of the words used."""
    words = _TOKEN.findall(clause)
    used: set[int] = set()
    degree = _degree(clause)

    def at(sense):
        return [i for i, w in enumerate(words) if i not in used and _has(w, sense)
                and (w not in NOUN_CUES or i > 0 or words[i + 1:i + 2] in (["voice"], ["style"]))]

    def sign(i):
        return -1 if _negated(words, i) else 1

    def use(*groups):
        for group in groups:
            used.update(group)
        used.update(i for i, w in enumerate(words) if _has(w, NEGATORS))

    loud, soft, vol = at(LOUD), at(SOFT), at(VOLUME_NOUNS)
    rise, fall, end = at(RISE), at(FALL), at(END)
    if rise and fall and ("up" in words) != ("down" in words):  # "ramp the volume down": the particle decides
        rise, fall = (rise, []) if "up" in words else ([], fall)
    if not (fall or end or at(FADE)):
        soft = [i for i in soft if words[i] not in SOFT_TARGETS]
    progress = _PROGRESS.search(clause)
    if progress:  # "as you go": the words of the phrase count as an end word
        first = len(_TOKEN.findall(clause[:progress.start()]))
        end = end + list(range(first, first + len(_TOKEN.findall(progress.group(0)))))
    pitch, high, low = at(PITCH_NOUNS), at(HIGH), at(LOW)
    progressive = [i for i in rise + fall if _has(words[i], PROGRESSIVE)]
    voice_only = bool(pitch) and all(words[i] == "voice" for i in pitch)

    if ramps_only:
        if not (loud or soft or vol or voice_only) or not (end or progressive or at(FADE)):
            return intent, set()
    if not ramps_only:
        intent = _whisper_and_question(words, intent, at, sign, use, bool(loud or soft or vol))
    # volume: a ramp when an end word or a progressive verb is there, else a level
    direction = sum(sign(i) for i in loud) - sum(sign(i) for i in soft)
    if not direction and vol:
        direction = len(at(LEVEL_UP)) - len(at(LEVEL_DOWN))
    if not direction and not (rise or fall):
        direction = sum(sign(i) for i in at(EFFORT))
    if not direction and vol:
        direction = (1 if rise else 0) - (1 if fall else 0)
    if not direction and voice_only and not (high or low):  # the idiom "raise / lower your voice" is loudness
        direction = (1 if any(_has(w, _RAISE) for w in words) else 0) - \
            (1 if any(_has(w, _LOWER) for w in words) else 0)
    fade = [i for i in at(FADE) if not lemmas(words[i]) & _WITH_PARTICLE
            or (i + 1 < len(words) and words[i + 1] in ("off", "away", "out", "down"))]
    progressive = progressive + fade  # "wind down to a murmur"
    if not direction and not (pitch and not voice_only) and not at(SPEED_NOUNS):
        direction = sum(sign(i) for i in at(SWELL)) - sum(sign(i) for i in fade)
        if direction:
            progressive = progressive or [i for i in fade + at(SWELL)]
            vol = vol or fade + at(SWELL)
    if ramps_only and not (direction and (end or progressive)):
        return intent, set()
    if direction and (loud or soft or vol or voice_only):
        step = 1 if direction > 0 else -1
        if end or progressive:
            intent = replace(intent, energy_ramp_db=intent.energy_ramp_db + 8.0 * step * degree)
            use(end, progressive)
        else:
            intent = replace(intent, volume_db=intent.volume_db + 6.0 * step * degree)
        use(loud, soft, vol, rise, fall, [i for i in pitch if words[i] == "voice"])
    if ramps_only:
        return intent, used
    # speed
    steady = [i for i, w in enumerate(words) if w in ("steady", "steadily") and not at(PITCH_NOUNS) and not end]
    speed = sum(sign(i) for i in at(FAST)) - sum(sign(i) for i in at(SLOW) + steady)  # "nice and steady"
    nouns = at(SPEED_NOUNS)
    if not speed and nouns:
        speed = (1 if rise else 0) - (1 if fall else 0)
        if any(w in ("up", "pick", "step", "put", "add", "inject", "bring", "more", "less") for w in words):
            speed = speed or sign(nouns[0])  # "put some pace into it"; "less pace" is slower
    if speed:
        ratio = 1.2 if speed > 0 else 0.8
        if end or progressive:
            intent = replace(intent, end_rate_ratio=intent.end_rate_ratio * (1.3 if speed > 0 else 0.75) ** degree)
        else:
            intent = replace(intent, rate_ratio=intent.rate_ratio * ratio ** degree)
        use(at(FAST), at(SLOW), steady, nouns, rise, fall, end)
    # pitch: a direction with a pitch word, or a word that is a pitch by itself
    shift = sum(sign(i) for i in high) - sum(sign(i) for i in low)
    if pitch and not voice_only and not shift:
        shift = (1 if rise else 0) - (1 if fall else 0)
    compared = any(i > 0 and words[i - 1] in ("so", "too") for i in high + low)  # "not so high", "too low"
    if shift and (pitch or compared or any(_has(words[i], PITCH_ALONE) for i in high + low)) and not end:
        intent = replace(intent, pitch_st=intent.pitch_st + 3.0 * (1 if shift > 0 else -1) * degree)
        use(high, low, pitch, rise, fall)
    # pitch movement
    mono = at(MONOTONE)
    steady = [i for i in at(STEADY) if any(j in at(PITCH_NOUNS) for j in range(i + 1, min(len(words), i + 3)))]
    flat_moves = [i for i in at(VARIATION) if _negated(words, i, span=5)  # "iron out all the pitch changes"
                  or any(w in DRAINED for w in words[i + 1:i + 3])]
    lively = at(EXPRESSIVE)
    if [i for i in mono if sign(i) > 0] or steady or flat_moves or [i for i in lively if sign(i) < 0]:
        intent = replace(intent, range_scale=intent.range_scale * 0.25)
        use(mono, steady, flat_moves, lively, at(PITCH_NOUNS))
    elif lively:
        intent = replace(intent, range_scale=intent.range_scale * 1.5)
        use(lively)
    return intent, used


__all__ = ["normalise", "lemmas", "apply_named_senses", "apply_ramp_senses", "apply_control_senses"]
