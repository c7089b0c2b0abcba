"""``chexmini`` — train, evaluate, predict, gradient-check and inspect from the shell.

Every command is a module with ``register(subparsers)`` (its sub-parser and flags) and
``run(args) -> int``; this module builds the parser from :data:`COMMANDS` and holds the
error policy. Every user error is one line on stderr (``chexmini: error: <file>:
<problem>``) and exit code 2; ``gradcheck`` exits 1 when a tensor fails.
"""

from __future__ import annotations

import argparse
import os
import sys

from chexmini_cli import (
    cv_cmd,
    data_cmd,
    evaluate_cmd,
    export_cmd,
    gallery_cmd,
    gradcheck_cmd,
    inspect_cmd,
    lr_find_cmd,
    predict_cmd,
    runs_cmd,
    sweep_cmd,
    train_cmd,
)
from chexmini_cli.options import EXIT_USAGE
from core import __version__
from core.foundation.errors import ChexminiError, os_problem

#: The command modules, in the order ``chexmini --help`` lists them.
COMMANDS = (train_cmd, lr_find_cmd, evaluate_cmd, predict_cmd, gradcheck_cmd, data_cmd, cv_cmd,
            export_cmd, gallery_cmd, runs_cmd, inspect_cmd, sweep_cmd)


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line (``chexmini: error: …``), exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        print(f"chexmini: error: {self.prog}: {' '.join(message.split())} (see "
              f"{self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="chexmini", description="A hand-written NumPy MLP for chest X-ray screening.")
    p.add_argument("--version", action="version", version=f"chexmini {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        before = set(sub.choices)
        module.register(sub)
        for name in set(sub.choices) - before:
            sub.choices[name].set_defaults(_run=module.run)
    return p


def system_error_line(exc: BaseException) -> str:
    """One line for an operating-system or resource error: the file(s) and the problem."""
    if isinstance(exc, MemoryError):
        return "out of memory (use smaller images, layers, batches or --n-train)"
    if isinstance(exc, RecursionError):
        return "input nested too deeply to read (maximum recursion depth exceeded)"
    problem = os_problem(exc)
    files = [f for f in (getattr(exc, "filename", None), getattr(exc, "filename2", None))
             if f is not None]
    return f"{' → '.join(map(str, files))}: {problem}" if files else problem


#: A process killed by SIGPIPE exits 128 + 13; a closed pipe ends the command the same way.
EXIT_SIGPIPE = 141


def degrade_output() -> None:
    """Let stdout and stderr print what their encoding cannot (× → … on an ASCII-only
    terminal, ``LC_ALL=C``) as ``?`` instead of ending the command in an encoding error."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (OSError, ValueError):  # closed or not a text stream: leave it
                pass


def main(argv: list[str] | None = None) -> int:
    degrade_output()
    args = _parser().parse_args(argv)
    try:
        return args._run(args)
    except ChexminiError as exc:
        print(f"chexmini: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (``chexmini evaluate --json | head``): stop quietly, as
        # other command-line tools do; the rest of the output has nowhere to go.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_SIGPIPE
    except (OSError, MemoryError, RecursionError) as exc:
        # Safety net: errors are handled where they happen; anything missed is one line.
        print(f"chexmini: error: {system_error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("chexmini: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
