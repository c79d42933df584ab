"""How a line should sound: moral level, traits, stage directions and (SAGE) emotion score -> an instruction
for the conductor plus continuous offsets.

The mapping follows ../shared/notes/emotion-prosody-literature.md section 7.2 (an engineering proposal built
on Murray & Arnott 1993, Banse & Scherer 1996, Juslin & Laukka 2003, Schroeder 2001, Cheang & Pell 2008,
Fish et al. 2017, McHenry et al.); docs/dialogue.md has the table with citations and the plan numbers the
embedded conductor writes for each profile (``python -m baton.dialogue.delivery``).

* A character's traits pick one of :data:`PROFILES` (7.2's trait-to-profile rules), the moral level is the
  prior when no trait decides (L1-L2 warm and earnest, L3 cool and clipped, L4 menace).
* A stage direction ("(speaking softly)", "(angrily)") adds its own words; an emotional direction comes first,
  so the conductor reads it as the line's main emotion and the character's profile as the secondary one.
* A SAGE person's emotion score adds band words (7.2 "For SAGE simulated-user lines") and a continuous
  offset, so pitch, energy, rate and brightness rise with the score.

The instruction is written in words the embedded conductor's rules understand (no sentence-embedding model
is needed); LLM conductors get it too, after a short description of the scene and the character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from baton.dialogue.scenes import Character, Line, Scene


@dataclass(frozen=True)
class Offsets:
    """A relative change applied on top of a plan (cast voice, emotion score)."""

    pitch_st: float = 0.0
    """pitch_mean (and pitch_slope proportionally) [semitones]."""
    energy_db: float = 0.0
    """energy_rms [dB]."""
    rate_ratio: float = 1.0
    """Speaking rate [ratio, > 1 faster]: durations are divided by it."""
    centroid_ratio: float = 1.0
    """spectral_centroid [ratio]."""

    def plus(self, other: "Offsets") -> "Offsets":
        return Offsets(self.pitch_st + other.pitch_st, self.energy_db + other.energy_db,
                       self.rate_ratio * other.rate_ratio, self.centroid_ratio * other.centroid_ratio)

    def to_dict(self) -> dict[str, float]:
        return {"pitch_st": round(self.pitch_st, 2), "energy_db": round(self.energy_db, 2),
                "rate_ratio": round(self.rate_ratio, 3), "centroid_ratio": round(self.centroid_ratio, 3)}


@dataclass(frozen=True)
class Profile:
    name: str
    instruction: str
    """Words for the conductor (embedded-rule vocabulary)."""
    target: Offsets
    """The 7.2 target relative to neutral (the middle of its ranges), for docs and fidelity checks."""
    evidence: str


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("hot anger", "angry, a bit quickly", Offsets(4.0, 5.0, 1.15, 1.27), "Murray & Arnott 1993; HAMLET; Banse & Scherer 1996"),
    Profile("cold menace", "a bit quietly, slowly, slightly lower-pitched", Offsets(-1.5, -3.0, 0.85, 0.92),
            "Scherer (cold anger); Fish et al. 2017 (insincere: -22 % rate); CoSER stage directions"),
    Profile("contempt", "with contempt, a bit slowly, lower-pitched, a bit quietly", Offsets(-3.0, -2.0, 0.75, 1.0),
            "Banse & Scherer 1996; Fairbanks (116 wpm); Cheang & Pell 2008"),
    Profile("anxiety", "slightly nervous, a bit quietly", Offsets(2.0, -2.0, 1.0, 1.1), "Banse & Scherer 1996; Juslin & Laukka 2003"),
    Profile("sadness", "sad, slowly, lower-pitched", Offsets(-2.0, -4.0, 0.75, 0.8), "Murray & Arnott 1993; Juslin & Laukka 2003; Cahn"),
    Profile("joy", "happy, quickly, higher-pitched", Offsets(5.5, 4.5, 1.2, 1.32), "Burkhardt (Schroeder 2001); Juslin & Laukka 2003"),
    Profile("tender", "a bit quietly, a bit slowly, slightly lower-pitched", Offsets(-1.5, -2.0, 0.9, 0.88),
            "Juslin & Laukka 2003 (tenderness); McHenry et al.; James et al."),
    Profile("warm", "slightly happy", Offsets(0.5, 0.0, 1.0, 1.0), "7.2 moral-level prior L1-L2 (warm, earnest)"),
    Profile("cool", "a bit flat, a bit quickly", Offsets(-0.5, 0.0, 1.05, 1.0), "7.2 moral-level prior L3 (cool, clipped)"),
    Profile("neutral", "neutral", Offsets(), "baseline"),
)}

# 7.2 "Trait-to-profile rules" (stems, lower case); Cruel and Brutal join hot anger per the issue ("a cruel or
# violent one is loud and clipped"). The virtues (7.2: "calm or tender") map to "warm", 7.2's L1-L2 prior
# ("warm, earnest"): a paragon speaks up; the soft "tender" profile is the supporter's and the gentle stage
# directions'.
TRAIT_GROUPS: dict[str, tuple[str, ...]] = {
    "hot anger": ("violent", "irritab", "impulsiv", "reckless", "cruel", "brutal", "hot-tempered", "angry",
                  "wrath", "aggressi", "volatile"),
    "cold menace": ("manipulat", "deceit", "hypocrit", "treacher", "malicious", "numb", "cunning", "scheming",
                    "calculat", "vindictive", "envious", "jealous"),
    "contempt": ("arrogan", "vain", "sarcas", "narrow-minded", "biased", "proud", "caustic", "overbearing",
                 "aloof", "selfish", "crude"),
    "anxiety": ("anxious", "coward", "paranoi", "suspicious", "fragile", "hesitant", "submissive", "timid",
                "insecure", "naive", "sensitive", "cautious"),
    "sadness": ("melanchol", "pessimis", "apathetic", "passive", "lazy", "indifferent", "reclusive",
                "introvert", "resentful"),
    "joy": ("optimis", "enthusias", "gregarious", "humorous", "adventurous", "charismatic", "confident",
            "proactive", "childish", "cheerful", "quick-witted"),
    "warm": ("kind", "merciful", "selfless", "humble", "peaceful", "composed", "wise", "loyal", "honest",
               "gentle", "compassion", "patient", "tolerant", "just", "brave", "honorable", "honourable",
               "faithful", "innocent", "devoted"),
}
LEVEL_PRIOR = {1: "warm", 2: "warm", 3: "cool", 4: "cold menace"}
_GOOD = ("warm", "joy", "anxiety", "sadness", "hot anger")
LEVEL_ALLOWED = {4: ("hot anger", "cold menace", "contempt"), 3: ("contempt", "cold menace", "hot anger", "anxiety"),
                 2: _GOOD, 1: _GOOD}
"""Profiles a level may take: a villain is never voiced tender or joyful whatever else its traits say (7.2:
L4 menace or volatility), and a good character is never voiced with cold menace or contempt (L1-L2 warm and
earnest; a flawed one may still be hot-tempered or anxious)."""

# Stage directions: pattern -> (instruction words, expected measurable change: {feature: sign}).
DIRECTIONS: tuple[tuple[re.Pattern, str, dict[str, int]], ...] = tuple(
    (re.compile(rf"\b(?:{p})"), words, expect) for p, words, expect in (
        (r"whisper|under (?:his|her|their) breath|hushed", "whispering", {"energy_db": -1}),
        (r"shout|yell|scream|roar|bellow|vehement|furious|angr|snarl|rag|fierce|sternly", "angrily, loudly",
         {"energy_db": +1}),
        (r"soft|gentl|tender|quiet|murmur|comfort|reassur|sooth", "softly", {"energy_db": -1}),
        (r"paus|hesita|slow|deliberat|strateg|measured|tired|weary|resign", "slowly", {"rate_ratio": -1}),
        (r"urgent|hurr|quick|rapid|breathless|impatien|excited", "quickly", {"rate_ratio": +1}),
        (r"sad|sorrow|weep|sob|tear|deject|somber|sombre|plead|mourn|grie", "sad", {"pitch_st": -1}),
        (r"laugh|smil|amuse|cheer|joy|hope|encourag|whimsic|delight|playful", "happy", {"pitch_st": +1}),
        (r"shock|disbelie|surpris|astonish|appal|realization|puzzl", "surprised", {"pitch_st": +1}),
        (r"cold|icy|grim|flat|firm|resolute|bitter", "a bit flat, slightly lower-pitched", {"pitch_st": -1}),
        (r"fear|nervous|anxious|cautious|evasive|worr|trembl|afraid|defensive", "nervously", {}),
        (r"feign|pretend|mock|sarcas|sneer|knowing", "with contempt", {}),
    ))
_EMOTIONAL = ("angrily", "sad", "happy", "surprised", "nervously", "with contempt")


@dataclass(frozen=True)
class Delivery:
    """How one line is to be said."""

    profile: str
    instruction: str
    """What the conductor is told (embedded vocabulary)."""
    offsets: Offsets
    """Continuous offsets on top of the conductor's plan (SAGE score), cast voice excluded."""
    directions: tuple[str, ...] = ()
    """The stage directions that mapped to words."""
    unmapped: tuple[str, ...] = ()
    """Stage directions with no prosodic reading ('to Cassio', 'nodding')."""
    expect: tuple[tuple[str, int], ...] = ()
    """Expected measurable change from the directions: (feature, sign)."""


