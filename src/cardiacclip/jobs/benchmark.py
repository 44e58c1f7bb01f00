"""`cardiacclip benchmark`: the paper's few-shot protocol with baselines and ablations.

For every k (videos per integer EF value) and seed: one k-shot sample, one validation subset
and the whole test split, shared by every method; model selection on validation; test-time
clips fixed (deterministic). Methods (same backbone for all CLIP-based ones):

    train_mean    every test video gets the mean EF of the k-shot training sample (the floor to beat)
    zero_shot     EchoCLIP's published zero-shot procedure (202 prompts, ranked values)
    linear_probe  ridge on frame-averaged frozen image embeddings
    clip_ft       CLIP fine-tuning with frame averaging, plain category prompts, coarse head
    mfl           + MFL attention over frames
    echozoom      + EchoZoom multi-scale input
    cardiacclip   + descriptive prompts + fine stage (the full method)
    r2plus1d      EchoNet-Dynamic-style r2plus1d_18 regressor (Kinetics-400 weights if available)

Two more methods run only when named in `methods`; they split the last step in two, to tell
which of its changes helps or hurts:

    echozoom_fine     + EchoZoom + fine stage, plain category prompts
    echozoom_prompts  + EchoZoom + descriptive prompts, coarse head

Writes results.csv (one row per method, k and seed; for MFL methods the key-frame attention
mass of `evaluate`), results.md (mean +- sd over seeds, and the paired MAE differences of each
ablation step over the same samples), mae_vs_shots.png, and the splits and per-video
predictions of every run.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.baselines.linear_probe import LinearProbe, clip_features
from cardiacclip.baselines.video_regressor import KINETICS_MEAN, KINETICS_STD, VideoRegressor
from cardiacclip.baselines.zeroshot import ZeroShotEF
from cardiacclip.config import ConfigError, RunConfig
from cardiacclip.data.echonet import LEFT_OUT_FILE, EchoNetDataset, check_videos, dataset_from_config, write_left_out
from cardiacclip.data.fewshot import prepare_split
from cardiacclip.data.source import ProbeResult, Reading, problem
from cardiacclip.evaluate.metrics import regression_metrics
from cardiacclip.evaluate.plots import plot_mae_vs_shots
from cardiacclip.jobs.evaluate import key_frame_summary
from cardiacclip.jobs.output import output_folder
from cardiacclip.jobs.train import train
from cardiacclip.model.backbone import Backbone, load_backbone
from cardiacclip.model.checkpoint import load_model
from cardiacclip.model.inference import predict_dataset
from cardiacclip.runtime import resolve_device, resolve_precision, seed_everything
from cardiacclip.synthetic.echoes import ensure_synthetic_data

log = logging.getLogger(__name__)

ABLATIONS: dict[str, dict] = {
    "clip_ft": {"scales": [1], "aggregator": "mean", "head": "coarse", "prompts": "lvef_categories_plain"},
    "mfl": {"scales": [1], "aggregator": "mfl", "head": "coarse", "prompts": "lvef_categories_plain"},
    "echozoom": {"scales": [1, 2], "aggregator": "mfl", "head": "coarse", "prompts": "lvef_categories_plain"},
    "cardiacclip": {"scales": [1, 2], "aggregator": "mfl", "head": "fine", "prompts": "lvef_categories"},
}
LAST_STEP_SPLIT: dict[str, dict] = {  # the last ablation step in two halves; run only on request
    "echozoom_fine": {**ABLATIONS["echozoom"], "head": "fine"},
    "echozoom_prompts": {**ABLATIONS["echozoom"], "prompts": "lvef_categories"},
}
TRAINED = {**ABLATIONS, **LAST_STEP_SPLIT}
METHODS = ("train_mean", "zero_shot", "linear_probe", *ABLATIONS, "r2plus1d")  # the default table
EXTRA_METHODS = tuple(LAST_STEP_SPLIT)
ABLATION_STEPS = ("clip_ft", "mfl", "echozoom", "cardiacclip")  # each adds one component to the one before
LABELS = {
    "train_mean": "Predict the training mean",
    "zero_shot": "Zero-shot (EchoCLIP procedure)",
    "linear_probe": "Linear probe (ridge, frame-mean features)",
    "clip_ft": "CLIP fine-tuning, frame averaging",
    "mfl": "+ MFL",
    "echozoom": "+ EchoZoom",
    "cardiacclip": "CardiacCLIP (+ prompts + fine stage)",
    "echozoom_fine": "+ EchoZoom + fine stage (plain prompts)",
    "echozoom_prompts": "+ EchoZoom + descriptive prompts (coarse head)",
    "r2plus1d": "r2plus1d_18 regressor (EchoNet-style)",
}
QUOTED_REFERENCE_MAE = {
    1: 7.15,
    2: 7.08,
    4: 6.89,
    8: 6.64,
}  # reference implementation's logged EchoNet-Dynamic test MAE


@dataclass
class BenchmarkConfig:
    run: RunConfig  # data root, clip settings, training settings shared by the trained methods
    shots: list[int] = field(default_factory=lambda: [1, 2])
    seeds: int = 2
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    r2plus1d_weights: str | None = "kinetics"
    r2plus1d_size: int | None = None  # resize frames for the video regressor (None: the data's size)
    r2plus1d_epochs: int | None = None  # None: the run's epochs
    test_limit: int | None = None  # only for --quick smoke runs


# The default synthetic benchmark: the synthetic config's own recipe (frozen, cached trunk: its epochs
# are cheap); the r2plus1d regressor, trained end to end, gets 4 epochs to stay within about an hour.
SYNTHETIC_DEFAULT = {"n_videos": 600, "data_seed": 2, "r2plus1d_epochs": 4}
QUICK = {"epochs": 1, "max_train_steps": 3, "val_size": 8, "test_limit": 16}  # a smoke run, not a result


def benchmark_config(
    run: RunConfig,
    shots: list[int],
    seeds: int,
    methods: list[str] | None,
    synthetic_default: bool,
    quick: bool,
    r2plus1d_weights: str | None,
) -> BenchmarkConfig:
    """The benchmark's sizing policy: the r2plus1d regressor's epochs when it runs on the built-in data with its
    own config (`synthetic_default`), the smoke-run sizes with `quick`, the run config's otherwise."""
    run = copy.deepcopy(run)
    r2plus1d_epochs, test_limit = None, None
    if synthetic_default:
        r2plus1d_epochs = SYNTHETIC_DEFAULT["r2plus1d_epochs"]
    if quick:
        run.train.epochs, run.train.max_train_steps, run.data.val_size = (
            QUICK["epochs"],
            QUICK["max_train_steps"],
            QUICK["val_size"],
        )
        test_limit, shots, seeds = QUICK["test_limit"], shots[:1], 1
    return BenchmarkConfig(
        run=run,
        shots=list(shots),
        seeds=seeds,
        methods=list(methods or METHODS),
        r2plus1d_weights=r2plus1d_weights,
        r2plus1d_size=56 if run.model.backbone in ("synthetic", "tiny") else None,
        r2plus1d_epochs=r2plus1d_epochs,
        test_limit=test_limit,
    )


