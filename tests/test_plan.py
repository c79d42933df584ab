"""Contract 1 (the plan): both JSON forms load, validation names segment/field/value/range, round-trips."""

from __future__ import annotations

import json
import math

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.plan import (NUMERIC_FIELDS, Plan, PlanError, Segment, format_table, load_plan, plan_json_schema,
                        text_words)

# The original BatonVoice plan, verbatim from ARCHITECTURE.md.
ORIGINAL = """[{"word": "Wow, you really", "pitch_mean": 360, "pitch_slope": 95, "energy_rms": 0.016, "energy_slope": 60, "spectral_centroid": 2650},
 {"word": "did a great job.", "pitch_mean": 330, "pitch_slope": -80, "energy_rms": 0.014, "energy_slope": -50, "spectral_centroid": 2400}]"""
ORIGINAL_TEXT = "Wow, you really did a great job."


def test_original_bare_list_loads_unchanged():
    plan = load_plan(ORIGINAL, text=ORIGINAL_TEXT)
    assert [s.word for s in plan.segments] == ["Wow, you really", "did a great job."]
    assert plan.segments[0].pitch_mean == 360 and plan.segments[1].energy_slope == -50
    assert plan.voice is None
    # the bare-list form serialises back to exactly the original values
    assert plan.to_list() == json.loads(ORIGINAL)


def test_document_form_loads_with_extensions():
    doc = {"version": 1, "voice": "ljspeech", "segments": [
        {"word": "Wow, you really", "pitch_mean": 360, "duration": 0.8, "pause_after": 0.2, "emphasis": ["really"]},
        {"word": "did a great job.", "energy_rms": 0.014}]}
    plan = load_plan(json.dumps(doc), text=ORIGINAL_TEXT)
    assert plan.voice == "ljspeech"
    assert plan.segments[0].emphasis == ("really",)
    assert plan.segments[1].pitch_mean is None  # left out: the model predicts it
    assert plan.to_dict() == doc


def test_load_from_file_and_missing_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(ORIGINAL)
    assert len(load_plan(path).segments) == 2
    assert len(load_plan(str(path)).segments) == 2
    with pytest.raises(PlanError, match="does not exist"):
        load_plan(tmp_path / "nope.json")


@pytest.mark.parametrize("name", list(NUMERIC_FIELDS))
def test_out_of_range_error_names_segment_field_value_and_range(name):
    spec = NUMERIC_FIELDS[name]
    bad = spec.maximum * 10 + 1
    with pytest.raises(PlanError) as err:
        load_plan([{"word": "fine"}, {"word": "words", name: bad}])
    message = str(err.value)
    assert "segment 1" in message and f"'{name}'" in message and f"{bad:g}" in message
    assert f"{spec.minimum:g}" in message and f"{spec.maximum:g}" in message
    assert "\n" not in message
    assert err.value.segment == 1 and err.value.field_name == name


@pytest.mark.parametrize("value", ["loud", True, [1], {"a": 1}])
def test_non_numbers_are_rejected(value):
    with pytest.raises(PlanError, match="not a number"):
        load_plan([{"word": "hi", "energy_rms": value}])


def test_nan_means_predict():
    plan = load_plan([{"word": "hush", "pitch_mean": float("nan")}])
    assert plan.segments[0].pitch_mean is None


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_plan_json_are_rejected(token, tmp_path):
    """Issue 23 item 12: Python's json reads NaN, which then meant "predict"; in a plan file it is an error
    naming the segment and field, like Infinity, and nothing else in the document may hide one either."""
    text = f'{{"version": 1, "segments": [{{"word": "Hello"}}, {{"word": "there.", "pitch_mean": {token}}}]}}'
    for source in (text, tmp_path / "plan.json"):
        (tmp_path / "plan.json").write_text(text)
        with pytest.raises(PlanError) as err:
            load_plan(source)
        assert err.value.segment == 1 and err.value.field_name == "pitch_mean"
        assert f"value {token} is not a number" in str(err.value) and "null" in str(err.value)
    for document in (f'[{{"word": {token}}}]', f'{{"voice": {token}, "segments": [{{"word": "a"}}]}}',
                     f'{{"version": {token}, "segments": [{{"word": "a"}}]}}',
                     f'[{{"word": "a", "emphasis": [{token}]}}]'):
        with pytest.raises(PlanError, match=token):
            load_plan(document)