def character_profile(character: Character) -> str:
    """The :data:`PROFILES` name for a character (traits first, moral level as prior and limit)."""
    if character.role == "narrator":
        return "neutral"
    if character.role == "supporter":
        return "tender"
    allowed = LEVEL_ALLOWED.get(character.level or 0)
    counts: dict[str, int] = {}
    for trait in character.traits:
        t = trait.lower()
        for group, stems in TRAIT_GROUPS.items():
            if any(t.startswith(s) or s in t for s in stems) and (allowed is None or group in allowed):
                counts[group] = counts.get(group, 0) + 1
    if counts:
        order = list(TRAIT_GROUPS)
        return max(counts, key=lambda g: (counts[g], -order.index(g)))
    return LEVEL_PRIOR.get(character.level or 0, "neutral")


_TRAIT_WORDS = sorted({s for stems in TRAIT_GROUPS.values() for s in stems})
_VILLAIN_WORDS = ("manipulat", "deceit", "malic", "malevol", "villain", "sinister", "cruel", "vile", "ruthless",
                  "duplicit", "treacher", "scheming")
PROFILE_CHARS = 1200
"""Only the start of a profile is read: it describes the character; later paragraphs describe what others
do to them ("manipulated by Iago")."""
_PASSIVE = re.compile(r"\b\w+(?:ed|en)\s+by\b[^.;,]*")


