"""Sweeps: a search over :class:`~core.foundation.config.TrainConfig` fields, each trial an
ordinary run folder; Optuna (an optional extra) only in :mod:`core.sweep.study`."""
