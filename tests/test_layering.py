"""The layers of chexmini, written down as data and checked on every import statement.

Three packages, one direction::

    chexmini_cli  ──┐
                    ├──▶  core   (engine: NumPy + Pillow; matplotlib only in core.runs.plots)
    chexmini_tui  ──┘

and inside the engine, wings (folders by concept), each importing only the wings below
it (:data:`WINGS` is the table; ``core`` itself, for ``__version__``, is open to all)::

    inference   training   reference      using a checkpoint | the trainer | the spec
         └──────┬──┘           │
               runs            │          run folder, checkpoint, published layout
          ┌─────┼──────┐       │
       events  evaluation      │          the event types | metrics, thresholds, gradcheck
                  │            │
                  nn ◀─────────┘          layers, loss, batches, preprocessing
                  │
                data                      loading, caching, splitting images
                  │
              foundation                  errors, safe I/O, checks, config

The check reads the source with :mod:`ast` and walks *every* ``import`` and
``from ... import`` node in each file -- module level, inside functions, inside
``try``/``if`` blocks alike -- resolving relative imports. There are no exceptions
lists: a rule that allows something says so in the table below. On top of the
table, the import graph of the project's own modules must have no cycles at all.

To see the check work, ``test_the_checker_reports_an_added_back_edge`` copies the
packages into a temporary folder, adds one ``import chexmini_tui`` inside a
function of an engine module, and asserts the checker names it; and
``test_the_checker_reports_a_back_edge_between_wings`` does the same with a run-folder
module importing the trainer.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The project's own top-level packages: their modules form the import graph.
PACKAGES = ("core", "chexmini_cli", "chexmini_tui")

#: The engine's wings, bottom to top: each may import itself and the wings it lists.
WINGS: dict[str, tuple[str, ...]] = {
    "core.foundation": (),
    "core.data": ("core.foundation",),
    "core.nn": ("core.data", "core.foundation"),
    "core.evaluation": ("core.nn", "core.foundation"),
    "core.events": ("core.foundation",),
    "core.runs": ("core.events", "core.evaluation", "core.nn", "core.data", "core.foundation"),
    "core.training": ("core.runs", "core.events", "core.evaluation", "core.nn", "core.data",
                      "core.foundation"),
    "core.sweep": ("core.training", "core.runs", "core.events", "core.evaluation", "core.nn",
                   "core.data", "core.foundation"),
    "core.inference": ("core.runs", "core.evaluation", "core.nn", "core.data",
                       "core.foundation"),
    "core.reference": ("core.nn",),
}
#: What a wing says it is, for the failure message.
WING_JOBS = {
    "core.foundation": "the foundation (errors, safe I/O, checks, config)",
    "core.data": "the data layer (loading, caching, splitting images)",
    "core.nn": "the network (layers, loss, batches, preprocessing)",
    "core.evaluation": "evaluation maths (metrics, thresholds, calibration, gradcheck)",
    "core.events": "the event types",
    "core.runs": "the run folder and its checkpoint",
    "core.training": "the trainer",
    "core.sweep": "the sweep (a search over training settings)",
    "core.inference": "inference with a checkpoint",
    "core.reference": "the textbook reference",
}
#: The most modules one folder of the engine holds (a newcomer scans it at a glance).
MAX_MODULES_PER_FOLDER = 14

UI_LIBRARIES = ("textual", "rich", "plotext", "textual_plotext", "textual_image")


@dataclass(frozen=True)
class Rule:
    """Modules under ``importer`` must not import anything under ``forbidden``.

    ``importer``, ``forbidden`` and ``only_in`` name a module *and its submodules*.
    ``only_in`` lists the modules that ARE allowed to, when the rule is "this import
    lives in exactly one place". ``forbidden`` may be ``"*"``, with ``allowed`` the
    allow-list of the project's own modules that may be imported: exact module names,
    or ``"pkg.*"`` for a package and all its submodules.
    """

    importer: str
    forbidden: str
    why: str
    only_in: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------
# THE CONTRACT. Read top to bottom: who may not import what, and why.
# ---------------------------------------------------------------------------------
CONTRACT: tuple[Rule, ...] = (
    # -- the engine knows no front end -------------------------------------------
    Rule("core", "chexmini_cli", "the engine never imports the command line"),
    Rule("core", "chexmini_tui", "the engine never imports the terminal app"),
    *(Rule("core", lib, "the engine is NumPy + Pillow: no terminal UI library")
      for lib in UI_LIBRARIES),
    Rule("core", "matplotlib",
         "matplotlib draws the PNG plots (loss_curve.png, the lr-find plot) in one module, "
         "imported lazily",
         only_in=("core.runs.plots",)),
    Rule("core", "optuna",
         "Optuna is an optional extra: one module of the engine, imported lazily",
         only_in=("core.sweep.study",)),
    # -- the two front ends are independent of each other ------------------------
    Rule("chexmini_cli", "chexmini_tui", "the CLI does not depend on the app"),
    Rule("chexmini_tui", "chexmini_cli", "the app does not depend on the CLI"),
    # -- inside the engine: every wing imports only the wings below it ---------------
    *(Rule(wing, "*", f"{WING_JOBS[wing]} imports only {', '.join(below) or 'itself'}",
           allowed=("core", f"{wing}.*", *(f"{b}.*" for b in below)))
      for wing, below in WINGS.items()),
)
# Plus: the graph of the project's own modules (every import, at any depth) has no cycle.
# ---------------------------------------------------------------------------------


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _allowed(name: str, entry: str) -> bool:
    if entry.endswith(".*"):
        return _under(name, entry[:-2])
    return name == entry


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Every module of the given packages under ``root``: dotted name -> file."""
    found = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            found[module_name(root, path)] = path
    return found


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # a project module, or the top-level name of a third-party package
    line: int

    def __str__(self) -> str:
        return f"{self.importer} -> {self.imported} (line {self.line})"


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import in the file, at any depth, resolved to what it imports."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []

    def target(dotted: str) -> str:
        # a project module is kept whole; anything else by its distribution name
        if dotted in modules:
            return dotted
        parts = dotted.split(".")
        for i in range(len(parts) - 1, 0, -1):  # longest project module that holds it
            if ".".join(parts[:i]) in modules:
                return ".".join(parts[:i])
        return parts[0]

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(name, target(alias.name), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                # ``from core import safe_io`` imports the submodule core.foundation.safe_io
                found.append(Import(name, sub if sub in modules else target(source),
                                    node.lineno))
    return found


def import_graph(root: Path, packages: Iterable[str] = PACKAGES) -> list[Import]:
    """Every import of every module of ``packages`` under ``root``."""
    modules = project_modules(root, packages)
    return [imp for name, path in modules.items() for imp in imports_of(name, path, modules)]


def violations(imports: Iterable[Import], contract: Iterable[Rule] = CONTRACT) -> list[str]:
    """Each import that breaks a rule of the contract, as one readable line."""
    bad = []
    for imp in imports:
        for rule in contract:
            if not _under(imp.importer, rule.importer):
                continue
            if rule.forbidden == "*":
                # allow-lists speak about the project's own modules (stdlib and
                # third-party imports are governed by the rules above)
                if imp.imported.split(".")[0] not in PACKAGES:
                    continue
                if any(_allowed(imp.imported, ok) for ok in rule.allowed):
                    continue
            elif not _under(imp.imported, rule.forbidden):
                continue
            if any(_under(imp.importer, ok) for ok in rule.only_in):
                continue
            bad.append(f"{imp}: {rule.why}")
    return bad


def cycles(imports: Iterable[Import]) -> list[list[str]]:
    """The import cycles among the project's modules, each as a chain a -> b -> ... -> a.

    One cycle per back-edge found by a depth-first search (enough to name every
    strongly connected tangle; the list is empty exactly when the graph is acyclic).
    """
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.importer, set())
        if imp.imported.split(".")[0] in PACKAGES and imp.imported != imp.importer:
            graph[imp.importer].add(imp.imported)
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def check_layers(root: Path, packages: Iterable[str] = PACKAGES) -> list[str]:
    """Everything wrong with the layering of the packages under ``root`` (empty = fine)."""
    imports = import_graph(root, packages)
    return violations(imports) + ["import cycle: " + " -> ".join(c) for c in cycles(imports)]


