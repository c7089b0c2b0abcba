"""``chexmini sweep``: search TrainConfig settings with Optuna, each trial a run folder.

``chexmini sweep SPEC [--out SWEEP] [--jobs N] [--storage URL]`` creates or continues the
study; ``chexmini sweep --summary SWEEP`` prints what it found. Trials are ranked by
validation AUC only. Optuna is an optional extra; without it the command says what to
install (exit 2).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.table import Table
from rich.text import Text

from chexmini_cli.options import add_quiet_flag
from chexmini_cli.output import json_text, new_console, styled
from core.foundation import safe_io
from core.foundation.atomic import write_json
from core.foundation.checks import ConfigError, check_number
from core.foundation.errors import ChexminiError


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sweep", help="search training settings (Optuna; trials are run folders)")
    s.add_argument("spec", nargs="?", metavar="SPEC",
                   help="the sweep spec, a .toml, .yaml or .json file (see README: Sweeps)")
    s.add_argument("--out", metavar="SWEEP_DIR",
                   help="the sweep folder (default: sweeps/<name>); re-run to continue")
    s.add_argument("--jobs", type=int, default=1,
                   help="parallel trial processes on this machine, one BLAS thread each")
    s.add_argument("--storage", metavar="URL",
                   help="Optuna RDB URL shared by several machines (postgresql://…, "
                        "mysql://…); default: SWEEP_DIR/study.db")
    s.add_argument("--trials", type=int, help="override the spec's number of trials")
    s.add_argument("--summary", metavar="SWEEP_DIR",
                   help="print the trials of a sweep and what it found, run nothing")
    s.add_argument("--json", action="store_true", help="with --summary: as JSON")
    add_quiet_flag(s, "no line per trial while it runs (the table and errors stay)")


def _check_args(args: argparse.Namespace) -> None:
    if (args.spec is None) == (args.summary is None):
        raise ChexminiError("give a SPEC to run, or --summary SWEEP_DIR (not both)")
    for flag, value, hi in (("--jobs", args.jobs, 256), ("--trials", args.trials, 10_000)):
        if value is not None:
            try:
                check_number(flag, value, lo=1, hi=hi, integer=True)
            except ConfigError as exc:
                raise exc.named(flag) from None


def run(args: argparse.Namespace) -> int:
    from core.sweep.study import optuna_module

    _check_args(args)
    optuna_module()  # one line naming the extra when Optuna is missing
    if args.summary:
        return _summary(Path(args.summary), args)
    return _sweep(args)


def _saved_spec(sweep_dir: Path):
    from core.sweep.spec import SPEC_FILE, spec_from_dict

    path = sweep_dir / SPEC_FILE
    if not path.is_file():
        return None
    return spec_from_dict(safe_io.read_json(path), path)


def _read_spec(path: Path):
    """A ``.toml``/``.json`` spec (:func:`core.sweep.spec.read_spec`), or a ``.yaml`` one
    (PyYAML comes with Optuna; the engine reads no YAML itself)."""
    from core.sweep.spec import MAX_SPEC_BYTES, read_spec, spec_from_dict

    if path.suffix.lower() not in (".yaml", ".yml"):
        return read_spec(path)
    try:
        import yaml
    except ImportError:
        raise ChexminiError("a YAML spec needs PyYAML (pip install pyyaml)", path) from None
    raw = safe_io.read_bytes(path, MAX_SPEC_BYTES)
    try:
        doc = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        problem = " ".join(str(exc).split())
        raise ChexminiError(f"not valid YAML ({problem[:120]})", path) from None
    return spec_from_dict(doc, path, default_name=path.stem)


def _sweep(args: argparse.Namespace) -> int:
    from core.runs.folder import ensure_dir
    from core.sweep.spec import SPEC_FILE
    from core.sweep.study import default_storage, open_study

    spec = _read_spec(Path(args.spec))
    if args.trials:
        spec.trials = args.trials
    sweep_dir = Path(args.out) if args.out else Path("sweeps") / spec.name
    saved = _saved_spec(sweep_dir) if sweep_dir.is_dir() else None
    if saved is not None and not saved.same_search(spec):
        raise ChexminiError("holds a sweep started with another spec (only heartbeat, "
                            "and a TPE sweep's trials, may change); choose another --out",
                            sweep_dir / SPEC_FILE)
    ensure_dir(sweep_dir)
    write_json(sweep_dir / SPEC_FILE, spec.to_dict())
    url = args.storage or default_storage(sweep_dir)
    console = new_console()
    study = open_study(spec, url)
    console.print(Text.assemble(styled("chexmini sweep", "bold"),
                                f" {spec.name}: {spec.sampler}, {spec.n_trials} trials, "
                                f"--jobs {args.jobs} → {sweep_dir}"), highlight=False)
    t0 = time.perf_counter()
    codes = _run(study, spec, sweep_dir, url, args.jobs, console, args.quiet)
    seconds = time.perf_counter() - t0
    rows = _rows(spec, url)
    _print_table(console, spec.name, rows)
    unfinished = [r for r in rows if r["state"] in ("running", "waiting")]
    console.print(f"wall time {seconds:.1f} s with --jobs {args.jobs}", highlight=False)
    for i, code in enumerate(codes):
        if code:
            why = (f"was killed (signal {-code}); its trial is retried from its folder"
                   if code < 0 else f"exited with code {code} (its error is above)")
            console.print(f"worker {i} {why}", highlight=False)
    if unfinished:
        console.print(f"the study is not finished ({len(unfinished)} trials open); run the "
                      "same command again to continue it", highlight=False)
        return 1
    return 0


def _run(study, spec, sweep_dir: Path, url: str, jobs: int, console,
         quiet: bool = False) -> list[int]:
    """The trials: in this process with ``--jobs 1``, else in ``jobs`` worker processes."""
    from core.sweep.study import data_args, run_workers, work

    if jobs > 1:
        return run_workers(spec, sweep_dir, url, jobs)
    from core.data import load_data

    data = load_data(**data_args(spec))
    say = (lambda line: None) if quiet else (lambda line: console.print(line, highlight=False))
    work(study, spec, data, sweep_dir, say)
    return [0]


def _rows(spec, url: str) -> list[dict]:
    from core.sweep.study import open_study, trial_rows

    return trial_rows(open_study(spec, url, create=False))


def _summary(sweep_dir: Path, args: argparse.Namespace) -> int:
    from core.sweep.spec import SPEC_FILE
    from core.sweep.study import default_storage
    from core.sweep.summary import best_row, counts, setting_effects

    spec = _saved_spec(sweep_dir)
    if spec is None:
        raise ChexminiError("not a sweep folder (no sweep spec here)", sweep_dir / SPEC_FILE)
    rows = _rows(spec, args.storage or default_storage(sweep_dir))
    if args.json:
        print(json_text({"sweep": spec.name, "counts": counts(rows), "best": best_row(rows),
                         "effects": setting_effects(rows), "trials": rows}, indent=2))
        return 0
    _print_table(new_console(), spec.name, rows)
    return 0


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def _print_table(console, name: str, rows: list[dict]) -> None:
    """The trial table (best marked ``*``), the state counts and which setting matters."""
    from core.sweep.summary import best_row, counts, setting_effects

    best = best_row(rows)
    names = list(dict.fromkeys(k for r in rows for k in r["params"]))
    table = Table(title=f"sweep {name}")
    for col in ("trial", "state", "val AUC", "epochs", *names):
        table.add_column(col)
    for r in sorted(rows, key=lambda r: r["trial"]):
        mark = " *" if best is not None and r is best else ""
        auc = "" if r["value"] is None else f"{r['value']:.4f}"
        table.add_row(f"{r['number']:03d}{mark}", r["state"], auc, str(r["epochs"]),
                      *(_cell(r["params"].get(n)) for n in names))
    console.print(table)
    console.print("ranked by validation AUC; the test split is never used to choose",
                  highlight=False)
    console.print("trials: " + ", ".join(f"{n} {s}" for s, n in counts(rows).items()),
                  highlight=False)
    if best is not None:
        console.print(f"best: trial {best['number']:03d} (val AUC {best['value']:.4f}) in "
                      f"{best['folder']}", highlight=False)
    for setting, eff in setting_effects(rows).items():
        if "spearman" in eff:
            rho = eff["spearman"]
            text = "constant" if rho is None else f"Spearman ρ {rho:+.2f} (n={eff['n']})"
        else:
            text = "  ".join(f"{_cell(v)}: {m:.4f} (n={n})" for v, m, n in eff["by_value"])
        console.print(f"  {setting}: {text}", highlight=False, soft_wrap=True)
