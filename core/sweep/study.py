"""The Optuna glue: the study, its storage, the worker loop and the summary rows.

Optuna is an optional extra (``pip install "chexmini[sweep]"``), imported lazily here and
nowhere else in the engine. A sweep is one Optuna study in an RDB storage — by default the
SQLite file ``SWEEP/study.db``; across machines a shared PostgreSQL/MySQL URL — and every
``chexmini sweep`` process joining it runs :func:`work`:

- **Which trial.** Grid and random sweeps enqueue all their points when the study is
  created (by whichever command creates it first; the others wait for it); a worker takes
  a waiting trial by Optuna's atomic WAITING→RUNNING claim, so no trial is run twice. A
  TPE sweep asks Optuna for a new trial while fewer than ``trials`` are taken.
- **Where.** Trial *n* trains in ``SWEEP/trials/nnn`` (:mod:`core.sweep.trial`), reporting
  validation AUC every epoch; Optuna's pruner (``MedianPruner``) may stop it.
- **Crashes.** Every running trial records a heartbeat; a trial whose process died (kill
  -9, a lost machine) goes stale after 6 heartbeats, is marked failed and re-enqueued with
  the same parameters *and the same folder*, so whoever takes it resumes it from its
  ``resume.npz``. A worker with nothing left to take waits for the running trials to end
  (or go stale) before it returns, so the study completes.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.foundation.errors import ChexminiError
from core.sweep.spec import SPEC_FILE, STUDY_FILE, TRIALS, SweepSpec, spec_from_dict
from core.sweep.trial import run_trial

INSTALL_HINT = 'the sweep needs Optuna: pip install "chexmini[sweep]"'
#: The trial's folder number (a retried trial keeps its original trial's folder).
FOLDER_ATTR = "chexmini_folder"
SPEC_ATTR = "chexmini_spec"
#: Stale after this many missed heartbeats.
GRACE_BEATS = 6
#: Seconds between looks at the study while other trials run.
POLL = 0.5


def optuna_module():
    """Optuna, quietened (warnings only), or a one-line :class:`ChexminiError`."""
    try:
        import optuna
    except ImportError:
        raise ChexminiError(INSTALL_HINT) from None
    optuna.logging.set_verbosity(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    return optuna


def default_storage(sweep_dir: Path) -> str:
    """The embedded study file inside the sweep folder."""
    return f"sqlite:///{(sweep_dir / STUDY_FILE).resolve()}"


def open_storage(url: str, heartbeat: int):
    """Optuna's RDB storage at ``url`` with heartbeats and the stale-trial retry."""
    optuna = optuna_module()
    rdb = optuna.storages.RDBStorage
    names = inspect.signature(rdb.__init__).parameters
    callback = ("heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in names
                else "failed_trial_callback")
    sqlite = url.startswith("sqlite")
    engine = {"connect_args": {"timeout": 120, "isolation_level": None}} if sqlite else {}
    for attempt in range(OPEN_ATTEMPTS):
        try:
            storage = rdb(url, engine_kwargs=engine, heartbeat_interval=heartbeat,
                          grace_period=GRACE_BEATS * heartbeat, **{callback: retry_stale})
            if sqlite:
                _serialise_sqlite(storage.engine)
            return storage
        except Exception as exc:  # noqa: BLE001 - any driver or URL problem is one line
            if attempt + 1 < OPEN_ATTEMPTS and type(exc).__name__ in RACES:
                time.sleep(0.5 * (attempt + 1))  # another process is creating the tables
                continue
            raise ChexminiError(f"cannot open the study storage ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    raise AssertionError("unreachable")


def _serialise_sqlite(engine) -> None:
    """Every SQLite transaction begins with ``BEGIN IMMEDIATE`` (the write lock), so a
    read-then-write — claiming a waiting trial — is atomic across processes. (SQLite
    ignores ``SELECT … FOR UPDATE``, and the driver begins a transaction only at the
    first write, so two processes could both claim one trial; a PostgreSQL or MySQL
    storage locks the row itself.)"""
    from sqlalchemy import event

    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))


#: Two processes creating a new database's tables at once: the loser retries.
RACES = ("IntegrityError", "OperationalError")
OPEN_ATTEMPTS = 5


def retry_stale(study, trial) -> None:
    """Re-enqueue a trial whose process died: same parameters, same folder."""
    optuna = optuna_module()
    attrs = {k: v for k, v in trial.system_attrs.items() if k == "fixed_params"}
    attrs[FOLDER_ATTR] = folder_number(trial)
    study.add_trial(optuna.trial.create_trial(
        state=optuna.trial.TrialState.WAITING, params=trial.params,
        distributions=trial.distributions, system_attrs=attrs))


def folder_number(trial) -> int:
    return int(trial.system_attrs.get(FOLDER_ATTR, trial.number))


def trial_folder(sweep_dir: Path, number: int) -> Path:
    return sweep_dir / TRIALS / f"{number:03d}"


def _sampler(optuna, spec: SweepSpec):
    """TPE asks as it goes; grid and random trials are enqueued, so any sampler will do."""
    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(constant_liar=True)
    return optuna.samplers.RandomSampler(seed=spec.seed)


