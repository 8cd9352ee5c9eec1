"""skewbench: how e-commerce search, recommendation and categorization models cope with imbalance."""

from typing import Any

__version__ = "0.1.0"


def evaluate(*args: Any, **kwargs: Any) -> Any:
    """Score external runs or predictions and return the tidy frame; the arguments are those
    of :func:`skewbench.evaluation.api.evaluate` (imported on call, so ``import skewbench``
    stays light)."""
    from skewbench.evaluation.api import evaluate as run

    return run(*args, **kwargs)
