"""Data: the bundled and user-supplied data sources, their schemas, cleaning, splits, item and
user groups, imbalance profiles and controlled imbalance."""
