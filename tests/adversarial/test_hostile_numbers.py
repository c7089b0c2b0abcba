"""The hostile matrix: numbers read from files × hostile values × readers.

Every cell copies one real (tiny) run, replaces one number in one of its files by a
hostile value, and runs one reader on it. A reader may accept the value (exit 0, strict
JSON where it writes JSON) or refuse it in one line ``chexmini: error: FILE: problem``
(exit 2) naming the run's folder or file; it never raises. ``runs`` lists a bad file as
a row problem (an error, or a count of skipped event lines), never failing.

The fast cells cover the fields readers compute with (thresholds, AUCs, split seeds and
fractions, counts, the health/system figures of events, history, patients, weights);
the slow sweep takes every numeric leaf of every file.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chexmini_cli.main import main
from chexmini_tui.state import RunDisplayState
from core.data import load_data
from core.events import read_all_events
from core.foundation.config import TrainConfig
from core.training.train import train

HOSTILE = {"huge": "1" + "0" * 400, "inf": "Infinity", "ninf": "-Infinity", "nan": "NaN",
           "big": "1e308", "true": "true", "str": '"x"', "obj": '{"a": 1}'}

#: reader name → the command line for a run folder (``png``: an image to predict)
READERS = {
    "runs": lambda run, png: ["runs", str(run.parent)],
    "runs-json": lambda run, png: ["runs", str(run.parent), "--json"],
    "inspect": lambda run, png: ["inspect", str(run)],
    "predict": lambda run, png: ["predict", "--checkpoint", str(run), "--image", str(png),
                                 "--json"],
    "evaluate": lambda run, png: ["evaluate", "--checkpoint", str(run), "--json"],
    "export": lambda run, png: ["export", str(run), str(run.parent.parent / "exported")],
    "gallery": lambda run, png: ["gallery", str(run), "--json"],
}
CHECKPOINT_READERS = ("runs-json", "inspect", "predict", "evaluate", "export", "gallery")

#: (file, path of the number; for events.jsonl the first key is the event kind)
FAST_FIELDS = [
    ("metrics.json", ("threshold",)),
    ("metrics.json", ("validation", "auc")),
    ("metrics.json", ("test", "confusion_matrix", "tp")),
    ("metrics.json", ("best_epoch",)),
    ("metrics.json", ("splits", "test", "n")),
    ("metrics.json", ("data", "split_seed")),
    ("metrics.json", ("data", "test_fraction")),
    ("metrics.json", ("config", "dropout")),
    ("history.json", ("val_auc", 0)),
    ("splits.json", ("test", "patients", 0)),
    ("events.jsonl", ("run_started", "n_params")),
    ("events.jsonl", ("step", "loss")),
    ("events.jsonl", ("epoch", "val_auc")),
    ("events.jsonl", ("epoch", "health", "fc1", "grad_norm")),
    ("events.jsonl", ("epoch", "system", "rss_mb")),
    ("events.jsonl", ("finished", "test", "auc")),
]
EVENT_READERS = ("runs", "runs-json", "app")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hostile")
    run = root / "base" / "run"
    list(train(TrainConfig(hidden_dims=[8], epochs=2, batch_size=64),
               load_data("synthetic:200"), run))
    png = root / "x.png"
    Image.fromarray((np.arange(64 * 64).reshape(64, 64) % 251).astype(np.uint8)).save(png)
    return run, png


MARK = "__HOSTILE__"


def _set(obj, path, value):
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def _mutated(text: str, path, hostile: str) -> str:
    obj = json.loads(text)
    _set(obj, path, MARK)
    return json.dumps(obj).replace(f'"{MARK}"', hostile)


def hostile_copy(base_run: Path, dest: Path, fname: str, path, hostile: str) -> Path:
    run = dest / "runs" / "run"
    shutil.copytree(base_run, run)
    f = run / fname
    if fname == "events.jsonl":
        kind, *inner = path
        lines = f.read_text().splitlines()
        i = next(n for n, line in enumerate(lines) if json.loads(line)["event"] == kind)
        lines[i] = _mutated(lines[i], inner, hostile)
        f.write_text("\n".join(lines) + "\n")
        (run / "metrics.json").unlink()     # so that the listing reads the log
    else:
        f.write_text(_mutated(f.read_text(), path, hostile))
    return run


def _strict_json(text: str) -> None:
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    json.loads(text, parse_constant=refuse)


def check_reader(reader: str, run: Path, png: Path) -> tuple[int, str, str]:
    """Run one reader; assert the promise; ``(exit code, stdout, stderr)``."""
    if reader == "app":   # the app attached to the run folds the log's events
        read = read_all_events(run / "events.jsonl")
        RunDisplayState().apply_all(read.events)
        return 0, "", ""
    argv = READERS[reader](run, png)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    stdout, stderr = out.getvalue(), err.getvalue()
    assert rc in (0, 2), (reader, rc, stderr[-300:])
    if rc == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("chexmini: error: "), stderr[-300:]
        assert str(run) in lines[0] or str(run.parent) in lines[0], lines[0]
    elif "--json" in argv:
        _strict_json(stdout)
    if reader.startswith("runs"):
        assert rc == 0, stderr
    return rc, stdout, stderr


def _readers_of(fname: str) -> tuple[str, ...]:
    return EVENT_READERS if fname == "events.jsonl" else CHECKPOINT_READERS


#: hostile values run in the fast loop (the others are slow cells)
FAST_HOSTILE = ("huge", "inf", "nan", "true")
CELLS = [pytest.param(f, p, h, r, id=f"{f}:{'.'.join(map(str, p))}:{h}:{r}",
                      marks=() if h in FAST_HOSTILE else pytest.mark.slow)
         for f, p in FAST_FIELDS for h in HOSTILE for r in _readers_of(f)]


@pytest.mark.parametrize(("fname", "path", "hostile", "reader"), CELLS)
def test_hostile_number_is_accepted_or_one_line(base, tmp_path, fname, path, hostile, reader):
    base_run, png = base
    run = hostile_copy(base_run, tmp_path, fname, path, HOSTILE[hostile])
    rc, stdout, _ = check_reader(reader, run, png)
    # config holds strings and booleans too: only a number that is not one is refused
    refused = ("huge", "inf", "ninf", "nan", "obj") + (() if path[0] == "config" else ("true",))
    if reader == "runs-json":
        (row,) = json.loads(stdout)["runs"]
        if fname == "events.jsonl" and hostile != "big":
            assert "bad lines skipped" in (row["note"] or ""), row
        if fname in ("metrics.json", "history.json") and hostile in refused:
            assert row["error"], row
    if fname == "metrics.json" and hostile in refused \
            and reader in ("inspect", "predict", "evaluate", "export", "gallery"):
        assert rc == 2


def test_weights_whose_output_overflows_are_refused_naming_model_npz(base, tmp_path):
    base_run, png = base
    run = tmp_path / "runs" / "run"
    shutil.copytree(base_run, run)
    arrays = dict(np.load(run / "model.npz"))
    sign = np.sign(np.random.default_rng(0).normal(size=arrays["fc1.W"].shape))
    arrays["fc1.W"] = 1e308 * sign
    arrays["fc2.W"] = 1e308 * np.ones_like(arrays["fc2.W"], dtype=np.float64)
    np.savez(run / "model.npz", **arrays)
    for reader in ("predict", "inspect", "evaluate", "export", "gallery", "runs-json"):
        rc, stdout, stderr = check_reader(reader, run, png)
        if reader == "predict":
            assert rc == 2 and f"{run / 'model.npz'}: " in stderr and "not a finite" in stderr


def _leaves(obj, path=()):
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield path
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(obj, list) and obj:
        yield from _leaves(obj[0], (*path, 0))


def every_field(run: Path):
    """Every numeric leaf of every JSON file of ``run`` (first list items; for the log,
    the first event of each kind)."""
    for fname in ("metrics.json", "history.json", "splits.json"):
        for p in _leaves(json.loads((run / fname).read_text())):
            yield fname, p
    seen = set()
    for line in (run / "events.jsonl").read_text().splitlines():
        ev = json.loads(line)
        if ev["event"] not in seen:
            seen.add(ev["event"])
            for p in _leaves(ev):
                yield "events.jsonl", (ev["event"], *p)


@pytest.mark.slow
@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_every_number_of_every_file_with_every_reader(base, tmp_path, hostile):
    base_run, png = base
    cells = 0
    for i, (fname, path) in enumerate(every_field(base_run)):
        run = hostile_copy(base_run, tmp_path / str(i), fname, path, HOSTILE[hostile])
        for reader in _readers_of(fname):
            check_reader(reader, run, png)
            cells += 1
        shutil.rmtree(tmp_path / str(i))
    assert cells > 500
