"""skewbench.report."""
