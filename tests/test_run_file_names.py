"""The names of a run folder's files are written down once, in ``core/runs/layout.py``.

Every other module of the packages names them through :mod:`core.runs.layout`. The check
reads the source with :mod:`ast`: a string constant (or a constant piece of an f-string)
that *is* a run-folder file name, or a path ending in one (``".../metrics.json"``), fails
it. Docstrings and prose that mentions a file among other words (a message such as
``"no events.jsonl yet"``) are not names and pass.
"""

from __future__ import annotations

import ast
from pathlib import Path

from core.runs import layout

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "chexmini_cli", "chexmini_tui")
LAYOUT = ROOT / "core" / "runs" / "layout.py"
NAMES = frozenset((*layout.RUN_FILES, layout.SPLITS, layout.LOCK, layout.CONTROL))


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring constants of ``tree``."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _names_a_file(text: str) -> bool:
    return text in NAMES or any(text.endswith(("/" + n, "\\" + n)) for n in NAMES)


def run_file_literals(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line: 'literal'`` for each run-folder file name literal in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docs and _names_a_file(node.value)):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    return found


def test_run_folder_file_names_come_from_layout():
    found = [hit for pkg in PACKAGES for path in sorted((ROOT / pkg).rglob("*.py"))
             if path != LAYOUT for hit in run_file_literals(path)]
    assert not found, ("run-folder file names outside core/runs/layout.py (use "
                       "core.runs.layout):\n" + "\n".join(found))


def test_the_check_finds_a_literal_and_passes_prose(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('"""Reads metrics.json."""\n'
                     'A = "no events.jsonl yet"\n'
                     'B = base / "metrics.json"\n'
                     'C = f"{base}/resume.npz"\n', encoding="utf-8")
    found = run_file_literals(probe, tmp_path)
    assert [f.split(": ", 1)[1] for f in found] == ["'metrics.json'", "'/resume.npz'"]
