"""The health view and the system pane: what they write for known figures, their trends,
the warnings, and the Train screen's ``h`` key, live and attached."""

from __future__ import annotations

import asyncio
import math

import pytest

from chexmini_tui.state import RunDisplayState
from chexmini_tui.widgets.health_view import (
    HealthView,
    table_text,
    three_digits,
    warnings_text,
)
from chexmini_tui.widgets.sparkline import sparkline
from chexmini_tui.widgets.system_pane import system_lines
from core.events import read_events
from tests.helpers.tui import (
    fixed_health,
    make_app,
    replayed_run,
    text_of,
    wait_for,
    write_fixed_events,
)

pytestmark = pytest.mark.usefixtures("one_blas_thread")

SMALL = (80, 24)


def run(coro):
    return asyncio.run(coro)


def test_sparkline_levels_groups_and_gaps():
    # level = round((v − lo)/(hi − lo) · 7): 1→0, 2→2.33→2, 3→4.67→5, 4→7
    assert sparkline([1, 2, 3, 4], 4) == "▁▃▆█"
    # 8 values in 4 columns: the means of pairs, 1.5 3.5 5.5 7.5 → levels 0, 2.33, 4.67, 7
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8], 4) == "▁▃▆█"
    # log10: −4, −3, −2 → 0, 3.5→4, 7; a missing value is a space
    assert sparkline([1e-4, 1e-3, None, 1e-2], 10, log=True) == "▁▅ █"
    assert sparkline([0.0, 0.5, 1.0], 3, lo=0.0, hi=1.0) == "▁▅█"   # 3.5 rounds to 4
    assert sparkline([0.0, 0.0], 5, lo=0.0, hi=1.0) == "▁▁"
    assert sparkline([None, float("nan")], 4) == "  " and sparkline([1.0], 0) == ""


def test_three_digits():
    assert [three_digits(v) for v in (46.14, 0.4844, 1.2, 999.4, 1.2e-5, 0.0, None)] == \
        ["46.1", "0.484", "1.20", "999", "1e-05", "0", "—"]


def _state(tmp_path, epochs: int = 4, health: bool = True) -> RunDisplayState:
    write_fixed_events(tmp_path / "run", epochs=epochs, health=health)
    st = RunDisplayState()
    st.apply_all(read_events(tmp_path / "run" / "events.jsonl").events)
    return st


def test_the_table_shows_the_latest_figures_of_every_layer(tmp_path):
    st = _state(tmp_path, epochs=4)
    lines = table_text(st, 76).plain.splitlines()
    assert lines[0].startswith("health · epoch 4")
    h, _ = fixed_health(4)
    # fc1 at epoch 4: ‖W‖ = 40 + 4, ‖∇W‖ = 2/4, ΔW/W = 4e-3, mean 1.5, std 2.5, dead 0 %
    assert lines[2].split()[:7] == ["fc1", "44.0", "0.500", "4.0e-03", "1.50", "2.50", "0%"]
    assert h["fc2"]["dead"] == pytest.approx(0.7)
    assert lines[3].split()[:7] == ["fc2", "5.00", "0.500", "2.0e-03", "0.80", "1.20", "70%"]
    assert lines[4].split()[:8] == ["fc3", "1.25", "0.250", "5.0e-04", "-0.30", "0.90",
                                    "sat", "0%"]
    # trends over epochs 1–4, level = ⌊7 f + ½⌋ of the fraction f of the range: fc1's ratio
    # 1e-3·ep on a log scale, f = log10(ep)/log10(4); fc2's dead 0.1, 0.3, 0.5, 0.7 on 0–1
    blocks = "▁▂▃▄▅▆▇█"
    assert "ΔW/W 1–4" in lines[1] and "dead 1–4" in lines[1]
    ratio = "".join(blocks[int(7 * math.log10(ep) / math.log10(4) + 0.5)] for ep in range(1, 5))
    assert ratio == "▁▅▇█"
    assert lines[2].split()[7:] == [ratio, "▁▁▁▁"]
    assert lines[3].split()[7] == "▄▄▄▄"          # a constant: a middle level
    assert lines[3].split()[8] == "".join(blocks[int(7 * d + 0.5)] for d in (0.1, 0.3, 0.5, 0.7))
    assert all(len(line) <= 76 for line in lines)


