"""The specification: textbook NumPy versions of everything a training step computes.

Each module here is the plain definition of one topic, written for reading — a few lines
per function, no buffers, no threads, no in-place tricks. The fast kernels that training
actually runs live beside them and are proved equal to these by
``tests/core/test_reference_equivalence.py`` (float64 to round-off, float32 to tight tolerances):

- Linear, ReLU, Dropout — :mod:`core.reference.layers` (fast: :mod:`core.nn.layers`)
- MLP forward / backward — :class:`core.reference.mlp.MLP` (fast: :class:`core.nn.MLP`)
- BCE with logits, label smoothing — :mod:`core.reference.loss` (fast: :mod:`core.nn.loss`)
- Adam, SGD, L2 / L1 on weights — :mod:`core.reference.optim` (fast: :mod:`core.training.optim`)
- augmentation + standardisation — :mod:`core.reference.augment`
  (fast: :meth:`core.nn.batches.BatchMaker.augmented`)
- one training step — :func:`core.reference.step.reference_step`
  (fast: :class:`core.training.step.TrainStep`)

Nothing in training imports this package.
"""