def _pruner(optuna, spec: SweepSpec):
    if spec.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=spec.prune_startup_trials,
                                       n_warmup_steps=spec.prune_warmup_epochs)


def open_study(spec: SweepSpec, url: str, create: bool = True):
    """Create the study (enqueueing a grid or random sweep's points) or join it; a study
    started with a different search is refused."""
    optuna = optuna_module()
    storage = open_storage(url, spec.heartbeat)
    kw = {"study_name": spec.name, "storage": storage, "sampler": _sampler(optuna, spec),
          "pruner": _pruner(optuna, spec)}
    if create:
        with contextlib.suppress(optuna.exceptions.DuplicatedStudyError):
            study = optuna.create_study(direction="maximize", **kw)
            for point in spec.points():
                study.enqueue_trial(point)
            study.set_user_attr(SPEC_ATTR, spec.to_dict())  # last: the study is ready
            return study
    try:
        study = optuna.load_study(**kw)
    except KeyError:
        raise ChexminiError(f"no study named {spec.name!r} in the storage") from None
    _check_same(study, spec)
    return study


def _check_same(study, spec: SweepSpec, wait: float = 60.0) -> None:
    deadline = time.monotonic() + wait
    while SPEC_ATTR not in study.user_attrs:  # its creator is still enqueueing
        if time.monotonic() > deadline:
            raise ChexminiError(f"the study {spec.name!r} was never made ready (its creator "
                                "stopped while enqueueing its trials)")
        time.sleep(POLL)
    saved = spec_from_dict(study.user_attrs[SPEC_ATTR], "the study")
    if not spec.same_search(saved):
        raise ChexminiError(f"the study {spec.name!r} was started with another spec (only "
                            "heartbeat, and a TPE sweep's trials, may change when it is "
                            "continued)")


# -- the worker loop -----------------------------------------------------------------------
def _pop_waiting(study):
    """A waiting trial claimed atomically (Optuna's own queue rule), or ``None``."""
    optuna = optuna_module()
    state = optuna.trial.TrialState
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(state.WAITING,)):
        try:
            if storage.set_trial_state_values(t._trial_id, state=state.RUNNING):
                return optuna.Trial(study, t._trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def taken(study) -> int:
    """Trials that count against the budget: finished, running, waiting, or failed for a
    reason of their own (a stale trial re-enqueued does not count twice)."""
    n = 0
    for t in study.get_trials(deepcopy=False):
        if t.state.name in ("COMPLETE", "PRUNED", "RUNNING", "WAITING"):
            n += 1
        elif t.state.name == "FAIL" and "error" in t.user_attrs:
            n += 1
    return n


def _next_trial(study, spec: SweepSpec):
    trial = _pop_waiting(study)
    if trial is None and spec.sampler == "tpe" and taken(study) < spec.trials:
        trial = study.ask()
    return trial


class _Heartbeat:
    """Records the trial's heartbeat every ``interval`` seconds from a daemon thread."""

    def __init__(self, storage, trial_id: int, interval: int) -> None:
        self._stop = threading.Event()
        storage.record_heartbeat(trial_id)

        def beat() -> None:
            while not self._stop.wait(interval):
                with contextlib.suppress(Exception):
                    storage.record_heartbeat(trial_id)
        self._thread = threading.Thread(target=beat, daemon=True, name="sweep-heartbeat")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def suggest(trial, spec: SweepSpec) -> dict[str, Any]:
    """The trial's value of every searched setting (fixed when it was enqueued)."""
    out = {}
    for name, axis in spec.space.items():
        if axis.choices is not None:
            out[name] = trial.suggest_categorical(name, list(axis.choices))
        elif axis.is_int:
            out[name] = trial.suggest_int(name, axis.low, axis.high, log=axis.log)
        else:
            out[name] = trial.suggest_float(name, axis.low, axis.high, log=axis.log)
    return out


def work(study, spec: SweepSpec, data, sweep_dir: Path, say: Callable[[str], None]) -> int:
    """Run trials until none is left to take and none is running; the number run here."""
    optuna = optuna_module()
    n = 0
    while True:
        optuna.storages.fail_stale_trials(study)
        trial = _next_trial(study, spec)
        if trial is not None:
            run_one(study, trial, spec, data, sweep_dir, say)
            n += 1
            continue
        if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            return n
        time.sleep(POLL)


def run_one(study, trial, spec: SweepSpec, data, sweep_dir: Path,
            say: Callable[[str], None]) -> None:
    """Train one trial in its folder and tell the study how it ended. A trial declared
    dead while its process lives (a heartbeat late on a loaded machine) is handed over:
    its state is saved and its retry resumes it."""
    optuna = optuna_module()
    state = optuna.trial.TrialState
    beat = _Heartbeat(study._storage, trial._trial_id, spec.heartbeat)
    number = folder_number(study._storage.get_trial(trial._trial_id))
    try:
        params = suggest(trial, spec)
        trial.set_user_attr("folder", str(Path(TRIALS) / f"{number:03d}"))
        outcome = _train_in_folder(trial, spec, data, trial_folder(sweep_dir, number), params)
        trial.set_user_attr("best_val_auc", outcome.value)
        trial.set_user_attr("epochs", outcome.epochs)
        if outcome.state == "pruned":
            study.tell(trial, state=state.PRUNED)
        else:
            study.tell(trial, outcome.value)
    except optuna.exceptions.UpdateFinishedTrialError:
        say(f"trial {number:03d} handed over (its heartbeat was late); its retry resumes it")
        return
    except ChexminiError as exc:
        trial.set_user_attr("error", exc.problem if hasattr(exc, "problem") else str(exc))
        study.tell(trial, state=state.FAIL)
        say(f"trial {number:03d} failed: {exc}")
        return
    except BaseException:  # interrupted: leave it to be retried from its folder
        with contextlib.suppress(Exception):
            study.tell(trial, state=state.FAIL)
            retry_stale(study, study._storage.get_trial(trial._trial_id))
        raise
    finally:
        beat.stop()
    shown = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in params.items())
    say(f"trial {number:03d} {outcome.state:<8} val AUC {outcome.value:.4f} after "
        f"{outcome.epochs} epochs  {shown}")