# ---------------------------------------------------------------------------------


def test_every_engine_module_lives_in_a_wing():
    homeless = [name for name in project_modules(ROOT, ("core",))
                if name != "core" and not any(_under(name, w) for w in WINGS)]
    assert not homeless, f"engine modules outside every wing: {homeless}"


def test_no_engine_folder_is_crowded():
    for folder in [ROOT / "core", *(p for p in (ROOT / "core").rglob("*") if p.is_dir())]:
        modules = [f for f in folder.glob("*.py") if f.name != "__init__.py"]
        assert len(modules) <= MAX_MODULES_PER_FOLDER, \
            f"{folder.relative_to(ROOT)} holds {len(modules)} modules"


def test_the_contract_names_real_modules():
    modules = project_modules(ROOT)
    for rule in CONTRACT:
        for name in (rule.importer, *rule.only_in, *(a.removesuffix(".*") for a in rule.allowed)):
            assert name in modules, f"contract names {name!r}, which is not a module"


@pytest.fixture(scope="module")
def project_imports() -> list[Import]:
    return import_graph(ROOT)


def test_every_import_keeps_to_the_layers(project_imports):
    bad = violations(project_imports)
    assert not bad, "layering broken:\n  " + "\n  ".join(bad)


def test_the_project_import_graph_has_no_cycles(project_imports):
    found = cycles(project_imports)
    assert not found, "import cycles:\n  " + "\n  ".join(" -> ".join(c) for c in found)


