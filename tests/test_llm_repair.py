"""LLM output parsing, repair and the prompt: pure functions, no model (fast)."""

from __future__ import annotations

import json
import random

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.baseline import DEFAULT_BASELINE, VoiceBaseline
from baton.conductors.llm_prompt import (RESPONSE_PREFIX, build_messages, reask_message, reply_token_budget,
                                         suggest_segments, system_prompt, worked_examples)
from baton.conductors.llm_repair import (covers_text, extract_json, json_end, parse_number, repair_plan,
                                         resegment)
from baton.plan import PlanError, plan_json_schema, text_words

TEXT = "Oh no, I left my keys at home again."


def _doc(*segments: dict) -> str:
    return json.dumps({"segments": list(segments)})


# --- JSON extraction -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, note", [
    ('```json\n{"segments": [{"word": "a"}]}\n```', "code fence"),
    ('Here is your plan: {"segments": [{"word": "a"}]} Enjoy!', "text before"),
    ('{"segments": [{"word": "a"},],}', None),
    ("{'segments': [{'word': 'a', 'pitch_mean': None}]}", None),
])
def test_extract_json_tolerates_llm_wrapping(raw: str, note: str | None) -> None:
    value, notes = extract_json(raw)
    assert value["segments"][0]["word"] == "a"
    if note:
        assert any(note in n for n in notes)


def test_extract_json_keeps_the_complete_part_of_a_cut_off_reply() -> None:
    raw = '{"segments": [{"word": "Oh no,", "pitch_mean": 220}, {"word": "I left my keys", "pitch_mean": 2'
    value, notes = extract_json(raw)
    assert value == {"segments": [{"word": "Oh no,", "pitch_mean": 220}]}
    assert any("cut off" in n for n in notes)


def test_extract_json_fixes_mismatched_brackets() -> None:
    # SmolLM2 wrote this: the emphasis list closed with '}' (seen through baton.llm_server)
    raw = '{"segments": [{"word": "Thank you so much.", "emphasis": ["thank you so much."}]}'
    value, notes = extract_json(raw)
    assert value == {"segments": [{"word": "Thank you so much.", "emphasis": ["thank you so much."]}]}
    assert "fixed mismatched brackets" in notes
    assert extract_json('{"a": "x]", "b": [1]]}')[0] == {"a": "x]", "b": [1]}  # brackets in strings kept


def test_extract_json_joins_top_level_segment_objects() -> None:
    value, _ = extract_json('{"word": "Oh no,"}\n{"word": "I left"}')
    assert value == [{"word": "Oh no,"}, {"word": "I left"}]


@pytest.mark.parametrize("raw", ["I cannot do that.", "{{{", ""])
def test_extract_json_without_json_is_one_line_error(raw: str) -> None:
    with pytest.raises(PlanError) as err:
        extract_json(raw)
    assert "\n" not in str(err.value) and "JSON" in str(err.value)


def test_json_end_finds_the_closing_bracket_only_when_complete() -> None:
    assert json_end('{"a": "}"') is None
    assert json_end('x {"a": "}"} tail') == len('x {"a": "}"}')


# --- repairs -------------------------------------------------------------------------------------------

def test_bare_list_and_numeric_strings_are_repaired() -> None:
    raw = json.dumps([{"word": "Oh no,", "pitch_mean": "240 Hz", "duration": "350 ms"},
                      {"word": "I left my keys at home again.", "energy_rms": "0.05", "mood": "sad"}])
    outcome = repair_plan(raw, TEXT)
    assert outcome.error is None
    first, second = outcome.plan.segments
    assert first.pitch_mean == 240 and first.duration == pytest.approx(0.35) and second.energy_rms == 0.05
    assert any("'mood'" in n for n in outcome.notes)


def test_numbers_with_a_foreign_unit_are_not_guessed() -> None:
    assert parse_number("-3 dB", "energy_rms") is None  # a relative level is not an absolute RMS
    assert parse_number("3 st", "pitch_mean") is None
    assert parse_number(" 1e2 hz ", "pitch_mean") == 100.0


def test_dropped_words_are_restored_along_the_model_segments() -> None:
    raw = _doc({"word": "Oh no,", "pitch_mean": 230}, {"word": "I left my keys", "pitch_mean": 190})
    outcome = repair_plan(raw, TEXT)
    assert outcome.plan is not None
    assert [s.word for s in outcome.plan.segments] == ["Oh no,", "I left my keys at home again."]
    assert [s.pitch_mean for s in outcome.plan.segments] == [230, 190]
    assert any("missing: 'at home again'" in n for n in outcome.notes)


def test_invented_and_changed_words_are_replaced_by_the_text() -> None:
    raw = _doc({"word": "Oh dear no,"}, {"word": "I left the keys at home"}, {"word": "yet again today."})
    outcome = repair_plan(raw, TEXT)
    assert outcome.plan is not None
    assert outcome.plan.words == text_words(TEXT)
    assert [s.word for s in outcome.plan.segments] == ["Oh no,", "I left my keys at home", "again."]


def test_a_plan_for_another_text_is_not_repaired() -> None:
    outcome = repair_plan(_doc({"word": "We won the whole thing,"}, {"word": "can you believe it?"}), TEXT)
    assert outcome.plan is None and "only 0 of 9 words" in outcome.error


