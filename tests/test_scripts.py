"""recipes/ and benchmarks/ are packages run as ``python -m recipes.x`` / ``python -m benchmarks.x``: every module
imports (so a broken import fails CI, not the next person who runs it), without running, and without editing
sys.path."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("recipes", "benchmarks")


def _modules(package: str) -> list[str]:
    return sorted(f"{package}.{info.name}" for info in pkgutil.iter_modules([str(ROOT / package)]))


def test_every_script_is_a_module_of_its_package():
    for package in PACKAGES:
        files = sorted(p.stem for p in (ROOT / package).glob("*.py") if p.stem != "__init__")
        assert (ROOT / package / "__init__.py").is_file()
        assert [name.split(".", 1)[1] for name in _modules(package)] == files
    assert len(_modules("recipes")) >= 10 and len(_modules("benchmarks")) >= 10


@pytest.mark.parametrize("name", [name for package in PACKAGES for name in _modules(package)])
def test_module_imports_without_running_or_editing_sys_path(name, capsys):
    before = list(sys.path)
    module = importlib.import_module(name)
    assert sys.path == before, f"{name} edited sys.path"
    assert module.__doc__ and module.__doc__.strip(), f"{name} has no docstring saying what it does"
    out = capsys.readouterr()
    assert out.out == "", f"{name} printed on import: {out.out[:200]!r}"


def test_no_sys_path_edits_left_in_the_tree():
    edits = [f"{path.relative_to(ROOT)}:{number}"
             for folder in ("baton", "tts_model", "feature_extract", "recipes", "benchmarks", "demo", "tests")
             for path in sorted((ROOT / folder).rglob("*.py")) if path != Path(__file__).resolve()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if "sys.path.insert" in line or "sys.path.append" in line]
    assert edits == []
