"""The foundation every wing may use: errors, safe file reading, atomic writes, number
checks, the thread pool, and the run's settings (``TrainConfig`` and its field table).

Foundation modules import only each other (``tests/test_layering.py``). This package
imports nothing itself: ``core/__init__`` loads ``blas_env`` through it before NumPy.
"""
