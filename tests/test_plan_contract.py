"""The plan contract (plan_contract/): the plan's fields and the user-error base class, defined once.

Every package uses the contract's own objects (no copies for a test to keep equal), the contract needs nothing
but the standard library, no range is written a second time, every user-facing error class derives from
UserError (keeping its old base), and no front end matches exception class names as strings any more.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import plan_contract
from baton.plan import load_plan, segment_schema
from plan_contract import (ALL_FIELDS, BATONVOICE_FIELDS, CONTROL_NAMES, NUMERIC_FIELDS, OPTIONAL_FIELDS,
                           PITCH_RANGE, REQUIRED_FIELDS, VOICE_QUALITIES, PlanError, UserError)

ROOT = Path(__file__).resolve().parents[1]
SOURCE_PACKAGES = ("baton", "tts_model", "feature_extract", "demo")
ORIGINAL_PLAN = """[{"word": "Wow, you really", "pitch_mean": 360, "pitch_slope": 95, "energy_rms": 0.016,
 "energy_slope": 60, "spectral_centroid": 2650},
 {"word": "did a great job.", "pitch_mean": 330, "pitch_slope": -80, "energy_rms": 0.014, "energy_slope": -50,
 "spectral_centroid": 2400}]"""
"""The original BatonVoice plan quoted verbatim in ARCHITECTURE.md (happy, "Wow, you really did a great job.")."""


def _sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts)


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --- one definition -----------------------------------------------------------------------------------
def test_the_contract_imports_only_the_standard_library():
    imported = set()
    for path in _sources("plan_contract"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) - {"__future__"} == {"plan_contract"}
    code = ("import sys, plan_contract\nprint(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numpy', 'baton', 'tts_model', 'feature_extract', 'demo')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_measurement_and_synthesis_import_only_the_contract_from_the_project():
    """feature_extract and tts_model may import plan_contract, never baton, demo, recipes or benchmarks (lazy
    imports included): the contract is what lets them stay below baton."""
    offenders = []
    for path in _sources("feature_extract", "tts_model"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            offenders += [f"{_relative(path)} imports {name}" for name in names
                          if name.split(".")[0] in ("baton", "demo", "recipes", "benchmarks")]
    assert offenders == []


def test_every_package_uses_the_contracts_own_objects():
    import baton.plan
    from baton.conductors import embedded_profiles
    from feature_extract import measure, segment
    from tts_model.runtime import config, controls, synthesizer, voice_quality

    assert baton.plan.NUMERIC_FIELDS is controls.NUMERIC_FIELDS is segment.NUMERIC_FIELDS is NUMERIC_FIELDS
    assert config.CONTROL_NAMES is controls.CONTROL_NAMES is synthesizer.CONTROL_NAMES is CONTROL_NAMES
    assert baton.plan.PITCH_RANGE is PITCH_RANGE and synthesizer.PITCH_RANGE_MAX_ST == PITCH_RANGE.maximum
    assert baton.plan.VOICE_QUALITIES is voice_quality.QUALITIES is embedded_profiles.VOICE_QUALITIES \
        is VOICE_QUALITIES
    assert baton.plan.RENDER_FIELDS is synthesizer.RENDER_FIELDS is plan_contract.RENDER_FIELDS
    assert baton.plan.ALL_FIELDS is ALL_FIELDS and baton.plan.PLAN_VERSION == plan_contract.PLAN_VERSION
    assert baton.plan.PlanError is PlanError and baton.plan.FieldSpec is plan_contract.FieldSpec
    assert baton.UserError is UserError  # for library users: except baton.UserError
    assert measure.FIELDS == tuple(name for name in CONTROL_NAMES if name != "pause_after")


def test_the_control_vector_order_is_frozen():
    """Trained voices index their control vector in this order (tts_model.acoustic.model: PITCH ... PAUSE)."""
    assert CONTROL_NAMES == ("pitch_mean", "pitch_slope", "energy_rms", "energy_slope", "spectral_centroid",
                             "duration", "pause_after")
    assert tuple(NUMERIC_FIELDS) == CONTROL_NAMES


def _number(node: ast.AST) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _number(node.operand)
        return None if value is None else -value
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    return None


def _copied_ranges(source: str, where: str) -> list[str]:
    """Each (minimum, maximum) pair of a plan field in ``source``, as a literal pair or a chained comparison."""
    ranges = {(spec.minimum, spec.maximum): spec.name for spec in (*NUMERIC_FIELDS.values(), PITCH_RANGE)}
    copies = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) >= 2:
            pair = (_number(node.elts[0]), _number(node.elts[1]))
        elif isinstance(node, ast.Compare) and len(node.comparators) == 2:
            pair = (_number(node.left), _number(node.comparators[1]))
        else:
            continue
        if pair in ranges:
            copies.append(f"{where}:{node.lineno} {ranges[pair]} {pair}")
    return sorted(copies)


def test_no_range_is_written_outside_the_contract():
    copies = [copy for path in _sources(*SOURCE_PACKAGES)
              for copy in _copied_ranges(path.read_text(), _relative(path))]
    assert copies == []


def test_the_range_finder_sees_a_copy():
    """The scan above notices copies like the ones this change removed (PLAN_LIMITS, the SSML Hz check)."""
    source = 'LIMITS = {"pitch_mean": (50.0, 800.0)}\nok = 100.0 <= x <= 11025.0\nfine = (50.0, 700.0)\n'
    assert _copied_ranges(source, "x.py") == ["x.py:1 pitch_mean (50.0, 800.0)",
                                              "x.py:2 spectral_centroid (100.0, 11025.0)"]


# --- what the fields are ------------------------------------------------------------------------------
def test_the_batonvoice_form_is_the_original_fields():
    segments = json.loads(ORIGINAL_PLAN)
    assert {key for segment in segments for key in segment} == set(BATONVOICE_FIELDS)
    assert load_plan(segments).segments[1].spectral_centroid == 2400.0
    for name, spec in NUMERIC_FIELDS.items():
        assert spec.in_batonvoice == (name in BATONVOICE_FIELDS)
    assert not {"duration", "pause_after", "emphasis", "pitch_range", "voice_quality"} & set(BATONVOICE_FIELDS)


def test_word_is_the_only_required_field():
    assert REQUIRED_FIELDS == ("word",)
    assert set(OPTIONAL_FIELDS) | set(REQUIRED_FIELDS) == set(ALL_FIELDS)
    assert not set(OPTIONAL_FIELDS) & set(REQUIRED_FIELDS)
    schema = segment_schema()
    assert schema["required"] == list(REQUIRED_FIELDS) and set(schema["properties"]) == set(ALL_FIELDS)
    with pytest.raises(PlanError, match="'word' is required"):
        load_plan([{"pitch_mean": 200}])
    assert load_plan([{"word": "Hello."}]).segments[0].controls() == dict.fromkeys(CONTROL_NAMES)


@pytest.mark.parametrize("spec", [*NUMERIC_FIELDS.values(), PITCH_RANGE], ids=lambda spec: spec.name)
def test_every_range_checks_its_bounds(spec):
    assert spec.minimum < spec.maximum and spec.unit and spec.meaning
    assert spec.check(spec.minimum, 0) == spec.minimum and spec.check(spec.maximum, 0) == spec.maximum
    beyond = spec.maximum + 0.01 * (spec.maximum - spec.minimum)
    with pytest.raises(PlanError, match=f"segment 2, field '{spec.name}'.*valid: {spec.minimum:g} to "
                                        f"{spec.maximum:g}"):
        spec.check(beyond, 2)


# --- user errors --------------------------------------------------------------------------------------
NOT_USER_ERRORS = {
    "ApiError": "the server's HTTP error response, which it builds from user errors and bugs alike",
    "ExportParityError": "onnxruntime does not reproduce torch: a fault of the export, not of the user's input",
    "_HTTPStatusError": "the OpenAI conductor's internal signal, turned into an EndpointError before it leaves",
    "_RequestError": "the local LLM server's internal signal, answered as an HTTP error before it leaves",
}
"""Exception classes of the project that are not user errors, and why."""
OLD_BASES = {
    "PlanError": ValueError, "MarkupError": ValueError, "ConductorError": RuntimeError, "EndpointError":
    RuntimeError, "SynthesisError": RuntimeError, "FrontendError": ValueError, "AudioFormatError": ValueError,
    "OutputError": OSError, "SuiteError": ValueError, "AlignmentError": ValueError, "NoSpeechError": ValueError,
    "AsrError": RuntimeError, "AudioError": ValueError, "SceneError": ValueError, "UsageError": ValueError,
    "LimitError": ValueError, "ConfigError": ValueError, "VoiceQualityError": ValueError,
    "ExemplarError": ValueError, "VocoderError": RuntimeError, "CorpusError": ValueError, "ChainError": ValueError,
    "CheckpointError": RuntimeError, "VoiceImportError": RuntimeError, "VocoderWeightsError": RuntimeError,
    "VocoderImportError": RuntimeError,
}
"""Each user error's base before UserError existed: ``except ValueError`` and the like still catch them."""


