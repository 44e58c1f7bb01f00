from __future__ import annotations

import numpy as np
import pytest

from cardiacclip.evaluate.metrics import auroc_below, bootstrap_interval, evaluation_summary, mae, r2, rmse


def test_metrics_by_hand():
    y, p = np.array([40.0, 50.0, 60.0]), np.array([43.0, 46.0, 60.0])
    assert mae(y, p) == pytest.approx(7 / 3) and rmse(y, p) == pytest.approx(np.sqrt(25 / 3))
    assert r2(y, p) == pytest.approx(1 - 25 / 200)
    assert np.isnan(r2(np.array([50.0, 50.0]), np.array([40.0, 60.0])))
    assert auroc_below(np.array([30.0, 35.0, 60.0, 70.0]), np.array([40.0, 20.0, 65.0, 50.0]), 40) == 1.0
    assert auroc_below(y, p, 10) is None  # no positive video


def test_bootstrap_is_seeded_and_skips_resamples_without_a_class():
    rng = np.random.default_rng(0)
    y = np.r_[35.0, rng.uniform(50, 70, 39)]  # one video below 40: many resamples have none
    p = y + rng.normal(0, 3, 40)
    interval = bootstrap_interval(y, p, lambda a, b: auroc_below(a, b, 40), n_resamples=200)
    assert interval is not None and np.isfinite(interval).all()
    assert bootstrap_interval(y, p, mae, n_resamples=200) == bootstrap_interval(y, p, mae, n_resamples=200)
    low, high = bootstrap_interval(y, p, mae, n_resamples=500)
    assert low < mae(y, p) < high


def test_summary_has_intervals_and_category_accuracy():
    y = np.array([20.0, 40.0, 55.0, 65.0, 80.0, 45.0])
    summary = evaluation_summary(y, y + 2, np.array([0, 1, 2, 3, 4, 1]), np.array([0, 1, 2, 3, 3, 1]), n_resamples=50)
    assert summary.mae.value == pytest.approx(2.0) and summary.category_accuracy == pytest.approx(5 / 6)
    assert summary.n == 6 and summary.r2.ci95 is not None


def test_key_frame_mass_against_uniform():
    from cardiacclip.evaluate.metrics import key_frame_mass

    index = np.arange(0, 32, 4)  # 8 sampled frames, every 4th
    weights = np.full(8, 1 / 8)
    mass, uniform = key_frame_mass(weights, index, [8, 24], period=4)  # near 8: 4, 8, 12; near 24: 20, 24, 28
    assert uniform == pytest.approx(6 / 8) and mass == pytest.approx(uniform)
    peaked = np.zeros(8)
    peaked[[2, 6]] = 0.5
    assert key_frame_mass(peaked, index, [8, 24], period=4)[0] == pytest.approx(1.0)
    assert key_frame_mass(peaked, index, [0], period=0)[0] == 0.0
