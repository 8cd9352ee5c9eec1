"""Evaluate anything: score a system's own output (run files, predictions) with the whole
benchmark — :func:`evaluate` (also ``skewbench evaluate``); readers in
:mod:`skewbench.data.runfiles`."""

from skewbench.evaluation.api import evaluate

__all__ = ["evaluate"]
