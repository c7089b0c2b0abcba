"""The cosine learning-rate schedule (``core.training.optim.cosine_lr``)."""

from __future__ import annotations

import numpy as np
import pytest

from core.training.optim import cosine_lr


def test_cosine_schedule_endpoints_and_shape():
    assert cosine_lr(0, 200, 1e-3, 1e-5) == pytest.approx(1e-3)
    assert cosine_lr(199, 200, 1e-3, 1e-5) == pytest.approx(1e-5)
    assert cosine_lr(99.5, 200, 1e-3, 1e-5) == pytest.approx((1e-3 + 1e-5) / 2)
    lrs = [cosine_lr(e, 200, 1e-3, 1e-5) for e in range(200)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))
    assert cosine_lr(0, 1, 1e-3, 1e-5) == 1e-3


def test_cosine_schedule_matches_the_published_history(reference_results):
    import json

    lr = json.loads((reference_results / "history.json").read_text())["lr"]
    ours = [cosine_lr(e, 200, 1e-3, 1e-5) for e in range(200)]
    np.testing.assert_allclose(ours, lr, rtol=1e-12)
