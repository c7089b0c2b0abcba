"""The app and the shipped checkpoint: it opens the installed copy outside a clone and
says so in its header, and its export never writes beside the shipped checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from chexmini_tui.active import load_active
from chexmini_tui.app import ChexminiApp
from chexmini_tui.commands import export_target
from core.runs.release.shipped import installed_checkpoint
from tests.helpers import REPO

needs_install = pytest.mark.skipif(installed_checkpoint() is None,
                                   reason="chexmini is not installed (pip install -e .)")


@needs_install
def test_outside_a_clone_the_app_opens_the_installed_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = ChexminiApp()
    assert Path(app.state.active_checkpoint) == installed_checkpoint()
    assert app.state.headline() == "checkpoint: artifacts (installed)"
    loaded = load_active(app.state.active_checkpoint)      # what the app's worker reads
    assert loaded.checkpoint is not None, loaded.error
    assert loaded.label == "artifacts (installed)"
    assert Path(app.artifacts_dir) == installed_checkpoint()   # listed on Inspect too


def test_in_a_clone_the_app_opens_local_artifacts_and_the_flag_wins(tmp_path, monkeypatch):
    (tmp_path / "artifacts").symlink_to(REPO / "artifacts")
    monkeypatch.chdir(tmp_path)
    app = ChexminiApp()
    assert app.state.active_checkpoint == "artifacts"
    assert app.state.headline() == "checkpoint: artifacts"
    other = ChexminiApp(checkpoint=str(tmp_path / "mine"))
    assert other.state.active_checkpoint == str(tmp_path / "mine")
    assert "checkpoint folder not found" in load_active(other.state.active_checkpoint).error


@needs_install
def test_the_apps_export_of_the_shipped_checkpoint_lands_in_the_current_folder():
    for src in (installed_checkpoint(), REPO / "artifacts"):
        assert export_target(str(src), "chexmini") == Path("artifacts-chexmini")
    assert export_target("/x/runs/mine", "chexmini") == Path("/x/runs/mine-chexmini")
