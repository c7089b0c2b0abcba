"""``chexmini gradcheck``: finite-difference check of the backward pass, on a fresh model
or a checkpoint's; exit code 1 when a tensor fails."""

from __future__ import annotations

import argparse

import numpy as np
from rich.table import Table

from chexmini_cli.options import add_quiet_flag, check_flags, flag_name
from chexmini_cli.output import json_text, new_console, styled
from chexmini_cli.progress import progress_line
from core.foundation.checks import ConfigError
from core.foundation.errors import ChexminiError
from core.foundation.progress import Tick

#: CLI-only gradcheck flags (``--eps``, ``--samples``, ``--tol``, ``--order`` are checked
#: by :func:`core.evaluation.gradcheck.check_args`, the same rules as the app's form).
GRADCHECK_RULES: dict[str, dict] = {
    "batch": {"lo": 1, "hi": 4096, "integer": True},
    "image_size": {"lo": 4, "hi": 1024, "integer": True},
    "seed": {"lo": 0, "integer": True},
}


#: The task text of gradcheck's progress line (one tick per finite difference).
TICK_TASK = "finite differences"


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("gradcheck", help="finite-difference check of the backward pass")
    g.add_argument("--checkpoint", help="check this checkpoint (default: a fresh model)")
    g.add_argument("--hidden-dims", default="1024,256,64", help="fresh model's hidden widths")
    g.add_argument("--image-size", type=int, default=64)
    g.add_argument("--batch", type=int, default=8)
    g.add_argument("--samples", type=int, default=20, help="entries sampled per tensor")
    g.add_argument("--eps", type=float, default=1e-4)
    g.add_argument("--order", type=int, choices=(2, 4), default=4,
                   help="finite-difference stencil order (default 4)")
    g.add_argument("--tol", type=float, default=1e-6)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--json", action="store_true")
    add_quiet_flag(g)


def _model(args):
    """``(model, what)``: the checkpoint's model, or a fresh one of the given shape."""
    from chexmini_cli.options import _dims
    from core.foundation.config import check_model_size
    from core.inference import load_checkpoint
    from core.nn import MLP

    if args.checkpoint:
        return load_checkpoint(args.checkpoint)[0], str(args.checkpoint)
    try:
        dims = _dims(args.hidden_dims)
    except argparse.ArgumentTypeError as exc:
        raise ChexminiError(f"--hidden-dims: {exc}") from None
    check_model_size((args.image_size**2, *dims, 1))
    return MLP((args.image_size**2, *dims, 1), dropout=0.3, seed=args.seed), "fresh model"


def run(args: argparse.Namespace) -> int:
    from core.evaluation.gradcheck import check_args, gradcheck

    console = new_console()
    check_flags(args, GRADCHECK_RULES)
    try:
        check_args(args.eps, args.samples, args.tol, args.order)
    except ConfigError as exc:
        raise exc.named(flag_name(exc.field)) from None
    model, what = _model(args)
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.batch, model.widths[0]))
    y = (np.arange(args.batch) % 2).astype(float)
    with progress_line(args.quiet, console) as tick:
        report = gradcheck(model, x, y, eps=args.eps, n_samples=args.samples, tol=args.tol,
                           seed=args.seed, order=args.order,
                           progress=lambda done, total: tick(Tick(TICK_TASK, done, total)))
    if args.json:
        print(json_text({"model": what, **report.to_dict()}, indent=2))
    else:
        table = Table(title=f"gradient check: {what}, float64, order-{args.order} centred "
                            f"differences, h={args.eps:g}, tol={args.tol:g}")
        for col in ("tensor", "shape", "checked", "kinks", "max rel error", "result"):
            table.add_column(col, justify="left" if col in ("tensor", "shape") else "right")
        for r in report.rows:
            ok = (styled("pass", "green") if r.passed else styled("FAIL", "red")
                  if r.n_checked else styled("nothing checked", "red"))
            table.add_row(r.name, "×".join(map(str, r.shape)), str(r.n_checked),
                          str(r.n_kinks), f"{r.max_rel_error:.2e}", ok)
        console.print(table)
    return 0 if report.passed else 1