_VIRTUE_WORDS = ("kind", "compassion", "loyal", "honest", "brave", "bravery", "valor", "valour", "noble", "dignity",
                 "innocen", "devot", "gentle", "selfless", "merciful", "virtu", "integrity", "faithful", "love")


def infer_classification(character: Character) -> Character:
    """Level and traits from the start of the profile and the motivation, for scenes without Moral RolePlay
    labels (``inferred=True``). Words in ``-ed`` (what is done to the character: 'manipulated') and
    '... by X' phrases are ignored. Traits: :data:`TRAIT_GROUPS` words found (at most 4, most frequent
    first). Level: 4 when two or more distinct villain words outnumber the virtue words, 3 with more villain
    than virtue words, 1 with three or more virtue words and no villain word, else 2."""
    if character.role != "character" or character.level is not None:
        return character
    text = _PASSIVE.sub(" ", f"{character.profile[:PROFILE_CHARS]} {character.motivation}".lower())
    text = re.sub(r"\b\w+ed\b", " ", text)
    found = []
    for stem in _TRAIT_WORDS:
        hits = re.findall(rf"\b{re.escape(stem)}\w*", text)
        if hits:
            found.append((len(hits), hits[0]))
    found.sort(key=lambda x: (-x[0], x[1]))
    villain = sum(1 for w in _VILLAIN_WORDS if re.search(rf"\b{w}", text))
    virtue = sum(1 for w in _VIRTUE_WORDS if re.search(rf"\b{w}", text))
    level = (4 if villain >= 2 and villain > virtue else 3 if villain > virtue else
             1 if virtue >= 3 and villain == 0 else 2)
    return replace(character, level=level, traits=tuple(w.capitalize() for _, w in found[:4]), inferred=True)


def classify(scene: Scene) -> Scene:
    """The scene with every unlabelled character's level and traits inferred, and a note saying so."""
    if scene.kind == "sage":
        return scene
    characters, notes = [], list(scene.notes)
    for c in scene.characters:
        inferred = infer_classification(c)
        if inferred is not c:
            notes.append(f"{c.name}: no moral classification in the scene; inferred level {inferred.level} and "
                         f"traits {', '.join(inferred.traits) or '(none found)'} from the profile")
        characters.append(inferred)
    return replace(scene, characters=tuple(characters), notes=tuple(notes))


def score_offsets(score: float) -> Offsets:
    """Continuous offset for a SAGE person at ``score`` (0..100): +-2 st, +-3 dB, +-8 % rate and brightness
    between 0 and 100, zero at 50 (7.2: low scores low and slow, high scores bright and lively)."""
    u = max(-1.0, min(1.0, (score - 50.0) / 50.0))
    return Offsets(2.0 * u, 3.0 * u, 1.0 + 0.08 * u, 1.0 + 0.08 * u)


def score_words(score: float, persona: str | None, change: float | None) -> str:
    """Band words for a SAGE person (7.2): C/F by persona type, B mildly negative, A/S mild joy; the words
    are softened ('slightly') when the last change was small (|change| < 10)."""
    mild = change is not None and abs(change) < 10
    if score >= 100:
        return "happy, lively"
    if score >= 70:
        return "slightly happy" if mild else "happy"
    if score >= 40:
        return "a bit flat" if persona == "avoidant" else "slightly sad"
    if persona == "negative":
        return "with contempt, a bit slowly"
    if persona == "avoidant":
        return "flat, quietly"
    return ("slightly sad, slowly" if mild else "sad, slowly") + (", quietly" if score < 10 else "")


