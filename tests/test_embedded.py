"""Embedded conductor (rule path, no torch): table directions, monotonic intensity, modifiers, emphasis,
question intonation, pauses, and the words rule as a property over random texts."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.baseline import DEFAULT_BASELINE, VoiceBaseline
from baton.conductors import get_conductor
from baton.conductors.embedded import EmbeddedConductor
from baton.conductors.embedded_compose import syllables
from baton.plan import text_words
from baton.prosody_table import default_table

B = DEFAULT_BASELINE
TEXT = "I never thought it would end like this, but here we are, waiting for the last train home."
SIX = ("neutral", "happy", "sad", "angry", "fearful", "surprised")
LEVELS = (("slightly", "normal"), ("", "normal"), ("very", "strong"), ("extremely", "strong"))
# Below these magnitudes a table median is within the measurement's noise floor (see docs/prosody_table.md).
NOISE = {"pitch_st": 0.5, "energy_db": 1.0, "rate_ratio": 0.03, "centroid_st": 0.5}


@pytest.fixture(scope="module")
def conductor() -> EmbeddedConductor:
    return EmbeddedConductor(use_embeddings=False)


def summary(plan, baseline: VoiceBaseline = B) -> dict[str, float]:
    """Duration-weighted plan means relative to the baseline: st, dB, centroid log ratio; total duration."""
    total = sum(s.duration for s in plan.segments)
    weight = [s.duration / total for s in plan.segments]
    return {
        "pitch_st": sum(w * 12 * math.log2(s.pitch_mean / baseline.pitch_mean_hz) for w, s in zip(weight, plan.segments)),
        "energy_db": sum(w * 20 * math.log10(s.energy_rms / baseline.energy_rms) for w, s in zip(weight, plan.segments)),
        "centroid_st": sum(w * 12 * math.log2(s.spectral_centroid / baseline.spectral_centroid_hz)
                           for w, s in zip(weight, plan.segments)),
        "duration_s": total,
    }


def instruction(emotion: str, adverb: str) -> str:
    return f"{adverb} {emotion}".strip()


def expected_direction(emotion: str, row: str, quantity: str) -> float:
    """Sign the plan must move ``quantity``: the table row's, also where the strong row reverses the normal
    one (RAVDESS's strong sad is higher and louder: the conductor targets the row at the asked intensity);
    0 where the median is within noise."""
    table = default_table()
    value = table.median(emotion, row, quantity)
    if quantity == "rate_ratio":
        value = math.log(value)
    limit = math.log(1 + NOISE[quantity]) if quantity == "rate_ratio" else NOISE[quantity]
    return 0.0 if abs(value) < limit else math.copysign(1.0, value)


@pytest.mark.parametrize("emotion", SIX[1:])
@pytest.mark.parametrize("adverb, row", LEVELS)
def test_plan_moves_in_table_direction(conductor, emotion, adverb, row):
    neutral = summary(conductor.plan(TEXT, None, B))
    got = summary(conductor.plan(TEXT, instruction(emotion, adverb), B))
    assert conductor.understand(instruction(emotion, adverb)).emotion == emotion
    deltas = {"pitch_st": got["pitch_st"] - neutral["pitch_st"], "energy_db": got["energy_db"] - neutral["energy_db"],
              "centroid_st": got["centroid_st"] - neutral["centroid_st"],
              "rate_ratio": math.log(neutral["duration_s"] / got["duration_s"])}
    checked = 0
    for quantity, delta in deltas.items():
        sign = expected_direction(emotion, row, quantity)
        if sign:
            checked += 1
            assert delta * sign > 0, f"{emotion}/{adverb or 'plain'}: {quantity} moved {delta:+.3f}, table sign {sign:+}"
    assert checked >= 1


def test_neutral_plan_is_the_baseline(conductor):
    for instr in (None, "", "neutral", "in a neutral voice"):
        got = summary(conductor.plan(TEXT, instr, B))
        assert abs(got["pitch_st"]) < 0.5 and abs(got["energy_db"]) < 0.5 and abs(got["centroid_st"]) < 0.1
    syll = sum(syllables(t) for t in TEXT.split())
    rate = syll / summary(conductor.plan(TEXT, None, B))["duration_s"]
    assert 0.8 * B.speaking_rate_sps < rate <= B.speaking_rate_sps  # phrase-final lengthening slows it a bit


def _continues(emotion: str, quantity: str) -> bool:
    """Whether the table's strong row continues the normal row's direction (same sign, larger)."""
    table = default_table()
    normal, strong = (table.median(emotion, row, quantity) for row in ("normal", "strong"))
    if quantity == "rate_ratio":
        normal, strong = math.log(normal), math.log(strong)
    return normal * strong > 0 and abs(strong) >= abs(normal)


@pytest.mark.parametrize("emotion", SIX[1:])
def test_intensity_words_scale_monotonically(conductor, emotion):
    """Slight < plain < very <= extremely where RAVDESS's strong row continues the normal row; where it
    reverses it (strong sad is tearful: higher and louder), "very" reaches the strong row's median."""
    effects = [conductor.effect(conductor.understand(instruction(emotion, a))) for a, _ in LEVELS]
    for field in ("pitch_st", "energy_db", "centroid_st", "range_st", "slope_st_per_s", "rate_ratio"):
        values = [math.log(getattr(e, field)) if field == "rate_ratio" else getattr(e, field) for e in effects]
        if _continues(emotion, field):
            sizes = [abs(v) for v in values]
            assert all(b >= a - 1e-9 for a, b in zip(sizes, sizes[1:])), f"{emotion} {field}: {sizes}"
        else:
            strong = default_table().median(emotion, "strong", field)
            assert getattr(effects[2], field) == pytest.approx(strong), f"{emotion} {field}"
    strongest = max(("pitch_st", "energy_db"), key=lambda f: abs(getattr(effects[1], f)))
    assert abs(getattr(effects[0], strongest)) < abs(getattr(effects[1], strongest))
    if _continues(emotion, "energy_db"):
        plans = [summary(conductor.plan(TEXT, instruction(emotion, a), B)) for a, _ in LEVELS]
        energies = [p["energy_db"] for p in plans]
        sign = 1 if energies[1] >= 0 else -1
        assert all(sign * b >= sign * a - 1e-6 for a, b in zip(energies, energies[1:]))


def test_free_form_intensity_phrases(conductor):
    bit = conductor.understand("a bit happier than normal")
    assert bit.emotion == "happy" and bit.level < 1.0
    furious = conductor.understand("you're furious but trying to stay polite")
    assert furious.emotion == "angry" and furious.restrained
    held = conductor.effect(furious)
    free = conductor.effect(conductor.understand("furious"))
    assert 0 < held.energy_db < free.energy_db and 0 < held.pitch_st < free.pitch_st


@pytest.mark.parametrize("instr, field, direction", [
    ("faster", "duration_s", -1), ("speak much more slowly", "duration_s", +1),
    ("louder", "energy_db", +1), ("quietly", "energy_db", -1),
    ("higher pitch", "pitch_st", +1), ("in a deeper voice", "pitch_st", -1),
    ("whisper", "energy_db", -1), ("whisper", "centroid_st", +1),
])
def test_modifiers(conductor, instr, field, direction):
    neutral = summary(conductor.plan(TEXT, None, B))[field]
    got = summary(conductor.plan(TEXT, instr, B))[field]
    assert (got - neutral) * direction > 0


def test_modifiers_combine_with_emotion(conductor):
    sad = summary(conductor.plan(TEXT, "sad", B))
    sad_fast = summary(conductor.plan(TEXT, "sad but faster", B))
    assert sad_fast["duration_s"] < sad["duration_s"]
    assert conductor.understand("sad but faster").emotion == "sad"


def test_louder_towards_the_end_ramps_energy(conductor):
    plan = conductor.plan(TEXT, "getting louder towards the end", B)
    energies = [s.energy_rms for s in plan.segments]
    assert len(energies) >= 3 and all(b > a for a, b in zip(energies, energies[1:]))
    assert all(s.energy_slope > 0 for s in plan.segments[:-1])
    fading = conductor.plan(TEXT, "trail off, fading out", B)
    assert fading.segments[-1].energy_rms < fading.segments[0].energy_rms


def test_slow_down_at_the_end(conductor):
    plan = conductor.plan(TEXT, "slow down at the end", B)
    rates = [sum(syllables(t) for t in s.word.split()) / s.duration for s in plan.segments]
    assert rates[-1] < 0.85 * rates[0]


@pytest.mark.parametrize("text, instr", [
    ("I will *never* tell anyone, I promise.", None),
    ("I will never tell anyone, I promise.", "whisper it and stress the word never"),
    ("I will never tell anyone, I promise.", "put emphasis on 'never'"),
])
def test_emphasis_isolates_and_raises_the_word(conductor, text, instr):
    plan = conductor.plan(text, instr, B)
    index = next(i for i, s in enumerate(plan.segments) if s.words == ["never"])
    word = plan.segments[index]
    assert word.emphasis == ("never",)
    neighbours = [plan.segments[index - 1], plan.segments[index + 1]]
    assert all(word.pitch_mean > n.pitch_mean and word.energy_rms > n.energy_rms for n in neighbours)
    plan.check_text(text)


@pytest.mark.parametrize("text, rises", [
    ("Are you coming to the party tonight?", True),
    ("You are coming?", True),
    ("Where are you going tonight?", False),
    ("You are coming to the party tonight.", False),
])
def test_question_intonation(conductor, text, rises):
    last = conductor.plan(text, None, B).segments[-1]
    assert (last.pitch_slope > 0) == rises


def test_phrase_pauses_and_final_lengthening(conductor):
    plan = conductor.plan("First this, then that. And finally the end.", None, B)
    pauses = {s.word: s.pause_after for s in plan.segments}
    assert pauses["First this,"] == pytest.approx(B.pause_s)
    assert pauses["then that."] == pytest.approx(2 * B.pause_s)
    assert plan.segments[-1].pause_after is None
    # "this," (phrase-final) is planned longer per syllable than a phrase-internal stretch
    long_plan = conductor.plan("one two three four five six seven eight nine ten eleven twelve thirteen", None, B)
    per_syll = [s.duration / sum(syllables(t) for t in s.word.split()) for s in long_plan.segments]
    assert per_syll[-1] > per_syll[0]


def test_an_abbreviation_or_initial_does_not_end_the_sentence(conductor):
    plan = conductor.plan("Mr. Neild met John F. Kennedy. Then he left.", None, B)
    text = " ".join(s.word for s in plan.segments)
    ends = [s for s in plan.segments if s.pause_after == pytest.approx(2 * B.pause_s)]
    assert [s.word.split()[-1] for s in ends] == ["Kennedy."]
    assert text.index("Kennedy.") > text.index("Mr.")
    assert all(s.pitch_slope > -20 for s in plan.segments if s.word.split()[-1] in ("Mr.", "F."))
    said = conductor.plan("He said no. Then he left for No. 5 and rested.", None, B)
    assert [s.word.split()[-1] for s in said.segments if s.pause_after == pytest.approx(2 * B.pause_s)] == ["no."]
    etc = conductor.plan("We ate apples, pears, etc. Then we rested.", None, B)
    assert [s.word.split()[-1] for s in etc.segments if s.pause_after == pytest.approx(2 * B.pause_s)] == ["etc."]
    lower = conductor.plan("They left the U.S. army in May. Then he rested.", None, B)
    assert [s.word.split()[-1] for s in lower.segments if s.pause_after == pytest.approx(2 * B.pause_s)] == ["May."]


@pytest.mark.parametrize("token, count", [("cat", 1), ("table", 2), ("Mr.", 2), ("1810", 3), ("$5,", 3),
                                          ("twenty-seventh", 4), ("--", 0), ("it's", 1)])
def test_syllables_are_the_spoken_vowels(token, count):
    assert syllables(token) == count


def test_long_sentences_are_cut_near_one_second(conductor):
    text = ("The committee reviewed every proposal that arrived before the deadline and then published a long "
            "report explaining the reasons behind each of its decisions in considerable detail")
    plan = conductor.plan(text, None, B)
    assert len(plan.segments) >= 5
    assert all(0.3 < s.duration < 2.0 for s in plan.segments)


def test_numbers_are_absolute_for_the_given_baseline(conductor):
    low = VoiceBaseline(pitch_mean_hz=110.0, energy_rms=0.03, spectral_centroid_hz=1500.0, speaking_rate_sps=5.0)
    a = conductor.plan(TEXT, "angry", B)
    b = conductor.plan(TEXT, "angry", low)
    ratio = [x.pitch_mean / y.pitch_mean for x, y in zip(a.segments, b.segments)]
    assert all(r == pytest.approx(205.0 / 110.0, rel=1e-3) for r in ratio)
    assert sum(s.duration for s in b.segments) < sum(s.duration for s in a.segments)


def test_registry_builds_the_embedded_conductor():
    c = get_conductor("embedded", use_embeddings=False)
    assert c.name == "embedded"
    assert c.plan("Hello there.", "happily", B).segments


_WORDS = st.sampled_from(["the", "cat", "sat", "on", "a", "mat", "never", "I'm", "don't", "3", "1999", "Hello",
                          "world", "extraordinary", "rhythm", "x", "o'clock", "naïve", "café"])
_PUNCT = st.sampled_from(["", "", "", ",", ".", "?", "!", ";", ":", "...", " -", " —"])


@st.composite
def texts(draw):
    n = draw(st.integers(min_value=1, max_value=30))
    tokens = []
    for _ in range(n):
        word = draw(_WORDS)
        if draw(st.integers(0, 9)) == 0:
            word = f"*{word}*"
        tokens.append(word + draw(_PUNCT))
    return " ".join(tokens)


@settings(max_examples=150, deadline=None)
@given(text=texts(), instr=st.sampled_from([None, "angry", "very sad", "whisper", "slightly happy, faster",
                                             "getting louder towards the end", "stress the word cat",
                                             "extremely fearful and slow down at the end",
                                             "hold a beat after 'cat'", "as a question, very sad",
                                             "monotone, stress the second word", "furious, pause after the"]))
def test_words_always_reproduce_the_text(conductor, text, instr):
    plan = conductor.plan(text, instr, B)
    plan.check_text(text)
    assert [w for s in plan.segments for w in s.words] == text_words(text)
    for s in plan.segments:
        assert s.duration > 0 and s.pitch_mean > 0 and s.energy_rms > 0


def test_keyword_instructions_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from baton.conductors import get_conductor; from baton.baseline import DEFAULT_BASELINE as B; "
            "c = get_conductor('embedded'); c.plan('Hello there, friend.', 'very angry, faster', B); "
            "c.plan('Hello.', None, B); c.plan('Hello.', 'whisper, getting louder towards the end', B); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_embedding_model_is_one_clear_line(tmp_path, monkeypatch):
    from baton.conductors.base import ConductorError

    monkeypatch.setenv("BATON_MINILM_DIR", str(tmp_path))
    c = EmbeddedConductor()
    with pytest.raises(ConductorError) as info:
        c.plan("Hello there.", "like someone who just won a prize", B)
    assert "\n" not in str(info.value) and "BATON_MINILM_DIR" in str(info.value)
    assert c.plan("Hello there.", "happily", B).segments  # keyword instructions still work


@pytest.mark.parametrize("instr, emotion, restrained", [
    ("you're furious but trying to stay polite", "angry", True),
    ("trying to sound happy", "happy", False),
    ("hiding his anger", "angry", True),
    ("trying not to cry", "sad", True),
    ("barely holding back tears", "sad", True),
    ("through gritted teeth", "angry", True),
    ("not angry at all", "neutral", False),
    ("don't sound scared", "neutral", False),
    ("happy but a little nervous", "happy", False),
])
def test_restraint_and_negation_rules(conductor, instr, emotion, restrained):
    intent = conductor.understand(instr)
    assert (intent.emotion, intent.restrained) == (emotion, restrained)


def test_second_emotion_is_blended(conductor):
    mixed = conductor.understand("happy but a little nervous")
    assert mixed.secondary == "fearful"
    pure = conductor.effect(conductor.understand("happy"))
    blended = conductor.effect(mixed)
    assert blended.centroid_st > pure.centroid_st  # fear's brighter voice quality leaks in
