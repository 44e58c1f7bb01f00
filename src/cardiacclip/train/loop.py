"""Few-shot training of CardiacCLIP (paper Sec. 3): one screen from batch to loss.

`run_epoch` is one pass over the training clips (CE + KL + L1, gradient accumulation, AMP);
`fit` alternates it with validation and hands every epoch's row to a callback, which is where
the `train` job writes metrics and checkpoints. Optimizer, schedule and gradient scaler live in
`Optimization`, so a resumed run restores all three at once.

Tested by tests/jobs/test_train.py, tests/train/test_trunk_cache.py and tests/test_reference_harness.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader

from cardiacclip.config import TrainConfig
from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.distributed import barrier, sum_over_ranks
from cardiacclip.evaluate.metrics import regression_metrics
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.feature_cache import TrunkFeatureCache
from cardiacclip.model.inference import predict_dataset
from cardiacclip.progress import progress_bar
from cardiacclip.runtime import Placement
from cardiacclip.train.losses import cardiacclip_loss
from cardiacclip.train.radam import RAdamSkippingEarlySteps
from cardiacclip.train.schedule import warmup_cosine


@dataclass
class Optimization:
    """RAdam over the model's parameter groups (one learning rate per part), the schedule and the fp16 scaler."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    step: int = 0  # optimizer steps taken

    @classmethod
    def create(cls, model: CardiacCLIP, tc: TrainConfig, steps_per_epoch: int, placement: Placement) -> Optimization:
        lrs = {"trunk": tc.lr_trunk, "zoom": tc.lr_zoom, "mfl": tc.lr_mfl, "text": tc.lr_text, "head": tc.lr_head}
        groups = [{"params": p, "lr": lrs[name], "name": name} for name, p in model.parameter_groups().items() if p]
        # foreach: one fused update per parameter group (PyTorch uses it on GPUs by default; CPUs gain too)
        kind = RAdamSkippingEarlySteps if tc.radam_early_steps == "skip" else torch.optim.RAdam
        optimizer = kind(groups, betas=tuple(tc.betas), weight_decay=tc.weight_decay, foreach=True)
        per_epoch = 1 if tc.schedule_step == "epoch" else steps_per_epoch  # schedule steps in an epoch
        scheduler = warmup_cosine(optimizer, tc.epochs * per_epoch, int(tc.warmup_epochs * per_epoch), tc.schedule)
        scaler = torch.amp.GradScaler(placement.device.type, enabled=placement.precision == "fp16")
        return cls(optimizer, scheduler, scaler)

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step = int(state.get("step", 0))


def steps_per_epoch(loader: DataLoader, grad_accum: int) -> int:
    return math.ceil(len(loader) / grad_accum)


def run_epoch(
    model: CardiacCLIP,
    loader: DataLoader,
    opt: Optimization,
    tc: TrainConfig,
    placement: Placement,
    desc: str = "epoch",
    progress: bool = True,
    cache: TrunkFeatureCache | None = None,
) -> dict[str, float]:
    """One pass over `loader` (one random clip per video); returns the means train_loss, train_ce, train_kl
    and train_mae (EF points) over this process's share. `model` may be wrapped in DistributedDataParallel."""
    model.train()
    core = getattr(model, "module", model)  # the CardiacCLIP inside a DDP wrapper
    label_bins = core.config.label_bins
    sampler = loader.dataset.sampler
    sums = {"train_loss": 0.0, "train_ce": 0.0, "train_kl": 0.0, "train_mae": 0.0}
    seen, device = 0, placement.device
    bar = progress_bar(loader, desc=desc, unit="batch", disable=not progress, leave=False)
    for i, batch in enumerate(bar):
        video = batch["video"][:, 0]  # (B, T, 3, H, W)
        ef = batch["ef"].to(device)
        if cache is not None:  # frozen trunk: pooled trunk features of each source frame, computed once
            index = sampler.source_index(batch["starts"][:, 0].numpy(), video.shape[1], batch["period"].numpy())
            strict = not loader.dataset.decode_pixels
            video = cache.pooled(core, video, list(batch["file_name"]), index, placement, strict)
            pooled = True
        else:
            video, pooled = video.to(device, non_blocking=True), False
        with placement.autocast():
            out = model(video, pooled=pooled)
        classes = core.prompts.classify(ef, label_bins)
        terms = cardiacclip_loss(
            out["logits"], out["ef"], ef, classes, tc.loss, out["attention"], batch.get("key_marks")
        )
        opt.scaler.scale(terms.total / tc.grad_accum).backward()
        if (i + 1) % tc.grad_accum == 0 or i + 1 == len(loader):
            opt.scaler.step(opt.optimizer)
            opt.scaler.update()
            opt.optimizer.zero_grad(set_to_none=True)
            if tc.schedule_step == "step":
                opt.scheduler.step()
            opt.step += 1
        n, seen = len(ef), seen + len(ef)
        for key, value in zip(sums, (terms.total.detach(), terms.ce, terms.kl, terms.l1), strict=True):
            sums[key] += float(value) * n
        bar.set_postfix(loss=f"{sums['train_loss'] / seen:.3f}", mae=f"{sums['train_mae'] / seen:.2f}")
        if tc.max_train_steps is not None and opt.step >= tc.max_train_steps:
            break
    *totals, seen = sum_over_ranks([*sums.values(), float(seen)])  # every rank's share (one process: as is)
    return {key: value / max(seen, 1) for key, value in zip(sums, totals, strict=True)}


