from __future__ import annotations

import numpy as np
import pytest

from cardiacclip.baselines.zeroshot import ranked_value_prediction, zero_shot_prompts
from cardiacclip.data.reports import function_category, make_report, parse_report_ef


def test_report_sentences_round_trip_to_their_ef():
    rng = np.random.default_rng(0)
    for ef in rng.uniform(5, 90, 300):
        report = make_report(float(ef), rng, edv_ml=float(rng.uniform(40, 200)))
        assert parse_report_ef(report) == round(ef)
        assert report == report.upper() and report.endswith(".")
    assert parse_report_ef("NORMAL LV SIZE. LVEF 62%.") == 62
    assert parse_report_ef("no number here") is None


def test_report_function_sentence_follows_the_category():
    rng = np.random.default_rng(1)
    assert "SEVERELY" in make_report(20, rng) or "SEVERE" in make_report(20, rng)
    assert function_category(29.6) == "severely reduced" and function_category(70) == "normal" and function_category(71) == "hyperdynamic"
    reports = {make_report(50, np.random.default_rng(i)) for i in range(30)}
    assert len(reports) > 5  # paraphrases, not one template


def test_zero_shot_prompts_are_echoclips():
    texts, values = zero_shot_prompts()
    assert len(texts) == 202 and values.tolist() == list(range(101)) * 2
    assert texts[47] == "THE LEFT VENTRICULAR EJECTION FRACTION IS ESTIMATED TO BE 47% "
    assert texts[101 + 47] == "LV EJECTION FRACTION IS 47%. "


def test_zero_shot_on_a_stub_similarity_matrix():
    _, values = zero_shot_prompts()
    # every frame likes prompts near 40 best, with similarity falling off with |value - 40|
    similarity = -np.abs(values[None, :] - 40.0) + np.random.default_rng(0).normal(0, 0.01, (6, 202))
    assert ranked_value_prediction(similarity, values) == pytest.approx(40.0, abs=5.0)
    # the top 20% (40 of 202 positions) of the frame-averaged ranked list: hand-computable case
    values_small = np.arange(10, dtype=float)
    stub = np.tile(np.arange(10, dtype=float), (3, 1))  # prompts with larger values are more similar
    assert ranked_value_prediction(stub, values_small, top_fraction=0.2) == pytest.approx(np.median([9, 8]))
    # frames disagree: position-wise averaging of ranked values
    two = np.array([np.arange(10.0), -np.arange(10.0)])
    assert ranked_value_prediction(two, values_small, top_fraction=0.3) == pytest.approx(np.median([4.5, 4.5, 4.5]))


def test_every_benchmark_method_runs_one_quick_step(synthetic_root, tmp_path):
    import pandas as pd

    from cardiacclip.pipelines.benchmark import EXTRA_METHODS, METHODS, BenchmarkConfig, run_benchmark
    from helpers import tiny_config

    run = tiny_config(synthetic_root)
    run.train.epochs, run.train.max_train_steps, run.train.batch_size = 1, 1, 2
    methods = list(METHODS + EXTRA_METHODS)
    config = BenchmarkConfig(run=run, shots=[1], seeds=1, methods=methods, r2plus1d_weights=None,
                             r2plus1d_size=32, test_limit=3)
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
    from cardiacclip.pipelines.benchmark import BenchmarkConfig, run_benchmark
    from helpers import tiny_config

    config = BenchmarkConfig(run=tiny_config(synthetic_root), shots=[1], seeds=1, methods=["clip_ft", "cardiaclip"])
    with pytest.raises(ValueError, match="cardiaclip"):
        run_benchmark(config, tmp_path / "bench", progress=False)
    assert not (tmp_path / "bench").exists()  # nothing trained, nothing written
