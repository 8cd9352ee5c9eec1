"""skewbench: how e-commerce search, recommendation and categorization models cope with imbalance."""

__version__ = "0.1.0"
