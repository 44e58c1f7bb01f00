"""Baselines of the benchmark: EchoCLIP-style zero-shot, linear probe, supervised video regressor."""
