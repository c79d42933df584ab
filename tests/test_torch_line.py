"""The torch line in tts_model/: text/ and runtime/ never import torch or the torch-side packages, and the
package has no circle of imports. (The run-time synthesis check in a fresh interpreter is in test_tts_runtime.)"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tts_model"
TORCH_FREE = ("text", "runtime")
TORCH_SIDE = ("acoustic", "vocoder", "train")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions (lazy imports count too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def test_every_module_sits_in_a_subpackage():
    loose = [name for name, path in _modules().items() if path.parent == PACKAGE and path.name != "__init__.py"]
    assert loose == [], f"modules outside text/ runtime/ acoustic/ vocoder/ train/: {loose}"
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()} == \
        set(TORCH_FREE + TORCH_SIDE)


def test_torch_free_packages_never_import_torch_or_the_torch_side():
    offenders = []
    for name, path in _modules().items():
        if name.split(".")[1:2] and name.split(".")[1] in TORCH_FREE:
            for imported in _imports(path):
                top = imported.split(".")
                if top[0] == "torch" or (top[0] == "tts_model" and len(top) > 1 and top[1] in TORCH_SIDE):
                    offenders.append(f"{name} imports {imported}")
    assert offenders == []


def test_the_text_front_end_needs_nothing_from_the_runtime():
    offenders = [f"{name} imports {imported}" for name, path in _modules().items() if name.startswith("tts_model.text")
                 for imported in _imports(path) if imported.startswith("tts_model.") and
                 not imported.startswith("tts_model.text")]
    assert offenders == []


def test_no_circle_of_imports():
    modules = _modules()
    graph = {name: {m for m in _imports(path) if m in modules and m != name and not name.startswith(m + ".")}
             for name, path in modules.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack + [target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_importing_every_torch_free_module_leaves_torch_unloaded():
    names = [n for n in _modules() if n.split(".")[1:2] and n.split(".")[1] in TORCH_FREE]
    code = (f"import importlib, sys\nfor n in {names!r}: importlib.import_module(n)\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith(('tts_model.acoustic', "
            "'tts_model.vocoder', 'tts_model.train'))))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
