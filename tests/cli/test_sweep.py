"""``chexmini sweep`` end to end: real Optuna studies in real SQLite files, real worker
processes, real run folders (nothing mocked).

- two worker processes share one study file, and Optuna's median pruner prunes;
- a trial process killed with SIGKILL mid-run is retried from its folder by the
  survivor and ends bit-identical to the same run never interrupted;
- two ``chexmini sweep`` commands joining one study (the shared-database path, here two
  processes on one SQLite file) never run the same trial twice;
- the summary ranks by validation AUC only (test scores are never read).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.events import read_all_events
from core.foundation import safe_io
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.checkpoint import load_checkpoint
from core.runs.folder import owner_pid
from core.sweep.study import ONE_THREAD
from tests.helpers import REPO

optuna = pytest.importorskip("optuna")
pytestmark = pytest.mark.slow

DATA = "synthetic:600"


def _chexmini(*args: str, cwd: Path, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "chexmini_cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _done(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _spec(path: Path, space: dict, **top) -> Path:
    base = {"epochs": 6, "hidden_dims": [32], "batch_size": 64, "checkpoint_every": 1,
            **top.pop("base", {})}
    doc = {"data": DATA, "heartbeat": 1, "prune_startup_trials": 2, "prune_warmup_epochs": 1,
           "base": base, "space": space, **top}
    path.write_text(json.dumps(doc))
    return path


def _summary(sweep: Path, cwd: Path) -> dict:
    rc, out, err = _done(_chexmini("sweep", "--summary", str(sweep), "--json", cwd=cwd))
    assert rc == 0, err
    return json.loads(out)


def _runs_started(folder: Path) -> list:
    return [e for e in read_all_events(folder / layout.EVENTS).events if e.kind == "run_started"]


def test_two_processes_share_one_study_file_and_prune(tmp_path):
    # a good learning rate first, then hopeless ones: the median pruner stops those
    spec = _spec(tmp_path / "prune.json",
                 {"lr": [0.01, 0.003, 1e-7, 2e-7, 3e-7, 4e-7]}, sampler="grid",
                 base={"lr_min": 1e-8})
    rc, out, err = _done(_chexmini("sweep", str(spec), "--jobs", "2", cwd=tmp_path))
    assert rc == 0, err
    sweep = tmp_path / "sweeps" / "prune"
    assert (sweep / "study.db").is_file()
    summary = _summary(sweep, tmp_path)
    rows = summary["trials"]
    assert len(rows) == 6 and {r["state"] for r in rows} <= {"complete", "pruned"}
    assert summary["counts"].get("pruned", 0) >= 1, out
    # both processes ran trials, and every trial is an ordinary, loadable run folder
    assert {line[:3] for line in out.splitlines() if line.startswith("[")} == {"[0]", "[1]"}
    for r in rows:
        folder = sweep / r["folder"]
        ck = load_checkpoint(folder)
        metrics = safe_io.read_json(folder / layout.METRICS)
        assert r["value"] == pytest.approx(metrics["validation"]["auc"])
        assert ck.model.widths[1] == 32
    pruned = [r for r in rows if r["state"] == "pruned"]
    assert all(r["epochs"] < 6 for r in pruned)
    assert summary["best"]["params"]["lr"] in (0.01, 0.003)


def test_the_summary_never_reads_test_scores(tmp_path):
    spec = _spec(tmp_path / "t.json", {"lr": [0.01, 0.001, 0.0001]}, sampler="grid",
                 pruner="none")
    rc, _, err = _done(_chexmini("sweep", str(spec), cwd=tmp_path))
    assert rc == 0, err
    sweep = tmp_path / "sweeps" / "t"
    before = _summary(sweep, tmp_path)
    for folder in (sweep / "trials").iterdir():   # make test say the opposite of validation
        scores = np.load(folder / layout.TEST_SCORES)
        np.save(folder / layout.TEST_SCORES, 1 - scores)
        m = safe_io.read_json(folder / layout.METRICS)
        m["test"]["auc"] = 1 - m["test"]["auc"]
        (folder / layout.METRICS).write_text(json.dumps(m))
    assert _summary(sweep, tmp_path) == before
    rc, out, _ = _done(_chexmini("sweep", "--summary", str(sweep), cwd=tmp_path))
    assert "the test split is never used to choose" in out and "best: trial" in out


def _wait_for_resumable_trial(sweep: Path, proc: subprocess.Popen, timeout: float = 300):
    """A trial folder with a saved state and a live owner: (folder, owner pid)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for folder in sorted((sweep / "trials").glob("*")):
            if (folder / layout.RESUME).is_file() and not (folder / "trial.json").exists():
                pid = owner_pid(folder)
                if pid:
                    return folder, pid
        time.sleep(0.05)
    raise AssertionError("no trial was seen running with a saved state")


