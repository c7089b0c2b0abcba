"""Issue 12, cause 8: what the app and the CLI read is schema-checked.

Bad ``events.jsonl`` lines are skipped and counted (and the count is shown); a
``metrics.json`` of the wrong shape is one line naming the file and the key.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chexmini_cli.main import main
from chexmini_tui.state import RunDisplayState
from core.data import load_data
from core.events import EVENT_TYPES, Event, read_events
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.nn.model import MLP
from core.runs.catalog import load_info
from core.runs.checkpoint import build_metrics, save_artifacts
from core.training.train import train
from tests.helpers import REPO


@pytest.fixture(scope="module")
def real_lines(tmp_path_factory) -> list[str]:
    """Every events.jsonl line of a real (tiny) run."""
    run = tmp_path_factory.mktemp("ev") / "run"
    list(train(TrainConfig(hidden_dims=[8], epochs=2, batch_size=64),
               load_data("synthetic:200"), run))
    return (run / "events.jsonl").read_text().splitlines()


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


BAD = ["1", '"text"', "[]", "null", "{", "[" * 50_000 + "]" * 50_000,
       '{"event": "epoch"}', '{"event": 3}', '{"no": "event"}']


@pytest.mark.slow
def test_bad_lines_are_skipped_and_counted(real_lines, tmp_path):
    epoch = json.loads(next(x for x in real_lines if '"epoch"' in x[:20]))
    wrong_type = json.dumps({**epoch, "val_auc": "high"})
    wrong_nested = json.dumps({**json.loads(real_lines[0]), "widths": ["a"]})
    unknown = json.dumps({"event": "from_the_future", "x": 1})
    lines = [*real_lines[:3], *BAD, wrong_type, wrong_nested, unknown, *real_lines[3:]]
    got = read_events(write(tmp_path / "events.jsonl", lines))
    assert got.bad == len(BAD) + 2                      # the unknown kind is not "bad"
    assert [e.to_dict() for e in got.events] == [json.loads(x) for x in real_lines]
    RunDisplayState().apply_all(got.events)


EVENT_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids,
                                                              max_size=3), max_leaves=8)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fuzzed_event_lines_never_crash_the_reader_or_the_app(real_lines, data, tmp_path_factory):
    """Mutate fields of real events (and add random JSON lines): the reader never raises,
    every returned event has fields of the annotated types, and the app folds them."""
    lines = []
    for _ in range(data.draw(st.integers(1, 6))):
        base = json.loads(data.draw(st.sampled_from(real_lines)))
        if data.draw(st.booleans()):
            key = data.draw(st.sampled_from(sorted(base)))
            base[key] = data.draw(EVENT_JSON)
        lines.append(json.dumps(base) if data.draw(st.integers(0, 5)) else
                     json.dumps(data.draw(EVENT_JSON)))
    path = write(tmp_path_factory.mktemp("fz") / "events.jsonl", lines)
    got = read_events(path)
    assert got.bad + len(got.events) <= len(lines)
    for ev in got.events:
        assert isinstance(ev, Event) and type(ev) in EVENT_TYPES.values()
    state = RunDisplayState()
    state.apply_all(got.events)
    assert state.n_events == len(got.events)


def test_a_partial_last_line_is_left_for_the_next_read(real_lines, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(real_lines[0] + "\n" + real_lines[1][:10])
    first = read_events(path)
    assert (len(first.events), first.bad) == (1, 0)
    path.write_text(real_lines[0] + "\n" + real_lines[1] + "\n")
    second = read_events(path, first.offset)
    assert (len(second.events), second.bad) == (1, 0)


def test_inspect_shows_the_bad_line_count(real_lines, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    write(run / "events.jsonl", [*real_lines[:4], "[1]", "{oops", *real_lines[4:6]])
    info = load_info(str(run))
    assert "2 bad lines skipped in events.jsonl" in (info.error or "")


@pytest.mark.slow
def test_attach_shows_the_bad_line_count(real_lines, tmp_path):
    import asyncio

    from chexmini_tui.app import ChexminiApp
    run = tmp_path / "run"
    run.mkdir()
    write(run / "events.jsonl", [*real_lines[:5], '{"event": "step", "epoch": "one"}',
                                 *real_lines[5:]])

    async def go():
        app = ChexminiApp(checkpoint=str(tmp_path / "none"), runs=str(tmp_path / "runs"),
                          attach=str(run))
        async with app.run_test(size=(140, 44)) as pilot:
            scr = app.screen
            for _ in range(100):
                await pilot.pause(0.05)
                if scr.state.finished is not None:
                    break
            assert scr.state.bad_lines == 1
            status = scr.query_one("#run-status")
            assert "1 bad lines skipped" in str(status.render())

    asyncio.run(go())


# -- metrics.json ----------------------------------------------------------------------------
@pytest.fixture()
def ckpt(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    s, y = rng.random(40), np.arange(40) % 2
    metrics = build_metrics(config=TrainConfig(hidden_dims=[8], image_size=16).to_dict(),
                            splits={"train": {"n": 4, "pos": 2, "neg": 2}}, best_epoch=1,
                            threshold=0.5, val_scores=s, val_labels=y, test_scores=s,
                            test_labels=y)
    hist = {k: [0.5] for k in ("train_loss", "reg_loss", "val_loss", "val_acc", "val_auc",
                               "lr")}
    out = tmp_path / "ckpt"
    save_artifacts(out, model=MLP((256, 8, 1), seed=0), mean=np.zeros(256),
                   std=np.ones(256), metrics=metrics, history=hist, val_scores=s,
                   val_labels=y, test_scores=s, test_labels=y)
    return out


def edit_metrics(ckpt: Path, fn) -> None:
    m = json.loads((ckpt / "metrics.json").read_text())
    fn(m)
    (ckpt / "metrics.json").write_text(json.dumps(m))


def _put(path: str, value):
    def fn(m):
        *parents, last = path.split(".")
        d = m
        for p in parents:
            d = d[p]
        d[last] = value
    return fn


METRICS_CASES = {
    "threshold": _put("threshold", "0.5"),
    "best_epoch": _put("best_epoch", 1.5),
    "config": _put("config", [1, 2]),
    "config.hidden_dims": _put("config.hidden_dims", "1024"),
    "splits.train.n": _put("splits.train.n", "60000"),
    "validation.auc": _put("validation.auc", None),
    "test.confusion_matrix.tp": _put("test.confusion_matrix.tp", -3),
    "test.confusion_matrix": _put("test.confusion_matrix", [1, 2, 3, 4]),
    "validation.roc_curve.fpr": _put("validation.roc_curve.fpr", ["x"]),
    "test.n_val": _put("test.n_val", True),
    "validation": _put("validation", "good"),
}


@pytest.mark.slow
@pytest.mark.parametrize("key", list(METRICS_CASES))
@pytest.mark.parametrize("command", ["inspect", "predict"])
def test_metrics_json_of_the_wrong_shape_is_one_line(ckpt, key, command, capsys, tmp_path):
    edit_metrics(ckpt, METRICS_CASES[key])
    argv = ["inspect", str(ckpt)] if command == "inspect" else \
        ["predict", "--checkpoint", str(ckpt), "--image", str(tmp_path / "none.png")]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(ckpt / "metrics.json") in lines[0], lines
    shown = key if key != "threshold" else "'threshold'"
    assert shown in lines[0]


@pytest.mark.slow
def test_deeply_nested_metrics_json(ckpt, capsys):
    (ckpt / "metrics.json").write_text('{"threshold": 0.5, "config": ' + "[" * 100_000
                                       + "]" * 100_000 + "}")
    assert main(["inspect", str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert "nested too deeply" in err and str(ckpt / "metrics.json") in err
    info = load_info(str(ckpt))
    assert info.summary is None and "nested too deeply" in info.error


@pytest.mark.slow
def test_valid_metrics_and_history_still_inspect(ckpt, capsys):
    assert main(["inspect", str(ckpt), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["threshold"] == 0.5
    info = load_info(str(ckpt))
    assert info.error is None and info.note is None and info.history["val_auc"] == [0.5]


@pytest.mark.slow
def test_history_of_the_wrong_shape_is_a_note_in_inspect(ckpt):
    (ckpt / "history.json").write_text(json.dumps({"val_loss": ["a"], "val_auc": [1]}))
    info = load_info(str(ckpt))
    assert info.summary is not None and info.history is None
    assert "history.json" in info.note and "val_loss" in info.note


def test_reference_metrics_pass_the_schema(shared_data):
    from core.runs.checkpoint import read_metrics
    read_metrics(shared_data / "reference_results")
    with pytest.raises(ChexminiError):
        read_metrics(shared_data)           # no metrics.json there


@pytest.mark.parametrize("edit, needle", [
    ({"threshold": 5.0}, "must be in [0, 1]"),
    ({"threshold": -0.5}, "must be in [0, 1]"),
    ({"config": {**TrainConfig().to_dict(), "hidden_dims": [1, 2]}}, "disagrees with the weights"),
    ({"config": {**TrainConfig().to_dict(), "image_size": 32}}, "disagrees with the weights"),
])
def test_metrics_that_contradict_the_checkpoint_are_refused(tmp_path, capsys, edit, needle):
    import shutil

    ckpt = tmp_path / "ckpt"
    shutil.copytree(REPO / "artifacts", ckpt)
    metrics = json.loads((ckpt / "metrics.json").read_text())
    (ckpt / "metrics.json").write_text(json.dumps({**metrics, **edit}))
    for argv in (["inspect", str(ckpt)], ["predict", "--checkpoint", str(ckpt), "--samples"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "metrics.json" in err[0] and needle in err[0]