def synthetic_benchmark_data(out: Path, n_videos: int | None = None) -> Path:
    """The built-in synthetic dataset of the benchmark (seed 2, disjoint from the toy backbone's pretraining)."""
    output_folder(out)
    return ensure_synthetic_data(
        out / "data", n_videos or SYNTHETIC_DEFAULT["n_videos"], seed=SYNTHETIC_DEFAULT["data_seed"]
    )


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
        dataset = dataset_from_config(
            d, split, d.split_file, train=train, clips=clips, mean=mean, std=std, probed=self.probed
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
MethodResult = tuple[np.ndarray, str, dict]


def _train_mean(sample: Sample, method: str) -> MethodResult:
    train_ef = sample.dataset("train").ef
    return np.full(len(sample.test_set), float(np.mean(train_ef))), f"mean {np.mean(train_ef):.1f}", {}


def _zero_shot(sample: Sample, method: str) -> MethodResult:
    zero_shot = ZeroShotEF(sample.backbone, sample.device)
    test = sample.dataset("test", baseline_input=sample.clip_input)
    pred = np.array([np.mean([zero_shot.predict(clip) for clip in test[i]["video"]]) for i in range(len(test))])
    return pred, "", {}


def _linear_probe(sample: Sample, method: str) -> MethodResult:
    features = {
        split: clip_features(
            sample.backbone, sample.dataset(split, baseline_input=sample.clip_input), sample.device, sample.progress
        )
        for split in ("train", "val", "test")
    }
    probe = LinearProbe().fit(*features["train"], *features["val"])
    return probe.predict(features["test"][0]), f"alpha={probe.alpha:.3g}", {}


def _trained(sample: Sample, method: str) -> MethodResult:
    run = copy.deepcopy(sample.run)
    for key, value in TRAINED[method].items():
        setattr(run.model, key, value)
    run_dir = sample.out / "runs" / f"k{sample.shots}_seed{sample.seed}" / method
    result = train(
        run, run_dir, backbone=copy.deepcopy(sample.backbone), progress=sample.progress, probed=sample.probed
    )
    model, _, _ = load_model(run_dir / "checkpoints" / "best.pt", sample.device)
    predictions, attention = predict_dataset(
        model, sample.test_set, sample.device, sample.precision, progress=sample.progress
    )
    extra = {}
    key_frames = key_frame_summary(sample.test_set, predictions, attention) if run.model.aggregator == "mfl" else None
    if key_frames and key_frames.get("n_videos"):
        extra = {"key_frame_mass": key_frames["attention_mass"], "key_frame_ratio": key_frames["ratio"]}
    return predictions["EF_pred"].to_numpy(), f"best epoch {result.best_epoch}", extra


def _r2plus1d(sample: Sample, method: str) -> MethodResult:
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


def _method_runner(method: str):
    if method in TRAINED:
        return _trained
    return {
        "train_mean": _train_mean,
        "zero_shot": _zero_shot,
        "linear_probe": _linear_probe,
        "r2plus1d": _r2plus1d,
    }[method]


def _metrics_row(
    method: str, sample: Sample, n_train: int, y: np.ndarray, p: np.ndarray, seconds: float, note: str, extra: dict
) -> dict:
    return {
        "method": method,
        "shots": sample.shots,
        "seed": sample.seed,
        "n_train": n_train,
        **regression_metrics(y, p),
        "key_frame_mass": extra.get("key_frame_mass", np.nan),
        "key_frame_ratio": extra.get("key_frame_ratio", np.nan),
        "seconds": round(seconds, 1),
        "note": note,
    }


def check_methods(methods: list[str] | None) -> None:
    """Refuse unknown method names (ConfigError naming the known ones) before any data is made or trained on."""
    unknown = [m for m in methods or [] if m not in METHODS + EXTRA_METHODS]
    if unknown:
        raise ConfigError(
            f"unknown benchmark method(s) {', '.join(unknown)}; choose from {', '.join(METHODS + EXTRA_METHODS)}"
        )


def run_benchmark(config: BenchmarkConfig, out: str | Path, progress: bool = True) -> pd.DataFrame:
    """Every method on every (k, seed) sample; writes results.csv after each method, then results.md and the plot.

    Every video of the FileList is probed once, first (`check_videos`): unusable videos stop the benchmark
    before anything trains, or with data.skip_unreadable are left out and listed in out/left_out.csv."""
    check_methods(config.methods)
    out = Path(out)
    output_folder(out / "predictions")
    base = config.run
    data = base.data
    probed = check_videos(
        data.root, None, ("train", "val", "test"), Reading.from_config(data), data.skip_unreadable, progress
    )
    device = resolve_device(base.train.device)
    precision = resolve_precision(base.train.precision, device, training=True)
    backbone = load_backbone(base.model.backbone)
    rows: list[dict] = []
    for shots in config.shots:
        for seed in range(config.seeds):
            run = copy.deepcopy(base)
            sampled = dataclasses.replace(base.data, split_file=None)  # every sample is drawn from FileList.csv
            run.data.split_file = str(prepare_split(sampled, out / "splits" / f"k{shots}_seed{seed}.csv", shots, seed))
            run.data.shots, run.data.split_seed, run.train.seed = shots, seed, base.train.seed + seed
            sample = Sample(shots, seed, run, backbone, config, out, device, precision, progress, probed)
            y_test, n_train = sample.test_set.ef, len(sample.dataset("train"))
            for method in config.methods:
                started = time.time()
                pred, note, extra = _method_runner(method)(sample, method)
                rows.append(_metrics_row(method, sample, n_train, y_test, pred, time.time() - started, note, extra))
                pd.DataFrame({"FileName": sample.test_set.file_names, "EF": y_test, "EF_pred": pred}).to_csv(
                    out / "predictions" / f"k{shots}_seed{seed}_{method}.csv", index=False
                )
                pd.DataFrame(rows).to_csv(out / "results.csv", index=False)
                log.info(
                    "k=%d seed=%d %-12s MAE %.2f (%.0f s)", shots, seed, method, rows[-1]["mae"], rows[-1]["seconds"]
                )
    results = pd.DataFrame(rows)
    left_out = {name: reason for name, result in probed.items() if (reason := problem(result))}
    if left_out:
        write_left_out(left_out, out / LEFT_OUT_FILE)
    write_results_markdown(results, out / "results.md", base, config)
    plot_mae_vs_shots(results, out / "mae_vs_shots.png", [m for m in config.methods if m in set(results["method"])])
    return results


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds of MAE, RMSE and R2 per method and k."""
    grouped = results.groupby(["method", "shots"], sort=False)
    columns = ["mae", "rmse", "r2"] + (["key_frame_ratio"] if "key_frame_ratio" in results.columns else [])
    summary = grouped[columns].agg(["mean", "std"])
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    summary["seeds"] = grouped.size()
    summary["n_train"] = grouped["n_train"].mean().round().astype(int)
    summary["note"] = grouped["note"].first()
    return summary.reset_index()


def paired_differences(results: pd.DataFrame) -> pd.DataFrame:
    """For each ablation step present (`ABLATION_STEPS`: the method against the one before it), the MAE
    difference on the same k-shot samples (method minus previous; negative = the step helps): mean, sd,
    and on how many of the samples the step lowered the MAE."""
    rows = []
    present = [m for m in ABLATION_STEPS if m in set(results["method"])]
    for before, after in zip(present, present[1:], strict=False):
        for shots, group in results.groupby("shots", sort=False):
            a = group[group["method"] == before].set_index("seed")["mae"]
            b = group[group["method"] == after].set_index("seed")["mae"]
            diff = (b - a).dropna()
            if diff.empty:
                continue
            rows.append(
                {
                    "step": f"{after} vs {before}",
                    "shots": shots,
                    "samples": len(diff),
                    "mae_diff_mean": float(diff.mean()),
                    "mae_diff_sd": float(diff.std()) if len(diff) > 1 else float("nan"),
                    "helped": int((diff < 0).sum()),
                }
            )
    return pd.DataFrame(rows)


def write_results_markdown(results: pd.DataFrame, path: Path, run: RunConfig, config: BenchmarkConfig) -> Path:
    summary = summarize(results)

    def cell(row, key: str, digits: int = 2) -> str:
        mean, sd = row[f"{key}_mean"], row[f"{key}_std"]
        return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if row["seeds"] > 1 and np.isfinite(sd) else "")

    lines = [
        "# Benchmark results",
        "",
        f"Measured by this project with `cardiacclip benchmark` on `{run.data.root}` "
        f"with backbone `{run.model.backbone}`; "
        f"shots {config.shots}, {config.seeds} seed(s); clips of {run.data.length} frames every {run.data.period}; "
        f"{run.train.epochs} epochs; test-time clips: {run.data.test_clips} per video (fixed)."
        + (
            f" Test limited to {config.test_limit} videos (quick mode: a smoke run, not a result)."
            if config.test_limit
            else ""
        ),
        "",
        "| method | k | train videos | MAE | RMSE | R² | key frames (x uniform) | seeds | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, row in summary.iterrows():
        key = cell(row, "key_frame_ratio") if np.isfinite(row.get("key_frame_ratio_mean", np.nan)) else "–"
        lines.append(
            f"| {LABELS.get(row['method'], row['method'])} | {row['shots']} | {row['n_train']} | {cell(row, 'mae')} | "
            f"{cell(row, 'rmse')} | {cell(row, 'r2', 3)} | {key} | {row['seeds']} | {row['note']} |"
        )
    paired = paired_differences(results)
    if len(paired):
        lines += [
            "",
            "Paired MAE differences of each ablation step on the same k-shot samples "
            "(step minus the method before it; negative: the step lowers the MAE):",
            "",
            "| step | k | samples | ΔMAE mean | ΔMAE sd | lower on |",
            "|---|---|---|---|---|---|",
        ]
        for _, row in paired.iterrows():
            sd = f"{row['mae_diff_sd']:.2f}" if np.isfinite(row["mae_diff_sd"]) else "–"
            lines.append(
                f"| {row['step']} | {row['shots']} | {row['samples']} | {row['mae_diff_mean']:+.2f} | {sd} "
                f"| {row['helped']}/{row['samples']} |"
            )
    lines += [
        "",
        "Key frames: the share of MFL attention within one sampled frame of the traced end-diastolic and "
        "end-systolic frames, divided by the share equal weights would give there (1 = no preference).",
        "",
        "",
        "Quoted, not measured here: the CardiacCLIP reference implementation's logged EchoNet-Dynamic test MAE "
        "(best-validation checkpoint) at 1/2/4/8 shots: "
        + " / ".join(f"{v}" for v in QUOTED_REFERENCE_MAE.values())
        + ".",
        "",
        RESEARCH_NOTICE,
        "",
    ]
    path.write_text("\n".join(lines))
    return path