def test_the_checker_sees_every_kind_of_import(tmp_path):
    pkg = tmp_path / "core"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text("")
    (pkg / "data" / "__init__.py").write_text("")
    (pkg / "data" / "split.py").write_text(
        "def later():\n"
        "    try:\n"
        "        from ..train import fit\n"          # relative, nested, function-level
        "    except ImportError:\n"
        "        import matplotlib.pyplot\n"
        "    from . import sources\n")
    (pkg / "data" / "sources.py").write_text("from .split import later\n")
    imports = import_graph(tmp_path, ("core",))
    edges = {(i.importer, i.imported) for i in imports}
    assert ("core.data.split", "core.train") in edges
    assert ("core.data.split", "matplotlib") in edges
    assert ("core.data.split", "core.data.sources") in edges
    assert ("core.data.sources", "core.data.split") in edges
    text = "\n".join(violations(imports))
    assert "core.data.split -> core.train (line 3)" in text
    assert "core.data.split -> matplotlib (line 5)" in text
    assert cycles(imports) == [["core.data.sources", "core.data.split", "core.data.sources"]]


def _not_python(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__"
            or (not n.endswith(".py") and not Path(folder, n).is_dir())]


def test_the_checker_reports_an_added_back_edge(tmp_path):
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=_not_python)
    assert check_layers(tmp_path) == []  # the copy is as clean as the original

    # one import, hidden in a function, from an engine module back into the app
    metrics = tmp_path / "core" / "evaluation" / "metrics.py"
    metrics.write_text(metrics.read_text(encoding="utf-8")
                       + "\n\ndef _show():\n"
                         "    from chexmini_tui.screens.evaluate import EvaluateScreen\n"
                         "    return EvaluateScreen\n", encoding="utf-8")
    problems = check_layers(tmp_path)
    assert any(p.startswith("core.evaluation.metrics -> chexmini_tui.screens.evaluate (line ")
               and "never imports the terminal app" in p for p in problems), problems
    # the Evaluate screen imports core.evaluation.metrics, so the back-edge also closes cycles
    found = [p for p in problems if p.startswith("import cycle: ")]
    edge = "core.evaluation.metrics -> chexmini_tui.screens.evaluate"
    assert f"import cycle: {edge} -> core.evaluation.metrics" in found, problems
    # and everything reported goes through the added edge
    assert all(edge in p for p in problems), problems


def test_the_checker_reports_a_back_edge_between_wings(tmp_path):
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=_not_python)
    # the run folder's lock, reaching up into the trainer (no cycle: only the contract sees it)
    folder = tmp_path / "core" / "runs" / "folder.py"
    folder.write_text(folder.read_text(encoding="utf-8")
                      + "\n\ndef _later():\n    from core.training.health import ActivationProbe\n"
                        "    return ActivationProbe\n", encoding="utf-8")
    problems = check_layers(tmp_path)
    assert len(problems) == 1, problems
    assert problems[0].startswith("core.runs.folder -> core.training.health (line ")
    assert "the run folder and its checkpoint imports only core.events" in problems[0]
