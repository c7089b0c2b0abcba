"""Evaluate's operating point (``o``) and calibration (Brier, ECE, reliability diagram),
checked against numbers computed here from the checkpoint's saved score files."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

from chexmini_tui.widgets.curves import CurveChart
from chexmini_tui.widgets.reliability import ReliabilityDiagram
from core.evaluation.metrics import confusion_matrix, youden_threshold
from core.evaluation.operating_point import OperatingPoint
from core.runs.checkpoint import save_operating_point
from tests.helpers.tui import (
    inspect_ready,
    make_app,
    make_checkpoint,
    select_run,
    text_of,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("one_blas_thread")

SMALL = (80, 24)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "artifacts")


def saved(ckpt: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {s: (np.load(ckpt / f"{s}_scores.npy"), np.load(ckpt / f"{s}_labels.npy"))
            for s in ("val", "test")}


def by_search(s, y, metric: str, target: float) -> float:
    """Every validation score tried: the largest with sensitivity >= target, or the
    smallest with specificity >= target (positive iff score >= t)."""
    sens = [t for t in s if np.mean(s[y == 1] >= t) >= target]
    spec = [t for t in s if np.mean(s[y == 0] < t) >= target]
    return float(max(sens) if metric == "sensitivity" else min(spec))


def run(coro):
    return asyncio.run(coro)


def lines(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


@pytest.mark.slow
def test_o_cycles_the_rules_on_validation_and_everything_follows(tmp_path, ckpt):
    data = saved(ckpt)
    vs, vl = data["val"]
    expected = [("sensitivity ≥ 0.9 on validation", by_search(vs, vl, "sensitivity", 0.9)),
                ("specificity ≥ 0.9 on validation", by_search(vs, vl, "specificity", 0.9)),
                ("Youden's J on validation", youden_threshold(vs, vl))]

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="evaluate")
        async with app.run_test(size=SMALL) as pilot:
            await pilot.pause()
            scr = app.screen
            assert "Youden's J on validation" in text_of(scr.query_one("#ev-info"))
            for rule, t in expected:
                await pilot.press("o")
                await pilot.pause()
                assert scr.threshold == t
                assert rule in text_of(scr.query_one("#ev-info")).splitlines()[0]
                assert rule in lines(app)                      # legible at 80×24
                for split, cid in (("val", "#cm-val"), ("test", "#cm-test")):
                    assert scr.query_one(cid).counts == confusion_matrix(*data[split], t)
            await pilot.press("right")
            await pilot.pause()
            assert scr.threshold == pytest.approx(expected[-1][1] + 0.01, abs=1e-6)
            assert "set by hand" in text_of(scr.query_one("#ev-info"))
            await pilot.press("r")
            await pilot.pause()
            assert scr.threshold == youden_threshold(vs, vl)
            assert "Youden's J on validation" in text_of(scr.query_one("#ev-info"))
            await pilot.press("o")                             # after r: sensitivity next
            await pilot.pause()
            assert scr.threshold == expected[0][1]

    run(go())


@pytest.mark.slow
def test_brier_ece_and_reliability_points(tmp_path, ckpt):
    data = saved(ckpt)

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="evaluate")
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, lambda: "metrics @" in lines(app), 10, "Evaluate drawn")
            scr = app.screen
            table = scr.query_one("#ev-metrics").columns
            diagram = scr.query_one(ReliabilityDiagram)
            chart = diagram.query_one(CurveChart)
            for split, (p, y) in data.items():
                brier = float(np.mean((p - y) ** 2))
                xs, ys, ece = [], [], 0.0
                for i in range(15):
                    inside = (p >= i / 15) & ((p < (i + 1) / 15) | (i == 14))
                    if inside.any():
                        xs.append(p[inside].mean())
                        ys.append(y[inside].mean())
                        ece += inside.mean() * abs(ys[-1] - xs[-1])
                assert table[split]["brier"] == pytest.approx(brier, abs=1e-12)
                assert table[split]["ece"] == pytest.approx(ece, abs=1e-12)
                rows = text_of(scr.query_one("#ev-metrics")).splitlines()
                assert f"{brier:.4f}" in next(r for r in rows if "│ Brier " in r)
                assert f"{ece:.4f}" in next(r for r in rows if "│ ECE " in r)
                assert f"{split} Brier {brier:.3f} ECE {ece:.3f}" in diagram.legend_text()
                curve = next(c for c in chart.curves if c.label.startswith(split))
                assert np.allclose(curve.x, xs) and np.allclose(curve.y, ys)

    run(go())


@pytest.mark.slow
def test_reliability_diagram_reachable_at_80x24(tmp_path, ckpt):
    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="evaluate")
        async with app.run_test(size=SMALL) as pilot:
            await wait_for(pilot, lambda: "metrics @" in lines(app), 10, "Evaluate drawn")
            assert "reliability" not in lines(app)             # below the fold at first
            await pilot.press("end")
            await wait_for(pilot, lambda: "ECE = " in lines(app), 10, "the end of the page")
            shown = lines(app)
            assert "mean P(abnormal) in bin →" in shown and "ECE = " in shown
            for _ in range(20):                                # ↑ to the chart's legend
                if "reliability" in lines(app):
                    break
                await pilot.press("up")
                await pilot.pause()
            shown = lines(app)
            assert "val Brier" in shown and "↑ fraction abnormal" in shown

    run(go())


@pytest.mark.slow
def test_saved_operating_point_is_the_starting_threshold(tmp_path, ckpt):
    c = tmp_path / "c"
    shutil.copytree(ckpt, c)
    op = OperatingPoint(0.4, "specificity", 0.8, 0.5)
    save_operating_point(c, op)

    async def go():
        app = make_app(tmp_path, checkpoint=str(c), start="evaluate")
        async with app.run_test(size=SMALL) as pilot:
            await pilot.pause()
            scr = app.screen
            assert scr.threshold == 0.4
            info = text_of(scr.query_one("#ev-info"))
            assert "specificity ≥ 0.8 on validation" in info.splitlines()[0]
            assert "saved 0.4000 (specificity ≥ 0.8 on validation)" in info
            await pilot.press("o")                             # the cycle starts at J
            await pilot.pause()
            assert scr.threshold == youden_threshold(*saved(c)["val"])
            await pilot.press("4")                             # Inspect says it too
            await inspect_ready(pilot, app.screen)
            select_run(app.screen, c)
            await wait_for(pilot, lambda: "threshold rule" in text_of(
                app.screen.query_one("#insp-head")), 10, "the operating point in Inspect")
            head = text_of(app.screen.query_one("#insp-head"))
            assert "threshold 0.4000" in head.splitlines()[0]    # it leads: the active one
            info = " ".join(head.split())
            assert "threshold rule specificity ≥ 0.8 on validation" in info
            assert "Youden's J 0.5000" in info

    run(go())
