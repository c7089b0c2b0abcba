"""chexmini-tui: the full-screen Textual app for chexmini.

Train (live, or attached to a run in another process), gradient-check, evaluate,
inspect and predict — all on top of the engine in :mod:`core`; nothing here
re-implements engine logic.
"""

import core  # noqa: F401  (first: sets OpenBLAS's runtime defaults before NumPy loads)

__version__ = "0.1.0"
