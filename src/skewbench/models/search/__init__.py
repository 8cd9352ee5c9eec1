"""skewbench.models.search."""
