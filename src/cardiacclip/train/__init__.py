"""Training: the loop (fit, run_epoch), losses, the learning-rate schedule."""
