"""Explaining the skew: where exposure imbalance comes from (decomposition), why an item was
shown (reasons), and the per-cell facts the report's explanation sections read."""
