"""The benchmark's methods: one k-shot `Sample` shared by all, a runner per method, and their registration."""

from __future__ import annotations

import copy
import dataclasses
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cardiacclip.baselines.linear_probe import LinearProbe, clip_features
from cardiacclip.baselines.video_regressor import KINETICS_MEAN, KINETICS_STD, VideoRegressor
from cardiacclip.baselines.zeroshot import ZeroShotEF
from cardiacclip.config import RunConfig, apply_overrides
from cardiacclip.data.echonet import (
    EchoNetDataset,
    dataset_from_config,
)
from cardiacclip.data.source import ProbeResult
from cardiacclip.evaluate.metrics import regression_metrics
from cardiacclip.jobs.benchmark.config import BenchmarkConfig, Method, MethodResult, register
from cardiacclip.jobs.evaluate import key_frame_summary
from cardiacclip.jobs.train import train
from cardiacclip.model.backbone import Backbone
from cardiacclip.model.inference import predict_dataset
from cardiacclip.model.layout import RunFolder
from cardiacclip.model.predictor import load
from cardiacclip.runtime import Placement, seed_everything

log = logging.getLogger(__name__)


@dataclass
class Sample:
    """One k-shot sample (and training seed) shared by every method of the table."""

    shots: int
    seed: int
    run: RunConfig  # the base run with this sample's split file and training seed
    backbone: Backbone
    config: BenchmarkConfig
    out: Path
    device: torch.device
    precision: str
    progress: bool
    probed: dict[str, ProbeResult]  # every video of the FileList, probed once per benchmark
    test_root: str | None = None  # the test split comes from this dataset folder (None: the run's own)
    test_probed: dict[str, ProbeResult] | None = None  # its TEST videos, probed once

    @property
    def tested_on(self) -> str:
        """The dataset folder this sample's test split comes from."""
        return str(self.test_root or self.run.data.root)

    def dataset(
        self, split: str, train: bool = False, baseline_input: tuple[tuple, tuple] | None = None
    ) -> EchoNetDataset:
        """A split of this sample. Trained CardiacCLIP methods get the run's own preprocessing (which may be
        the reference's raw 0-255 values); a baseline passes its (mean, std) and always gets normalized
        frames in the plain layout (a frozen CLIP or video network must see the input it was trained on)."""
        d = self.run.data
        mean, std = self.backbone.mean, self.backbone.std
        if baseline_input is not None:
            d = dataclasses.replace(d, normalize="clip", frame_layout="frames")
            mean, std = baseline_input
        clips = d.val_clips if split in ("train", "val") else d.test_clips
        probed = self.probed
        if split == "test" and self.test_root is not None:  # external validation: another dataset's test split
            d, probed = dataclasses.replace(d, root=self.test_root, split_file=None), self.test_probed
        dataset = dataset_from_config(
            d, split, d.split_file, train=train, clips=clips, mean=mean, std=std, probed=probed
        )
        if split == "test" and self.config.test_limit is not None and len(dataset) > self.config.test_limit:
            dataset.table = dataset.table.iloc[: self.config.test_limit].reset_index(drop=True)
        return dataset

    @cached_property
    def test_set(self) -> EchoNetDataset:
        """The test split with the run's own preprocessing, built once per sample."""
        return self.dataset("test")

    @property
    def clip_input(self) -> tuple[tuple, tuple]:
        """The frozen backbone's own preprocessing, for the zero-shot and linear-probe baselines."""
        return tuple(self.backbone.mean), tuple(self.backbone.std)


# A method returns (test predictions in EF percent, a note for the table, extra columns for results.csv).


def _train_mean(sample: Sample, method: Method) -> MethodResult:
    train_ef = sample.dataset("train").ef
    return np.full(len(sample.test_set), float(np.mean(train_ef))), f"mean {np.mean(train_ef):.1f}", {}


def _zero_shot(sample: Sample, method: Method) -> MethodResult:
    zero_shot = ZeroShotEF(sample.backbone, sample.device)
    test = sample.dataset("test", baseline_input=sample.clip_input)
    pred = np.array([np.mean([zero_shot.predict(clip) for clip in test[i]["video"]]) for i in range(len(test))])
    return pred, "", {}


def _linear_probe(sample: Sample, method: Method) -> MethodResult:
    features = {
        split: clip_features(
            sample.backbone, sample.dataset(split, baseline_input=sample.clip_input), sample.device, sample.progress
        )
        for split in ("train", "val", "test")
    }
    probe = LinearProbe().fit(*features["train"], *features["val"])
    return probe.predict(features["test"][0]), f"alpha={probe.alpha:.3g}", {}


