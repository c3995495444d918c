"""The package's layers, checked from the source (no imports executed).

Layer rule (docs/ARCHITECTURE.md): ``core`` imports no other layer; ``models`` imports core;
``restore`` (the runtime) imports core and models; ``data`` imports core; ``train`` imports
data, models, core and restore (whose inference it calibrates against); ``batch`` imports
restore, models and core; ``eval`` may import every layer. ``echoes.errors`` and the package
root (``__version__``) may be imported anywhere; the adapters (``api``, ``cli``, ``commands``,
``plots``, ``__main__``) may import anything. Imports inside functions count as much as
imports at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "echoes"

#: layer -> the layers it may import (besides itself and the always-allowed modules)
ALLOWED = {
    "core": set(),
    "models": {"core"},
    "restore": {"core", "models"},
    "data": {"core"},
    # training calibrates and validates through the runtime's own inference (same windows, same levels)
    "train": {"data", "models", "core", "restore"},
    "batch": {"restore", "models", "core"},
    "eval": {"core", "models", "restore", "data", "train", "batch"},
}
ADAPTERS = {"api", "cli", "commands", "plots", "__main__"}
ALWAYS = {"echoes", "echoes.errors"}
MAX_LINES = 450


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def internal_imports(path: Path, source: str | None = None, me: str | None = None) -> list[tuple[int, str]]:
    """(line, module) of every ``echoes...`` import in a file, wherever it stands."""
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    me = me or module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "echoes"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "echoes":
                continue
            if mod == "echoes":  # from echoes import x: x may be a sub-package
                found += [(node.lineno, f"echoes.{a.name}") for a in node.names
                          if (PKG / a.name).is_dir() or (PKG / f"{a.name}.py").is_file()]
                found.append((node.lineno, "echoes"))
            else:
                found.append((node.lineno, mod))
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def sources() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def test_every_module_sits_in_a_known_layer() -> None:
    known = set(ALLOWED) | ADAPTERS | {"errors", None}
    strays = [module_name(p) for p in sources() if layer_of(module_name(p)) not in known]
    assert not strays, f"modules outside the layers: {strays}"


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    bad = []
    for path in sources():
        me = module_name(path)
        if layer_of(me) != layer:
            continue
        for line, mod in internal_imports(path):
            if mod in ALWAYS or mod.startswith("echoes.errors"):
                continue
            other = layer_of(mod)
            if other != layer and other not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(PKG.parent)}:{line} imports {mod}")
    assert not bad, f"layer '{layer}' may import only {sorted(ALLOWED[layer]) or 'nothing else'}:\n" + "\n".join(bad)


def test_runtime_never_reaches_training_or_evaluation_at_import() -> None:
    """What ``echoes.api`` pulls in, transitively, holds no training, data or evaluation module."""
    graph = {module_name(p): {m for _, m in internal_imports(p)} for p in sources()}
    seen, todo = set(), ["echoes.api"]
    while todo:
        m = todo.pop()
        if m in seen or m not in graph:
            continue
        seen.add(m)
        todo += sorted(graph[m])
    leaked = sorted(m for m in seen if layer_of(m) in {"train", "data", "eval"})
    assert not leaked, f"echoes.api reaches {leaked}"


def test_modules_read_in_one_sitting() -> None:
    long = {module_name(p): n for p in sources() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_checker_sees_a_violation() -> None:
    """The import scan is not vacuous: it finds function-level, relative and package imports."""
    src = ("import numpy\nfrom echoes import data\n"
           "def f():\n    from echoes.train import common\n    from ..restore import pipeline\n")
    mods = [m for _, m in internal_imports(PKG / "core" / "probe.py", src, "echoes.core.probe")]
    assert mods == ["echoes.data", "echoes", "echoes.train", "echoes.restore"]
