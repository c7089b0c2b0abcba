"""No function in the shipped packages is longer than a reader can hold in their head.

Every ``def`` (methods and nested functions included) in ``core/``, ``chexmini_cli/`` and
``chexmini_tui/`` spans at most :data:`MAX_LINES` lines, counted from its ``def`` line to
its last line (decorators excluded, its docstring included)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "chexmini_cli", "chexmini_tui")
MAX_LINES = 100


def function_lengths(path: Path) -> list[tuple[str, int, int]]:
    """``(qualified name, def line, length in lines)`` of every function in ``path``."""
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                found.append((name, child.lineno, child.end_lineno - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), "")
    return found


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_the_packages_have_sources():
    assert len(_sources()) > 20


def test_the_count_runs_from_def_to_the_last_line(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("@decorator\ndef f(a,\n      b):\n    x = 1\n\n    return x\n\n\n"
                   "class C:\n    def g(self):\n        def h():\n            pass\n"
                   "        return h\n")
    assert function_lengths(src) == [("f", 2, 5), ("C.g", 10, 4), ("C.g.h", 11, 2)]


def test_no_function_is_longer_than_the_limit():
    too_long = [f"{p.relative_to(ROOT)}:{line} {name} ({n} lines)"
                for p in _sources() for name, line, n in function_lengths(p) if n > MAX_LINES]
    assert not too_long, f"functions over {MAX_LINES} lines: " + "; ".join(too_long)
