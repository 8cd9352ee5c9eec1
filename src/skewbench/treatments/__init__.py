"""skewbench.treatments."""
