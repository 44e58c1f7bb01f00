from __future__ import annotations

import numpy as np
import pytest

from cardiacclip.model.conformal import Calibration, calibrate, empirical_coverage


def test_finite_sample_quantile_by_hand(tmp_path):
    y = np.zeros(9)
    pred = np.arange(1, 10, dtype=float)  # residuals 1..9
    calibration = calibrate(y, pred, coverage=0.8)  # rank ceil(10 * 0.8) = 8 -> the 8th smallest residual
    assert calibration.quantile == 8.0 and calibration.n == 9
    low, high = calibration.interval(np.array([50.0, 3.0, 98.0]))
    assert low.tolist() == [42.0, 0.0, 90.0] and high.tolist() == [58.0, 11.0, 100.0]  # clipped to 0-100
    assert Calibration.load(calibration.save(tmp_path / "c.json")) == calibration
    assert calibrate(y[:3], pred[:3], coverage=0.9).quantile == float("inf")  # too few videos for 90%


def test_coverage_holds_on_exchangeable_data():
    rng = np.random.default_rng(0)
    covered = []
    for _ in range(200):
        y = rng.uniform(20, 80, 140)
        pred = y + rng.normal(0, 6, 140)
        calibration = calibrate(y[:40], pred[:40], coverage=0.9)
        covered.append(empirical_coverage(y[40:], *calibration.interval(pred[40:]))["coverage"])
    assert np.mean(covered) == pytest.approx(0.9, abs=0.02)  # >= 0.9 in expectation, at most 0.9 + 1/41


def test_scaled_intervals_widen_with_the_clip_spread():
    rng = np.random.default_rng(1)
    spread = rng.uniform(0, 6, 300)
    y = rng.uniform(20, 80, 300)
    pred = y + rng.normal(0, 1 + spread)
    calibration = calibrate(y[:150], pred[:150], clip_sd=spread[:150], method="scaled")
    low, high = calibration.interval(pred[150:], spread[150:])
    width = high - low
    assert width[spread[150:] > 4].mean() > 2 * width[spread[150:] < 1].mean()
    assert empirical_coverage(y[150:], low, high)["coverage"] == pytest.approx(0.9, abs=0.06)
    with pytest.raises(ValueError, match="clip spread"):
        calibrate(y, pred, method="scaled")