def test_warnings_and_old_logs(tmp_path):
    st = _state(tmp_path / "a", epochs=2)        # fc2 dead 30 %: no warning yet
    assert warnings_text(st).plain == "✓ no known training problem in the latest epoch"
    st = _state(tmp_path / "b", epochs=3)        # fc2 dead 50 %: not more than half
    assert warnings_text(st).plain.startswith("✓")
    st = _state(tmp_path / "c", epochs=4)        # 70 %
    assert warnings_text(st).plain == ("⚠ fc2: 70% of units never fire on the probe batch — "
                                       "lower the learning rate or use a smaller "
                                       "initialisation")
    old = _state(tmp_path / "d", health=False)
    assert table_text(old, 76).plain.startswith("no health figures yet")
    assert warnings_text(old).plain == ""
    assert "no system figures yet" in system_lines(old, 76).plain


def test_the_system_pane_shows_the_trainers_figures(tmp_path):
    st = _state(tmp_path, epochs=4)
    lines = system_lines(st, 76).plain.splitlines()
    assert lines[0].startswith("trainer process")
    # epoch 4: CPU 150 + 4 %, memory 200 + 4 MB (peak 210), 1000 · 4 samples/s
    assert lines[1].split()[:3] == ["CPU", "154", "%"]
    assert lines[2].split()[:3] == ["memory", "204", "MB"] and lines[2].endswith("peak 210")
    assert lines[3].split()[:2] == ["samples/s", "4,000"]
    assert lines[3].split()[2] == "▁▃▆█"            # 1000·ep: linear


def test_h_shows_the_health_view_of_an_attached_run_at_80x24(tmp_path):
    async def go():
        async with replayed_run(tmp_path, SMALL, epochs=4, health=True) as (app, pilot, scr):
            view = scr.query_one(HealthView)
            assert not view.display
            await pilot.press("h")
            await wait_for(pilot, lambda: view.display and "fc2" in text_of(
                view.query_one("#hv-table")), 10, "the health view")
            assert view.display and not scr.query_one("#train-plots").display
            assert view.region.width >= 76 and view.region.height >= 12
            table = text_of(view.query_one("#hv-table"))
            assert "fc2" in table and "70%" in table
            assert "70% of units never fire" in text_of(view.query_one("#hv-warnings"))
            assert "4,000" in text_of(view.query_one("#hv-system"))
            await pilot.press("h")
            await wait_for(pilot, lambda: not view.display, 10, "the plots again")
            assert scr.query_one("#train-plots").display

    run(go())


def test_a_live_run_fills_the_health_view_as_epochs_end(tmp_path):
    from core.data import load_data
    from core.foundation.config import TrainConfig

    data = load_data("synthetic:160")
    cfg = TrainConfig(hidden_dims=[16, 8], epochs=3, batch_size=32, augment=False)

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            await pilot.press("h")
            view = scr.query_one(HealthView)
            scr.start_run(cfg, "synthetic:160", tmp_path / "runs" / "live", data=data)
            await wait_for(pilot, lambda: scr.state.finished is not None, 60, "the run")
            await pilot.pause(0.6)
            assert view.display
            st = scr.state
            assert len(st.hist_health) == 3 and set(st.hist_health[-1]) == {"fc1", "fc2", "fc3"}
            rows = text_of(view.query_one("#hv-table")).splitlines()
            fig = st.hist_health[-1]["fc1"]
            assert rows[0].startswith("health · epoch 3")
            assert rows[2].split()[:4] == ["fc1", three_digits(fig["w_norm"]),
                                           three_digits(fig["grad_norm"]),
                                           f"{fig['update_ratio']:.1e}"]
            cpu = st.hist_system[-1]["cpu_percent"]
            assert f"{cpu:.0f} %" in text_of(view.query_one("#hv-system"))

    run(go())
