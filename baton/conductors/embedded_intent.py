"""Instruction understanding for the embedded conductor: free-form text -> :class:`Intent`.

Two layers:

1. Rules (always, pure Python, microseconds): explicit modifiers (speed, loudness, pitch, whisper, ramps,
   emphasis on a named word, restraint such as "trying to stay polite"), intensity words ("slightly",
   "very", "extremely") and an emotion lexicon (names, adverbs, common synonyms), with simple negation.
   The phrase rules (:mod:`embedded_controls`) come first; :mod:`embedded_senses` then reads what they left by
   the sense of its words (negation, named words in any quote style, combinations within a clause).
2. Sentence embeddings (only when the rules find no emotion word but content words remain, e.g. "like
   someone who just heard terrible news"): :mod:`baton.conductors.embedded_embed` compares the instruction
   with prototype descriptions per emotion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from baton.conductors.embedded_controls import apply_modifiers, apply_named
from baton.conductors.embedded_senses import apply_control_senses, apply_named_senses, apply_ramp_senses, normalise

EMOTIONS = ("neutral", "happy", "sad", "angry", "fearful", "surprised", "disgust", "calm")
STYLES = ("whisper",)

# Intensity levels on the prosody table's scale (1 = RAVDESS normal, 2 = RAVDESS strong).
LEVEL_SLIGHT, LEVEL_PLAIN, LEVEL_QUITE, LEVEL_VERY, LEVEL_EXTREME = 0.5, 1.0, 1.4, 2.0, 2.6

_INTENSIFIERS: tuple[tuple[re.Pattern, float], ...] = tuple(
    (re.compile(rf"\b(?:{words})\b"), level) for words, level in (
        (r"extremely|incredibly|absolutely|utter|utterly|terribly|insanely|totally|completely|hugely|unbelievably|"
         r"beyond|overwhelmingly|wildly|intensely|massively|ridiculously|maximally", LEVEL_EXTREME),
        (r"deep|overcome\s+with|overwhelmed\s+(?:with|by)|consumed\s+by|very|really|so|deeply|truly|highly|seriously|super|strongly|genuinely|thoroughly|properly|"
         r"clearly|full of|bursting with|overflowing with|"
         # degree families added for held-out phrasings (docs/conductor.md, 2026-12-05 generalisation)
         r"enormously|positively|immensely|tremendously|exceedingly|profoundly|desperately|fiercely|madly|awfully|"
         r"remarkably|hopelessly|unbearably|painfully|wholly|entirely|downright|majorly|"
         r"bubbling\s+over\s+with|brimming\s+(?:over\s+)?with|filled\s+with|"
         r"\w+-stricken|stricken|\w+-struck|beside\s+(?:yourself|himself|herself|myself|themselves|oneself)|"
         r"out\s+of\s+(?:your|his|her|my|their|one's)\s+(?:wits|mind|skin)|witless|to\s+the\s+core|"
         r"(?:could|can)(?:\s*n[o']?t|\s+not)\s+be\s+(?:any\s+)?more|never\s+been\s+(?:so|more)|"
         r"(?:of|in)\s+(?:your|my|his|her|their)\s+(?:life|lives)|of\s+all\s+time|happiest|saddest|angriest|scariest|"
         r"white-?knuckle[ds]?|over\s+the\s+top|off\s+the\s+scale|to\s+the\s+max|through\s+the\s+roof|off\s+the\s+charts|beyond\s+words|on\s+the\s+verge\s+of|close\s+to", LEVEL_VERY),
        (r"quite|rather|fairly|pretty|noticeably|visibly|considerably|decidedly|distinctly|markedly", LEVEL_QUITE),
        (r"slightly|a (?:[a-z]+ )?bit|a little|a tad|somewhat|mildly|a touch|faintly|a hint of|kind of|"
         r"sort of|barely|subtly|lightly|a trace of|marginally|"
         r"a\s+(?:smidge|smidgen|hair|shade|dash|pinch|whisker|wee|little\s+touch)|ever\s+so\s+slightly|"
         r"vaguely|modestly|a\s+bit\s+of|a\s+degree|just\s+a\s+(?:bit|touch|little)|the\s+slightest", LEVEL_SLIGHT),
    ))

# Emotion lexicon: regex of word stems -> (emotion, lexical level). Lexical level: what the word itself
# says about intensity ("furious" is strong anger, "annoyed" mild anger).
_LEXICON: tuple[tuple[re.Pattern, str, float], ...] = tuple(
    (re.compile(rf"\b(?:{stems})[\w'-]*"), emotion, level) for stems, emotion, level in (
        (r"devastat|heartbr|broken-?hearted|tearful|crying|sobb|sobs\b|sob\b|weep|in tears|inconsolab|desolat|bereft|anguish|"
         r"distraught|shattered|grief-stricken|choked\s+up|choking\s+up|verge\s+of\s+tears|close\s+to\s+tears|floods\s+of\s+tears", "sad", LEVEL_VERY),
        (r"unhapp|sad\b|sadly|sadder|saddest|sadness|sorrow|depress|grie[fv]|mourn|melanchol|gloom|"
         r"miserabl|downcast|downhearted|dejected|despair|forlorn|glum|blue\b|somber|sombre|wistful|"
         r"disappoint|(?:feeling|felt|feel|bit|little|so|very|really|quite|pretty|rather|kind of|sort of)\s+(?:down|low)\b|"
         r"down in the dumps|"
         r"woe|doleful|lugubrious|morose|crestfallen|dismal|dispirited|disheartened|despondent|heavy-?hearted|"
         r"heavy\s+heart|low\s+spirits|regretful|rueful|nostalgi|lonely|lonesome|homesick|teary|weepy|mopey|"
         r"moping|bleak|pining|lament|hurt\b|wounded|crushed|gutted|tears\b|"
         r"lump\s+in\s+(?:your|my|his|her|their|the)\s+throat|welling\s+up|misty-?eyed|let\s+down|letdown|"
         r"cut\s+up\b|torn\s+up|broken\s+up|beaten\s+down|worn\s+down", "sad", LEVEL_PLAIN),
        (r"furious|fury|enraged|rag(?:e|ing)\b|wrath|boiling|livid|seething|fuming|outraged|incens|"
         r"apoplectic|(?:ready|about|going)\s+to\s+(?:explode|blow|snap|lose\s+it)|lost\s+(?:his|her|my|your|their)\s+temper|"
         r"infuriat|hopping\s+mad|spitting\s+(?:mad|with|feathers|fire)|raving\s+mad|seeing\s+red|see\s+red|ballistic|incandescent|murderous|"
         r"blow(?:ing)?\s+(?:a|your|his|her|my)\s+(?:fuse|top|stack|gasket)", "angry", LEVEL_VERY),
        (r"annoy|irritat|irritab|frustrat|exasperat|irk|grump|miffed|peeved|impatien|testy|testily|"
         r"cranky|grumbl|grous|gripe|griping|whing|whinge|complain|huff\b|in\s+a\s+huff|grouch|crabby|cantankerous|snappish|snippy|tetchy|prickly|huffy|vexed|displeas|put\s+out|"
         r"ticked\s+off|aggravat|riled|short-?tempered|stroppy|narked|crotchety|sulky|sulking", "angry", LEVEL_SLIGHT),
        (r"angr|anger|irate|mad\b|cross\b|hostile|indignan|resent|pissed|bitter|"
         r"heated|fiery|hot-?headed|wound\s+up|fired\s+up|hot\s+under\s+the\s+collar|end\s+of\s+(?:your|my|his|her|their)\s+tether|"
         r"on\s+the\s+warpath|bristling|bent\s+out\s+of\s+shape|snap(?:s|ping|ped)?\s+at|bark(?:s|ing|ed)?\s+at|lash(?:es|ing|ed)?\s+out|"
         r"hiss(?:es|ing|ed)?\s+at|belligerent|aggressive|snarl|growl|fed\s+up|worked\s+up|steamed|"
         r"(?:bad|foul|filthy)\s+(?:temper|mood)|in\s+a\s+temper|temper\b|up\s+in\s+arms|menac|threatening|"
         r"scowl|glower|irascib", "angry", LEVEL_PLAIN),
        (r"cloud\s+nine|on\s+top\s+of\s+the\s+world|ecstatic|elated|overjoy|euphori|thrilled|jubilant|"
         r"over\s+the\s+moon|rapturous|rapture|exhilarat|walking\s+on\s+air|in\s+seventh\s+heaven", "happy", LEVEL_VERY),
        (r"happ(?:y|ier|iest|ily|iness)\b|spring\s+in\s+(?:your|my|his|her|their)\s+step|joy|cheer|delight|glad|upbeat|merr|gleeful|bubbly|excited|excitement|content\b|pleased|"
         r"jolly|chipper|sunny|bright and|playful|enthusias|celebrat|grateful|"
         r"bliss|radiant|beaming|exuberan|buoyant|chirpy|light-?hearted|carefree|giddy|tickled|chuffed|stoked|"
         r"jovial|psyched|pumped|hyped|sprightly|perky|smiling|grinning|amused|good\s+mood|high\s+spirits|proud|pride\b|triumphant|"
         r"hopeful|optimistic|festive|gleam|glow", "happy", LEVEL_PLAIN),
        (r"terrified|terrifi|terror|petrified|panic|horror|horrified|scared\s+(?:stiff|to\s+death|witless)|"
         r"frightened\s+to\s+death|frantic|hysteri|blood\s+(?:ran|runs|running)\s+cold|paralys|paralyz",
         "fearful", LEVEL_VERY),
        (r"fear|afraid|scared|frighten|fright\b|nervous|anxious|anxiety|worried|worry|dread|timid|trembl|shaky|"
         r"uneasy|apprehensi|jittery|jumpy|on\s+edge|spooked|alarmed|"
         r"fret|edgy|nervy|skittish|antsy|wary|paranoi|insecure|shaken|quak|quiver|cower|shiver|unnerv|"
         r"unsettl|creeped|freaked|freaking\s+out|stressed\s+out|shaken\s+up|haunted|intimidat|trepid|(?:seen|saw|seeing)\s+a\s+ghost|white\s+as\s+a\s+sheet",
         "fearful", LEVEL_PLAIN),
        (r"astound|flabbergast|dumbfound|gobsmack|stunned|shocked|shock\b|dumbstruck|thunderstruck|"
         r"speechless|jaw-?drop|blown\s+away|stupefied|staggered", "surprised", LEVEL_VERY),
        (r"surpris|astonish|amazed|amazement|startled|disbelief|can'?t believe|taken aback|caught off guard|"
         r"in awe|wonder\b|bowled\s+over|agog|agape|open-?mouthed|wide-?eyed|incredul|unexpected|"
         r"out\s+of\s+the\s+blue|blindsided|floored|whoa|wow\b", "surprised", LEVEL_PLAIN),
        (r"disgust|revolt|repuls|repelled|gross|sicken|nause|contempt|appalled|loath|revuls|distaste|"
         r"yuck|icky|scorn|disdain|sneer|abhor|detest|vile\b|queasy|squeamish|repugn|odious|ew+\b|"
         r"turn(?:s|ed|ing)?\s+(?:your|my|his|her|their)\s+stomach|stomach-?turning|nose\s+up|"
         r"hold(?:s|ing)?\s+(?:your|my|his|her|their|one's)\s+nose|gag(?:s|ging|ged)?\b|retch|stomach\s+churn|"
         r"curl(?:s|ed|ing)?\s+(?:your\s+|my\s+|his\s+|her\s+|a\s+|the\s+)?lip|"
         r"wrinkl(?:e|es|ed|ing)\s+(?:your\s+|my\s+|his\s+|her\s+|the\s+)?nose", "disgust", LEVEL_PLAIN),
        (r"calm|relax|serene|sooth|tranquil|peaceful|composed|mellow|placid|laid.back|at ease|"
         r"zen\b|meditat|cool(?:ly)?\s+and\s+collected|cool-?headed|collected\b|unruffled|unflappable|"
         r"untroubled|unbothered|level-?headed|even-?tempered|easy-?going|reassur|comforting|chilled|"
         r"restful|lulling|lullaby", "calm", LEVEL_PLAIN),
        (r"neutral|plain(?:ly)?\b|flat(?:ly)?\b|monoton|matter.of.fact|unemotional|no emotion|without emotion|"
         r"deadpan|emotionless|robotic|dispassionate|impassive|detached|clinical|businesslike|objective|"
         r"factual|informative|indifferent|no\s+feeling|without\s+feeling|normally\b|ordinary|"
         r"straightforward", "neutral", LEVEL_PLAIN),
    ))

_ADVERB_INTENSIFIER = re.compile(r"\b(?:bitterly|dreadfully|frightfully|horribly|sorely|achingly|"
                                 r"fearfully|awfully|terribly|madly)\s+(?=(?:[a-z]+ed|[a-z]+ful|upset|sad|happy|angry|"
                                 r"unhappy|nervous|anxious|excited|worried)\b)")
"""An emotion adverb before an emotion adjective is a degree word ("bitterly disappointed", "fearfully excited")."""
_NEGATION = re.compile(r"\b(?:not|don'?t|do not|never|without|no|isn'?t|aren'?t|nothing)\s+(?:\w+\s+){0,2}$")

# Restraint: "furious but trying to stay polite" -> keep the emotion but hold it in. Each pattern removes
# only the holding-in phrase (the emotion word after "hiding his ..." stays for the lexicon) and may hint
# the emotion being held in ("trying not to cry" -> sad) for when no emotion word is present.
_TRY = r"(?:trying|tries|try|attempting|struggling|working)\s+(?:hard\s+)?"
_HELD = (r"(?=(?:feelings?|emotions?|anger|rage|fury|fear|panic|sadness|tears|sobs|joy|excitement|glee|"
         r"disappointment|pain|hurt|frustration|annoyance|irritation|disgust|it)\b)")
_RESTRAINTS: tuple[tuple[re.Pattern, str | None], ...] = tuple((re.compile(p), hint) for p, hint in (
    (_TRY + r"to\s+(?:stay|keep|remain|sound|be|act|look|seem)\s+(?:calm|polite|composed|cool|professional|civil|"
     r"nice|friendly|steady|brave|normal|collected|cheerful|positive|it\s+together)\b", None),
    (_TRY + r"not\s+to\s+(?:cry|sob|weep|break\s+down)\b", "sad"),
    (r"(?:barely\s+)?(?:hold(?:s|ing)?\s+back|fighting\s+back|choking\s+back)\s+(?:the\s+)?(?:tears|sobs)\b",
     "sad"),
    (_TRY + r"not\s+to\s+(?:shout|yell|scream|explode|snap|lose\s+(?:it|your\s+temper))\b", "angry"),
    (_TRY + r"not\s+to\s+(?:laugh|giggle|smile|grin)\b", "happy"),
    (_TRY + r"not\s+to\s+(?:panic|freak\s+out)\b", "fearful"),
    (r"(?:" + _TRY + r"to\s+)?(?:hid(?:e|es|ing)|mask(?:s|ing)?|conceal(?:s|ing)?|suppress(?:es|ing)?|"
     r"contain(?:s|ing)?|hold(?:s|ing)?\s+back|keep(?:s|ing)?\s+down|barely\s+(?:containing|holding\s+back|"
     r"holding\s+in))\s+(?:(?:your|his|her|their|my|the|a|some)\s+)?" + _HELD, None),
    (r"through\s+(?:gritted|clenched)\s+teeth", "angry"),
    (r"(?:barely|scarcely|thinly|poorly|half)[\s-]+(?:concealed|hidden|masked|suppressed|contained|controlled|"
     r"restrained|veiled|disguised|held\s+(?:back|in)|bottled)", None),
    (r"under\s+control|keeping\s+it\s+together|bottled\s+up|bottling\s+(?:it\s+)?up", None),
))

_FILLER = frozenset("""
a an the and or but to of in on at for with as it its this that these those is are be been being was were say
says said saying speak speaks speaking spoken read reads reading voice voices tone tones sound sounds sounding
sounded please like way talk talking tell it's you your you're me my i i'm we we're us our he she they them sentence line text
words word manner style delivery deliver something bit little then than normal usual usually more less just end
towards toward who whom someone somebody person one if had has have do does would could should will can all
at too so very any anything
into onto out off up down over about from by through get gets getting got make makes making go goes going
let lets keep keeps take takes give gives put puts some bit each every other last first final next time way
thing things as if though when while where what how there here just also even still now again okay ok try
sure really into
""".split())
"""Words that never say what feeling is meant (function words, generic verbs): left out of the residual."""
# When an instruction holds a control phrase ("lower pitch", "hold a beat after 'door'"), these words left over
# say nothing about a feeling, and a left-over of at most CONTROL_RESIDUAL_WORDS other words is not sent to
# the sentence embeddings (EmbeddedConductor): before, "lower pitch" was planned angry.
CONTROL_WORDS = frozenset("""
pitch volume loudness pace tempo speed register intonation tone note beat pause question then start finish go
going make give let hold keep we we're us our
""".split())
CONTROL_RESIDUAL_WORDS = 2


@dataclass(frozen=True)
class Intent:
    """What an instruction asks for, in the conductor's terms."""

    emotion: str = "neutral"
    level: float = LEVEL_PLAIN
    """Intensity on the prosody table's scale (0.5 slight, 1 normal, 2 strong, 2.6 extreme)."""
    secondary: str | None = None
    """A second emotion mentioned ("happy but a little nervous"), blended in at a lower weight."""
    style: str | None = None
    """``"whisper"`` or None."""
    restrained: bool = False
    """The emotion is held in ("furious but trying to stay polite")."""
    rate_ratio: float = 1.0
    volume_db: float = 0.0
    pitch_st: float = 0.0
    centroid_st: float = 0.0
    range_scale: float = 1.0
    """Multiplier of within-utterance pitch movement (monotone < 1 < expressive)."""
    energy_ramp_db: float = 0.0
    """Energy change from the first to the last segment [dB] ("getting louder towards the end")."""
    end_rate_ratio: float = 1.0
    """Rate multiplier reached at the last segment ("slow down at the end")."""
    emphasis: tuple[str, ...] = ()
    """Words named for emphasis (lower-case)."""
    emphasis_index: tuple[int, ...] = ()
    """Words emphasised by their place ("stress the second word"): 0-based, -1 = the last word."""
    pauses: tuple[tuple[str, float], ...] = ()
    """Pauses after named words ("hold a beat after 'door'"): (word, seconds)."""
    question: bool = False
    """Say it as a (yes/no) question: the last segment rises, whatever the text's punctuation."""
    source: str = "default"
    """How the emotion was found: "default", "keyword" or "embedding"."""

    @property
    def has_controls(self) -> bool:
        """Whether the instruction asked for any fine control (speed, loudness, pitch, range, ramps, whisper,
        emphasis, a named pause, a question)."""
        return (self.rate_ratio != 1.0 or self.volume_db != 0.0 or self.pitch_st != 0.0 or self.centroid_st != 0.0
                or self.range_scale != 1.0 or self.energy_ramp_db != 0.0 or self.end_rate_ratio != 1.0
                or bool(self.emphasis or self.emphasis_index or self.pauses or self.question or self.style))
    scores: dict[str, float] = field(default_factory=dict, compare=False)


