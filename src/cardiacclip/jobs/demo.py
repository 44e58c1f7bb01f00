"""`cardiacclip demo`: the whole method on the built-in synthetic default, in minutes on a CPU.

Steps: synthetic echoes (seed 1, drawn in the ``echonet`` style or, with `style="second"`, in the
held-out look; the toy backbone was pretrained on seed 1000 and on subjects drawn from its own
seed stream, so no demo video was seen in pretraining) -> the toy echo-CLIP (`--backbone
synthetic`) -> 1-shot CardiacCLIP training with the synthetic config's recipe (frozen, cached
trunk; MFL at 1e-1, scoring each frame with its neighbours, asked to weigh every beat's ED and ES)
-> evaluation on the synthetic test split -> a report folder:

    report.md           summary, metrics table (model vs. predicting the training mean), figures
    metrics.json        `DemoSummary.to_json`: {"model": {mae, rmse, r2}, "mean_baseline": {mae, rmse, r2}, ...}
    predictions.csv, scatter.png, bland_altman.png, learning_curves.png
    attention/*.png     frames of a few test videos with their MFL weights, ED and ES marked
    run/                the training run (config.yaml, split.csv, metrics.csv, checkpoints)
    data/               the synthetic dataset
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.config import ConfigError, RunConfig
from cardiacclip.data.filelist import key_frames, read_filelist
from cardiacclip.data.prepare import frames_array
from cardiacclip.evaluate.metrics import Estimate, Regression, regression_metrics
from cardiacclip.evaluate.plots import plot_attention_strip
from cardiacclip.jobs.evaluate import EvaluationResult, IntervalCoverage, KeyFrameShare, evaluate_checkpoint
from cardiacclip.jobs.output import output_folder
from cardiacclip.jobs.train import train
from cardiacclip.model.layout import RunFolder
from cardiacclip.model.predictor import Predictor, load
from cardiacclip.synthetic.dataset import ensure_synthetic_data
from cardiacclip.train.pretrain import TOY_NOTICE

log = logging.getLogger(__name__)

DEMO_SPLIT_FRACTIONS = (0.6, 0.15, 0.25)
PRETRAINING_SEED = 1000  # the synthetic archive the toy backbone was pretrained on


@dataclass
class DemoSummary:
    """What the demo measured on its test split: the model against predicting the training mean for every video,
    the sizes of the splits, the calibrated intervals and the key-frame share (`to_json` is metrics.json), and
    where the report is and how long it all took."""

    model: Regression
    mean_baseline: Regression
    n_train: int
    n_val: int
    n_test: int
    test_clips: int | str
    style: str
    train_mean_ef: float  # EF %
    best_epoch: int
    interval: IntervalCoverage | None
    key_frames: KeyFrameShare | None
    report: Path | None = None
    seconds: float = 0.0
    notice: str = RESEARCH_NOTICE

    def to_json(self) -> dict[str, Any]:
        data = {name: value for name, value in asdict(self).items() if name not in ("report", "seconds", "notice")}
        if data["key_frames"] is not None:
            data["key_frames"] = {k: v for k, v in data["key_frames"].items() if v is not None}
        return {**data, "notice": self.notice}


@torch.no_grad()
def attention_strips(predictor: Predictor, root: Path, names: list[str], out: Path) -> list[Path]:
    """For each video: a clip that starts shortly before its traced beat, its frames and MFL weights,
    ED and ES marked."""
    pairs = key_frames(root)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    model, device = predictor.model, predictor.device
    for name in names:
        video = predictor.probe(root / "Videos" / f"{name}.avi")
        sampler = predictor.sampler.for_video(video.fps)
        n = video.n_frames
        es, ed = pairs.get(f"{name}.avi", (None, None))
        start = max(0, min(ed, es) - 2 * sampler.period) if ed is not None else 0
        start = min(start, max(0, n - sampler.span(n)))
        clip = sampler.take(frames_array(video, sampler.image_size, sampler.frame_indices(n, start)), start)
        out_model = model(sampler.to_tensor(clip)[None].to(device))
        weights = out_model["attention"][0].float().cpu().numpy()
        last = start + sampler.span(n) - 1
        marks = {}
        for label, frame in (("ED", ed), ("ES", es)):
            if frame is not None and start <= frame <= last:
                marks[int(round((frame - start) / sampler.period))] = label
        title = (
            f"{name}: EF {float(out_model['ef'][0]):.1f}% predicted; frames {start}..{last} "
            f"every {sampler.period}; ED/ES = traced frames (nearest sampled)"
        )
        paths.append(plot_attention_strip(clip, weights, out / f"{name}.png", title=title, marks=marks))
    return paths


def write_report(
    out: Path,
    summary: DemoSummary,
    evaluation: EvaluationResult,
    run_metrics: pd.DataFrame,
    attention: list[Path],
    seconds: float,
) -> Path:
    """report.md: the results, the figures, the learning curves and the attention strips."""
    lines = [
        *_results(summary, evaluation, seconds),
        "",
        _interval_line(evaluation.interval),
        "",
        _key_frame_line(evaluation.key_frames),
        "",
        "![scatter](scatter.png) ![Bland-Altman](bland_altman.png)",
        "",
        "## Learning curves",
        "",
        "![learning curves](learning_curves.png)",
        "",
        _metrics_table(run_metrics),
        "",
        "## Which frames MFL used",
        "",
        "Each strip shows one clip's frames and, under them, the MFL attention weight of every frame "
        "(dotted: uniform weight); the traced end-diastolic (ED) and end-systolic (ES) frames are marked.",
        "",
    ]
    lines += [f"![{p.stem}](attention/{p.name})" for p in attention]
    lines += [
        "",
        "Files: `predictions.csv` (one row per test video), `metrics.json`, `evaluation/metrics.json` (full metrics), "
        "`run/` (config.yaml, split.csv, metrics.csv, checkpoints).",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def _results(summary: DemoSummary, evaluation: EvaluationResult, seconds: float) -> list[str]:
    """The report's title, notice and results: the model against the training mean, with intervals."""
    model, baseline, m = summary.model, summary.mean_baseline, evaluation.summary

    def ci(entry: Estimate) -> str:
        return f"{entry.value:.3f} [{entry.ci95[0]:.3f}, {entry.ci95[1]:.3f}]" if entry.ci95 else f"{entry.value}"

    return [
        "# CardiacCLIP demo on synthetic echoes",
        "",
        f"> {RESEARCH_NOTICE} The backbone is {TOY_NOTICE[0].lower() + TOY_NOTICE[1:]} The videos are synthetic.",
        "",
        f"1-shot training on {summary.n_train} synthetic videos (k=1 per integer EF value), model selection on "
        f"{summary.n_val} validation videos, test on {summary.n_test} videos "
        f"with {summary.test_clips} fixed clips each. "
        f"Total time {seconds / 60:.1f} min.",
        "",
        "| | MAE | RMSE | R² |",
        "|---|---|---|---|",
        f"| CardiacCLIP (1-shot) | {model.mae:.2f} | {model.rmse:.2f} | {model.r2:.3f} |",
        f"| predict the training mean EF ({summary.train_mean_ef:.1f}) | {baseline.mae:.2f} "
        f"| {baseline.rmse:.2f} | {baseline.r2:.3f} |",
        "",
        f"95% bootstrap intervals: MAE {ci(m.mae)}, RMSE {ci(m.rmse)}, R² {ci(m.r2)}. "
        f"AUROC EF<50: {ci(m.auroc_ef_below_50)}; EF<40: {ci(m.auroc_ef_below_40)}. "
        f"Category accuracy {m.category_accuracy:.3f}. "
        f"One clip per video: MAE {evaluation.one_clip.mae:.2f}.",
    ]


