"""skewbench.metrics."""
