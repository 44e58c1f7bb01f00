"""Training under torchrun: 2 gloo processes on the CPU share one k-shot split, rank 0 writes one run folder,
and a second launch resumes it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from cardiacclip.distributed import Rank
from cardiacclip.jobs.train import _train_loader
from helpers import small_split_file, tiny_config


def torchrun(args: list[str], cwd) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "-m", "cardiacclip", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_two_gloo_processes_train_one_run_and_resume_it(synthetic_root, tmp_path):
    config = tiny_config(synthetic_root, split_file=small_split_file(synthetic_root, tmp_path / "split.csv", n_train=8))
    config.train.epochs, config.train.max_train_steps, config.train.device = 1, None, "cpu"
    config.to_yaml(tmp_path / "tiny.yaml")
    args = ["train", "--data", str(synthetic_root), "--out", "run", "--config", "tiny.yaml"]

    first = torchrun(args, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "2 process(es), effective batch 4; all ranks use split sha256" in first.stderr
    assert first.stdout.count("best validation MAE") == 1  # rank 0 alone reports
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert metrics["epoch"].tolist() == [1] and np.isfinite(metrics["train_loss"]).all()

    second = torchrun([*args, "--epochs", "2"], tmp_path)  # the same run, extended: resumes after epoch 1
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming" in second.stderr
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert metrics["epoch"].tolist() == [1, 2] and np.isfinite(metrics["train_loss"]).all()
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)["training_state"]
    assert state["epoch"] == 1 and state["step"] == 4  # 2 epochs x (8 videos / (2 ranks x batch 2))


def test_each_rank_gets_a_disjoint_share_of_the_same_split(synthetic_root, tmp_path):
    from cardiacclip.data.echonet import dataset_from_config

    config = tiny_config(synthetic_root, split_file=small_split_file(synthetic_root, tmp_path / "split.csv", n_train=8))
    train_set = dataset_from_config(config.data, "train", tmp_path / "split.csv", train=True)
    shares = [
        list(_train_loader(train_set, config.train, Rank(r, 2), torch.Generator().manual_seed(0), 0).sampler)
        for r in range(2)
    ]
    assert len(shares[0]) == len(shares[1]) == 4 and sorted(shares[0] + shares[1]) == list(range(8))
