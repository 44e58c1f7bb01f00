from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardiacclip.jobs.benchmark import EXTRA_METHODS, METHODS, BenchmarkConfig, run_benchmark
from helpers import tiny_config


def test_every_benchmark_method_runs_one_quick_step(synthetic_root, tmp_path):
    run = tiny_config(synthetic_root)
    run.train.epochs, run.train.max_train_steps, run.train.batch_size = 1, 1, 2
    methods = list(METHODS + EXTRA_METHODS)
    config = BenchmarkConfig(
        run=run, shots=[1], seeds=1, methods=methods, r2plus1d_weights=None, r2plus1d_size=32, test_limit=3
    )
    results = run_benchmark(config, tmp_path, progress=False)
    assert results["method"].tolist() == methods
    assert np.isfinite(results["mae"]).all() and (results["mae"] > 0).all()
    assert (results["n_train"] == results["n_train"][0]).all()  # every method saw the same k-shot sample
    for name in ("results.csv", "results.md", "mae_vs_shots.png", "splits/k1_seed0.csv"):
        assert (tmp_path / name).is_file(), name
    text = (tmp_path / "results.md").read_text()
    assert "r2plus1d_18" in text and "scratch weights" in text and "7.15" in text and "not a medical device" in text
    predictions = pd.read_csv(tmp_path / "predictions" / "k1_seed0_cardiacclip.csv")
    assert len(predictions) == 3 and {"FileName", "EF", "EF_pred"} <= set(predictions.columns)


def test_benchmark_refuses_unknown_method_before_training(synthetic_root, tmp_path):
    config = BenchmarkConfig(run=tiny_config(synthetic_root), shots=[1], seeds=1, methods=["clip_ft", "cardiaclip"])
    with pytest.raises(ValueError, match="cardiaclip"):
        run_benchmark(config, tmp_path / "bench", progress=False)
    assert not (tmp_path / "bench").exists()  # nothing trained, nothing written