@pytest.mark.parametrize("segment, field", [
    ({"word": TEXT, "pitch_mean": 5000}, "pitch_mean"),          # out of range: a unit mix-up, not clamped
    ({"word": TEXT, "energy_rms": 12}, "energy_rms"),
    ({"word": TEXT, "pitch_mean": "high"}, "pitch_mean"),        # wrong type, not a number
    ({"word": TEXT, "duration": [1, 2]}, "duration"),
])
def test_unsafe_values_are_reported_not_repaired(segment: dict, field: str) -> None:
    outcome = repair_plan(_doc(segment), TEXT)
    assert outcome.plan is None
    assert field in outcome.error and "\n" not in outcome.error


def test_all_segment_errors_are_reported_in_one_line() -> None:
    outcome = repair_plan(_doc({"word": "Oh no,", "pitch_mean": 5000},
                               {"word": "I left my keys at home again.", "pitch_slope": "up"}), TEXT)
    assert "segment 0" in outcome.error and "segment 1" in outcome.error and "\n" not in outcome.error


def test_emphasis_outside_the_segment_is_dropped() -> None:
    raw = _doc({"word": "Oh no,", "emphasis": ["keys"]}, {"word": "I left my keys at home again.",
                                                         "emphasis": ["keys", "car"]})
    plan = repair_plan(raw, TEXT).plan
    assert plan.segments[0].emphasis == () and plan.segments[1].emphasis == ("keys",)


def test_covers_text_detects_a_finished_plan_in_a_partial_reply() -> None:
    assert not covers_text(RESPONSE_PREFIX + 'Oh no,"}, {"word": "I left', TEXT)
    assert covers_text(RESPONSE_PREFIX + 'Oh no,"}, {"word": "I left my keys at home again."}, {"wo', TEXT)


_WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "slept", "all", "day", "long"]


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10_000), n_words=st.integers(1, 14), n_drop=st.integers(0, 4),
       n_invent=st.integers(0, 4))
def test_resegment_always_reproduces_the_text_or_refuses(seed: int, n_words: int, n_drop: int,
                                                          n_invent: int) -> None:
    rng = random.Random(seed)
    tokens = [rng.choice(_WORDS) + rng.choice(["", "", ",", "."]) for _ in range(n_words)]
    text = " ".join(tokens)
    model_tokens = list(tokens)
    for _ in range(min(n_drop, len(model_tokens) - 1)):
        model_tokens.pop(rng.randrange(len(model_tokens)))
    for _ in range(n_invent):
        model_tokens.insert(rng.randrange(len(model_tokens) + 1), rng.choice(["zebra", "xylophone", "cat"]))
    cuts = sorted(rng.sample(range(1, len(model_tokens)), k=min(2, len(model_tokens) - 1)))
    bounds = [0, *cuts, len(model_tokens)]
    segments = [{"word": " ".join(model_tokens[a:b]), "pitch_mean": 200 + 10 * i}
                for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]
    try:
        rebuilt, _ = resegment(segments, text)
    except PlanError as err:
        assert "words do not match the text" in str(err)
        return
    assert [w for s in rebuilt for w in text_words(s["word"])] == text_words(text)
    assert " ".join(s["word"] for s in rebuilt) == text  # verbatim, punctuation included
    pitches = [s["pitch_mean"] for s in rebuilt]
    assert pitches == sorted(pitches)  # segment order (and their numbers) kept


# --- prompt --------------------------------------------------------------------------------------------

@settings(deadline=None)
@given(st.lists(st.sampled_from(["Hi", "there,", "how", "are", "you?", "I'm", "fine.", "—", "really"]),
                min_size=1, max_size=30))
def test_suggested_segments_reproduce_the_tokens(tokens: list[str]) -> None:
    text = " ".join(tokens)
    chunks = suggest_segments(text)
    assert " ".join(chunks) == text
    assert all(1 <= len(c.split()) <= 6 for c in chunks)


def test_prompt_has_schema_baseline_rules_and_valid_worked_examples() -> None:
    messages = build_messages(TEXT, "sad", DEFAULT_BASELINE)
    system = messages[0]["content"]
    schema_line = next(line for line in system.splitlines() if line.startswith('{"$schema"'))
    assert json.loads(schema_line) == json.loads(json.dumps(plan_json_schema()))
    assert "pitch_mean 205 Hz" in system and "energy_rms 0.065" in system
    assert messages[-1] == {"role": "user", "content": messages[-1]["content"]}
    assert TEXT in messages[-1]["content"] and "sad" in messages[-1]["content"]
    replies = [json.loads(m["content"]) for m in messages if m["role"] == "assistant"]
    assert len(replies) == 3
    for reply in replies:
        jsonschema.validate(reply, plan_json_schema())


def test_worked_examples_are_recomputed_for_the_voice_baseline() -> None:
    low = VoiceBaseline(pitch_mean_hz=110.0, energy_rms=0.05, spectral_centroid_hz=1500.0, speaking_rate_sps=4.0)
    for (example, doc_low), (_, doc_default) in zip(worked_examples(low), worked_examples(DEFAULT_BASELINE)):
        for seg_low, seg_default, rel in zip(doc_low["segments"], doc_default["segments"], example.segments):
            assert seg_low["pitch_mean"] == pytest.approx(110.0 * 2 ** (rel.pitch_st / 12), abs=0.5)
            assert seg_default["pitch_mean"] == pytest.approx(205.0 * 2 ** (rel.pitch_st / 12), abs=0.5)
    assert "110 x 2^(semitones/12)" in system_prompt(low)


def test_reask_carries_the_error_verbatim_and_budget_is_bounded() -> None:
    assert "segment 0, field 'pitch_mean'" in reask_message("plan segment 0, field 'pitch_mean': ...")["content"]
    assert reply_token_budget("Hi.", 1024) < reply_token_budget(TEXT * 3, 1024) <= 1024
    assert reply_token_budget(TEXT * 10, 200) == 200
