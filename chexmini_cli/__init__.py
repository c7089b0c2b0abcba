"""The ``chexmini`` command line: a front end over the engine in :mod:`core`."""

import core  # noqa: F401  (first: sets OpenBLAS's runtime defaults before NumPy loads)
