"""A frozen trunk's features computed once per run give the same training as computing them every step."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cardiacclip.config import ConfigError
from cardiacclip.jobs import train as train_job
from helpers import small_split_file, tiny_config


def frozen_config(root, split, cache: bool):
    config = tiny_config(root, split_file=split, freeze_trunk=True)
    config.data.pad = 0
    config.train.epochs, config.train.max_train_steps = 3, None
    config.train.precision, config.train.trunk_cache = "fp32", cache
    return config


@pytest.mark.slow
def test_cached_and_uncached_frozen_training_give_the_same_metrics(synthetic_root, tmp_path):
    split = small_split_file(synthetic_root, tmp_path / "split.csv")
    plain = train_job.train(frozen_config(synthetic_root, split, False), tmp_path / "plain", progress=False)
    cached = train_job.train(frozen_config(synthetic_root, split, True), tmp_path / "cached", progress=False)
    a, b = pd.read_csv(tmp_path / "plain/metrics.csv"), pd.read_csv(tmp_path / "cached/metrics.csv")
    for column in ("train_loss", "train_mae", "val_mae", "val_rmse"):
        assert b[column].tolist() == pytest.approx(a[column].tolist(), abs=1e-5), column
    assert cached.best_val_mae == pytest.approx(plain.best_val_mae, abs=1e-5)
    calibrations = [json.loads((tmp_path / run / "calibration.json").read_text()) for run in ("plain", "cached")]
    assert calibrations[1]["quantile"] == pytest.approx(calibrations[0]["quantile"], abs=1e-5)  # pixels read again


def test_the_cache_refuses_a_run_whose_frames_change(synthetic_root, tmp_path):
    config = frozen_config(synthetic_root, small_split_file(synthetic_root, tmp_path / "split.csv"), True)
    config.data.pad = 12
    with pytest.raises(ConfigError, match="data.pad is 12"):
        train_job.train(config, tmp_path / "run", progress=False)


@pytest.mark.slow
def test_videos_shorter_than_a_clip_train_from_the_cache(synthetic_root, tmp_path):
    """Clip positions past a short video's end hold black frames; the cache gives them the black frame's
    features, as encoding the padded clip would."""
    split = small_split_file(synthetic_root, tmp_path / "split.csv")
    table = pd.read_csv(split)
    shortest = int(table["NumberOfFrames"].min())
    configs = [frozen_config(synthetic_root, split, cache) for cache in (False, True)]
    for config in configs:
        config.data.length = shortest // config.data.period + 4  # longer than the shortest video
        config.train.epochs = 2
    assert (configs[0].data.length - 1) * configs[0].data.period + 1 > shortest
    train_job.train(configs[0], tmp_path / "plain", progress=False)
    train_job.train(configs[1], tmp_path / "cached", progress=False)
    a, b = pd.read_csv(tmp_path / "plain/metrics.csv"), pd.read_csv(tmp_path / "cached/metrics.csv")
    assert b["train_loss"].tolist() == pytest.approx(a["train_loss"].tolist(), abs=1e-5)
