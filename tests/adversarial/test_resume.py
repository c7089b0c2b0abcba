"""Issue 12, cause 4: ``resume.npz`` is validated before any of it is used.

Realistic resume states come from a tiny model trained on ``synthetic:200`` and closed
mid-run; each case corrupts a copy and checks: exit code 2, one line naming the file and
the key, and the resume state left exactly as it was. A valid state still resumes
bit-identically.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chexmini_cli.main import main
from core.data import load_data
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.training.resume_state import load_resume, load_resume_state, save_resume_state
from core.training.train import load_for_resume, train

SOURCE = "synthetic:200"


def tiny(**kw) -> TrainConfig:
    base = {"hidden_dims": [16, 8], "epochs": 3, "batch_size": 32, "lr": 1e-3}
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def data():
    return load_data(SOURCE)


def interrupted(out: Path, data, config: TrainConfig, epoch: int, step: int) -> Path:
    """Train until ``epoch``/``step`` then close the generator (writes resume.npz)."""
    gen = train(config, data, out)
    for ev in gen:
        if ev.kind == "step" and ev.epoch == epoch and ev.step == step:
            break
    gen.close()
    assert (out / layout.RESUME).is_file()
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("runs")
    return {"adam": interrupted(base / "adam", data, tiny(), 2, 3),
            "sgd": interrupted(base / "sgd", data, tiny(optimizer="sgd"), 1, 2),
            "rmsprop": interrupted(base / "rmsprop", data, tiny(optimizer="rmsprop"), 2, 1)}


def corrupt(src: Path, dst: Path, edit: Callable[[dict, dict], None]) -> Path:
    """A copy of run ``src`` whose resume state went through ``edit(arrays, meta)``."""
    shutil.copytree(src, dst)
    arrays, meta = load_resume_state(dst / layout.RESUME)
    edit(arrays, meta)
    save_resume_state(dst / layout.RESUME, arrays, meta)
    return dst


def cli_resume(run: Path, capsys) -> tuple[int, str]:
    code = main(["train", "--resume", str(run), "--quiet"])
    return code, capsys.readouterr().err


def _set(key: str, value) -> Callable[[dict, dict], None]:
    def edit(arrays: dict, meta: dict) -> None:
        if value is _DROP:
            arrays.pop(key, None)
            meta.pop(key, None)
        elif key in arrays:
            arrays[key] = value(arrays[key]) if callable(value) else value
        else:
            meta[key] = value(meta[key]) if callable(value) else value
    return edit


_DROP = object()


def _history_short(arrays, meta):
    meta["history"]["val_auc"] = meta["history"]["val_auc"][:-1]


def _rng_garbage(arrays, meta):
    meta["rng"]["shuffle"] = {"bit_generator": "PCG64", "state": {"state": -1, "inc": 3}}


def _perm_dupes(arrays, meta):
    arrays["perm"][1] = arrays["perm"][0]


def _config_hidden(arrays, meta):
    meta["config"]["hidden_dims"] = [1_000_000_000]


def _config_type(arrays, meta):
    meta["config"]["epochs"] = "30"


def _global_step_off(arrays, meta):
    meta["global_step"] += 1
    arrays["opt/t"] = np.array(meta["global_step"])


def _extra_array(arrays, meta):
    arrays["model/fc9.W"] = np.zeros((2, 2), np.float32)


CASES = {
    "missing weight": (_set("model/fc1.W", _DROP), "model/fc1.W"),
    "(1,)-shaped weight": (_set("model/fc2.W", np.zeros(1, np.float32)), "model/fc2.W"),
    "float64 weight": (_set("model/fc1.b", lambda a: a.astype(np.float64)), "model/fc1.b"),
    "NaN in best": (_set("best/fc2.W", lambda a: np.full_like(a, np.nan)), "best/fc2.W"),
    "inf in adam m": (_set("opt/m_scaled/fc3.b", lambda a: np.full_like(a, np.inf)),
                      "opt/m_scaled/fc3.b"),
    "negative adam v": (_set("opt/v_scaled/fc1.W", lambda a: a - 1.0), "opt/v_scaled/fc1.W"),
    "norm std zero": (_set("norm/std", lambda a: np.zeros_like(a)), "norm/std"),
    "meta without epoch": (_set("epoch", _DROP), "epoch"),
    "negative epoch": (_set("epoch", -18), "epoch"),
    "epoch past the end": (_set("epoch", 99), "epoch"),
    "step past the epoch": (_set("step", 10_000), "step"),
    "global_step off": (_global_step_off, "global_step"),
    "perm out of range": (_set("perm", lambda p: np.where(p == 0, 10**6, p)), "perm"),
    "perm with duplicates": (_perm_dupes, "perm"),
    "perm of the wrong size": (_set("perm", lambda p: p[:-1]), "perm"),
    "perm missing mid-epoch": (_set("perm", _DROP), "perm"),
    "absurd hidden dims": (_config_hidden, "config"),
    "config of the wrong type": (_config_type, "config"),
    "history length": (_history_short, "history.val_auc"),
    "rng state garbage": (_rng_garbage, "rng.shuffle"),
    "best_auc NaN": (_set("best_auc", float("nan")), "best_auc"),
    "optimizer step count": (_set("opt/t", np.array(0)), "opt/t"),
    "unexpected array": (_extra_array, "model/fc9.W"),
    "format": (_set("format", 7), "format"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_corrupt_resume_state_is_one_line_exit_2_and_kept(name, runs, tmp_path, capsys):
    edit, key = CASES[name]
    run = corrupt(runs["adam"], tmp_path / "run", edit)
    before = (run / layout.RESUME).read_bytes()
    code, err = cli_resume(run, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(run / layout.RESUME) in lines[0] and repr(key) in lines[0], lines[0]
    assert "Traceback" not in err
    assert (run / layout.RESUME).read_bytes() == before          # nothing lost
    assert not (run / "metrics.json").exists()


def test_sgd_state_with_adam_slots_is_refused(runs, tmp_path):
    def adam_slots(arrays, meta):
        for k in [k for k in arrays if k.startswith("opt/velocity/")]:
            arrays["opt/m/" + k[13:]] = arrays.pop(k)
    run = corrupt(runs["sgd"], tmp_path / "run", adam_slots)
    with pytest.raises(ChexminiError, match=r"opt/velocity/fc1\.W.*missing"):
        load_resume(run / layout.RESUME)


def test_meta_that_is_not_json_or_not_an_object(runs, tmp_path):
    for i, blob in enumerate((b"{not json", b"[1, 2]", b"[" * 100_000, b"\xff\xfe")):
        run = tmp_path / f"r{i}"
        shutil.copytree(runs["adam"], run)
        arrays, _ = load_resume_state(run / layout.RESUME)
        arrays["_meta"] = np.frombuffer(blob, np.uint8)
        from core.foundation.atomic import write_npz
        write_npz(run / layout.RESUME, arrays)
        with pytest.raises(ChexminiError) as exc:
            load_for_resume(run)           # the app's resume path
        assert str(run / layout.RESUME) in str(exc.value) and "\n" not in str(exc.value)


def test_not_an_npz_at_all(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / layout.RESUME).write_bytes(b"PK\x03\x04 definitely not a zip")
    code, err = cli_resume(run, capsys)
    assert code == 2 and str(run / layout.RESUME) in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["adam", "sgd", "rmsprop"])
def test_valid_states_still_resume_bit_identically(kind, runs, data, tmp_path):
    config = tiny(optimizer=kind)
    ref = tmp_path / "ref"
    list(train(config, data, ref))
    run = tmp_path / "run"
    shutil.copytree(runs[kind], run)
    saved, loaded = load_for_resume(run)
    assert saved == TrainConfig.from_dict({**config.to_dict(),
                                           "dataset_revision": saved.dataset_revision})
    list(train(saved, loaded, run, resume=True))
    for name in ("model.npz", "val_scores.npy", "test_scores.npy", "history.json"):
        assert (ref / name).read_bytes() == (run / name).read_bytes(), name


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                    | st.floats(allow_nan=True) | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.text(max_size=6), kids, max_size=4),
                    max_leaves=12)
META_KEYS = ("format", "config", "data_fingerprint", "source", "data_info", "epoch", "step",
             "global_step", "loss_sum", "seen", "elapsed", "best_auc", "best_epoch",
             "history", "rng")


@pytest.mark.slow
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(key=st.sampled_from(META_KEYS), value=JSON,
       sub=st.sampled_from(("", "epochs", "hidden_dims", "batch_size", "shuffle")))
def test_fuzzed_meta_is_refused_cleanly_or_resumes(runs, data, key, value, sub):
    """Any value anywhere in ``_meta``: a one-line ChexminiError naming the file, or a
    state that the engine can actually restore and run from."""
    with tempfile.TemporaryDirectory() as tmp:
        def edit(arrays, meta):
            target = meta.get(key)
            if sub and isinstance(target, dict) and sub in target:
                target[sub] = value
            else:
                meta[key] = value
        run = corrupt(runs["adam"], Path(tmp) / "run", edit)
        before = (run / layout.RESUME).read_bytes()
        try:
            config, loaded = load_for_resume(run)
            gen = train(config, loaded, run, resume=True)
            assert next(gen).kind == "run_started"
            next(gen)                                   # one real step
            gen.close()
        except ChexminiError as exc:
            msg = str(exc)
            assert "\n" not in msg
            assert layout.RESUME in msg or "synthetic" in msg or "data" in msg, msg
            assert (run / layout.RESUME).read_bytes() == before


def test_fuzz_meta_mutation_examples_are_not_all_valid(runs, tmp_path):
    """The fuzz above is not vacuous: a sample mutation is refused, naming the key."""
    run = corrupt(runs["adam"], tmp_path / "run", _set("seen", [1]))
    with pytest.raises(ChexminiError, match="'seen'"):
        load_resume(run / layout.RESUME)


def test_resume_meta_written_by_the_engine_is_plain_json(runs):
    _, meta = load_resume_state(runs["adam"] / layout.RESUME)
    assert json.loads(json.dumps(meta)) == meta
