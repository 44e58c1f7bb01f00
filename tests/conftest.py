"""Shared fixtures: a small synthetic EchoNet-Dynamic folder and a tiny trained run. Helpers live in helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cardiacclip.synthetic.dataset import generate_dataset
from helpers import tiny_config

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """48 synthetic videos (seed 0): 36 TRAIN, 6 VAL, 6 TEST."""
    root = tmp_path_factory.mktemp("synthetic")
    generate_dataset(root, n=48, seed=0, workers=2, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_run(synthetic_root, tmp_path_factory):
    """A run folder of the `tiny` backbone: a real 1-shot sample, cut short after 4 optimizer steps."""
    from cardiacclip.jobs.train import train

    run_dir = tmp_path_factory.mktemp("run")
    config = tiny_config(synthetic_root)
    config.train.max_train_steps = 4
    result = train(config, run_dir, progress=False)
    return run_dir, config, result
