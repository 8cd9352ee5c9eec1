"""The runner: config, grid of cells, executors, results store and the run loop."""
