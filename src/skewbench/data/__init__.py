"""skewbench.data."""
