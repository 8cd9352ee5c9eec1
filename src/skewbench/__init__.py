"""skewbench: how e-commerce search, recommendation and categorization models cope with imbalance."""

__version__ = "0.1.0"


def evaluate(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Score external runs or predictions; see :func:`skewbench.evaluation.api.evaluate`."""
    from skewbench.evaluation.api import evaluate as run

    return run(*args, **kwargs)