def line_delivery(character: Character, line: Line, previous_score: float | None = None) -> Delivery:
    """The :class:`Delivery` of ``line`` spoken by ``character`` (see the module docstring)."""
    profile = character_profile(character)
    base = PROFILES[profile].instruction
    words, mapped, unmapped, expect = [], [], [], {}
    for action in line.actions:
        hits = [(w, e) for pattern, w, e in DIRECTIONS if pattern.search(action.lower())]
        if not hits:
            unmapped.append(action)
            continue
        mapped.append(action)
        for w, e in hits:
            if w in base.split(", "):  # the profile already says it: the direction asks for more of it
                w = ("very " if w.startswith(_EMOTIONAL) else "much ") + w
            if w not in words:
                words.append(w)
            expect.update(e)
    emotional = [w for w in words if w.startswith(_EMOTIONAL)]
    other = [w for w in words if w not in emotional]
    offsets = Offsets()
    parts = emotional + other
    if character.role == "person" and line.emotion_point is not None:
        change = None if previous_score is None else line.emotion_point - previous_score
        parts.insert(0, score_words(line.emotion_point, character.persona, change))
        offsets = score_offsets(line.emotion_point)
        base = ""
    parts.append(base)
    instruction = _dedupe(parts)
    return Delivery(profile, instruction, offsets, tuple(mapped), tuple(unmapped), tuple(sorted(expect.items())))


def _dedupe(parts: list[str]) -> str:
    """Join instruction parts, dropping repeated items and a later item whose word stem was already said
    ('angrily, loudly' + 'angry, loudly' -> 'angrily, loudly')."""
    out: list[str] = []
    for item in (i.strip() for p in parts if p for i in p.split(",")):
        stem = item.split()[-1][:4] if item else ""
        if item and not any(o == item or o.split()[-1][:4] == stem for o in out):
            out.append(item)
    return ", ".join(out)


def llm_instruction(scene: Scene, character: Character, delivery: Delivery, max_chars: int = 360) -> str:
    """The instruction for an LLM conductor: scene and character context, then the delivery words.
    Kept short: small local models lose the plan format under long prompts."""
    who = character.name
    if character.level is not None:
        from baton.dialogue.scenes import MORAL_LEVELS

        who += f" ({MORAL_LEVELS[character.level]}"
        who += f"; {', '.join(character.traits[:4])})" if character.traits else ")"
    elif character.role == "person":
        who += f" (a distressed person{', ' + character.persona if character.persona else ''})"
    elif character.role == "supporter":
        who += " (an empathetic supporter)"
    scene_text = " ".join(scene.scenario.split())[:160]
    context = f"Scene: {scene_text}. Speaker: {who}."
    directions = f" Stage direction: {'; '.join(delivery.directions)}." if delivery.directions else ""
    # The delivery words come first: a fallback to the embedded conductor takes the first emotion word it
    # reads as the line's emotion, and the scene text may hold others ("tension", "joyous reunion").
    return f"Say it: {delivery.instruction}.{directions} {context[: max_chars - 120]}"


def profile_table(text: str = "My lord, I have something to tell you.") -> str:
    """Markdown table: each profile's instruction and the plan the embedded conductor writes for ``text``
    (relative to the default voice's baseline), next to the 7.2 target. Used for docs/dialogue.md."""
    from baton.dialogue.render import summarise
    from baton.pipeline import Pipeline

    pipe = Pipeline.load(plan_only=True, use_embeddings=False)
    rows = ["| profile | instruction | 7.2 target (st, dB, rate, brightness) | embedded plan (st, dB, rate, brightness) | evidence |",
            "|---|---|---|---|---|"]
    for p in PROFILES.values():
        got = summarise(list(pipe.plan(text, p.instruction).segments), pipe.baseline)
        t = p.target
        rows.append(f"| {p.name} | {p.instruction} | {t.pitch_st:+.1f}, {t.energy_db:+.1f}, x{t.rate_ratio:.2f}, "
                    f"x{t.centroid_ratio:.2f} | {got.get('pitch_st', 0):+.1f}, {got.get('energy_db', 0):+.1f}, "
                    f"x{got.get('rate_ratio', 1):.2f}, x{got.get('centroid_ratio', 1):.2f} | {p.evidence} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m baton.dialogue.delivery
    print(profile_table())


__all__ = ["Offsets", "Profile", "PROFILES", "TRAIT_GROUPS", "DIRECTIONS", "Delivery", "character_profile",
           "infer_classification", "classify", "score_offsets", "score_words", "line_delivery", "llm_instruction"]