#: How long a retried trial waits for its folder's previous owner to let go.
HANDOVER_WAIT = 300.0


def _train_in_folder(trial, spec: SweepSpec, data, folder: Path, params: dict):
    """:func:`run_trial`, reporting to Optuna; waits while a previous owner still holds
    the folder (it lets go at its next epoch end, when it learns its trial was retried)."""
    from core.runs.folder import RunFolderBusy

    reported: set[int] = set()

    def report(epoch: int, auc: float) -> bool:
        if epoch not in reported:  # an epoch redone after a resume is reported once
            trial.report(auc, epoch)
            reported.add(epoch)
        return trial.should_prune()

    deadline = time.monotonic() + HANDOVER_WAIT
    while True:
        try:
            return run_trial(spec.config(params), data, folder, params, report)
        except RunFolderBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL)


# -- processes -----------------------------------------------------------------------------
#: Each parallel worker gets one BLAS thread and one elementwise thread.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "CHEXMINI_THREADS": "1"}


def worker_main(spec_dict: dict, sweep_dir: str, url: str, index: int) -> None:
    """A worker process: load the data, join the study, :func:`work`."""
    from core.data import load_data

    def say(line: str) -> None:
        print(f"[{index}] {line}", flush=True)

    try:
        spec = spec_from_dict(spec_dict, SPEC_FILE)
        data = load_data(**data_args(spec))
        study = open_study(spec, url, create=False)
        work(study, spec, data, Path(sweep_dir), say)
    except KeyboardInterrupt:
        sys.exit(130)
    except ChexminiError as exc:
        print(f"chexmini: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)


def data_args(spec: SweepSpec) -> dict[str, Any]:
    """:func:`core.data.load_data`'s arguments for the spec's data."""
    from core.data.sources import DEFAULT_SOURCE

    d = dict(spec.data)
    out = {"source": d.pop("data", DEFAULT_SOURCE), "seed": d.pop("split_seed", 0)}
    image_size = spec.config({}).image_size
    return {**out, **d, "image_size": image_size}


def run_workers(spec: SweepSpec, sweep_dir: Path, url: str, jobs: int) -> list[int]:
    """``jobs`` worker processes (one BLAS thread each) on the study; their exit codes."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    saved = {k: os.environ.get(k) for k in ONE_THREAD}
    os.environ.update(ONE_THREAD)
    try:
        procs = [ctx.Process(target=worker_main, args=(spec.to_dict(), str(sweep_dir), url, i),
                             name=f"chexmini-sweep-{i}") for i in range(jobs)]
        for p in procs:
            p.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        for p in procs:
            p.join(timeout=30)
        raise
    return [p.exitcode for p in procs]


# -- what the summary reads ----------------------------------------------------------------
def trial_rows(study) -> list[dict[str, Any]]:
    """Every trial as a plain dict: ``number`` (its folder's), ``state`` (complete,
    pruned, running, waiting, failed, or retried: failed and re-enqueued), ``value`` (best
    validation AUC; for a pruned or running trial the best reported so far), ``epochs``,
    ``params``, ``folder``. Only validation figures: the study holds nothing else."""
    trials = study.get_trials(deepcopy=False)
    rows = []
    for t in trials:
        state = t.state.name.lower()
        if state == "fail":
            state = "failed" if "error" in t.user_attrs else "retried"
        reported = list(t.intermediate_values.values())
        value = t.user_attrs.get("best_val_auc", t.value if t.state.name == "COMPLETE"
                                 else (max(reported) if reported else None))
        rows.append({"trial": t.number, "number": folder_number(t), "state": state,
                     "value": value, "epochs": t.user_attrs.get("epochs", len(reported)),
                     "params": dict(t.params), "folder": t.user_attrs.get("folder", ""),
                     "error": t.user_attrs.get("error", "")})
    return rows