def _trained(sample: Sample, method: Method) -> MethodResult:
    """Train the run config with the method's overrides (validated like `--set`), test the best checkpoint."""
    run = apply_overrides(sample.run, list(method.overrides))
    run_dir = sample.out / "runs" / f"k{sample.shots}_seed{sample.seed}" / method.name
    folder = RunFolder(run_dir)
    if sample.test_root is not None and folder.best.is_file():  # trained for the run's own test split already
        history = pd.read_csv(folder.metrics)
        best_epoch = int(history.loc[history["val_mae"].idxmin(), "epoch"])
    else:
        kwargs = {"backbone": copy.deepcopy(sample.backbone), "progress": sample.progress, "probed": sample.probed}
        best_epoch = train(run, run_dir, **kwargs).best_epoch
    best = load(run_dir, sample.device, sample.precision)
    placement = Placement(sample.device, sample.precision)
    predicted = predict_dataset(best.model, sample.test_set, placement, progress=sample.progress)
    predictions, attention = predicted.table, predicted.attention
    extra = {}
    key_frames = key_frame_summary(sample.test_set, predictions, attention) if run.model.aggregator == "mfl" else None
    if key_frames is not None and key_frames.n_videos:
        extra = {"key_frame_mass": key_frames.attention_mass, "key_frame_ratio": key_frames.ratio}
    return predictions["EF_pred"].to_numpy(), f"best epoch {best_epoch}", extra


def _r2plus1d(sample: Sample, method: Method) -> MethodResult:
    config, run = sample.config, sample.run
    kinetics = {"baseline_input": (KINETICS_MEAN, KINETICS_STD)}
    regressor = VideoRegressor(
        sample.device,
        sample.precision,
        weights=config.r2plus1d_weights,
        size=config.r2plus1d_size,
        epochs=config.r2plus1d_epochs or run.train.epochs,
        batch_size=max(2, run.train.batch_size),
    )
    regressor.fit(
        sample.dataset("train", train=True, **kinetics),
        sample.dataset("val", **kinetics),
        seed_everything(run.train.seed),
        sample.progress,
        max_steps=run.train.max_train_steps,
    )
    pred = regressor.predict(sample.dataset("test", **kinetics), sample.progress)
    note = f"{regressor.source} weights" + (f", {config.r2plus1d_size}px" if config.r2plus1d_size else "")
    return pred, note, {}


PLAIN = ("model.prompts=lvef_categories_plain", "model.head=coarse")
ONE_SCALE, TWO_SCALES = ("model.scales=[1]",), ("model.scales=[1, 2]",)
for _method in (
    Method("train_mean", "Predict the training mean", _train_mean),
    Method("zero_shot", "Zero-shot (EchoCLIP procedure)", _zero_shot),
    Method("linear_probe", "Linear probe (ridge, frame-mean features)", _linear_probe),
    Method("clip_ft", "CLIP fine-tuning, frame averaging", _trained, (*ONE_SCALE, "model.aggregator=mean", *PLAIN),
           ablation_step=True),
    Method("mfl", "+ MFL", _trained, (*ONE_SCALE, "model.aggregator=mfl", *PLAIN), ablation_step=True),
    Method("echozoom", "+ EchoZoom", _trained, (*TWO_SCALES, "model.aggregator=mfl", *PLAIN), ablation_step=True),
    Method("cardiacclip", "CardiacCLIP (+ prompts + fine stage)", _trained,
           (*TWO_SCALES, "model.aggregator=mfl", "model.prompts=lvef_categories", "model.head=fine"),
           ablation_step=True),
    Method("r2plus1d", "r2plus1d_18 regressor (EchoNet-style)", _r2plus1d),
    # the last ablation step split in two halves, to tell which of its changes helps or hurts; on request
    Method("echozoom_fine", "+ EchoZoom + fine stage (plain prompts)", _trained,
           (*TWO_SCALES, "model.aggregator=mfl", "model.prompts=lvef_categories_plain", "model.head=fine"),
           default=False),
    Method("echozoom_prompts", "+ EchoZoom + descriptive prompts (coarse head)", _trained,
           (*TWO_SCALES, "model.aggregator=mfl", "model.prompts=lvef_categories", "model.head=coarse"),
           default=False),
):  # fmt: skip
    register(_method)


def metrics_row(
    method: str, sample: Sample, n_train: int, y: np.ndarray, p: np.ndarray, seconds: float, note: str, extra: dict
) -> dict:
    return {
        "method": method,
        "tested_on": sample.tested_on,
        "shots": sample.shots,
        "seed": sample.seed,
        "n_train": n_train,
        **dataclasses.asdict(regression_metrics(y, p)),
        "key_frame_mass": extra.get("key_frame_mass", np.nan),
        "key_frame_ratio": extra.get("key_frame_ratio", np.nan),
        "seconds": round(seconds, 1),
        "note": note,
    }


