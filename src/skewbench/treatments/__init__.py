"""Treatments against imbalance: class weights, losses, resampling, propensities and
re-rankers."""
