"""`cardiacclip train`: a run folder around `train.loop.fit`.

Writes into the run folder:
    config.yaml          the full run config
    split.csv            the FileList-format split that was used (k-shot train, val, test)
    metrics.csv          one row per epoch (losses, train MAE, val MAE/RMSE/R2, lr, seconds)
    checkpoints/last.pt  model + optimizer state, for resuming after an interruption
    checkpoints/best.pt  the model with the best validation MAE
    learning_curves.png

Running it again on the same folder with the same config resumes from last.pt.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch.utils.data import DataLoader

from cardiacclip.config import RunConfig
from cardiacclip.data.echonet import dataset_from_config
from cardiacclip.data.fewshot import prepare_split
from cardiacclip.evaluate.plots import plot_learning_curves
from cardiacclip.model.backbone import Backbone, load_backbone
from cardiacclip.model.checkpoint import build_model, load_model, read_checkpoint, save_checkpoint
from cardiacclip.model.conformal import CALIBRATION_FILE, Calibration, calibrate
from cardiacclip.model.inference import predict_dataset
from cardiacclip.model.prompts import load_prompts
from cardiacclip.runtime import resolve_device, resolve_precision, seed_everything
from cardiacclip.train.loop import Optimization, fit, steps_per_epoch

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    run_dir: Path
    best_val_mae: float
    best_epoch: int
    epochs_run: int
    seconds: float


def _resume_state(run_dir: Path, config: RunConfig) -> dict[str, Any] | None:
    """The last checkpoint of an interrupted run in `run_dir`, if any; another config there is an error."""
    last = run_dir / "checkpoints" / "last.pt"
    if not last.is_file():
        return None
    payload = read_checkpoint(last)
    if RunConfig.from_dict(payload["config"]).to_dict() != config.to_dict():
        raise ValueError(f"{run_dir} holds a run with another config; use a new --out folder or the same config")
    return payload


def train(
    config: RunConfig, run_dir: str | Path, backbone: Backbone | None = None, progress: bool = True
) -> TrainResult:
    """Train (or resume) a run in `run_dir`; `backbone` may be passed to avoid loading it again."""
    run_dir = Path(run_dir)
    checkpoints = run_dir / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    resume = _resume_state(run_dir, config)
    config.to_yaml(run_dir / "config.yaml")
    tc = config.train
    generator = seed_everything(tc.seed)
    device = resolve_device(tc.device)
    precision = resolve_precision(tc.precision, device)

    backbone = backbone or load_backbone(config.model.backbone)
    description = backbone.describe()
    model = build_model(config, backbone, load_prompts(config.model.prompts)).to(device)

    split_file = run_dir / "split.csv"
    if resume is None or not split_file.is_file():
        prepare_split(config.data, split_file)
    mean, std = backbone.mean, backbone.std
    train_set = dataset_from_config(config.data, "train", split_file, train=True, mean=mean, std=std)
    val_set = dataset_from_config(
        config.data,
        "val",
        split_file,
        train=config.data.eval_random_clip,
        clips=config.data.val_clips,
        mean=mean,
        std=std,
    )
    loader = DataLoader(
        train_set,
        batch_size=tc.batch_size,
        shuffle=True,
        generator=generator,
        num_workers=config.data.num_workers,
        drop_last=tc.drop_last and len(train_set) > tc.batch_size,
    )
    opt = Optimization.create(model, tc, steps_per_epoch(loader, tc.grad_accum), device, precision)
    log.info(
        "training on %d videos, validating on %d; device %s, precision %s",
        len(train_set),
        len(val_set),
        device,
        precision,
    )

    best = {"mae": float("inf"), "epoch": -1}
    history: list[dict] = []
    start_epoch = 0
    if resume is not None:
        state = resume["training_state"]
        model.load_state_dict(resume["state_dict"])
        opt.load_state_dict(state)
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch, best = state["epoch"] + 1, {"mae": state["best_mae"], "epoch": state["best_epoch"]}
        if (run_dir / "metrics.csv").is_file():
            history = pd.read_csv(run_dir / "metrics.csv").to_dict("records")
        log.info("resuming %s after epoch %d (best val MAE %.2f)", run_dir, start_epoch, best["mae"])

    started = time.time()
    writer = _tensorboard(run_dir) if tc.tensorboard else None

    def on_epoch_end(row: dict[str, float]) -> None:
        row["seconds"] = time.time() - started
        history.append(row)
        pd.DataFrame(history).to_csv(run_dir / "metrics.csv", index=False)
        improved = row["val_mae"] < best["mae"]
        if improved:
            best.update(mae=row["val_mae"], epoch=int(row["epoch"]))
            save_checkpoint(checkpoints / "best.pt", model, config, description)
        save_checkpoint(
            checkpoints / "last.pt",
            model,
            config,
            description,
            training_state={
                **opt.state_dict(),
                "epoch": int(row["epoch"]) - 1,
                "best_mae": best["mae"],
                "best_epoch": best["epoch"],
                "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
            },
        )
        if writer is not None:
            for key, value in row.items():
                writer.add_scalar(key, value, int(row["epoch"]))
        log.info(
            "epoch %d/%d: train loss %.3f, train MAE %.2f, val MAE %.2f%s",
            row["epoch"],
            tc.epochs,
            row["train_loss"],
            row["train_mae"],
            row["val_mae"],
            " (best)" if improved else "",
        )

    fit(model, loader, val_set, opt, tc, device, precision, on_epoch_end, start_epoch, progress)
    if writer is not None:
        writer.close()
    if history:
        plot_learning_curves(pd.DataFrame(history), run_dir / "learning_curves.png")
    if (checkpoints / "best.pt").is_file():
        calibrate_run(run_dir, val_set, device, precision, progress)
    return TrainResult(run_dir, best["mae"], best["epoch"], len(history), time.time() - started)


def calibrate_run(run_dir: Path, val_set, device: torch.device, precision: str, progress: bool = True) -> Calibration:
    """Split-conformal EF intervals for the run's best checkpoint, calibrated on the validation split
    (the same videos that chose the checkpoint, so the intervals can be slightly optimistic); written
    to run_dir/calibration.json, where `cc.load`, `predict`, `evaluate` and `export` find it."""
    model, config, _ = load_model(run_dir / "checkpoints" / "best.pt", device)
    table, _ = predict_dataset(model, val_set, device, precision, progress=progress, desc="calibrating")
    tc = config.train
    calibration = calibrate(
        table["EF"].to_numpy(),
        table["EF_pred"].to_numpy(),
        tc.interval_coverage,
        clip_sd=table["EF_clip_sd"].to_numpy(),
        method=tc.interval_method,
        source=f"validation split, {len(table)} videos",
    )
    calibration.save(run_dir / CALIBRATION_FILE)
    log.info(
        "EF intervals: ±%.2f points for %.0f%% coverage (%s)",
        calibration.quantile,
        100 * calibration.coverage,
        calibration.source,
    )
    return calibration


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed (pip install cardiacclip[tensorboard]); logging to CSV only")
        return None
    return SummaryWriter(run_dir / "tensorboard")
