"""`cardiacclip train`: a run folder (`cardiacclip.model.layout.RunFolder`) around `train.loop.fit`.

Before the first epoch every training and validation video is probed (`data.echonet.check_videos`): a
missing, unreadable or flagged video stops the run before any training, with one message naming them
all (`--skip-unreadable` leaves them out instead).

Running it again on the same folder with the same config resumes from last.pt (a larger `train.epochs`
or another `train.max_train_steps` extends the run).

Under torchrun (`torchrun --nproc-per-node N -m cardiacclip train ...`) every process trains on its
share of the same k-shot split (DistributedSampler; the effective batch is batch_size x N x grad_accum)
in DistributedDataParallel; rank 0 alone writes the split, logs, validates and writes checkpoints.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from cardiacclip import distributed
from cardiacclip.config import ConfigError, RunConfig, TrainConfig
from cardiacclip.data.echonet import check_data_folder, check_videos, dataset_from_config, write_left_out
from cardiacclip.data.fewshot import write_split
from cardiacclip.data.source import ProbeResult, Reading
from cardiacclip.evaluate.plots import plot_learning_curves
from cardiacclip.jobs.output import output_folder
from cardiacclip.model.backbone import Backbone, load_backbone
from cardiacclip.model.checkpoint import build_model, read_checkpoint, save_checkpoint
from cardiacclip.model.conformal import Calibration, calibrate
from cardiacclip.model.feature_cache import TrunkFeatureCache
from cardiacclip.model.inference import predict_dataset
from cardiacclip.model.layout import RunFolder
from cardiacclip.model.phase import PhaseHead
from cardiacclip.model.predictor import Predictor, load
from cardiacclip.model.prompts import load_prompts
from cardiacclip.runtime import Placement, resolve_device, resolve_precision, seed_everything
from cardiacclip.train.loop import FitSettings, Optimization, fit, steps_per_epoch
from cardiacclip.train.phase_fit import fit_phase

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    run_dir: Path
    best_val_mae: float
    best_epoch: int
    epochs_run: int
    seconds: float
    main: bool = True  # this process is rank 0 (under torchrun the others return too, and report nothing)


RUN_LENGTH = ("epochs", "max_train_steps")  # may change when a run is resumed (to extend it)


def _resume_state(run: RunFolder, config: RunConfig) -> dict[str, Any] | None:
    """The last checkpoint of an interrupted run in `run`, if any; another config there is an error
    (except for the run length, `train.epochs` and `train.max_train_steps`)."""
    if not run.last.is_file():
        return None
    payload = read_checkpoint(run.last)
    saved, wanted = RunConfig.from_dict(payload["config"]).to_dict(), config.to_dict()
    for key in RUN_LENGTH:
        saved["train"].pop(key), wanted["train"].pop(key)
    if saved != wanted:
        changed = sorted(
            f"{section}.{key}"
            for section in wanted
            for key in wanted[section]
            if saved.get(section, {}).get(key) != wanted[section][key]
        )
        raise ConfigError(
            f"{run.root} holds a run with another config (differs in {', '.join(changed)}): "
            "use a new --out folder, or the same config to resume it"
        )
    return payload


def train(
    config: RunConfig,
    run_dir: str | Path,
    backbone: Backbone | None = None,
    progress: bool = True,
    probed: Mapping[str, ProbeResult] | None = None,
) -> TrainResult:
    """Train (or resume) a run in `run_dir`; `backbone` may be passed to avoid loading it again, `probed` (what
    `check_videos` found for these videos) to avoid probing them again. Under torchrun every rank calls it
    (`distributed.setup` reads the environment) and only rank 0's result has `main` set."""
    run, tc = RunFolder(Path(run_dir)), config.train
    check_data_folder(config.data.root)
    rank, device = distributed.setup(resolve_device(tc.device))
    progress = progress and rank.main
    resume = _resume_state(run, config)
    split_file, split_hash = _run_folder(run, config, rank, resume is not None)
    # each rank draws its own random clips; DDP copies rank 0's initial weights to all ranks
    generator = seed_everything(tc.seed + rank.rank)
    precision = resolve_precision(tc.precision, device, training=True)
    backbone = backbone or load_backbone(config.model.backbone)
    model = build_model(config, backbone, load_prompts(config.model.prompts)).to(device)
    train_set, val_set = _datasets(config, split_file, backbone, run if rank.main else None, progress, probed)
    loader = _train_loader(train_set, tc, rank, generator, config.data.num_workers)
    placement = Placement(device, precision)
    opt = Optimization.create(model, tc, steps_per_epoch(loader, tc.grad_accum), placement)
    if rank.main:
        log.info(
            "training on %d videos, validating on %d; device %s, precision %s; %d process(es), effective batch %d; "
            "all ranks use split sha256 %s",
            *(len(train_set), len(val_set), device, precision, rank.world),
            *(tc.batch_size * rank.world * tc.grad_accum, split_hash[:16]),
        )
    epochs = _Epochs(run, model, config, backbone.describe(), opt, generator)
    start_epoch = epochs.restore(resume, rank) if resume is not None else 0
    network = DistributedDataParallel(model, find_unused_parameters=True) if rank.distributed else model
    cache = trunk_cache(config, model) if tc.trunk_cache else None
    settings = FitSettings(opt, tc, placement, epochs.end, start_epoch, progress, rank.main, cache)
    fit(network, loader, val_set, settings)
    epochs.close()
    if rank.main:
        _finish(run, epochs.history, (train_set, val_set), placement, progress, cache)
    distributed.barrier()
    distributed.teardown()
    best = epochs.best
    return TrainResult(run.root, best["mae"], best["epoch"], len(epochs.history), epochs.seconds, rank.main)


