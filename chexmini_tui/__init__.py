"""chexmini-tui: the full-screen Textual app for chexmini.

Train (live, or attached to a run in another process), gradient-check, evaluate,
inspect and predict — all on top of the engine in :mod:`core`; nothing here
re-implements engine logic.
"""

__version__ = "0.1.0"
