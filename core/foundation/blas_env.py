"""OpenBLAS runtime settings that must be in the environment before NumPy loads.

OpenBLAS's worker threads busy-wait after each GEMM for ``2**OPENBLAS_THREAD_TIMEOUT``
CPU cycles before they sleep; the default, 2**28 cycles (~0.1 s), is longer than a whole
training step (~35 ms), so a worker never sleeps and spins on one core through the
optimiser, augmentation and elementwise work that run between GEMMs — and through the
TUI's rendering. Measured on the 2-core EPYC with ``python benchmarks/train_step.py``:
the Adam update takes ~9 ms with a spinning worker and ~5 ms without; the step ~37 ms
and ~34.5 ms. With 2**16 cycles (~25 µs) the workers still stay awake across back-to-back
GEMMs but sleep as soon as other work starts; the GEMMs themselves are unchanged.

OpenBLAS reads the variable once, when NumPy is first imported, so :mod:`core` sets it
(only if the user has not) before it imports anything else; the ``chexmini`` and
``chexmini-tui`` entry points import :mod:`core` first. A program that imported NumPy
before chexmini keeps OpenBLAS's default. This module must not import NumPy.
"""

from __future__ import annotations

import os

#: ``OPENBLAS_THREAD_TIMEOUT`` chexmini uses unless the environment already sets one.
THREAD_TIMEOUT = "16"


def apply_blas_defaults(environ: dict | None = None) -> None:
    """Set ``OPENBLAS_THREAD_TIMEOUT`` (unless already set). Does not touch
    ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` or the thread count."""
    env = os.environ if environ is None else environ
    env.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)
