"""Evaluation: metrics with bootstrap intervals, and plots."""
