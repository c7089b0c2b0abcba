"""fc1's templates: shapes, the grid's order against a brute-force sort, dead units built by
hand, unit saliency against finite differences in float64, and the Templates event."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.evaluation import templates as T
from core.events import Templates, event_from_dict
from core.training.train import TEMPLATE_SIDE
from tests.helpers import run_to_end, synthetic, tiny_config

SIDE, H = 8, 12


def _layer(seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((SIDE * SIDE, H)), 0.1 * rng.standard_normal(H)


def test_a_template_is_the_weight_column_reshaped_row_major():
    w1, _ = _layer()
    t = T.templates(w1)
    assert t.shape == (H, SIDE, SIDE)
    for j in range(H):
        for p in (0, 5, SIDE + 3, SIDE * SIDE - 1):
            assert t[j, p // SIDE, p % SIDE] == w1[p, j]
    with pytest.raises(ValueError, match="not a square image"):
        T.templates(np.zeros((10, 3)))


def test_norms_are_column_l2_norms():
    w1, _ = _layer(1)
    expected = [np.sqrt(sum(w1[p, j] ** 2 for p in range(len(w1)))) for j in range(H)]
    np.testing.assert_allclose(T.unit_norms(w1), expected, rtol=1e-12)


def test_a_dead_unit_built_by_hand_is_found():
    w1, b1 = _layer(2)
    x = np.random.default_rng(3).standard_normal((40, SIDE * SIDE))
    b1[4] = -1e6                   # never fires
    w1[:, 7], b1[7] = 0.0, 0.0     # z = 0 exactly: ReLU output 0, dead too
    b1[9] = 1e6                    # always fires
    dead = T.dead_units(w1, b1, x)
    brute = [all(max(0.0, float(x[i] @ w1[:, j] + b1[j])) == 0 for i in range(len(x)))
             for j in range(H)]
    assert dead.tolist() == brute
    assert dead[4] and dead[7] and not dead[9]
    # batching does not change the answer
    assert (T.active_units(w1, b1, x, batch_size=7) == ~dead).all()


def test_order_matches_a_brute_force_sort():
    norms = np.array([3.0, 1.0, 5.0, 3.0, 0.5, 5.0, 2.0])
    dead = np.array([False, False, True, False, False, False, True])
    brute = sorted(range(len(norms)), key=lambda j: (dead[j], -norms[j], j))
    assert T.unit_order(norms, dead).tolist() == brute
    assert T.unit_order(norms).tolist() == sorted(range(7), key=lambda j: (-norms[j], j))


def test_unit_gradient_equals_finite_differences_in_float64():
    w1, b1 = _layer(4)
    x = np.random.default_rng(5).standard_normal(SIDE * SIDE)
    eps = 1e-6

    def act(v, j):
        return max(0.0, float(v @ w1[:, j] + b1[j]))

    checked = 0
    for j in range(H):
        grad = T.unit_gradient(w1, b1, j, x)
        fd = np.empty_like(x)
        for p in range(len(x)):
            e = np.zeros_like(x)
            e[p] = eps
            fd[p] = (act(x + e, j) - act(x - e, j)) / (2 * eps)
        scale = max(np.abs(fd).max(), np.abs(grad).max(), 1e-300)
        if np.abs(fd).max() > 0:
            checked += 1
            assert np.abs(grad - fd).max() / scale < 1e-6
        else:
            assert not grad.any()
        np.testing.assert_array_equal(T.unit_saliency(w1, b1, j, x), np.abs(x * grad))
    assert checked > 0


def test_class_means_and_pooling():
    x = np.arange(12.0).reshape(4, 3)
    ab, no = T.class_means(x, np.array([1, 0, 1, 0]))
    np.testing.assert_array_equal(ab, (x[0] + x[2]) / 2)
    np.testing.assert_array_equal(no, (x[1] + x[3]) / 2)
    with pytest.raises(ValueError, match="both classes"):
        T.class_means(x, np.ones(4))
    tiles = np.arange(2 * 4 * 4, dtype=float).reshape(2, 4, 4)
    pooled = T.pool(tiles, 2)
    assert pooled.shape == (2, 2, 2)
    assert pooled[1, 0, 1] == tiles[1, 0:2, 2:4].mean()


def test_grid_tiles_are_the_first_units_in_order():
    w1, b1 = _layer(6)
    dead = np.zeros(H, bool)
    dead[[0, 3]] = True
    units, norms, tiles = T.grid_tiles(w1, dead, 5, 2)
    assert units.tolist() == T.unit_order(T.unit_norms(w1), dead)[:5].tolist()
    np.testing.assert_allclose(norms, T.unit_norms(w1)[units])
    np.testing.assert_allclose(tiles, T.pool(T.templates(w1)[units], 2), rtol=1e-6)


def test_templates_event_round_trips_through_json():
    tiles = np.random.default_rng(7).standard_normal((3, 4, 4)).astype(np.float32)
    tiles[2] = 0.0
    ev = Templates.encode(5, 64, 2, np.array([4, 1, 9]), np.array([1.5, 1.0, 0.2]),
                          np.array([False, False, True]), tiles)
    back = event_from_dict(json.loads(json.dumps(ev.to_dict())))
    assert back == ev
    got = back.tiles()
    assert got.shape == (3, 4, 4)
    # int8 quantisation: error at most half a step of max|t|/127
    step = np.abs(tiles).reshape(3, -1).max(axis=1)[:, None, None] / 127
    assert (np.abs(got - tiles) <= step / 2 + 1e-7).all()
    bad = {**ev.to_dict(), "data": ev.data[:-8]}
    with pytest.raises(ValueError, match="nested"):
        event_from_dict(bad)


def test_training_yields_templates_after_each_epoch_only_when_asked():
    data = synthetic(200)
    cfg = tiny_config(epochs=2, hidden_dims=[24, 8])
    plain = run_to_end(cfg, data)
    assert not any(ev.kind == "templates" for ev in plain)
    events = run_to_end(tiny_config(epochs=2, hidden_dims=[24, 8]), data, templates=10)
    kinds = [ev.kind for ev in events]
    assert kinds.count("templates") == 2
    for i, ev in enumerate(events):
        if ev.kind == "templates":
            assert kinds[i - 1] == "epoch" and events[i - 1].epoch == ev.epoch
    last = [ev for ev in events if ev.kind == "templates"][-1]
    side = data.image_size // max(data.image_size // TEMPLATE_SIDE, 1)
    assert last.n_units == 24 and len(last.units) == 10 and last.side == side
    # the weights are the same with or without templates
    assert [ev.val_auc for ev in plain if ev.kind == "epoch"] == \
        [ev.val_auc for ev in events if ev.kind == "epoch"]