class _Epochs:
    """What rank 0 does at the end of every epoch: the metrics.csv row, the best and last checkpoints,
    tensorboard scalars, the log line; and what a resumed run restores of it."""

    def __init__(self, run: RunFolder, model, config: RunConfig, description: dict, opt: Optimization, generator):
        self.run, self.model, self.config, self.description = run, model, config, description
        self.opt, self.generator = opt, generator
        self.best = {"mae": float("inf"), "epoch": -1}
        self.history: list[dict] = []
        self.started = time.time()
        self.writer = _tensorboard(run) if config.train.tensorboard else None

    @property
    def seconds(self) -> float:
        return time.time() - self.started

    def restore(self, resume: dict[str, Any], rank: distributed.Rank) -> int:
        """Load an interrupted run's weights, optimizer, best score and history; returns the epoch to start at."""
        state = resume["training_state"]
        self.model.load_state_dict(resume["state_dict"])
        self.opt.load_state_dict(state)
        if rank.main:  # other ranks keep their own seeds: their random clips differ from rank 0's
            self.generator.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
        self.best = {"mae": state["best_mae"], "epoch": state["best_epoch"]}
        if self.run.metrics.is_file():
            self.history = pd.read_csv(self.run.metrics).to_dict("records")
        log.info("resuming %s after epoch %d (best val MAE %.2f)", self.run.root, state["epoch"] + 1, self.best["mae"])
        return state["epoch"] + 1

    def end(self, row: dict[str, float]) -> None:
        """`fit`'s end-of-epoch callback (rank 0 only)."""
        row["seconds"] = self.seconds
        self.history.append(row)
        pd.DataFrame(self.history).to_csv(self.run.metrics, index=False)
        improved = row["val_mae"] < self.best["mae"]
        if improved:
            self.best.update(mae=row["val_mae"], epoch=int(row["epoch"]))
            save_checkpoint(self.run.best, self.model, self.config, self.description)
        state = {
            **self.opt.state_dict(),
            "epoch": int(row["epoch"]) - 1,
            "best_mae": self.best["mae"],
            "best_epoch": self.best["epoch"],
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        save_checkpoint(self.run.last, self.model, self.config, self.description, training_state=state)
        if self.writer is not None:
            for key, value in row.items():
                self.writer.add_scalar(key, value, int(row["epoch"]))
        log.info(
            "epoch %d/%d: train loss %.3f, train MAE %.2f, val MAE %.2f%s",
            *(row["epoch"], self.config.train.epochs, row["train_loss"], row["train_mae"], row["val_mae"]),
            " (best)" if improved else "",
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _datasets(
    config: RunConfig,
    split_file: Path,
    backbone: Backbone,
    run: RunFolder | None,
    progress: bool,
    probed: Mapping[str, ProbeResult] | None,
):
    """The training and validation datasets, after one check of all their videos (`check_videos`, unless the
    caller `probed` them); the videos left out (with data.skip_unreadable) are listed in the run's left_out.csv."""
    data, mean, std = config.data, backbone.mean, backbone.std
    if probed is None:
        reading = Reading.from_config(data)
        probed = check_videos(data.root, split_file, ("train", "val"), reading, data.skip_unreadable, progress)
    train_set = dataset_from_config(data, "train", split_file, train=True, mean=mean, std=std, probed=probed)
    if config.train.loss.key_frames:
        train_set.with_key_frames()
    val_set = dataset_from_config(
        data, "val", split_file, train=data.eval_random_clip, clips=data.val_clips, mean=mean, std=std, probed=probed
    )
    left_out = {**train_set.skipped, **val_set.skipped}
    if left_out and run is not None:
        write_left_out(left_out, run.left_out)
    return train_set, val_set


def trunk_cache(config: RunConfig, model) -> TrunkFeatureCache:
    """An in-memory frozen-trunk feature cache, after checking the run can use one (ConfigError otherwise)."""
    problems = []
    if not config.model.freeze_trunk:
        problems.append("model.freeze_trunk is false (a trained trunk changes its features every step)")
    if config.data.pad:
        problems.append(f"data.pad is {config.data.pad} (pixel augmentation changes the frames; set it to 0)")
    if config.data.frame_layout != "frames":
        problems.append("data.frame_layout is not 'frames'")
    if not model.frames_independent:
        problems.append("model.zoom_norm 'batch' mixes frames")
    if problems:
        raise ConfigError("train.trunk_cache needs: " + "; ".join(problems))
    return TrunkFeatureCache()


def _run_folder(run: RunFolder, config: RunConfig, rank: distributed.Rank, resuming: bool) -> tuple[Path, str]:
    """Rank 0 writes config.yaml and (for a new run) the k-shot split; every rank checks it reads the same
    split. Returns the split file and its SHA-256."""
    split_file = run.split
    if rank.main:
        output_folder(run.checkpoints)
        config.to_yaml(run.config)
        if not resuming or not split_file.is_file():
            write_split(config.data, split_file)
    distributed.barrier()
    return split_file, distributed.same_file_on_all_ranks(split_file)


def _train_loader(
    train_set, tc: TrainConfig, rank: distributed.Rank, generator: torch.Generator, num_workers: int
) -> DataLoader:
    """Shuffled batches of the training split; under torchrun each rank gets its share (DistributedSampler)."""
    drop_last = tc.drop_last and len(train_set) > tc.batch_size * rank.world
    sampler = (
        DistributedSampler(train_set, rank.world, rank.rank, shuffle=True, seed=tc.seed, drop_last=drop_last)
        if rank.distributed
        else None
    )
    return DataLoader(
        train_set,
        batch_size=tc.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        generator=generator,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,  # workers keep what they learned of each video (frame count, region)
        drop_last=drop_last,
    )


def _finish(run: RunFolder, history: list[dict], splits: tuple, placement: Placement, progress: bool, cache) -> None:
    """Rank 0, after the last epoch: learning curves, the calibration and phase head of the best checkpoint,
    cache figures. `splits` are the (training, validation) datasets."""
    if history:
        plot_learning_curves(pd.DataFrame(history), run.learning_curves)
    if run.best.is_file():
        best = load(run.best, placement.device, placement.precision)  # once, for both
        calibrate_run(run.root, splits[1], placement, progress, best)
        fit_phase_run(run.root, *splits, placement, best)
    if cache is not None:
        log.info("trunk-feature cache: %d frames, %d hits, %d misses", len(cache), cache.hits, cache.misses)


def calibrate_run(
    run_dir: Path, val_set, placement: Placement, progress: bool = True, best: Predictor | None = None
) -> Calibration:
    """Split-conformal EF intervals for the run's best checkpoint, calibrated on the validation split
    (the same videos that chose the checkpoint, so the intervals can be slightly optimistic); written
    to run_dir/calibration.json, where `cc.load`, `predict`, `evaluate` and `export` find it. `best`: the
    checkpoint already loaded (default: loaded here)."""
    run = RunFolder(run_dir)
    best = best or load(run.best, placement.device, placement.precision)
    table = predict_dataset(best.model, val_set, placement, progress=progress, desc="calibrating").table
    tc = best.config.train
    calibration = calibrate(
        table["EF"].to_numpy(),
        table["EF_pred"].to_numpy(),
        tc.interval_coverage,
        clip_sd=table["EF_clip_sd"].to_numpy(),
        method=tc.interval_method,
        source=f"validation split, {len(table)} videos",
    )
    calibration.save(run.calibration)
    log.info(
        "EF intervals: ±%.2f points for %.0f%% coverage (%s)",
        calibration.quantile,
        100 * calibration.coverage,
        calibration.source,
    )
    return calibration


def fit_phase_run(
    run_dir: Path, train_set, val_set, placement: Placement, best: Predictor | None = None
) -> PhaseHead | None:
    """The phase head of the run's best checkpoint (`cardiacclip.train.phase_fit`), written to run_dir/phase.json
    when the training data traces ED and ES frames. `best`: the checkpoint already loaded (default: loaded here)."""
    run = RunFolder(run_dir)
    best = best or load(run.best, placement.device, placement.precision)
    head = fit_phase(best.model, train_set, val_set, placement)
    if head is not None:
        head.save(run.phase)
    return head


def _tensorboard(run: RunFolder):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed (pip install cardiacclip[tensorboard]); logging to CSV only")
        return None
    return SummaryWriter(run.tensorboard)
