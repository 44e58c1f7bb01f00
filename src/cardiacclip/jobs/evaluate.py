"""`cardiacclip evaluate`: metrics of a trained checkpoint on a split, with tables and plots."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.data.clips import ClipCount
from cardiacclip.data.echonet import (
    LEFT_OUT_FILE,
    EchoNetDataset,
    check_data_folder,
    dataset_from_config,
    write_left_out,
)
from cardiacclip.data.filelist import key_frames, video_file_name
from cardiacclip.evaluate.metrics import (
    Estimate,
    MetricSummary,
    Regression,
    evaluation_summary,
    key_frame_mass,
    regression_metrics,
)
from cardiacclip.evaluate.plots import plot_bland_altman, plot_scatter
from cardiacclip.jobs.output import output_folder
from cardiacclip.model.conformal import empirical_coverage
from cardiacclip.model.inference import predict_dataset
from cardiacclip.model.predictor import Predictor, load

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyFrameShare:
    """How much MFL attention falls within one sampled frame of the traced ED and ES frames (`key_frame_summary`),
    against what equal weights would put there, over `n_videos` videos (0: no video had its key frames in a
    clip, and the other fields are None)."""

    n_videos: int
    attention_mass: float | None = None
    uniform_mass: float | None = None
    ratio: float | None = None
    ed_ratio: float | None = None  # the same ratio for the frames near end-diastole alone
    es_ratio: float | None = None  # and near end-systole alone


@dataclass(frozen=True)
class IntervalCoverage:
    """The calibrated EF intervals on the evaluated split: `nominal` and measured coverage (0-1), the mean width
    in EF points, the number of videos, and where the calibration came from."""

    nominal: float
    coverage: float
    mean_width: float
    n: int
    calibration: str


@dataclass(frozen=True)
class EvaluationResult:
    """What `evaluate` measured; `to_json` is metrics.json. `left_out` names the videos that were not evaluated
    (`--skip-unreadable`, or frames that failed after the probe) and why."""

    summary: MetricSummary
    one_clip: Regression  # the first clip of each video alone
    coarse_head: Regression  # the coarse EF (probabilities times anchors) instead of the fine head's
    clips_per_video: ClipCount
    split: str
    videos: int
    interval: IntervalCoverage | None = None
    left_out: dict[str, str] = field(default_factory=dict)
    key_frames: KeyFrameShare | None = None
    notice: str = RESEARCH_NOTICE

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {**asdict(self.summary), "one_clip": asdict(self.one_clip)}
        data["coarse_head"] = asdict(self.coarse_head)
        if self.interval is not None:
            data["interval"] = asdict(self.interval)
        data.update(clips_per_video=self.clips_per_video, split=self.split, videos=self.videos)
        if self.left_out:
            data["left_out"] = dict(self.left_out)
        data["notice"] = self.notice
        if self.key_frames is not None:
            data["key_frames"] = {k: v for k, v in asdict(self.key_frames).items() if v is not None}
        return data


def evaluate_model(
    predictor: Predictor,
    dataset: EchoNetDataset,
    out: str | Path,
    n_bootstrap: int = 1000,
    progress: bool = True,
    workers: int = 0,
) -> EvaluationResult:
    """Predict every video, then write predictions.csv, metrics.json, scatter.png and bland_altman.png into `out`.

    When the model has a calibration, predictions get EF_low/EF_high and the result the empirical coverage and
    mean width.
    """
    out = output_folder(out)
    model = predictor.model
    predicted = predict_dataset(
        model, dataset, predictor.placement, progress=progress, workers=workers, phase=predictor.phase
    )
    table = predicted.table
    y, p = table["EF"].to_numpy(), table["EF_pred"].to_numpy()
    names = list(model.prompts.names)
    true_class = np.array([names.index(c) for c in table["category"]])
    pred_class = np.array([names.index(c) for c in table["category_pred"]])
    left_out = {**dataset.skipped, **predicted.failed}
    if left_out:  # --skip-unreadable, or a frame that failed after the probe: named, never silently dropped
        write_left_out(left_out, out / LEFT_OUT_FILE)
    result = EvaluationResult(
        summary=evaluation_summary(y, p, true_class, pred_class, n_resamples=n_bootstrap),
        one_clip=regression_metrics(y, table["EF_pred_first_clip"].to_numpy()),
        coarse_head=regression_metrics(y, table["EF_pred_coarse"].to_numpy()),
        clips_per_video=dataset.clips,
        split=dataset.split,
        videos=len(table),
        interval=_intervals(predictor, table),
        left_out=left_out,
        key_frames=key_frame_summary(dataset, table, predicted.attention),
    )
    table.to_csv(out / "predictions.csv", index=False)
    np.savez_compressed(out / "attention.npz", **predicted.attention)
    (out / "metrics.json").write_text(json.dumps(result.to_json(), indent=2))
    plot_scatter(y, p, out / "scatter.png")
    plot_bland_altman(y, p, out / "bland_altman.png")
    return result


def _intervals(predictor: Predictor, table: pd.DataFrame) -> IntervalCoverage | None:
    """With a calibrated model: EF_low and EF_high inserted after EF_pred, and their coverage of the true EF."""
    calibration = predictor.calibration
    if calibration is None:
        return None
    y = table["EF"].to_numpy()
    low, high = calibration.interval(table["EF_pred"].to_numpy(), table["EF_clip_sd"].to_numpy())
    table.insert(table.columns.get_loc("EF_pred") + 1, "EF_low", low)
    table.insert(table.columns.get_loc("EF_low") + 1, "EF_high", high)
    coverage = empirical_coverage(y, low, high)
    return IntervalCoverage(calibration.coverage, **coverage, calibration=calibration.source)


def key_frame_summary(dataset: EchoNetDataset, table, attention: dict[str, np.ndarray]) -> KeyFrameShare | None:
    """How much MFL attention falls within one sampled frame of the traced end-diastolic and end-systolic
    frames (VolumeTracings.csv, or FileList.csv's EDFrame and ESFrame: `data.filelist.key_frames`), against what
    uniform weights would put there, over the videos whose ED and ES lie inside one evaluation clip (sampled at
    each video's own period). None without key frames or for the reference frame layout."""
    sampler = dataset.sampler
    pairs = key_frames(dataset.root)
    if not pairs or sampler.length is None or sampler.frame_layout != "frames":
        return None
    rows = []  # per video: (mass, uniform mass) near ED and ES together, near ED alone, near ES alone
    periods = table["clip_periods"] if "clip_periods" in table else table["period"]
    for name, starts, period in zip(table["FileName"], table["clip_starts"], periods, strict=True):
        key = list(pairs.get(video_file_name(name), ()))  # ES, ED
        found = _clip_holding(sampler, *_clip_geometry(starts, period), key) if key else None
        if found is not None:
            weights, index, step = attention[name][found[0]], found[1], found[2]
            es, ed = key
            rows.append([key_frame_mass(weights, index, frames, step) for frames in (key, [ed], [es])])
    if not rows:
        return KeyFrameShare(0)
    means = np.asarray(rows, dtype=float).mean(axis=0)  # (3 groups, mass and uniform mass)
    ratios = means[:, 0] / means[:, 1]
    return KeyFrameShare(len(rows), float(means[0, 0]), float(means[0, 1]), *map(float, ratios))


def _clip_geometry(starts: str, periods: str | int) -> tuple[list[int], list[int]]:
    """A table row's clip starts and each clip's period, from the space-separated cells (one period for all
    clips, or one per clip with clips="beats")."""
    first = [int(s) for s in str(starts).split()]
    each = [int(p) for p in str(periods).split()]
    return first, each * len(first) if len(each) == 1 else each


def _clip_holding(
    sampler, starts: list[int], periods: list[int], key: list[int]
) -> tuple[int, np.ndarray, int] | None:
    """The first clip (its number, source frames and period) that holds every key frame, or None."""
    for clip, (start, period) in enumerate(zip(starts, periods, strict=True)):
        index = sampler.source_index(np.array([start]), sampler.length, period)[0]
        if min(key) >= index[0] and max(key) <= index[-1]:
            return clip, index, period
    return None


def evaluate_checkpoint(
    checkpoint: str | Path,
    data: str | Path,
    out: str | Path,
    split: str = "test",
    clips: ClipCount | None = None,
    split_file: str | Path | None = None,
    device: str = "auto",
    n_bootstrap: int = 1000,
    progress: bool = True,
    skip_unreadable: bool = False,
    crop: str | None = None,
    precision: str | None = None,
    workers: int = 0,
) -> EvaluationResult:
    """Load a checkpoint (file or run folder) and `evaluate_model` it on `split` of the dataset at `data`.

    Every video of the split is probed first (`EchoNetDataset`): missing, unreadable or flagged videos stop
    the evaluation with `UnusableVideosError` naming them all, unless `skip_unreadable` leaves them out
    (then listed in `out/left_out.csv` and metrics.json)."""
    check_data_folder(data)
    output_folder(out)
    predictor = load(checkpoint, device, precision)
    model, config = predictor.model, predictor.config
    d = dataclasses.replace(config.data, root=str(data), skip_unreadable=skip_unreadable, crop=crop or config.data.crop)
    dataset = dataset_from_config(
        d,
        split,
        split_file,
        train=d.eval_random_clip,
        clips=clips if clips is not None else d.test_clips,
        mean=model.mean,
        std=model.std,
        show_progress=progress,
    )
    return evaluate_model(predictor, dataset, out, n_bootstrap, progress, workers=workers)


def format_metrics(result: EvaluationResult) -> str:
    """An evaluation's figures for a person, one per line."""

    def fmt(entry: Estimate) -> str:
        if entry.value is None:
            return "n/a"
        ci = f" [{entry.ci95[0]:.2f}, {entry.ci95[1]:.2f}]" if entry.ci95 else ""
        return f"{entry.value:.3f}{ci}"

    m = result.summary
    estimates = {"mae": m.mae, "rmse": m.rmse, "r2": m.r2, "auroc_ef_below_50": m.auroc_ef_below_50}
    estimates["auroc_ef_below_40"] = m.auroc_ef_below_40
    lines = [f"{name}: {fmt(estimate)}" for name, estimate in estimates.items()]
    lines.append(f"category accuracy: {m.category_accuracy:.3f}")
    kf = result.key_frames
    if kf is not None and kf.n_videos:
        lines.append(
            f"key frames: {100 * kf.attention_mass:.1f}% of the MFL attention within one sampled frame of "
            f"ED/ES vs {100 * kf.uniform_mass:.1f}% for equal weights ({kf.ratio:.2f}x; ED {kf.ed_ratio:.2f}x, "
            f"ES {kf.es_ratio:.2f}x; {kf.n_videos} videos)"
        )
    if result.interval is not None:
        iv = result.interval
        lines.append(
            f"EF interval: {100 * iv.coverage:.1f}% of videos covered (nominal {100 * iv.nominal:.0f}%), "
            f"mean width {iv.mean_width:.1f} EF points"
        )
    one = result.one_clip
    lines.append(f"one clip: MAE {one.mae:.3f}, RMSE {one.rmse:.3f}, R2 {one.r2:.3f}")
    return "\n".join(lines)


__all__ = ["EvaluationResult", "evaluate_checkpoint", "evaluate_model", "format_metrics"]
