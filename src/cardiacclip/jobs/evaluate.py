"""`cardiacclip evaluate`: metrics of a trained checkpoint on a split, with tables and plots."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

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
from cardiacclip.evaluate.metrics import evaluation_summary, key_frame_mass, regression_metrics
from cardiacclip.evaluate.plots import plot_bland_altman, plot_scatter
from cardiacclip.jobs.output import output_folder
from cardiacclip.model.conformal import empirical_coverage
from cardiacclip.model.inference import predict_dataset
from cardiacclip.model.predictor import Predictor, load

log = logging.getLogger(__name__)


def evaluate_model(
    predictor: Predictor,
    dataset: EchoNetDataset,
    out: str | Path,
    n_bootstrap: int = 1000,
    progress: bool = True,
    workers: int = 0,
) -> dict:
    """Predict every video, then write predictions.csv, metrics.json, scatter.png and bland_altman.png into `out`.

    When the model has a calibration, predictions get EF_low/EF_high and metrics the empirical coverage and
    mean width.
    """
    out = output_folder(out)
    model, calibration = predictor.model, predictor.calibration
    table, attention = predict_dataset(
        model, dataset, predictor.device, predictor.precision, progress=progress, workers=workers
    )
    y, p = table["EF"].to_numpy(), table["EF_pred"].to_numpy()
    names = list(model.prompts.names)
    true_class = np.array([names.index(c) for c in table["category"]])
    pred_class = np.array([names.index(c) for c in table["category_pred"]])
    metrics = evaluation_summary(y, p, true_class, pred_class, n_resamples=n_bootstrap)
    metrics["one_clip"] = regression_metrics(y, table["EF_pred_first_clip"].to_numpy())
    metrics["coarse_head"] = regression_metrics(y, table["EF_pred_coarse"].to_numpy())
    if calibration is not None:
        low, high = calibration.interval(p, table["EF_clip_sd"].to_numpy())
        table.insert(table.columns.get_loc("EF_pred") + 1, "EF_low", low)
        table.insert(table.columns.get_loc("EF_low") + 1, "EF_high", high)
        metrics["interval"] = {
            "nominal": calibration.coverage,
            **empirical_coverage(y, low, high),
            "calibration": calibration.source,
        }
    metrics["clips_per_video"] = dataset.clips
    metrics["split"] = dataset.split
    metrics["videos"] = len(table)
    left_out = {**dataset.skipped, **table.attrs.get("failed", {})}
    if left_out:  # --skip-unreadable, or a frame that failed after the probe: named, never silently dropped
        metrics["left_out"] = left_out
        write_left_out(left_out, out / LEFT_OUT_FILE)
    metrics["notice"] = RESEARCH_NOTICE
    key_frames = key_frame_summary(dataset, table, attention)
    if key_frames is not None:
        metrics["key_frames"] = key_frames
    table.to_csv(out / "predictions.csv", index=False)
    np.savez_compressed(out / "attention.npz", **attention)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plot_scatter(y, p, out / "scatter.png")
    plot_bland_altman(y, p, out / "bland_altman.png")
    return metrics


def key_frame_summary(dataset: EchoNetDataset, table, attention: dict[str, np.ndarray]) -> dict | None:
    """How much MFL attention falls within one sampled frame of the traced end-diastolic and end-systolic
    frames (VolumeTracings.csv, or FileList.csv's EDFrame and ESFrame: `data.filelist.key_frames`), against what
    uniform weights would put there, over the videos whose ED and ES lie inside one evaluation clip (sampled at
    each video's own period). None without key frames or for the reference frame layout."""
    sampler = dataset.sampler
    pairs = key_frames(dataset.root)
    if not pairs or sampler.length is None or sampler.frame_layout != "frames":
        return None
    masses, uniforms = [], []
    for name, starts, period in zip(table["FileName"], table["clip_starts"], table["period"], strict=True):
        if video_file_name(name) not in pairs:
            continue
        key = list(pairs[video_file_name(name)])  # ES, ED
        for clip, start in enumerate(int(s) for s in str(starts).split()):
            index = sampler.source_index(np.array([start]), sampler.length, int(period))[0]
            if min(key) >= index[0] and max(key) <= index[-1]:
                mass, uniform = key_frame_mass(attention[name][clip], index, key, int(period))
                masses.append(mass)
                uniforms.append(uniform)
                break
    if not masses:
        return {"n_videos": 0}
    return {
        "n_videos": len(masses),
        "attention_mass": float(np.mean(masses)),
        "uniform_mass": float(np.mean(uniforms)),
        "ratio": float(np.mean(masses) / np.mean(uniforms)),
    }


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
) -> dict:
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


def format_metrics(metrics: dict) -> str:
    def fmt(entry: dict) -> str:
        if entry["value"] is None:
            return "n/a"
        ci = f" [{entry['ci95'][0]:.2f}, {entry['ci95'][1]:.2f}]" if entry.get("ci95") else ""
        return f"{entry['value']:.3f}{ci}"

    lines = [f"{key}: {fmt(metrics[key])}" for key in ("mae", "rmse", "r2", "auroc_ef_below_50", "auroc_ef_below_40")]
    lines.append(f"category accuracy: {metrics['category_accuracy']:.3f}")
    if metrics.get("key_frames", {}).get("n_videos"):
        kf = metrics["key_frames"]
        lines.append(
            f"key frames: {100 * kf['attention_mass']:.1f}% of the MFL attention within one sampled frame of "
            f"ED/ES vs {100 * kf['uniform_mass']:.1f}% for equal weights ({kf['ratio']:.2f}x, "
            f"{kf['n_videos']} videos)"
        )
    if "interval" in metrics:
        iv = metrics["interval"]
        lines.append(
            f"EF interval: {100 * iv['coverage']:.1f}% of videos covered (nominal {100 * iv['nominal']:.0f}%), "
            f"mean width {iv['mean_width']:.1f} EF points"
        )
    lines.append(
        f"one clip: MAE {metrics['one_clip']['mae']:.3f}, RMSE {metrics['one_clip']['rmse']:.3f}, "
        f"R2 {metrics['one_clip']['r2']:.3f}"
    )
    return "\n".join(lines)


__all__ = ["evaluate_checkpoint", "evaluate_model", "format_metrics"]
