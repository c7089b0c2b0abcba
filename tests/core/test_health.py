"""Training health: per-layer figures checked against the formulas written out here, the
warnings' rules, the system figures, and that health never changes a run."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from core.data.dataset import Split
from core.events import EpochEnd, event_from_dict
from core.nn.batches import BatchMaker
from core.nn.loss import bce_with_logits
from core.nn.model import MLP
from core.training import health as H
from core.training.health import ActivationProbe, layer_health
from core.training.optim import SGD, Adam, RMSProp, regularisation, weight_sq_norms
from core.training.scoring import score_split
from core.training.system_stats import EpochMeter
from tests.helpers import run_to_end, synthetic, tiny_config

WIDTHS = (6, 5, 4, 1)
LR, WD = 1e-2, 1e-3


def _model_and_batch(seed: int = 0, bias_shift: float = 0.0):
    """A float64 MLP without dropout and a batch (x, y); ``bias_shift`` is added to fc1.b
    (a large negative value kills units)."""
    model = MLP(WIDTHS, dropout=0.0, seed=seed, dtype=np.float64)
    model.layers[0].params["b"] += bias_shift
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((8, WIDTHS[0]))
    y = (np.arange(8) % 2).astype(np.float64)
    return model, x, y


def _by_hand(params: dict, x: np.ndarray, y: np.ndarray, eps_ls: float = 0.0):
    """Forward and backward of the MLP written out: activations per layer and dL/dW."""
    a, acts, inputs = x, [], []
    n = len(WIDTHS) - 1
    for k in range(1, n + 1):
        inputs.append(a)
        z = a @ params[f"fc{k}.W"] + params[f"fc{k}.b"]
        a = np.maximum(z, 0.0) if k < n else z
        acts.append(a)
    t = y * (1 - eps_ls) + 0.5 * eps_ls
    g = (1.0 / (1.0 + np.exp(-acts[-1][:, 0])) - t)[:, None] / len(y)   # dL/dz, mean BCE
    grads = {}
    for k in range(n, 0, -1):
        grads[f"fc{k}.W"] = inputs[k - 1].T @ g
        if k > 1:
            g = (g @ params[f"fc{k}.W"].T) * (acts[k - 2] > 0)
    return acts, grads


def _one_step(model, x, y, opt):
    """One training step with the optimiser measuring its update."""
    logits = model.forward(x, train=True)
    _, g = bce_with_logits(logits, y, 0.0)
    model.backward(g)
    opt.measure_update = True
    opt.step(LR)


@pytest.mark.parametrize("kind", ["adam", "sgd", "rmsprop"])
def test_layer_figures_equal_the_formulas(kind):
    model, x, y = _model_and_batch()
    before = model.state_dict()
    params, grads = model.parameters(), model.gradients()
    opt = (Adam(params, grads, weight_decay=WD) if kind == "adam"
           else RMSProp(params, grads, rho=0.9, weight_decay=WD) if kind == "rmsprop"
           else SGD(params, grads, momentum=0.9, weight_decay=WD))
    _one_step(model, x, y, opt)
    probe = ActivationProbe()
    probe.forward(model, x)
    fig = layer_health(params, grads, opt.last_update_sq, probe.summary())
    assert layer_health(params, grads, opt.last_update_sq, probe.summary(),
                        weight_sq_norms(params)) == fig

    _, g_hand = _by_hand(before, x, y)          # the loss gradient at the step (no decay)
    acts, _ = _by_hand(model.parameters(), x, y)  # activations after the step
    assert list(fig) == ["fc1", "fc2", "fc3"]
    for k in (1, 2, 3):
        f, name = fig[f"fc{k}"], f"fc{k}.W"
        w, w0 = params[name], before[name]
        assert f["w_norm"] == pytest.approx(np.sqrt(np.sum(w**2)), rel=1e-12)
        assert f["grad_norm"] == pytest.approx(np.sqrt(np.sum(g_hand[name] ** 2)), rel=1e-9)
        # first step: Adam's ΔW = lr · g'/(|g'| + ε), RMSProp's lr · g'/(√(1−ρ)|g'| + ε),
        # SGD's ΔW = lr · g', g' = g + λ W
        g_reg = g_hand[name] + WD * w0
        step = (LR * g_reg / (np.abs(g_reg) + 1e-8) if kind == "adam"
                else LR * g_reg / (np.sqrt(0.1) * np.abs(g_reg) + 1e-8) if kind == "rmsprop"
                else LR * g_reg)
        assert np.allclose(w0 - w, step, rtol=1e-9, atol=1e-15)
        ratio = np.sqrt(np.sum(step**2)) / np.sqrt(np.sum(w**2))
        assert f["update_ratio"] == pytest.approx(ratio, rel=1e-8)
        a = acts[k - 1]
        assert f["act_mean"] == pytest.approx(a.mean(), rel=1e-12)
        assert f["act_std"] == pytest.approx(a.std(), rel=1e-9)
    for k in (1, 2):  # dead: never positive on any probe image
        assert fig[f"fc{k}"]["dead"] == pytest.approx(np.mean(np.all(acts[k - 1] <= 0, axis=0)))
    assert fig["fc3"]["saturated"] == pytest.approx(np.mean(np.abs(acts[2]) >= 6.0))
    assert "dead" not in fig["fc3"] and "saturated" not in fig["fc1"]


def test_regularisation_from_precomputed_norms_is_the_same_number():
    model, _, _ = _model_and_batch()
    params = model.parameters()
    sq = weight_sq_norms(params)
    assert sq == pytest.approx({k: float(np.sum(v**2)) for k, v in params.items()
                                if k.endswith(".W")}, rel=1e-12)
    assert regularisation(params, WD, 1e-4, sq) == regularisation(params, WD, 1e-4)


def test_dead_units_and_saturated_logits_are_counted():
    model, x, _ = _model_and_batch(bias_shift=-50.0)     # every fc1 unit is off
    model.layers[-1].params["b"][...] = 7.0               # |logit| ≥ 6 for every image
    probe = ActivationProbe()
    probe.forward(model, x)
    s = probe.summary()
    assert s["fc1"]["dead"] == 1.0 and s["fc1"]["act_mean"] == 0.0 and s["fc1"]["act_std"] == 0.0
    assert s["fc3"]["saturated"] == 1.0


def test_the_probe_over_batches_equals_one_pass_and_keeps_the_logits():
    model, _, _ = _model_and_batch()
    rng = np.random.default_rng(3)
    n_in = WIDTHS[0]
    images = rng.integers(0, 256, (10, n_in), dtype=np.uint8)
    split = Split(images, (np.arange(10) % 2).astype(np.uint8),
                  np.array([f"{i}.png" for i in range(10)]), np.arange(10, dtype=np.int64))
    maker = BatchMaker(np.full(n_in, 0.5), np.full(n_in, 0.25), dtype=np.float64)
    probe = ActivationProbe()
    logits = score_split(model, split, maker, batch_size=3, probe=probe)   # 3+3+3+1
    assert np.array_equal(logits, score_split(model, split, maker))        # bit for bit
    x = (images.astype(np.float64) / 255.0 - 0.5) / 0.25                    # (p/255 − μ)/σ
    acts, _ = _by_hand(model.parameters(), x, np.zeros(10))
    s = probe.summary()
    for k in (1, 2, 3):
        assert s[f"fc{k}"]["act_mean"] == pytest.approx(acts[k - 1].mean(), rel=1e-9)
        assert s[f"fc{k}"]["act_std"] == pytest.approx(acts[k - 1].std(), rel=1e-9)
    assert s["fc2"]["dead"] == pytest.approx(np.mean(np.all(acts[1] <= 0, axis=0)))


def test_no_update_or_gradient_figures_without_a_step_here():
    model, _, _ = _model_and_batch()
    fig = layer_health(model.parameters(), None, None, {})
    assert all(f["grad_norm"] is None and f["update_ratio"] is None for f in fig.values())
    assert fig["fc1"]["w_norm"] > 0


# -- warnings -----------------------------------------------------------------------------
HEALTHY = {"fc1": {"w_norm": 40.0, "grad_norm": 2.0, "update_ratio": 1e-3, "act_mean": 1.0,
                   "act_std": 2.0, "dead": 0.05},
           "fc2": {"w_norm": 1.3, "grad_norm": 3.0, "update_ratio": 2e-3, "act_mean": 0.5,
                   "act_std": 0.9, "saturated": 0.0}}


def _with(layer: str, **figures) -> dict:
    out = json.loads(json.dumps(HEALTHY))
    out[layer].update(figures)
    return out


def test_a_healthy_run_has_no_warnings():
    assert H.warnings([HEALTHY, HEALTHY]) == []
    assert H.warnings([]) == []


@pytest.mark.parametrize(("layer", "figures", "words"), [
    ("fc1", {"grad_norm": 40.0 * H.VANISHING_GRAD / 2}, ["vanishing", "learning rate"]),
    ("fc2", {"grad_norm": 1.3 * H.EXPLODING_GRAD * 2}, ["exploding", "lower the learning rate"]),
    ("fc1", {"update_ratio": H.UPDATE_TOO_LARGE * 3}, ["3.0e-02", "lower the learning rate"]),
    ("fc2", {"update_ratio": H.UPDATE_TOO_SMALL / 4}, ["2.5e-06", "raise the learning rate"]),
    ("fc1", {"dead": 0.62}, ["62% of units never fire", "smaller initialisation"]),
    ("fc2", {"saturated": 0.8}, ["80% of outputs are saturated", "label smoothing"]),
])
def test_each_rule_fires_on_its_case_and_says_what_to_change(layer, figures, words):
    bad = _with(layer, **figures)
    found = H.warnings([HEALTHY] + [bad] * H.UPDATE_EPOCHS)
    assert len(found) == 1 and found[0].startswith(f"{layer}: ")
    for w in words:
        assert w in found[0]
    assert H.warnings([bad] * H.UPDATE_EPOCHS + [HEALTHY]) == []   # the latest epoch counts


def test_an_update_ratio_out_of_range_must_last_before_it_is_reported():
    big = _with("fc1", update_ratio=H.UPDATE_TOO_LARGE * 2)
    assert H.warnings([big] * (H.UPDATE_EPOCHS - 1)) == []
    assert H.warnings([big, HEALTHY] + [big] * (H.UPDATE_EPOCHS - 1)) == []
    assert len(H.warnings([HEALTHY] + [big] * H.UPDATE_EPOCHS)) == 1
    assert H.warnings([{}] + [big] * H.UPDATE_EPOCHS) == H.warnings([big] * H.UPDATE_EPOCHS)


def test_thresholds_are_strict_and_missing_figures_are_skipped():
    at_limits = _with("fc1", dead=H.DEAD_FRACTION, update_ratio=H.UPDATE_TOO_LARGE)
    assert H.warnings([at_limits] * H.UPDATE_EPOCHS) == []
    assert H.warnings([_with("fc1", grad_norm=None, update_ratio=None)]) == []


# -- events -------------------------------------------------------------------------------
def _epoch_dict(**extra) -> dict:
    d = EpochEnd(1, 2, 0.6, 0.01, 0.65, 0.7, 0.6, 1e-3, True, 1, 0.7, 0.3).to_dict()
    d.update(extra)
    return d


def test_old_epoch_lines_without_health_still_parse():
    d = _epoch_dict()
    del d["health"], d["system"]
    ev = event_from_dict(d)
    assert ev.health == {} and ev.system == {} and ev.val_auc == 0.7


def test_health_and_system_round_trip():
    d = _epoch_dict(health=HEALTHY, system={"cpu_percent": 150.0, "rss_mb": 190.0,
                                            "peak_rss_mb": None, "samples_per_s": 4000})
    ev = event_from_dict(json.loads(json.dumps(d)))
    assert ev.health == HEALTHY and ev.system["samples_per_s"] == 4000


@pytest.mark.parametrize("bad", [
    {"health": "fc1"}, {"health": {"fc1": 3.0}}, {"health": {"fc1": {"w_norm": "big"}}},
    {"health": {"fc1": {"dead": True}}}, {"system": [1, 2]}, {"system": {"cpu_percent": {}}},
])
def test_hostile_health_or_system_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="^epoch: "):
        event_from_dict(_epoch_dict(**bad))


# -- system figures -----------------------------------------------------------------------
def test_system_figures():
    meter = EpochMeter()
    start = sum(os.times()[:2])
    while sum(os.times()[:2]) - start < 0.05:   # CPU work the clock can see (10 ms ticks)
        sum(i * i for i in range(20_000))
    fig = meter.read(samples=1000, step_seconds=0.25)
    assert fig["samples_per_s"] == 1000 / 0.25
    with open("/proc/self/statm") as fh:
        rss_mb = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    assert fig["rss_mb"] == pytest.approx(rss_mb, rel=0.05)
    assert fig["peak_rss_mb"] >= fig["rss_mb"]
    assert 0 < fig["cpu_percent"] < 100 * (os.cpu_count() or 1) + 50
    assert meter.read(0, 0.0)["samples_per_s"] is None


# -- in training ----------------------------------------------------------------------------
def test_every_epoch_carries_health_and_health_never_changes_the_run(tmp_path):
    data = synthetic(200)
    cfg = tiny_config(epochs=2)
    with_h = run_to_end(cfg, data, tmp_path / "a")
    without = run_to_end(tiny_config(epochs=2), data, tmp_path / "b", health=False)
    epochs = [e for e in with_h if e.kind == "epoch"]
    assert [e.val_auc for e in epochs] == [e.val_auc for e in without if e.kind == "epoch"]
    assert [e.train_loss for e in epochs] == [e.train_loss for e in without if e.kind == "epoch"]
    a, b = np.load(tmp_path / "a" / "model.npz"), np.load(tmp_path / "b" / "model.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a.files)
    for ev in epochs:
        assert list(ev.health) == ["fc1", "fc2", "fc3"]
        assert set(ev.health["fc1"]) == {"w_norm", "grad_norm", "update_ratio", "act_mean",
                                         "act_std", "dead"}
        assert "saturated" in ev.health["fc3"]
        assert all(v is not None for f in ev.health.values() for v in f.values())
        assert set(ev.system) == {"cpu_percent", "rss_mb", "peak_rss_mb", "samples_per_s"}
    assert all(e.health == {} for e in without if e.kind == "epoch")


def test_a_resumed_run_reports_the_same_health(tmp_path):
    """Closed right after an epoch's last step, the resumed process never ran that step:
    its epoch end has no gradient or update figures, everything else as uninterrupted."""
    from core.training.train import train

    data, cfg = synthetic(200), dict(epochs=3)
    full = [e for e in run_to_end(tiny_config(**cfg), data, tmp_path / "full")
            if e.kind == "epoch"]
    gen = train(tiny_config(**cfg), data, tmp_path / "part")
    for ev in gen:
        if ev.kind == "run_started":
            spe = ev.steps_per_epoch
        if ev.kind == "step" and ev.epoch == 2 and ev.step == spe:
            break
    gen.close()
    resumed = [e for e in run_to_end(tiny_config(**cfg), data, tmp_path / "part", resume=True)
               if e.kind == "epoch"]
    assert [e.epoch for e in resumed] == [2, 3]
    first, want = resumed[0].health, full[1].health
    for name, fig in first.items():
        assert fig["grad_norm"] is None and fig["update_ratio"] is None
        assert {k: v for k, v in fig.items() if k not in ("grad_norm", "update_ratio")} == \
            {k: v for k, v in want[name].items() if k not in ("grad_norm", "update_ratio")}
    assert resumed[1].health == full[2].health