def parse_rules(instruction: str | None) -> tuple[Intent, str]:
    """Apply the rule layer. Returns the intent and the *residual* instruction: what is left after the
    recognised modifiers and emotion words are removed (used to decide whether embeddings are needed)."""
    if not instruction or not instruction.strip():
        return Intent(), ""
    text = normalise(instruction)
    intent = Intent()

    text = _ADVERB_INTENSIFIER.sub("very ", text)  # "bitterly disappointed" is very disappointed, not bitter
    intent, text, _ = apply_named(text, intent)
    intent, text, _ = apply_named_senses(text, intent)  # what the phrase rules missed, by sense

    hint = None
    for pattern, held in _RESTRAINTS:
        match = pattern.search(text)
        if match:
            intent = replace(intent, restrained=True)
            hint = hint or held
            text = text[:match.start()] + " " + text[match.end():]

    intent, text, _ = apply_ramp_senses(text, intent)
    intent, text, _ = apply_modifiers(text, intent)
    intent, text, _ = apply_control_senses(text, intent)
    hits: list[tuple[int, int, str, float]] = []  # (start, end, emotion, lexical level)
    negated: list[tuple[int, int]] = []
    for pattern, emotion, lexical_level in _LEXICON:
        for match in pattern.finditer(text):
            if any(start <= match.start() < end for start, end, *_ in hits):
                continue  # an earlier (more specific) stem already covers this word
            if _NEGATION.search(text[:match.start()]):
                negated.append((match.start(), match.end()))
                continue
            hits.append((match.start(), match.end(), emotion, lexical_level))
    hits.sort()
    residual = text
    for start, end in sorted([(h[0], h[1]) for h in hits] + negated, reverse=True):
        residual = residual[:start] + " " + residual[end:]
    if negated:
        residual = re.sub(r"\b(?:not|don'?t|do not|never|without|no)\b", " ", residual)

    level = _intensity(text)
    if hits:
        emotion, lexical_level = hits[0][2], hits[0][3]
        secondary = next((h[2] for h in hits[1:] if h[2] not in (emotion, "neutral")), None)
        if emotion == "neutral" and secondary:
            emotion, secondary = secondary, None
        if level is None:
            level = lexical_level
        elif lexical_level > LEVEL_PLAIN:
            level = max(level, lexical_level) if level >= LEVEL_PLAIN else lexical_level * level
        intent = replace(intent, emotion=emotion, level=level, secondary=secondary, source="keyword")
    elif hint is not None:
        intent = replace(intent, emotion=hint, level=level or LEVEL_PLAIN, source="keyword")
    elif level is not None:
        intent = replace(intent, level=level)
    return intent, _content(residual)


def _intensity(text: str) -> float | None:
    """The strongest-specified intensity word in ``text`` (None if there is none)."""
    for pattern, level in _INTENSIFIERS:
        if pattern.search(text):
            return level
    return None


def _content(residual: str) -> str:
    """Residual text without filler and intensity words; empty when nothing emotional may be left."""
    for pattern, _ in _INTENSIFIERS:
        residual = pattern.sub(" ", residual)
    words = [w for w in re.findall(r"[a-z][a-z'-]*", residual) if w not in _FILLER]
    return " ".join(words)


__all__ = ["Intent", "EMOTIONS", "STYLES", "parse_rules", "CONTROL_WORDS", "CONTROL_RESIDUAL_WORDS", "LEVEL_SLIGHT", "LEVEL_PLAIN", "LEVEL_VERY",
           "LEVEL_EXTREME"]