def test_a_trial_killed_mid_run_is_resumed_bit_identically(tmp_path):
    space = {"lr": [0.003, 0.002, 0.001]}
    spec = _spec(tmp_path / "k.json", space, sampler="grid", pruner="none",
                 base={"epochs": 12, "hidden_dims": [128, 32]})
    proc = _chexmini("sweep", str(spec), "--jobs", "2", cwd=tmp_path)
    sweep = tmp_path / "sweeps" / "k"
    folder, pid = _wait_for_resumable_trial(sweep, proc)
    os.kill(pid, signal.SIGKILL)
    rc, out, err = _done(proc)
    assert rc == 0, out + err
    rows = _summary(sweep, tmp_path)["trials"]
    mine = [r for r in rows if r["number"] == int(folder.name)]
    # (a heartbeat late on a loaded machine may add a hand-over: still one complete)
    assert [r["state"] for r in mine].count("complete") == 1, rows
    assert set(r["state"] for r in mine) == {"complete", "retried"}, rows
    assert sum(r["state"] == "complete" for r in rows) == 3
    # the killed trial's folder was resumed, not started again
    assert [e.resumed for e in _runs_started(folder)][-1] is True
    # ... and ends exactly where the uninterrupted run ends
    lr = next(r for r in mine if r["state"] == "complete")["params"]["lr"]
    ref = tmp_path / "ref"
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "chexmini_cli", "train", "--data", DATA, "--quiet",
                    "--epochs", "12", "--hidden-dims", "128,32", "--batch-size", "64",
                    "--lr", str(lr), "--out", str(ref)], env=env, check=True,
                   capture_output=True)
    with np.load(folder / layout.MODEL) as a, np.load(ref / layout.MODEL) as b:
        assert a.files == b.files
        for k in a.files:
            assert np.array_equal(a[k], b[k]), k


def test_two_commands_joining_one_study_never_run_a_trial_twice(tmp_path):
    spec = _spec(tmp_path / "j.json", {"lr": [0.02, 0.01, 0.005, 0.002, 0.001, 0.0005]},
                 sampler="grid", pruner="none")
    sweep = tmp_path / "shared"
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    procs = [_chexmini("sweep", str(spec), "--out", str(sweep), "--storage", url,
                       cwd=tmp_path) for _ in range(2)]
    results = [_done(p) for p in procs]
    assert all(rc == 0 for rc, _, _ in results), results
    ran = [[line.split()[1] for line in out.splitlines() if line.startswith("trial ")]
           for _, out, _ in results]
    assert not set(ran[0]) & set(ran[1]), ran
    assert sorted(ran[0] + ran[1]) == [f"{i:03d}" for i in range(6)]
    study = optuna.load_study(study_name="j", storage=url)
    trials = study.get_trials()
    assert len(trials) == 6 and all(t.state.name == "COMPLETE" for t in trials)
    assert sorted(t.params["lr"] for t in trials) == sorted(
        [0.02, 0.01, 0.005, 0.002, 0.001, 0.0005])
    for folder in (sweep / "trials").iterdir():  # each folder trained once, from the start
        assert [e.resumed for e in _runs_started(folder)] == [False]