def _error_classes() -> dict[str, str]:
    """Class name -> module of every class named *Error or *Exception that the packages define (UserError aside)."""
    found = {}
    for path in _sources(*SOURCE_PACKAGES, "plan_contract"):
        for node in ast.parse(path.read_text(), filename=str(path)).body:
            if isinstance(node, ast.ClassDef) and re.search(r"(Error|Exception)$", node.name) \
                    and node.name != "UserError":
                module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                assert node.name not in found, f"{node.name} is defined twice"
                found[node.name] = module.removesuffix(".__init__")
    return found


def test_every_user_facing_error_derives_from_user_error():
    classes = _error_classes()
    assert set(OLD_BASES) | set(NOT_USER_ERRORS) == set(classes), "a new error class: decide whether it is a user error"
    for name, module in sorted(classes.items()):
        cls = getattr(importlib.import_module(module), name)
        if name in NOT_USER_ERRORS:
            assert not issubclass(cls, UserError), name
        else:
            assert issubclass(cls, UserError) and issubclass(cls, OLD_BASES[name]), name


def test_no_exception_names_as_strings():
    """Front ends classify with isinstance: no exception class name is written as a string (``__all__`` aside)."""
    name = re.compile(r"^[A-Z]\w*(Error|Exception)$")
    strings = []
    for path in _sources(*SOURCE_PACKAGES):
        tree = ast.parse(path.read_text(), filename=str(path))
        exported = {id(node) for assign in tree.body if isinstance(assign, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "__all__" for t in assign.targets)
                    for node in ast.walk(assign.value)}
        strings += [f"{_relative(path)}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and name.match(node.value)
                    and id(node) not in exported]
    assert strings == []
