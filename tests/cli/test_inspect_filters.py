"""``chexmini inspect CKPT --filters OUT.png`` and the engine behind it
(:mod:`core.inference.filters`): every fc1 unit drawn, in the grid's order, dead units
found on the checkpoint's own validation images; bad output paths are one line."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from chexmini_cli.main import main
from core.evaluation import templates as T
from core.inference.filters import first_layer
from core.nn.preprocess import standardise_image
from core.runs.images import locate
from tests.helpers import run_to_end, synthetic, tiny_config
from tests.helpers.tui import make_checkpoint


def test_writes_a_png_of_every_unit(tmp_path, capsys):
    ck = make_checkpoint(tmp_path / "ck")
    out = tmp_path / "grid.png"
    assert main(["inspect", str(ck), "--filters", str(out)]) == 0
    said = capsys.readouterr().out
    assert "filters: 16 fc1 templates" in said
    assert "dead units not marked" in said        # the fixture's data is not on this machine
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 16 * 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck", "grid.png"]  # no temp left


@pytest.mark.parametrize("where", ["missing/grid.png", "."])
def test_a_bad_output_path_is_one_line(tmp_path, capsys, where):
    ck = make_checkpoint(tmp_path / "ck")
    target = tmp_path / where
    assert main(["inspect", str(ck), "--filters", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chexmini: error: ") and "--filters" in err[0]


@pytest.mark.slow
def test_dead_units_and_order_come_from_the_validation_images(tmp_path):
    run = tmp_path / "run"
    run_to_end(tiny_config(epochs=2, hidden_dims=[24, 8]), synthetic(200), run)
    layer = first_layer(run)
    assert layer.no_images == ""
    val = locate(run, "val")
    from core.inference import load_checkpoint

    ck = load_checkpoint(run)
    x = np.stack([standardise_image(g, ck.mean, ck.std) for g in val.images]).astype(np.float64)
    w1, b1 = layer.w1, layer.b1
    brute_dead = np.array([(np.maximum(x @ w1[:, j] + b1[j], 0) == 0).all()
                           for j in range(w1.shape[1])])
    assert (layer.dead == brute_dead).all()
    norms = np.linalg.norm(w1, axis=0)
    brute = sorted(range(len(norms)), key=lambda j: (brute_dead[j], -norms[j], j))
    assert layer.order.tolist() == brute
    ab, no = x[val.labels == 1].mean(axis=0), x[val.labels == 0].mean(axis=0)
    unit = int(layer.order[0])
    got = layer.saliency(unit)
    np.testing.assert_allclose(got[0].reshape(-1), T.unit_saliency(w1, b1, unit, ab))
    np.testing.assert_allclose(got[1].reshape(-1), T.unit_saliency(w1, b1, unit, no))
