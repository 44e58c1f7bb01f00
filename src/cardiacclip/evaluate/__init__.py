"""Evaluation: inference over datasets, metrics with bootstrap intervals, plots."""
