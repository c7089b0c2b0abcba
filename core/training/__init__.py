"""Training as a generator of events (:mod:`.train`) and its parts: one step, the
optimisers and learning-rate schedule, validation scoring, health figures, the run's
state and resume file, and patient-grouped cross-validation."""
