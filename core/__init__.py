"""chexmini engine: a hand-written NumPy MLP for chest X-ray screening.

The engine depends on NumPy and Pillow only (matplotlib is imported lazily, just to
draw ``loss_curve.png``). It never imports Textual or Rich: front ends (the
``chexmini`` CLI and the ``chexmini-tui`` app) consume its events.
"""

from core.foundation.blas_env import apply_blas_defaults

apply_blas_defaults()  # before anything imports NumPy: see core/foundation/blas_env.py

from core.foundation.errors import ChexminiError  # noqa: E402

__all__ = ["ChexminiError"]
__version__ = "0.1.0"
