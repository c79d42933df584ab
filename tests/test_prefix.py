"""The "instruction: text" form takes only what reads as an instruction; everything else is spoken
(issue 23, items 1, 2 and 10)."""

from __future__ import annotations

import pytest

from baton.conductors.embedded import EmbeddedConductor
from baton.pipeline import Pipeline
from baton.plan import text_words
from baton.syntax import MAX_WORD_LETTERS, MarkupError, parse, reads_as_instruction

ORDINARY = [
    "Note: the meeting has been moved.",
    "Dear John: I am writing to you about the house.",
    "Ingredients: flour, sugar, eggs.",
    "Warning: do not touch the wires.",
    "Chapter one: The storm.",
    "Sad news: the shop is closing.",
    "Happy birthday: from all of us.",
    "John: Hello there.",
    "Q: What time is it?",
    "Family: two adults and a child.",
    "Content: the full report.",
    "Quick note: call me back.",
    "Like I said: the meeting has been moved.",
    "Like you said: it is late.",
    "As you know: the shop is closed.",
    "In a nutshell: we are moving.",
    "Angry Birds: the movie.",
]

INSTRUCTIONS = [
    ("angrily: I told you twice.", "angrily"),
    ("sadly: It is over.", "sadly"),
    ("Deeply unhappy.: The meeting has been moved.", "Deeply unhappy"),
    ("a bit happier than normal: Good morning.", "a bit happier than normal"),
    ("tired but trying to sound cheerful: Good news, everyone.", "tired but trying to sound cheerful"),
    ("like someone who just heard terrible news: It is over.", "like someone who just heard terrible news"),
    ("in a hushed voice: Come closer.", "in a hushed voice"),
    ("sarcastically: What a great idea.", "sarcastically"),
    ("whisper: Come closer.", "whisper"),
    ("sad and tired: Go home.", "sad and tired"),
    ("hostile, confrontational: Get out.", "hostile, confrontational"),
    ("as if your team just won the championship: We did it!", "as if your team just won the championship"),
    ("cheerful and upbeat, like a morning show host: Hi!", "cheerful and upbeat, like a morning show host"),
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_before_a_colon_is_spoken(text):
    script = parse(text)
    assert script.prefix_instruction is None and script.spans[0].instruction is None
    assert text_words(script.text) == text_words(text)


@pytest.mark.parametrize("text, instruction", INSTRUCTIONS)
def test_instruction_prefixes_are_taken(text, instruction):
    script = parse(text)
    assert script.prefix_instruction == instruction == script.spans[0].instruction
    assert text_words(script.text) == text_words(text.split(":", 1)[1])


def test_reads_as_instruction_is_about_the_phrase_only():
    assert reads_as_instruction("angrily") and reads_as_instruction("Deeply unhappy.")
    assert not reads_as_instruction("Warning") and not reads_as_instruction("Dear John")


def test_empty_instruction_turns_prefix_parsing_off():
    script = parse("angrily: I told you twice.", instruction="")
    assert script.prefix_instruction is None and script.spans[0].instruction is None
    assert text_words(script.text)[0] == "angrily"


def test_markup_off_reads_the_text_exactly():
    text = "angrily: [sad] I <b>told</b> you *twice*."
    script = parse(text, markup=False)
    assert len(script.spans) == 1 and script.spans[0].instruction is None
    assert script.text == text and script.spans[0].emphasis == ()


def test_pipeline_plan_without_prefix_speaks_every_word():
    pipe = Pipeline(EmbeddedConductor(use_embeddings=False))
    text = "angrily: I told you twice."
    assert pipe.plan(text).words == text_words("I told you twice.")
    assert pipe.plan(text, prefix=False).words == text_words(text)
    assert pipe.plan(text, "").words == text_words(text)


def test_sentence_instruction_applies_its_emotion():
    """'Deeply unhappy.: ...' is understood as sadness and changes the plan; its words are not spoken."""
    conductor = EmbeddedConductor(use_embeddings=False)
    pipe = Pipeline(conductor)
    script = parse("Deeply unhappy.: The meeting has been moved.")
    assert conductor.understand(script.prefix_instruction).emotion == "sad"
    sad = pipe.plan("Deeply unhappy.: The meeting has been moved.")
    plain = pipe.plan("The meeting has been moved.")
    assert sad.words == plain.words
    assert sad.to_json() != plain.to_json()


@pytest.mark.parametrize("word", ["a" * 500, "x" * 300, "b" * (MAX_WORD_LETTERS + 1)])
def test_a_run_of_letters_longer_than_any_word_is_an_error_about_the_word(word):
    with pytest.raises(MarkupError) as info:
        parse(f"Say {word} now.")
    message = str(info.value)
    assert f"{len(word)} letters" in message and "segment" not in message and "\n" not in message


def test_the_longest_english_word_is_fine():
    word = "pneumonoultramicroscopicsilicovolcanoconiosis"
    assert len(word) == MAX_WORD_LETTERS
    assert text_words(parse(f"It is {word}.").text)[2] == word
