"""The sweep spec and the summary's maths (no Optuna needed)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.sweep.spec import read_spec, spec_from_dict
from core.sweep.summary import best_row, setting_effects, spearman

SPEC = {"sampler": "grid", "data": "synthetic:300", "base": {"epochs": 3, "hidden_dims": [8]},
        "space": {"lr": [0.01, 0.001], "hidden_dims": ["16", "16,8"], "augment": [True, False]}}


def test_a_grid_runs_every_point_on_the_published_settings_plus_base():
    spec = spec_from_dict(SPEC, "s.json")
    points = spec.points()
    assert len(points) == spec.n_trials == 8
    assert len({json.dumps(p, sort_keys=True) for p in points}) == 8
    cfg = spec.config(points[-1])
    assert cfg.hidden_dims == [16, 8] and cfg.epochs == 3 and cfg.augment is False
    assert cfg.weight_decay == TrainConfig().weight_decay  # untouched: the published value


def test_random_points_are_reproducible_and_inside_their_ranges():
    doc = {"sampler": "random", "trials": 50, "seed": 3,
           "space": {"lr": {"low": 1e-4, "high": 1e-2, "log": True},
                     "batch_size": {"low": 16, "high": 64}}}
    a, b = spec_from_dict(doc, "s").points(), spec_from_dict(doc, "s").points()
    assert a == b and len(a) == 50
    assert all(1e-4 <= p["lr"] <= 1e-2 and 16 <= p["batch_size"] <= 64 for p in a)
    assert all(isinstance(p["batch_size"], int) for p in a)
    assert len({p["lr"] for p in a}) == 50


@pytest.mark.parametrize("doc, words", [
    ({"space": {"lr": [0.1]}, "colour": 1}, "unknown key 'colour'"),
    ({"space": {"flavour": [1, 2]}}, "'flavour' is not a training setting"),
    ({"space": {"dataset_revision": ["a"]}}, "not a training setting"),
    ({"space": {"dropout": [0.1, 1.5]}}, "dropout = 1.5"),
    ({"space": {"lr": {"low": 0.1, "high": 0.01}}}, "needs low < high"),
    ({"space": {"lr": {"low": 0, "high": 0.1, "log": True}}}, "low > 0 with log"),
    ({"sampler": "grid", "space": {"lr": {"low": 0.01, "high": 0.1}}}, "grid sweep needs a list"),
    ({"sampler": "annealing", "space": {"lr": [0.1]}}, "sampler"),
    ({"space": {}}, "names no setting"),
    ({"space": {"lr": [0.1, 0.1]}}, "distinct values"),
    ({"trials": 0, "space": {"lr": [0.1]}}, "trials"),
    ({"trials": True, "space": {"lr": [0.1]}}, "trials: expected int"),
    ({"base": {"epochs": -1}, "space": {"lr": [0.1]}}, "[base]"),
    ({"space": {"optimizer": {"low": 1, "high": 2}}}, "takes a list of values"),
    ({"name": "../up", "space": {"lr": [0.1]}}, "not a plain name"),
])
def test_a_bad_spec_is_one_line_naming_the_file_and_key(doc, words):
    with pytest.raises(ChexminiError) as exc:
        spec_from_dict(doc, "bad.json")
    text = str(exc.value)
    assert words in text and "bad.json" in text and "\n" not in text


def test_spec_files_toml_and_json(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(SPEC))
    assert read_spec(tmp_path / "a.json").name == "a"
    (tmp_path / "b.ini").write_text("sampler: grid\n")
    with pytest.raises(ChexminiError, match="toml, .yaml or .json"):
        read_spec(tmp_path / "b.ini")
    (tmp_path / "c.toml").write_text('name = "c1"\nsampler = "grid"\n[space]\nlr = [0.1, 0.2]\n')
    if sys.version_info >= (3, 11):
        spec = read_spec(tmp_path / "c.toml")
        assert spec.name == "c1" and spec.n_trials == 2
        (tmp_path / "d.toml").write_text("sampler = \n")
        with pytest.raises(ChexminiError, match="not valid TOML"):
            read_spec(tmp_path / "d.toml")
    else:
        with pytest.raises(ChexminiError, match="Python 3.11"):
            read_spec(tmp_path / "c.toml")


def test_a_continued_sweep_may_change_trials_but_not_the_search():
    a = spec_from_dict(SPEC, "s")
    assert a.same_search(spec_from_dict({**SPEC, "heartbeat": 2}, "s"))
    tpe = {**SPEC, "sampler": "tpe"}
    assert spec_from_dict(tpe, "s").same_search(spec_from_dict({**tpe, "trials": 99}, "s"))
    rnd = {**SPEC, "sampler": "random"}   # its points are drawn when it starts
    assert not spec_from_dict(rnd, "s").same_search(spec_from_dict({**rnd, "trials": 99}, "s"))
    assert not a.same_search(spec_from_dict({**SPEC, "space": {"lr": [0.01]}}, "s"))
    assert spec_from_dict(a.to_dict(), "s").to_dict() == a.to_dict()  # the saved form reads back


def _row(n, state, value, **params):
    return {"trial": n, "number": n, "state": state, "value": value, "params": params}


def test_the_best_trial_is_the_complete_one_with_the_highest_validation_auc():
    rows = [_row(0, "complete", 0.70, lr=0.1), _row(1, "pruned", 0.99, lr=0.2),
            _row(2, "complete", 0.80, lr=0.3), _row(3, "complete", 0.80, lr=0.4),
            _row(4, "running", 0.95, lr=0.5)]
    assert best_row(rows)["number"] == 2          # ties: the lower number
    assert best_row([_row(0, "pruned", 0.9)]) is None


def test_setting_effects_by_value_and_by_rank():
    rows = [_row(i, "complete", 0.5 + 0.01 * i, lr=float(10 ** -i), wd=("a" if i % 2 else "b"))
            for i in range(8)]
    eff = setting_effects(rows)
    assert eff["lr"] == {"spearman": pytest.approx(-1.0), "n": 8}
    by = dict((v, (m, n)) for v, m, n in eff["wd"]["by_value"])
    assert by["a"] == (pytest.approx(np.mean([0.51, 0.53, 0.55, 0.57])), 4)


def test_spearman_matches_its_definition():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=30), rng.normal(size=30)
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    assert spearman(x, y) == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    assert spearman(np.ones(5), np.arange(5)) is None
