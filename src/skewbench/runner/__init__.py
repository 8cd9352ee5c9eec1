"""skewbench.runner."""
