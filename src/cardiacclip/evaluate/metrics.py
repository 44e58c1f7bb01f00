"""Regression and screening metrics for EF (percent), with bootstrap confidence intervals.

The metrics are scikit-learn's. The interval is a percentile bootstrap over videos written here
rather than `scipy.stats.bootstrap`: SciPy's interval becomes NaN as soon as one resample has
no video below an AUROC threshold, which happens on small or imbalanced test sets; here such
resamples are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score, root_mean_squared_error


def mae(y: np.ndarray, p: np.ndarray) -> float:
    """Mean absolute error in EF points."""
    return float(mean_absolute_error(y, p))


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    """Root mean squared error in EF points."""
    return float(root_mean_squared_error(y, p))


def r2(y: np.ndarray, p: np.ndarray) -> float:
    """Coefficient of determination; NaN when every reference EF is the same."""
    y = np.asarray(y, float)
    return float(r2_score(y, p)) if len(y) > 1 and np.ptp(y) > 0 else float("nan")


@dataclass(frozen=True)
class Regression:
    """MAE and RMSE in EF points, and R², of predictions against reference EFs."""

    mae: float
    rmse: float
    r2: float


def regression_metrics(y: np.ndarray, p: np.ndarray) -> Regression:
    return Regression(mae(y, p), rmse(y, p), r2(y, p))


@dataclass(frozen=True)
class Estimate:
    """A metric's value and its 95 % bootstrap interval (None where undefined, e.g. AUROC with one class)."""

    value: float | None
    ci95: list[float] | None


@dataclass(frozen=True)
class MetricSummary:
    """`evaluation_summary`'s result: n videos; MAE, RMSE (EF points), R², AUROC for EF < 50 and EF < 40 with
    intervals; the share of videos whose predicted category is the true one."""

    n: int
    mae: Estimate
    rmse: Estimate
    r2: Estimate
    auroc_ef_below_50: Estimate
    auroc_ef_below_40: Estimate
    category_accuracy: float


def auroc_below(y: np.ndarray, p: np.ndarray, threshold: float) -> float | None:
    """AUROC for detecting EF < threshold (percent), scoring each video by its negated predicted EF;
    None if one class is absent."""
    positive = np.asarray(y) < threshold
    if positive.all() or not positive.any():
        return None
    return float(roc_auc_score(positive, -np.asarray(p)))


def bootstrap_interval(
    y: np.ndarray,
    p: np.ndarray,
    metric: Callable[[np.ndarray, np.ndarray], float | None],
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval over videos (resampled with replacement, seeded)."""
    y, p = np.asarray(y), np.asarray(p)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        index = rng.integers(0, len(y), len(y))
        value = metric(y[index], p[index])
        if value is not None and np.isfinite(value):
            values.append(value)
    if not values:
        return None
    tail = 100 * (1 - level) / 2
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def key_frame_mass(
    weights: np.ndarray, frame_index: np.ndarray, key_frames: list[int], period: int
) -> tuple[float, float]:
    """Attention mass on the sampled frames within one sampled frame (`period` source frames) of any key
    frame (end-diastole, end-systole), and the mass uniform weights would put there.

    `weights` (T,) sum to 1; `frame_index` (T,) is the source frame of each clip position.
    """
    near = np.zeros(len(weights), dtype=bool)
    for frame in key_frames:
        near |= np.abs(np.asarray(frame_index) - frame) <= period
    return float(np.asarray(weights)[near].sum()), float(near.mean())


def evaluation_summary(
    y: np.ndarray, p: np.ndarray, true_class: np.ndarray, pred_class: np.ndarray, n_resamples: int = 1000, seed: int = 0
) -> MetricSummary:
    """MAE, RMSE, R2 with 95% bootstrap intervals, AUROC for EF<50 and EF<40, category accuracy."""
    metrics: dict[str, Callable] = {
        "mae": mae,
        "rmse": rmse,
        "r2": r2,
        "auroc_ef_below_50": lambda a, b: auroc_below(a, b, 50.0),
        "auroc_ef_below_40": lambda a, b: auroc_below(a, b, 40.0),
    }
    estimates = {}
    for name, fn in metrics.items():
        value = fn(y, p)
        interval = bootstrap_interval(y, p, fn, n_resamples, seed=seed) if value is not None and len(y) > 1 else None
        estimates[name] = Estimate(value, list(interval) if interval else None)
    accuracy = float(np.mean(np.asarray(true_class) == np.asarray(pred_class)))
    return MetricSummary(n=int(len(y)), **estimates, category_accuracy=accuracy)
