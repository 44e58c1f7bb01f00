from __future__ import annotations

import json

import pytest

from cardiacclip.config import RunConfig
from cardiacclip.jobs.demo import run_demo


@pytest.mark.slow
def test_demo_writes_the_report(tmp_path):
    config = RunConfig.load("synthetic")
    config.train.epochs, config.train.max_train_steps = 1, 3
    config.data.val_size, config.data.test_clips = 6, 1
    summary = run_demo(tmp_path, n_videos=40, data_seed=5, config=config, workers=2, progress=False)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for part in ("model", "mean_baseline"):
        assert set(metrics[part]) == {"mae", "rmse", "r2"}
    assert metrics["mean_baseline"]["mae"] > 0
    for name in ("report.md", "predictions.csv", "scatter.png", "bland_altman.png", "learning_curves.png"):
        assert (tmp_path / name).is_file(), name
    strips = sorted((tmp_path / "attention").glob("*.png"))
    assert len(strips) == 3
    report = (tmp_path / "report.md").read_text()
    assert "not a medical device" in report and "toy" in report and "attention/" in report
    assert summary.n_test == 10
