from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from cardiacclip.config import RunConfig
from cardiacclip.jobs import train as train_job
from cardiacclip.model.factory import open_model
from cardiacclip.train import loop
from helpers import small_split_file, tiny_config


def test_training_writes_the_run_folder(tiny_run):
    run_dir, config, result = tiny_run
    for name in (
        "config.yaml",
        "split.csv",
        "metrics.csv",
        "learning_curves.png",
        "checkpoints/best.pt",
        "checkpoints/last.pt",
    ):
        assert (run_dir / name).is_file(), name
    assert RunConfig.load(run_dir / "config.yaml").to_dict() == config.to_dict()
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert {"train_loss", "train_mae", "val_mae"} <= set(metrics.columns)
    assert np.isfinite(result.best_val_mae)


@pytest.mark.slow
def test_resume_after_interruption_matches_an_uninterrupted_run(synthetic_root, tmp_path, monkeypatch):
    config = tiny_config(synthetic_root, split_file=small_split_file(synthetic_root, tmp_path / "split.csv"))
    config.train.epochs = 2
    config.train.max_train_steps = None
    straight = train_job.train(config, tmp_path / "straight", progress=False)

    calls = {"n": 0}
    original = loop.predict_dataset

    def interrupt_second_validation(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(loop, "predict_dataset", interrupt_second_validation)
    with pytest.raises(KeyboardInterrupt):
        train_job.train(config, tmp_path / "resumed", progress=False)
    monkeypatch.setattr(loop, "predict_dataset", original)
    resumed = train_job.train(config, tmp_path / "resumed", progress=False)
    assert resumed.epochs_run == 2
    a = torch.load(tmp_path / "straight/checkpoints/last.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "resumed/checkpoints/last.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert pd.read_csv(tmp_path / "resumed/metrics.csv")["val_mae"].tolist() == pytest.approx(
        pd.read_csv(tmp_path / "straight/metrics.csv")["val_mae"].tolist()
    )
    assert resumed.best_val_mae == pytest.approx(straight.best_val_mae)


@pytest.mark.slow
def test_reference_switches_and_gradient_checkpointing_run(synthetic_root, tmp_path):
    config = RunConfig.load("reference")
    small = tiny_config(synthetic_root, split_file=small_split_file(synthetic_root, tmp_path / "split.csv"))
    config.data = small.data
    config.data.normalize, config.data.eval_random_clip = "raw", True
    config.model.backbone, config.model.grad_checkpointing = "tiny", True
    config.train.epochs, config.train.max_train_steps, config.train.device = 1, 2, "cpu"
    result = train_job.train(config, tmp_path / "run", progress=False)
    opened = open_model(tmp_path / "run" / "checkpoints" / "best.pt")
    model, loaded = opened.model, opened.config
    assert loaded.model.head == "coarse" and loaded.model.label_bins == "reference" and np.isfinite(result.best_val_mae)
    with torch.no_grad():
        ef = model(torch.rand(1, 4, 3, 112, 112) * 255)["ef"]
    assert 15 <= float(ef) <= 85  # the coarse head stays inside the anchors