@pytest.mark.parametrize("segments,fragment", [
    ([{"word": "Wow, you"}, {"word": "did a great job."}], "has the word 'did' where the text has 'really'"),
    ([{"word": "Wow, you really"}, {"word": "did a great"}], "missing: 'job'"),
    ([{"word": "Wow, you really"}, {"word": "did a great job. Yes"}], "adds the word 'yes'"),
    ([{"word": "you Wow, really did a great job."}], "has the word 'you' where the text has 'wow'"),
])
def test_words_must_reproduce_text(segments, fragment):
    with pytest.raises(PlanError, match="segment|word") as err:
        load_plan(segments, text=ORIGINAL_TEXT)
    assert fragment in str(err.value)


@pytest.mark.parametrize("source,fragment", [
    ("[", "not valid JSON"),
    ("[]", "at least one segment"),
    ('{"segments": 3}', "needs 'segments'"),
    ('{"version": 2, "segments": [{"word": "a"}]}', "version 2"),
    ('{"segments": [{"word": "a"}], "tempo": 1}', "unknown top-level key"),
    ('[{"word": "a", "loudness": 3}]', "unknown field(s) 'loudness'"),
    ('[{"pitch_mean": 200}]', "'word' is required"),
    ('[{"word": "  ... "}]', "'word' is required"),
    ('["hello"]', "expected an object"),
    ('[{"word": "a b", "emphasis": ["c"]}]', "'c' is not a word of this segment"),
    ('[{"word": "a b", "emphasis": 3}]', "expected a list of words"),
    ('{"voice": 7, "segments": [{"word": "a"}]}', "voice id string"),
    (7, "expected a JSON object or list"),
])
def test_error_paths(source, fragment):
    with pytest.raises(PlanError) as err:
        load_plan(source)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_schema_accepts_valid_and_rejects_invalid_plans():
    schema = plan_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    good = load_plan(ORIGINAL).to_dict()
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"segments": [{"word": "x", "pitch_mean": 5000}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"segments": [{"word": "x", "tempo": 1}]}, schema)
    jsonschema.validate(json.loads(ORIGINAL), plan_json_schema(bare_list=True))


def test_table_shows_every_segment_and_predicted_marks():
    plan = load_plan([{"word": "Hello there", "pitch_mean": 210.4, "duration": 0.61},
                      {"word": "friend.", "emphasis": ["friend"]}], voice="ljspeech")
    table = format_table(plan)
    lines = table.splitlines()
    assert lines[0] == "plan for voice 'ljspeech'"
    assert len(lines) == 4
    assert "Hello there" in lines[2] and "210" in lines[2] and "0.61" in lines[2]
    assert "friend" in lines[3] and lines[3].count("-") >= 5  # predicted fields are '-'


def test_text_words_normalises_case_and_punctuation():
    assert text_words("Wow, you REALLY -- did it!") == ["wow", "you", "really", "did", "it"]
    assert text_words("don\u2019t stop") == ["don't", "stop"]


def test_segment_with_values_validates():
    seg = Segment(word="hello")
    assert seg.with_values(pitch_mean=180).pitch_mean == 180
    with pytest.raises(PlanError, match="out of range"):
        seg.with_values(duration=-1)


# --- property-based round trips -------------------------------------------------------------------------
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz'", min_size=1, max_size=8).filter(lambda w: w.strip("'"))


def _value(name):
    spec = NUMERIC_FIELDS[name]
    return st.one_of(st.none(), st.floats(spec.minimum, spec.maximum, allow_nan=False))


_segment = st.builds(
    lambda words, punct, values, emph: {"word": " ".join(words) + punct,
                                        **{k: v for k, v in values.items() if v is not None},
                                        **({"emphasis": [words[0]]} if emph else {})},
    st.lists(_word, min_size=1, max_size=5), st.sampled_from(["", ",", ".", "?", "!"]),
    st.fixed_dictionaries({name: _value(name) for name in NUMERIC_FIELDS}), st.booleans())


@settings(max_examples=150, deadline=None)
@given(st.lists(_segment, min_size=1, max_size=6), st.one_of(st.none(), st.just("ljspeech")), st.booleans())
def test_round_trip(segments, voice, bare):
    plan = load_plan(segments, voice=voice)
    text = " ".join(s["word"] for s in segments)
    plan.check_text(text)
    reloaded = load_plan(json.dumps(plan.to_list() if bare else plan.to_dict()), text=text, voice=voice)
    assert reloaded.words == plan.words
    for a, b in zip(plan.segments, reloaded.segments):
        for name in NUMERIC_FIELDS:
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None)
            if x is not None:
                assert math.isclose(x, y, rel_tol=1e-3, abs_tol=1e-9)
        assert a.emphasis == b.emphasis
    # a second serialisation is a fixed point
    assert load_plan(reloaded.to_json()).to_dict() == reloaded.to_dict()


def test_plan_constructor_checks_version():
    with pytest.raises(PlanError, match="version"):
        Plan(segments=(Segment(word="a"),), version=3)
