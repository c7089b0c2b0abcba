"""Fixtures shared by the app's tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def one_blas_thread():
    """Tiny test models on a shared 2-core box: multi-threaded BLAS only spins (a 20-epoch
    toy run takes 25 s instead of 2 s under load). One thread keeps these tests fast.
    Modules opt in with ``pytestmark = pytest.mark.usefixtures("one_blas_thread")``."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def app_in(world, monkeypatch):
    """``make(**kw)`` builds the app run from inside the module's ``world`` folder, with
    relative paths (so snapshots do not depend on ``tmp_path``) and half-block images;
    the Predict tree starts in ``world/images`` when the world has one."""
    from chexmini_tui.app import ChexminiApp

    monkeypatch.chdir(world)

    def make(**kw) -> ChexminiApp:
        if (world / "images").is_dir():
            kw.setdefault("predict_root", "images")
        return ChexminiApp(artifacts="artifacts", runs="runs", image_mode="halfcell", **kw)

    return make
