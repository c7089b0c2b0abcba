"""Command-line flags: one per :class:`core.foundation.config.TrainConfig` field (generated from
:mod:`core.foundation.config_fields`), and the data flags shared by every command."""

from __future__ import annotations

import argparse

from core.data.sources import DEFAULT_SOURCE
from core.foundation.checks import ConfigError, check_number
from core.foundation.config import TrainConfig, parse_hidden_dims
from core.foundation.config_fields import ConfigField, flag_fields
from core.foundation.errors import ChexminiError
from core.runs.release.shipped import CheckpointChoice


def _dims(text: str) -> list[int]:
    """argparse type for gradcheck's ``--hidden-dims`` (see
    :func:`core.foundation.config.parse_hidden_dims`)."""
    try:
        return parse_hidden_dims(text)
    except ChexminiError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def _reader(field: ConfigField):
    """argparse type for ``field``: :meth:`ConfigField.read`, the app form's reader too,
    so unreadable text gets the same one-line problem from the CLI and the form (the
    range is checked by :func:`config_from_args`, naming the flag)."""
    def read(text: str):
        try:
            return field.read(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(exc.detail) from None
    read.__name__ = field.name   # argparse names the type in some messages
    return read


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per field of :data:`core.foundation.config_fields.CONFIG_FIELDS`; defaults are
    ``None`` (= keep the config's value). Each value is read by
    :meth:`core.foundation.config_fields.ConfigField.read` (as the app's form reads its fields)."""
    group = parser.add_argument_group("hyperparameters (defaults: the published run)")
    for f in flag_fields():
        help_ = f"{f.help} (default: {f.format(f.default)})"
        if f.kind == "bool":
            group.add_argument(f.flag, dest=f.name, action=argparse.BooleanOptionalAction,
                               default=None, help=help_)
        else:
            metavar = "W,W,…" if f.kind == "dims" else f.name.upper()
            group.add_argument(f.flag, dest=f.name, type=_reader(f), default=None,
                               metavar=metavar, help=help_)


QUIET_HELP = "no progress line and no notes: results and errors only"


def add_quiet_flag(parser: argparse.ArgumentParser, help_: str = QUIET_HELP) -> None:
    """``--quiet``, which every command accepts (``args.quiet``): no progress line
    (:func:`chexmini_cli.progress.progress_line`) and no chatter; results and errors stay."""
    parser.add_argument("-q", "--quiet", action="store_true", help=help_)


def flag_name(field: str) -> str:
    """``adam_eps`` → ``--adam-eps``."""
    return "--" + field.replace("_", "-")


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (default: the published config) with every given flag applied, validated;
    an out-of-range value is one line naming its flag and the accepted range."""
    cfg = base or TrainConfig()
    given = set()
    for f in flag_fields():
        value = getattr(args, f.name, None)
        if value is None:
            continue
        setattr(cfg, f.name, value)
        given.add(f.name)
    try:
        cfg.validate()
    except ConfigError as exc:
        if exc.field in given or (exc.field == "lr_min" and "lr" in given):
            raise exc.named(flag_name(exc.field)) from None
        raise
    return cfg


def check_flags(args: argparse.Namespace, rules: dict[str, dict]) -> None:
    """Check the given (non-None) flags ``{dest: check_number keywords}``; one line
    naming the flag on the first bad one."""
    for dest, kw in rules.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        try:
            check_number(dest, value, **kw)
        except ConfigError as exc:
            raise exc.named(flag_name(dest)) from None


#: Accepted ranges of the data flags (``val_fraction + test_fraction < 1`` is checked
#: by :func:`core.data.load_data`, where it applies).
DATA_RULES: dict[str, dict] = {
    "split_seed": {"lo": 0, "integer": True},
    "val_fraction": {"lo": 0, "hi": 1, "lo_open": True, "hi_open": True},
    "test_fraction": {"lo": 0, "hi": 1, "hi_open": True},
    "n_train": {"lo": 1, "integer": True},
    "n_val": {"lo": 1, "integer": True},
    "n_test": {"lo": 1, "integer": True},
    "workers": {"lo": 1, "hi": 256, "integer": True},
    "image_size": {"lo": 4, "hi": 1024, "integer": True},
}


DATA_HELP = (f"{DEFAULT_SOURCE} (the default: real NIH X-rays shipped with chexmini) | "
             "nih:ROOT | chestmnist[:FILE.npz] | folder:ROOT | npz:FILE | synthetic[:N] | a "
             "path (auto-detected); options as SOURCE?n_train=…&n_test=…; see README")


def add_data_flags(parser: argparse.ArgumentParser, *, image_size: bool = False) -> None:
    """``--data`` and the split / subsampling / decoding flags shared by every command.

    ``--data`` defaults to ``None``, read as :data:`DEFAULT_SOURCE` by :func:`data_source`
    (so a command can tell "not given" from "given")."""
    group = parser.add_argument_group("data")
    group.add_argument("--data", help=DATA_HELP)
    group.add_argument("--classes", nargs="+", metavar="CLASS=DIR[,DIR…]",
                       help="the class folders of an image folder (names case-insensitive), "
                            "e.g. --classes normal=NORMAL abnormal=PNEUMONIA,COVID "
                            "(default: normal=normal abnormal=abnormal)")
    group.add_argument("--split-seed", type=int, default=0, help="seed of the patient split")
    group.add_argument("--val-fraction", type=float, default=None,
                       help="validation share (default 0.15; NIH: 0.10 of train_val)")
    group.add_argument("--test-fraction", type=float, default=None,
                       help="test share where the source has no test split (default 0.15)")
    group.add_argument("--n-train", type=int, help="subsample train to N (seeded, stratified)")
    group.add_argument("--n-val", type=int, help="subsample validation to N")
    group.add_argument("--n-test", type=int, help="subsample test to N")
    group.add_argument("--workers", type=int, default=None,
                       help="decoding processes for the preprocessing cache (default: all cores)")
    if image_size:
        group.add_argument("--image-size", type=int, default=64)


def data_source(args: argparse.Namespace) -> str:
    """The ``--data`` given, or the embedded real sample, with ``--classes`` as its
    ``classes=`` option (:func:`core.data.sources.with_classes`)."""
    from core.data.sources import with_classes

    classes = getattr(args, "classes", None)
    return with_classes(args.data or DEFAULT_SOURCE, " ".join(classes) if classes else None)


def load_data_from_args(args: argparse.Namespace, image_size: int, tick=None):
    """:func:`core.data.load_data` with the parsed data flags; the preprocessing cache's
    progress goes to ``tick`` (the callback of :func:`chexmini_cli.progress.progress_line`)."""
    from chexmini_cli.progress import cache_ticks
    from core.data import load_data

    check_flags(args, DATA_RULES)
    vf, tf = args.val_fraction, args.test_fraction
    if vf is not None and tf is not None and vf + tf >= 1:
        raise ChexminiError(f"--val-fraction + --test-fraction must be below 1 (training needs "
                            f"the rest), got {vf:g} + {tf:g}")
    return load_data(data_source(args), seed=args.split_seed, val_fraction=args.val_fraction,
                     test_fraction=args.test_fraction, image_size=image_size,
                     n_train=args.n_train, n_val=args.n_val, n_test=args.n_test,
                     workers=args.workers, progress=None if tick is None else cache_ticks(tick))


def check_output_path(path: str, flag: str) -> None:
    """Refuse an output file whose folder is missing, not a folder or not writable, or
    that is itself a folder — before any work is done."""
    import os
    from pathlib import Path

    out = Path(path).expanduser()
    parent = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise ChexminiError(f"{flag}: is a folder; give a file name", out)
    if not parent.exists():
        raise ChexminiError(f"{flag}: the folder {parent} does not exist", out)
    if not parent.is_dir():
        raise ChexminiError(f"{flag}: {parent} is not a folder", out)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ChexminiError(f"{flag}: the folder {parent} is not writable", out)


def use_checkpoint(args: argparse.Namespace, console=None) -> CheckpointChoice:
    """The checkpoint a command uses (:func:`core.runs.release.shipped.resolve_checkpoint`:
    ``--checkpoint`` wins, else ``./artifacts``, else the copy installed with chexmini),
    stored back into ``args.checkpoint``; its line is printed first on ``console`` (not
    with ``--json``, whose ``checkpoint`` key names it, nor ``--brief``; ``--quiet`` keeps it,
    as it keeps every result)."""
    from core.runs.release.shipped import resolve_checkpoint

    choice = resolve_checkpoint(args.checkpoint)
    args.checkpoint = choice.path
    if console is not None and not any(getattr(args, f, False) for f in ("json", "brief")):
        console.print(choice.describe(), markup=False, highlight=False, soft_wrap=True)
    return choice


#: What ``--checkpoint`` says in the commands that take one.
CHECKPOINT_HELP = ("checkpoint folder (default: ./artifacts when present, else the shipped "
                   "checkpoint installed with chexmini)")
#: The exit code of every user error (one ``chexmini: error: …`` line on stderr).
EXIT_USAGE = 2
#: ``--split`` names the validation split ``val`` or, spelt out, ``validation``.
SPLIT_ALIASES = {"validation": "val"}


class _SplitAction(argparse.Action):
    """Store ``--split`` with its alias resolved (``validation`` → ``val``)."""

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ARG002
        setattr(namespace, self.dest, SPLIT_ALIASES.get(values, values))


def add_split_flag(parser: argparse.ArgumentParser, splits: tuple[str, ...], default: str,
                   help_: str | None = None) -> None:
    """``--split`` choosing one of ``splits``; ``validation`` is accepted beside ``val``
    (same meaning, stored as ``val``) and both are shown in ``--help``."""
    choices = [c for s in splits for c in ((s, "validation") if s == "val" else (s,))]
    parser.add_argument("--split", choices=choices, default=default, action=_SplitAction,
                        help=help_)
