"""The app with image folders as people have them: the Train form's data box takes
``--classes``, the run log shows the data warnings once and the AUC intervals, and the
Evaluate screen shows the AUC's bootstrap interval."""

from __future__ import annotations

import asyncio

import pytest

from chexmini_tui.widgets.train_form import read_form
from core.foundation.config_fields import form_fields
from core.foundation.errors import ChexminiError
from core.runs.scores import score_report
from tests.helpers.layouts import kaggle
from tests.helpers.tui import fill_form, make_app, make_checkpoint, text_of, wait_for

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "chexmini-data"))


def _form(data: str) -> dict:
    values = {f.name: f.default if f.kind == "bool" else f.format(f.default)
              for f in form_fields()}
    return {**values, "data": data}


def test_data_box_takes_classes(tmp_path):
    _, source, _ = read_form(_form(f"{tmp_path} --classes normal=NORMAL abnormal=PNEUMONIA"))
    assert source == f"{tmp_path}?classes=normal=normal;abnormal=pneumonia"
    with pytest.raises(ChexminiError, match="^data: classes: name the folders of both"):
        read_form(_form(f"{tmp_path} --classes normal=NORMAL"))


@pytest.mark.slow
def test_kaggle_folder_trains_in_the_app_with_warnings_and_intervals(tmp_path):
    kaggle(tmp_path / "k", n=4)

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=(100, 40)) as pilot:
            scr = app.screen
            fill_form(scr, data=f"{tmp_path / 'k'} --classes normal=NORMAL abnormal=PNEUMONIA",
                      epochs=2, hidden_dims="8", batch_size=8, out=str(tmp_path / "run"),
                      augment=False)
            await pilot.press("s")
            await wait_for(pilot, lambda: scr.status in ("finished", "error"), 90, "finish")
            assert scr.status == "finished", scr.status_detail
            log = scr.state.log
            assert sum(line.startswith("warning: small splits") for line in log) == 1
            assert sum("patients cannot be grouped" in line for line in log) == 1
            assert sum("AUC" in line and "95% CI" in line for line in log) == 2
            status = " ".join(text_of(scr.query_one("#run-status")).split())
            assert "⚠ given splits kept · small splits (train 4 normal / 4 abnormal;" in status
            assert "test 4 normal / 4 abnormal) (log: t)" in status

    asyncio.run(go())


@pytest.mark.slow
def test_evaluate_screen_shows_the_auc_interval(tmp_path):
    ckpt = make_checkpoint(tmp_path / "artifacts")
    report = score_report(ckpt)
    lo, hi = report.auc_ci["test"]
    assert lo <= report.auc["test"] <= hi

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="evaluate")
        async with app.run_test(size=(120, 60)) as pilot:
            await pilot.pause()
            table = text_of(app.screen.query_one("#ev-metrics"))
            assert "AUC CI" in table and f"{lo:.2f}–{hi:.2f}" in table
            assert "· CI 95%" in table

    asyncio.run(go())
