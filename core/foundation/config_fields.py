"""One table of the :class:`~core.foundation.config.TrainConfig` fields as front ends show them.

Each field has a kind (how its text is read), a help text (the CLI's ``--flag`` help),
a label (the app's form) and whether the app's form shows it. :func:`read_field` is the
one way from text to a value, and the range checks are the engine's
(:data:`core.foundation.config.NUMBER_RULES` through
:func:`core.foundation.checks.check_number`), so the same
text gives the same value — or the same :class:`~core.foundation.checks.ConfigError` problem — from
a command-line flag and from a form field; each front end names the setting its own way
(``ConfigError.named``). The CLI reads a flag as argparse parses it and range-checks the
whole config (:meth:`TrainConfig.validate`); the form checks each field as it reads it
(:func:`parse_field`), then the whole config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.foundation.checks import ConfigError, check_choice, check_number
from core.foundation.config import CHOICES, NUMBER_RULES, TrainConfig, parse_hidden_dims
from core.foundation.errors import ChexminiError

#: Kinds of field: how the text of a value is read and a value written back as text.
KINDS = ("int", "float", "bool", "choice", "dims", "str")
DIMS_RULE = "must be comma-separated whole numbers >= 1 (e.g. 1024,256,64; '' for none)"
BOOL_TEXT = {"true": True, "yes": True, "on": True, "1": True,
             "false": False, "no": False, "off": False, "0": False}


@dataclass(frozen=True)
class ConfigField:
    """One TrainConfig field: ``kind`` (one of :data:`KINDS`), ``help`` (CLI help),
    ``label`` (form label), ``note`` (text beside a form checkbox)."""

    name: str
    kind: str
    help: str
    label: str
    note: str = ""

    @property
    def flag(self) -> str:
        """``adam_eps`` → ``--adam-eps``."""
        return "--" + self.name.replace("_", "-")

    @property
    def default(self) -> Any:
        return getattr(TrainConfig(), self.name)

    def read(self, text: str) -> Any:
        """The value of ``text`` (see :func:`read_field`), not range-checked."""
        return read_field(self.name, text)

    def parse(self, text: str) -> Any:
        """The value of ``text``, range-checked (see :func:`parse_field`)."""
        return parse_field(self.name, text)

    def format(self, value: Any) -> str:
        """``value`` as text that :meth:`parse` reads back (``[1024, 256]`` → ``1024,256``)."""
        if self.kind == "dims":
            return ",".join(map(str, value))
        if self.kind == "float":
            return f"{value:g}"
        if self.kind == "bool":
            return "true" if value else "false"
        return str(value)


def _f(name: str, kind: str, help_: str, label: str = "", note: str = "") -> ConfigField:
    return ConfigField(name, kind, help_, label or name.replace("_", " "), note)


#: Every TrainConfig field, in its order.
CONFIG_FIELDS: dict[str, ConfigField] = {f.name: f for f in (
    _f("image_size", "int", "image side in pixels (data must match)"),
    _f("hidden_dims", "dims", "hidden layer widths, comma-separated (e.g. 1024,256,64; '' for "
                              "none)"),
    _f("dropout", "float", "dropout rate after each hidden ReLU"),
    _f("optimizer", "choice", "adam, sgd or rmsprop"),
    _f("lr", "float", "initial learning rate"),
    _f("lr_schedule", "choice", "cosine or constant"),
    _f("weight_decay", "float", "L2 weight decay on weights (not biases)"),
    _f("l1", "float", "L1 penalty on weights"),
    _f("label_smoothing", "float", "label smoothing epsilon", "label smooth"),
    _f("batch_size", "int", "mini-batch size"),
    _f("epochs", "int", "number of epochs"),
    _f("augment", "bool", "augment training batches (flip, brightness, noise)",
       note="flip/brightness/noise"),
    _f("standardize", "bool", "per-feature standardisation with training-split statistics"),
    _f("dataset_revision", "str", "revision of the data set (recorded, not a setting)"),
    _f("seed", "int", "seed for weights, shuffling, augmentation and dropout"),
    _f("lr_min", "float", "final learning rate of the cosine schedule"),
    _f("momentum", "float", "SGD momentum"),
    _f("beta1", "float", "Adam beta1"),
    _f("beta2", "float", "Adam beta2"),
    _f("adam_eps", "float", "Adam epsilon"),
    _f("rmsprop_rho", "float", "RMSProp decay rho of the squared-gradient average",
       "rmsprop rho"),
    _f("rmsprop_eps", "float", "RMSProp epsilon", "rmsprop eps"),
    _f("flip_prob", "float", "horizontal-flip probability"),
    _f("brightness", "float", "brightness jitter (± in [0,1] pixel units)"),
    _f("noise_std", "float", "Gaussian pixel-noise std (in [0,1] pixel units)"),
    _f("class_weight", "choice", "none or balanced (weight the loss so both classes count "
                                 "equally)"),
    _f("checkpoint_every", "int", "write the resumable state every N epochs (0: when the "
                                  "time since the last save exceeds 9× its cost)"),
)}

#: Fields that are not command-line flags (recorded by the run, not chosen).
NOT_FLAGS = ("dataset_revision",)
#: The fields on the app's Train form, in the form's order (text boxes, then checkboxes).
FORM_FIELDS = ("epochs", "lr", "batch_size", "hidden_dims", "dropout", "weight_decay",
               "label_smoothing", "seed", "augment")
#: Range of fields without a rule of their own in NUMBER_RULES (``lr_min <= lr`` is
#: checked by :meth:`TrainConfig.validate`).
EXTRA_RULES: dict[str, dict] = {"lr_min": {"lo": 0}}


def flag_fields() -> list[ConfigField]:
    """The fields that are command-line flags, in TrainConfig order."""
    return [f for name, f in CONFIG_FIELDS.items() if name not in NOT_FLAGS]


def form_fields() -> list[ConfigField]:
    """The fields on the app's form, in the form's order."""
    return [CONFIG_FIELDS[name] for name in FORM_FIELDS]


def read_field(name: str, text: str) -> Any:
    """``text`` → a value of the kind of TrainConfig field ``name``, not yet range-checked
    (:meth:`TrainConfig.validate` and :func:`parse_field` do that): a whole number
    (``int``), a number (``float``), ``true``/``false`` (``bool``), comma-separated
    widths (``dims``) or the text itself (``choice``, ``str``). Unreadable text raises
    :class:`ConfigError` with the field's full rule (``must be a whole number >= 1``)."""
    kind = CONFIG_FIELDS[name].kind
    text = str(text).strip()
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:   # not a number: check_number refuses it with the field's rule
            check_number(name, text, **_rules(name))
    if kind == "dims":
        try:
            return parse_hidden_dims(text)
        except ChexminiError:
            raise ConfigError(name, DIMS_RULE, text) from None
    if kind == "bool":
        if text.lower() not in BOOL_TEXT:
            raise ConfigError(name, "must be true or false", text)
        return BOOL_TEXT[text.lower()]
    return text


def parse_field(name: str, text: str) -> Any:
    """:func:`read_field` and the field's own range check (:data:`NUMBER_RULES`,
    :data:`CHOICES`): the value, or a :class:`ConfigError` (field, rule, text or value)."""
    value = read_field(name, text)
    kind = CONFIG_FIELDS[name].kind
    if kind in ("int", "float"):
        check_number(name, value, **_rules(name))
    elif kind == "choice":
        check_choice(name, value, CHOICES[name])
    return value


def _rules(name: str) -> dict:
    return NUMBER_RULES.get(name) or EXTRA_RULES.get(name, {})
