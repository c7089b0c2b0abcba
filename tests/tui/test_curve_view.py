"""The epoch curves' view (``chexmini_tui.curve_view``): debiased EMA smoothing, a log10
loss axis and the last-N-epochs zoom — one setting in the app state, which the Train plots
and Inspect's overlays both draw with."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from chexmini_tui.curve_view import SMOOTHING, ZOOMS, CurveView, ema, last_epochs
from chexmini_tui.widgets.plots import CurvePlot
from chexmini_tui.widgets.run_overlay import RunOverlay
from tests.helpers.tui import inspect_ready, make_checkpoint, replayed_run, select_run

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def test_ema_is_tensorboards_debiased_average():
    v = [1.0, 3.0, 2.0, 5.0]
    w = 0.6
    s, want = 0.0, []
    for t, x in enumerate(v, 1):
        s = w * s + (1 - w) * x
        want.append(s / (1 - w ** t))
    assert ema(v, w) == pytest.approx(want)
    assert ema(v, w)[0] == pytest.approx(1.0)        # debiased: no pull towards 0
    assert ema(v, 0.0) == v


def test_ema_smooths_noise_and_skips_what_is_not_a_number():
    rng = np.random.default_rng(0)
    noisy = 1.0 + 0.2 * rng.standard_normal(200)
    assert np.std(ema(noisy, 0.9)[50:]) < 0.5 * np.std(noisy[50:])
    out = ema([1.0, math.nan, math.inf, 3.0], 0.5)
    assert out[0] == out[1] == out[2] == 1.0 and 1.0 < out[3] < 3.0
    assert math.isnan(ema([math.nan, 2.0], 0.5)[0])


def test_last_epochs_keeps_the_last_n():
    x, (y,) = last_epochs(range(1, 31), [list(range(30))], 10)
    assert x == [float(e) for e in range(21, 31)] and y == [float(v) for v in range(20, 30)]
    assert last_epochs([1, 2], [[5, 6]], None) == ([1.0, 2.0], [[5.0, 6.0]])


def test_the_view_cycles_and_says_what_it_does():
    v = CurveView()
    seen = [v.smoothing]
    for _ in SMOOTHING:
        v = v.smoother()
        seen.append(v.smoothing)
    assert seen == [*SMOOTHING, SMOOTHING[0]] and v.smoother(-1).smoothing == SMOOTHING[-1]
    z = CurveView()
    assert [z := z.zoomed() for _ in ZOOMS][-1].last is None
    view = CurveView(0.8, True, 20)
    assert view.describe() == "EMA 0.8 · log loss · last 20"
    assert view.title("loss", loss=True) == "loss (log10; EMA 0.8; last 20)"
    assert view.title("val AUC") == "val AUC (EMA 0.8; last 20)"
    x, (y,) = view.curves(list(range(1, 41)), [[10.0 ** -(e / 10) for e in range(1, 41)]],
                          loss=True)
    assert len(x) == 20 and all(v < 0 for v in y)               # log10 of losses < 1


def _drawn(plot: CurvePlot, label: str) -> list[float]:
    return [float(v) for s in plot.series if s.label == label for v in s.y]


def test_keys_change_the_train_plots_and_inspects_overlay_alike(tmp_path):
    make_checkpoint(tmp_path / "artifacts", seed=0, epochs=12)

    async def go():
        async with replayed_run(tmp_path, (100, 32), epochs=12) as (app, pilot, scr):
            await pilot.pause(0.6)
            loss = scr.query_one("#plot-loss", CurvePlot)
            raw = _drawn(loss, "val")
            assert len(raw) == 12 and loss.title == "loss"
            await pilot.press("e", "e", "y", "z", "z", "z")      # EMA 0.8, log, last 10
            await pilot.pause(0.6)
            assert app.state.curves == CurveView(0.8, True, 10)
            shown = _drawn(loss, "val")
            assert shown == pytest.approx([math.log10(v) for v in ema(raw, 0.8)[-10:]])
            assert loss.title == "loss (log10; EMA 0.8; last 10)"
            await pilot.press("4")                               # Inspect: the same view
            insp = app.screen
            await inspect_ready(pilot, insp)
            select_run(insp, str(tmp_path / "runs" / "demo"))
            await pilot.press("m")
            await pilot.pause(0.5)
            chart = insp.query_one(RunOverlay).query_one("#overlay-loss")
            assert chart.title == "val loss (log10; EMA 0.8; last 10)"
            assert len(chart.curves[0].x) == 10
            await pilot.press("E", "E", "y", "z")                # back to as recorded
            await pilot.pause(0.5)
            assert app.state.curves == CurveView()
            assert chart.title == "val loss" and len(chart.curves[0].x) == 12

    asyncio.run(go())