def _key_frame_line(key_frames: KeyFrameShare | None) -> str:
    if key_frames is None or not key_frames.n_videos:
        return "Key frames: no test video has its traced ED and ES inside one evaluation clip."
    return (
        f"Key frames: {100 * key_frames.attention_mass:.1f}% of the MFL attention falls within one sampled "
        f"frame of the traced end-diastolic and end-systolic frames, against {100 * key_frames.uniform_mass:.1f}% "
        f"for equal weights ({key_frames.ratio:.2f}x; end-diastole alone {key_frames.ed_ratio:.2f}x, end-systole "
        f"alone {key_frames.es_ratio:.2f}x; {key_frames.n_videos} test videos)."
    )


def _interval_line(interval: IntervalCoverage | None) -> str:
    if interval is None:
        return "No EF intervals (the run has no calibration)."
    return (
        f"EF intervals (split conformal, calibrated on the {interval.calibration}): "
        f"{100 * interval.coverage:.1f}% of test videos inside their interval for "
        f"{100 * interval.nominal:.0f}% nominal coverage; mean width {interval.mean_width:.1f} EF points."
    )


def _metrics_table(history: pd.DataFrame) -> str:
    """Per-epoch metrics as a Markdown table."""
    columns = ["epoch", "train_loss", "train_mae", "val_mae", "val_rmse", "val_r2", "lr", "seconds"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in history[columns].iterrows():
        cells = [
            f"{int(row['epoch'])}",
            *(f"{row[c]:.3f}" for c in columns[1:6]),
            f"{row['lr']:.2e}",
            f"{row['seconds']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_demo(
    out: str | Path,
    n_videos: int = 400,
    data_seed: int = 1,
    config: RunConfig | None = None,
    workers: int | None = None,
    progress: bool = True,
    style: str = "echonet",
) -> DemoSummary:
    """Synthetic data, 1-shot training, test evaluation and the report in `out`; returns the summary (metrics.json).

    `style` is the synthetic echoes' drawing style (`cardiacclip.synthetic.styles`); the data's frame rate
    becomes the config's `data.fps`.
    """
    if data_seed == PRETRAINING_SEED:
        raise ConfigError(f"seed {PRETRAINING_SEED} is the toy backbone's pretraining archive; pick another")
    started = time.time()
    out = output_folder(out)
    data_root = ensure_synthetic_data(out / "data", n_videos, data_seed, DEMO_SPLIT_FRACTIONS, workers, style)
    config = config or RunConfig.load("synthetic")
    config.data.fps = float(read_filelist(data_root / "FileList.csv")["FPS"].median())
    config.data.root = str(data_root)
    run = RunFolder(out / "run")
    if run.root.exists():
        shutil.rmtree(run.root)  # a demo always trains afresh
    result = train(config, run.root, progress=progress)
    evaluation = evaluate_checkpoint(
        run.root, data_root, out / "evaluation", split_file=run.split, device=config.train.device, progress=progress
    )
    predictions = pd.read_csv(out / "evaluation" / "predictions.csv")
    summary = _summary(predictions, run, evaluation, config, style, result.best_epoch)
    (out / "metrics.json").write_text(json.dumps(summary.to_json(), indent=2))
    for name in ("predictions.csv", "scatter.png", "bland_altman.png"):
        shutil.copy(out / "evaluation" / name, out / name)
    shutil.copy(run.learning_curves, out / "learning_curves.png")
    # a few test videos across the EF range
    order = predictions.sort_values("EF")["FileName"].tolist()
    picks = [order[int(i)] for i in np.linspace(0, len(order) - 1, min(3, len(order))).round()]
    strips = attention_strips(load(run.root, config.train.device), data_root, picks, out / "attention")
    summary.report = write_report(out, summary, evaluation, pd.read_csv(run.metrics), strips, time.time() - started)
    summary.seconds = time.time() - started
    return summary


def _summary(
    predictions: pd.DataFrame,
    run: RunFolder,
    evaluation: EvaluationResult,
    config: RunConfig,
    style: str,
    best_epoch: int,
) -> DemoSummary:
    """The model against predicting the training mean, the sizes, intervals and key frames."""
    split = read_filelist(run.split)
    train_ef = split.query("Split == 'TRAIN'")["EF"].to_numpy()
    y, p = predictions["EF"].to_numpy(), predictions["EF_pred"].to_numpy()
    return DemoSummary(
        model=regression_metrics(y, p),
        mean_baseline=regression_metrics(y, np.full_like(y, train_ef.mean())),
        n_train=int(len(train_ef)),
        n_val=int((split["Split"] == "VAL").sum()),
        n_test=int(len(y)),
        test_clips=config.data.test_clips,
        style=style,
        train_mean_ef=float(train_ef.mean()),
        best_epoch=best_epoch,
        interval=evaluation.interval,
        key_frames=evaluation.key_frames,
    )
