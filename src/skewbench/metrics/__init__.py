"""Metrics: accuracy, exposure, diversity, calibration, classification and user-fairness
metrics of ranked lists and predictions, with the statistics over per-unit values."""
