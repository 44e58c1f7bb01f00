"""Few-shot training of CardiacCLIP (paper Sec. 3): one screen from data to loss.

Writes into the run folder:
    config.yaml          the full run config
    split.csv            the FileList-format split that was used (k-shot train, val, test)
    metrics.csv          one row per epoch (losses, train MAE, val MAE/RMSE/R2, lr)
    checkpoints/last.pt  model + optimizer state, for resuming after an interruption
    checkpoints/best.pt  the model with the best validation MAE
    learning_curves.png
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from cardiacclip.config import RunConfig
from cardiacclip.data.echonet import dataset_from_config
from cardiacclip.data.fewshot import make_few_shot_split, split_from_file, write_split_file
from cardiacclip.data.filelist import read_filelist
from cardiacclip.evaluate.inference import predict_dataset
from cardiacclip.evaluate.metrics import regression_metrics
from cardiacclip.model.backbone import Backbone, load_backbone
from cardiacclip.model.prompts import load_prompts
from cardiacclip.runtime import autocast, resolve_device, resolve_precision, seed_everything
from cardiacclip.train.checkpoint import build_model, read_checkpoint, save_checkpoint
from cardiacclip.train.losses import cardiacclip_loss

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    run_dir: Path
    best_val_mae: float
    best_epoch: int
    epochs_run: int
    seconds: float


def prepare_split(config: RunConfig, run_dir: Path) -> Path:
    """Write the split this run uses as run_dir/split.csv (a given split file is copied as is)."""
    data = config.data
    table = read_filelist(Path(data.root) / "FileList.csv")
    split = split_from_file(data.split_file) if data.split_file else make_few_shot_split(table, data.shots, data.split_seed, data.val_size)
    if data.split_file:
        table = read_filelist(data.split_file)
    return write_split_file(split, table, run_dir / "split.csv")


def lr_lambda(total_steps: int, warmup_steps: int, schedule: str):
    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        if schedule == "constant":
            return 1.0
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return factor


def train(config: RunConfig, run_dir: str | Path, backbone: Backbone | None = None, progress: bool = True) -> TrainResult:
    """Train (or resume) a run; `backbone` may be passed to avoid loading it again."""
    run_dir = Path(run_dir)
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    last_path, best_path = run_dir / "checkpoints" / "last.pt", run_dir / "checkpoints" / "best.pt"
    resume = read_checkpoint(last_path) if last_path.is_file() else None
    if resume is not None and RunConfig.from_dict(resume["config"]).to_dict() != config.to_dict():
        raise ValueError(f"{run_dir} holds a run with another config; use a new --out folder or the same config")
    config.to_yaml(run_dir / "config.yaml")
    tc = config.train
    generator = seed_everything(tc.seed)
    device = resolve_device(tc.device)
    precision = resolve_precision(tc.precision, device)

    backbone = backbone or load_backbone(config.model.backbone)
    backbone_description = backbone.describe()
    prompts = load_prompts(config.model.prompts)
    model = build_model(config, backbone, prompts).to(device)

    split_file = run_dir / "split.csv" if (resume and (run_dir / "split.csv").is_file()) else prepare_split(config, run_dir)
    train_set = dataset_from_config(config.data, "train", split_file, train=True)
    val_set = dataset_from_config(config.data, "val", split_file, train=config.data.eval_random_clip, clips=config.data.val_clips)
    loader = DataLoader(train_set, batch_size=tc.batch_size, shuffle=True, generator=generator,
                        num_workers=config.data.num_workers, drop_last=len(train_set) > tc.batch_size)
    log.info("training on %d videos, validating on %d; device %s, precision %s", len(train_set), len(val_set), device, precision)

    lrs = {"trunk": tc.lr_trunk, "zoom": tc.lr_zoom, "mfl": tc.lr_mfl, "text": tc.lr_text, "head": tc.lr_head}
    groups = [{"params": params, "lr": lrs[name], "name": name} for name, params in model.parameter_groups().items() if params]
    optimizer = torch.optim.RAdam(groups, betas=tuple(tc.betas), weight_decay=tc.weight_decay)
    steps_per_epoch = math.ceil(len(loader) / tc.grad_accum)
    total_steps = tc.epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(total_steps, int(tc.warmup_epochs * steps_per_epoch), tc.schedule))
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")

    start_epoch, best_mae, best_epoch, history = 0, float("inf"), -1, []
    if resume is not None:
        state = resume["training_state"]
        model.load_state_dict(resume["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch, best_mae, best_epoch = state["epoch"] + 1, state["best_mae"], state["best_epoch"]
        history = pd.read_csv(run_dir / "metrics.csv").to_dict("records") if (run_dir / "metrics.csv").is_file() else []
        log.info("resuming %s after epoch %d (best val MAE %.2f)", run_dir, state["epoch"] + 1, best_mae)

    writer = _tensorboard(run_dir) if tc.tensorboard else None
    started, step = time.time(), start_epoch * steps_per_epoch
    for epoch in range(start_epoch, tc.epochs):
        model.train()
        sums = {"loss": 0.0, "ce": 0.0, "kl": 0.0, "l1": 0.0, "n": 0}
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{tc.epochs}", unit="batch", disable=not progress, leave=False)
        for i, batch in enumerate(bar):
            video = batch["video"][:, 0].to(device, non_blocking=True)  # one clip per video: (B, T, 3, H, W)
            ef = batch["ef"].to(device)
            classes = prompts.classify(ef, config.model.label_bins)
            with autocast(device, precision):
                out = model(video)
            terms = cardiacclip_loss(out["logits"], out["ef"], ef, classes, tc.loss)
            scaler.scale(terms.total / tc.grad_accum).backward()
            if (i + 1) % tc.grad_accum == 0 or i + 1 == len(loader):
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
                step += 1
            n = len(ef)
            sums["n"] += n
            for key, value in (("loss", terms.total.detach()), ("ce", terms.ce), ("kl", terms.kl), ("l1", terms.l1)):
                sums[key] += float(value) * n
            bar.set_postfix(loss=f"{sums['loss'] / sums['n']:.3f}", mae=f"{sums['l1'] / sums['n']:.2f}")
            if tc.max_train_steps is not None and step >= tc.max_train_steps:
                break
        val_table, _ = predict_dataset(model, val_set, device, precision, progress=progress, desc="validating")
        val = regression_metrics(val_table["EF"].to_numpy(), val_table["EF_pred"].to_numpy())
        row = {"epoch": epoch + 1, **{f"train_{k}": sums[k] / max(sums["n"], 1) for k in ("loss", "ce", "kl", "l1")},
               "val_mae": val["mae"], "val_rmse": val["rmse"], "val_r2": val["r2"],
               "lr": optimizer.param_groups[0]["lr"], "seconds": time.time() - started}
        row["train_mae"] = row.pop("train_l1")
        history.append(row)
        pd.DataFrame(history).to_csv(run_dir / "metrics.csv", index=False)
        if writer is not None:
            for key, value in row.items():
                writer.add_scalar(key, value, epoch + 1)
        improved = val["mae"] < best_mae
        if improved:
            best_mae, best_epoch = val["mae"], epoch + 1
            save_checkpoint(best_path, model, config, backbone_description)
        save_checkpoint(last_path, model, config, backbone_description, training_state={
            "epoch": epoch, "best_mae": best_mae, "best_epoch": best_epoch,
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
            "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
        })
        log.info("epoch %d/%d: train loss %.3f, train MAE %.2f, val MAE %.2f%s", epoch + 1, tc.epochs,
                 row["train_loss"], row["train_mae"], val["mae"], " (best)" if improved else "")
        if tc.max_train_steps is not None and step >= tc.max_train_steps:
            break
    if writer is not None:
        writer.close()
    if history:
        from cardiacclip.evaluate.plots import plot_learning_curves

        plot_learning_curves(pd.DataFrame(history), run_dir / "learning_curves.png")
    return TrainResult(run_dir, best_mae, best_epoch, len(history), time.time() - started)


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed (pip install cardiacclip[tensorboard]); logging to CSV only")
        return None
    return SummaryWriter(run_dir / "tensorboard")
