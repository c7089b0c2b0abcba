"""``core.foundation.config_fields``: the one table the CLI's flags and the app's form come from."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest

from core.foundation.checks import ConfigError
from core.foundation.config import TrainConfig
from core.foundation.config_fields import (
    CONFIG_FIELDS,
    FORM_FIELDS,
    KINDS,
    flag_fields,
    parse_field,
)


def test_every_trainconfig_field_is_in_the_table_in_order():
    assert list(CONFIG_FIELDS) == [f.name for f in fields(TrainConfig)]
    assert all(f.kind in KINDS and f.help and f.label for f in CONFIG_FIELDS.values())
    assert set(FORM_FIELDS) <= set(CONFIG_FIELDS)
    # the kind agrees with the type of the default (a bool is not an int here)
    expect = {bool: "bool", int: "int", float: "float", list: "dims"}
    for f in CONFIG_FIELDS.values():
        want = expect.get(type(f.default))
        assert f.kind == want or (want is None and f.kind in ("str", "choice")), f.name
    assert [f.flag for f in flag_fields()][:3] == ["--image-size", "--hidden-dims", "--dropout"]


def test_default_text_reads_back_as_the_default():
    for f in CONFIG_FIELDS.values():
        assert f.parse(f.format(f.default)) == f.default, f.name


@pytest.mark.parametrize("name, text, value", [
    ("epochs", " 12 ", 12), ("lr", "3e-4", 3e-4), ("lr", "1", 1.0), ("seed", "0", 0),
    ("hidden_dims", "64, 32", [64, 32]), ("hidden_dims", "", []), ("augment", "no", False),
    ("standardize", "TRUE", True), ("optimizer", "sgd", "sgd"), ("lr_min", "0", 0.0),
    ("optimizer", "rmsprop", "rmsprop"), ("rmsprop_rho", "0.95", 0.95),
])
def test_parse_reads_good_text(name, text, value):
    got = parse_field(name, text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("name, text, detail", [
    ("epochs", "x", "must be a whole number >= 1, got 'x'"),
    ("epochs", "1.5", "must be a whole number >= 1, got '1.5'"),
    ("epochs", "0", "must be a whole number >= 1, got 0"),
    ("batch_size", "", "must be a whole number >= 1, got ''"),
    ("lr", "nan", "must be a finite number > 0, got nan"),
    ("lr", "0", "must be a finite number > 0, got 0.0"),
    ("dropout", "1", "must be a finite number in [0, 1), got 1.0"),
    ("image_size", "2", "must be a whole number in [4, 1024], got 2"),
    ("lr_min", "-1e-3", "must be a finite number >= 0, got -0.001"),
    ("optimizer", "adagrad", "must be adam or sgd or rmsprop, got 'adagrad'"),
    ("rmsprop_rho", "1", "must be a finite number in [0, 1), got 1.0"),
    ("augment", "maybe", "must be true or false, got 'maybe'"),
    ("hidden_dims", "64,0", "must be comma-separated whole numbers >= 1 (e.g. 1024,256,64; "
                            "'' for none), got '64,0'"),
])
def test_parse_refuses_bad_text_naming_field_and_rule(name, text, detail):
    with pytest.raises(ConfigError) as info:
        parse_field(name, text)
    assert info.value.field == name and info.value.detail == detail
    assert str(info.value) == f"{name} {detail}"


def test_float_text_inf_is_refused_everywhere():
    for f in CONFIG_FIELDS.values():
        if f.kind == "float":
            with pytest.raises(ConfigError):
                parse_field(f.name, "inf")
            assert math.isfinite(parse_field(f.name, f.format(f.default)))