def test_rerunning_the_command_continues_the_study(tmp_path):
    spec = _spec(tmp_path / "r.json", {"lr": {"low": 1e-3, "high": 1e-2, "log": True}},
                 sampler="tpe", trials=2, pruner="none", base={"epochs": 2})
    assert _done(_chexmini("sweep", str(spec), cwd=tmp_path))[0] == 0
    rc, out, err = _done(_chexmini("sweep", str(spec), "--trials", "3", cwd=tmp_path))
    assert rc == 0, err
    assert [line.split()[1] for line in out.splitlines() if line.startswith("trial ")] == ["002"]
    rows = _summary(tmp_path / "sweeps" / "r", tmp_path)["trials"]
    assert [r["state"] for r in rows] == ["complete"] * 3
    other = _spec(tmp_path / "r.json", {"dropout": [0.1, 0.2]}, sampler="grid")
    rc, _, err = _done(_chexmini("sweep", str(other), cwd=tmp_path))
    assert rc == 2 and "another spec" in err and err.count("\n") == 1


def test_without_optuna_the_command_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['optuna'] = None; from chexmini_cli.main import main; "
            "sys.exit(main(['sweep', 'x.toml']))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 2
    assert r.stderr.strip() == ('chexmini: error: the sweep needs Optuna: pip install '
                                '"chexmini[sweep]"')


CLAIM = """
import sys
from core.sweep.spec import spec_from_dict
from core.sweep import study as st
spec = spec_from_dict({"sampler": "grid", "space": {"lr": [0.001 * (i + 1) for i in range(40)]}},
                      "claim.json")
s = st.open_study(spec, sys.argv[1], create=sys.argv[2] == "create")
got = []
while sys.argv[2] == "pop":
    t = st._pop_waiting(s)
    if t is None:
        break
    got.append(t.number)
print(" ".join(map(str, got)))
"""


def test_processes_claiming_waiting_trials_never_claim_one_twice(tmp_path):
    # SQLite ignores SELECT ... FOR UPDATE: without BEGIN IMMEDIATE this claimed 6-8 of
    # the 40 trials twice (measured); the claim must be atomic across processes
    url = f"sqlite:///{tmp_path / 'claim.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", CLAIM, url, "create"], env=env, check=True)
    procs = [subprocess.Popen([sys.executable, "-c", CLAIM, url, "pop"], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    claimed = [int(n) for p in procs for n in p.communicate(timeout=300)[0].split()]
    assert sorted(claimed) == list(range(40))


@pytest.mark.parametrize("args, words", [
    ([], "give a SPEC"),
    (["missing.toml"], "missing.toml"),
    (["s.json", "--jobs", "0"], "--jobs"),
    (["--summary", "."], "not a sweep folder"),
])
def test_bad_input_is_one_line(tmp_path, args, words):
    _spec(tmp_path / "s.json", {"lr": [0.1, 0.2]})
    rc, _, err = _done(_chexmini("sweep", *args, cwd=tmp_path))
    assert rc == 2 and words in err and err.count("\n") == 1, err


def test_a_yaml_spec_reads_as_its_json_twin(tmp_path):
    from chexmini_cli.sweep_cmd import _read_spec

    doc = {"sampler": "grid", "base": {"epochs": 2}, "space": {"lr": [0.1, 0.01],
                                                              "hidden_dims": ["16,8"]}}
    (tmp_path / "a.json").write_text(json.dumps(doc))
    (tmp_path / "a.yaml").write_text("sampler: grid\nbase:\n  epochs: 2\nspace:\n"
                                     "  lr: [0.1, 0.01]\n  hidden_dims: ['16,8']\n")
    assert _read_spec(tmp_path / "a.yaml").to_dict() == _read_spec(tmp_path / "a.json").to_dict()
    (tmp_path / "b.yml").write_text("space: [unclosed\n")
    with pytest.raises(ChexminiError, match="not valid YAML"):
        _read_spec(tmp_path / "b.yml")
