from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardiacclip.jobs.benchmark import METHODS, BenchmarkConfig, Method, default_methods, register, run_benchmark
from helpers import tiny_config


@pytest.mark.slow
def test_every_benchmark_method_runs_one_quick_step(synthetic_root, tmp_path):
    run = tiny_config(synthetic_root)
    run.train.epochs, run.train.max_train_steps, run.train.batch_size = 1, 1, 2
    methods = list(METHODS)
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
    assert "Paired MAE differences" in text and "key frames (x uniform)" in text
    assert results.loc[results["method"] == "clip_ft", "key_frame_ratio"].isna().all()
    predictions = pd.read_csv(tmp_path / "predictions" / "k1_seed0_cardiacclip.csv")
    assert len(predictions) == 3 and {"FileName", "EF", "EF_pred"} <= set(predictions.columns)


def test_a_registered_method_is_one_entry_and_appears_in_the_table(synthetic_root, tmp_path):
    def halfway(sample, method):  # every test video gets the middle of the EF range
        return np.full(len(sample.test_set), 50.0), "constant", {}

    register(Method("halfway", "Predict EF 50 (a test's own method)", halfway, default=False))
    try:
        assert "halfway" not in default_methods()
        config = BenchmarkConfig(run=tiny_config(synthetic_root), shots=[1], seeds=1, methods=["train_mean", "halfway"])
        results = run_benchmark(config, tmp_path, progress=False)
    finally:
        METHODS.pop("halfway")
    row = results.set_index("method").loc["halfway"]
    assert row["note"] == "constant" and row["mae"] > 0
    text = (tmp_path / "results.md").read_text()
    assert f"| Predict EF 50 (a test's own method) | {synthetic_root.name} | 1 |" in text


def test_trained_methods_apply_their_overrides_through_the_validated_config():
    from cardiacclip.config import RunConfig, apply_overrides

    for method in METHODS.values():
        if method.overrides:
            apply_overrides(RunConfig(), list(method.overrides))  # a typo in an override is a ConfigError here
    assert apply_overrides(RunConfig(), list(METHODS["clip_ft"].overrides)).model.aggregator == "mean"


def test_benchmark_refuses_unknown_method_before_training(synthetic_root, tmp_path):
    config = BenchmarkConfig(run=tiny_config(synthetic_root), shots=[1], seeds=1, methods=["clip_ft", "cardiaclip"])
    with pytest.raises(ValueError, match="cardiaclip"):
        run_benchmark(config, tmp_path / "bench", progress=False)
    assert not (tmp_path / "bench").exists()  # nothing trained, nothing written


def test_paired_differences_compare_each_step_on_the_same_samples():
    from cardiacclip.jobs.benchmark import paired_differences

    rows = []
    for seed, maes in enumerate([(9.0, 8.0, 8.5, 7.0), (10.0, 8.5, 8.0, 7.5), (9.5, 9.0, 9.5, 7.0)]):
        for method, mae in zip(("clip_ft", "mfl", "echozoom", "cardiacclip"), maes, strict=True):
            rows.append({"method": method, "shots": 1, "seed": seed, "mae": mae})
    rows.append({"method": "train_mean", "shots": 1, "seed": 0, "mae": 11.0})
    paired = paired_differences(pd.DataFrame(rows)).set_index("step")
    assert list(paired.index) == ["mfl vs clip_ft", "echozoom vs mfl", "cardiacclip vs echozoom"]
    mfl = paired.loc["mfl vs clip_ft"]
    assert mfl["mae_diff_mean"] == pytest.approx(np.mean([-1.0, -1.5, -0.5]))
    assert mfl["mae_diff_sd"] == pytest.approx(np.std([-1.0, -1.5, -0.5], ddof=1))
    assert mfl["helped"] == 3 and paired.loc["echozoom vs mfl", "helped"] == 1


@pytest.mark.slow
def test_external_test_data_is_a_second_target_in_the_same_table(synthetic_root, tmp_path):
    from cardiacclip.synthetic.dataset import generate_dataset

    external = generate_dataset(tmp_path / "external", n=16, seed=9, workers=1, progress=False)
    assert len(external)
    run = tiny_config(synthetic_root)
    run.train.epochs, run.train.max_train_steps, run.train.batch_size = 1, 1, 2
    config = BenchmarkConfig(
        run=run, shots=[1], seeds=1, methods=["train_mean", "mfl"], test_data=str(tmp_path / "external")
    )
    results = run_benchmark(config, tmp_path / "bench", progress=False)
    assert sorted(set(results["tested_on"])) == sorted({str(synthetic_root), str(tmp_path / "external")})
    assert len(results) == 4 and np.isfinite(results["mae"]).all()
    own, other = (results[results["tested_on"] == root] for root in (str(synthetic_root), str(tmp_path / "external")))
    assert (own["n_train"].to_numpy() == other["n_train"].to_numpy()).all()  # one training sample, two tests
    text = (tmp_path / "bench" / "results.md").read_text()
    assert "External validation" in text and "| external |" in text
    assert (tmp_path / "bench" / "predictions" / "k1_seed0_mfl_on_external.csv").is_file()