def validate(
    model: CardiacCLIP,
    val_set: EchoNetDataset,
    placement: Placement,
    progress: bool = True,
    cache: TrunkFeatureCache | None = None,
) -> dict[str, float]:
    """Validation MAE, RMSE and R2 (EF points) over the evaluation clips of every video."""
    table = predict_dataset(model, val_set, placement, progress=progress, desc="validating", cache=cache).table
    metrics = regression_metrics(table["EF"].to_numpy(), table["EF_pred"].to_numpy())
    return {f"val_{k}": v for k, v in asdict(metrics).items()}


@dataclass
class FitSettings:
    """How `fit` runs, besides the model and the data.

    Attributes:
        optimization: the optimizer, schedule and scaler (`Optimization.create`), resumed or new.
        config: the training settings (epochs, loss weights, schedule stepping, max_train_steps).
        placement: the device and precision.
        on_epoch_end: called with each epoch's row (epoch, train loss terms, val_mae/val_rmse/val_r2, lr).
        start_epoch: the first epoch to run (0, or where a resumed run stopped).
        progress: progress bars.
        main: whether this process validates and reports (rank 0 under torchrun).
        cache: the frozen-trunk feature cache (`train.trunk_cache`), or None.
    """

    optimization: Optimization
    config: TrainConfig
    placement: Placement
    on_epoch_end: Callable[[dict[str, float]], None]
    start_epoch: int = 0
    progress: bool = True
    main: bool = True
    cache: TrunkFeatureCache | None = None


def fit(model: CardiacCLIP, loader: DataLoader, val_set: EchoNetDataset, settings: FitSettings) -> None:
    """Train from `settings.start_epoch` to the config's epochs, validating after each epoch; `on_epoch_end` gets
    the epoch's row and saves what it wants.

    Under torchrun `model` is wrapped in DistributedDataParallel and `loader` has a DistributedSampler;
    only the `main` process validates and calls `on_epoch_end`, the others wait for it at a barrier."""
    opt, tc, placement, cache, progress = (
        settings.optimization, settings.config, settings.placement, settings.cache, settings.progress
    )
    core = getattr(model, "module", model)
    if cache is not None and settings.start_epoch < tc.epochs:  # every training frame once, before the first epoch
        cache.prefill(core, loader.dataset, placement, progress=progress)
        loader.dataset.decode_pixels = False
    for epoch in range(settings.start_epoch, tc.epochs):
        if hasattr(loader.sampler, "set_epoch"):  # a new shuffle for every epoch, the same on every rank
            loader.sampler.set_epoch(epoch)
        row = {"epoch": epoch + 1}
        desc = f"epoch {epoch + 1}/{tc.epochs}"
        row.update(run_epoch(model, loader, opt, tc, placement, desc, progress, cache))
        row["lr"] = opt.optimizer.param_groups[0]["lr"]
        if tc.schedule_step == "epoch":  # the reference advances its schedule once per epoch
            opt.scheduler.step()
        if settings.main:
            row.update(validate(core, val_set, placement, progress, cache))
            val_set.decode_pixels = cache is None  # the validation clips' frames are cached from now on
            settings.on_epoch_end(row)
        barrier()
        if tc.max_train_steps is not None and opt.step >= tc.max_train_steps:
            break
    loader.dataset.decode_pixels = val_set.decode_pixels = True  # what comes after (calibration) reads pixels
