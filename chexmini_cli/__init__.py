"""The ``chexmini`` command line: a front end over the engine in :mod:`core`."""
