"""skewbench.models."""
