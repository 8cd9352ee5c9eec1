"""Examples shipped with skewbench (each is run by a test)."""
