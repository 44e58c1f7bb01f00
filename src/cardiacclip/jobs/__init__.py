"""The jobs the command line runs over the library below: train, evaluate, predict, inspect, pretrain, demo, benchmark.

Library layers (data, model, train, evaluate, baselines, synthetic) never import this package.
"""
