"""Evaluation maths on scores and models, no files: ROC/PR curves, AUC, Youden's J and
the labelling rule (:mod:`.metrics`), calibration, the operating-point rules, and the
finite-difference gradient check."""
