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
from collections.abc import Callable
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
from cardiacclip.config import SMALL_BACKBONES, ConfigError, RunConfig, Validated, apply_overrides
from cardiacclip.data.echonet import (
    LEFT_OUT_FILE,
    EchoNetDataset,
    check_videos,
    dataset_from_config,
    unusable,
    write_left_out,
)
from cardiacclip.data.fewshot import write_split
from cardiacclip.data.filelist import read_filelist
from cardiacclip.data.source import ProbeResult, Reading
from cardiacclip.evaluate.metrics import regression_metrics
from cardiacclip.evaluate.plots import plot_mae_vs_shots
from cardiacclip.jobs.evaluate import key_frame_summary
from cardiacclip.jobs.output import output_folder
from cardiacclip.jobs.train import train
from cardiacclip.model.backbone import Backbone, load_backbone
from cardiacclip.model.inference import predict_dataset
from cardiacclip.model.layout import RunFolder
from cardiacclip.model.predictor import load
from cardiacclip.runtime import Placement, resolve_device, resolve_precision, seed_everything
from cardiacclip.synthetic.echoes import ensure_synthetic_data

log = logging.getLogger(__name__)

QUOTED_REFERENCE_MAE = {
    1: 7.15,
    2: 7.08,
    4: 6.89,
    8: 6.64,
}  # reference implementation's logged EchoNet-Dynamic test MAE


@dataclass
class BenchmarkConfig(Validated):
    """What a benchmark runs; checked when built (`config.Validated`; method names are checked by
    `run_benchmark`, so that a method registered later can still be named)."""

    run: RunConfig  # data root, clip settings, training settings shared by the trained methods
    shots: list[int] = field(default_factory=lambda: [1, 2])
    seeds: int = 2
    methods: list[str] = field(default_factory=lambda: default_methods())
    r2plus1d_weights: str | None = "kinetics"
    r2plus1d_size: int | None = None  # resize frames for the video regressor (None: the data's size)
    r2plus1d_epochs: int | None = None  # None: the run's epochs
    test_limit: int | None = None  # only for --quick smoke runs
    test_data: str | None = None  # another dataset's TEST split as a second test target (external validation)

    def validate(self) -> None:
        if not self.shots or min(self.shots) < 1 or self.seeds < 1:
            raise ConfigError(f"a benchmark needs shots >= 1 and seeds >= 1, not {self.shots} and {self.seeds}")


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
    test_data: str | None = None,
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
        methods=list(methods or default_methods()),
        r2plus1d_weights=r2plus1d_weights,
        r2plus1d_size=56 if run.model.backbone in SMALL_BACKBONES else None,
        r2plus1d_epochs=r2plus1d_epochs,
        test_limit=test_limit,
        test_data=test_data,
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
MethodResult = tuple[np.ndarray, str, dict]


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
    if key_frames and key_frames.get("n_videos"):
        extra = {"key_frame_mass": key_frames["attention_mass"], "key_frame_ratio": key_frames["ratio"]}
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


@dataclass(frozen=True)
class Method:
    """One benchmark method: one registered entry (`register`) is all it takes to add one to the table.

    Args:
        name: the name `--methods` takes and results.csv shows.
        label: the row's label in results.md.
        runner: (sample, method) -> (test predictions in EF percent, a note for the table, extra results.csv columns).
        overrides: run-config overrides (`key=value`, applied through `config.apply_overrides` like `--set`) for
            the methods trained by `_trained`.
        default: in the default table (else run only when named in `--methods`).
        ablation_step: one step of the ablation chain whose paired MAE differences results.md shows, in
            registration order (each adds one component to the step before).
    """

    name: str
    label: str
    runner: Callable[[Sample, Method], MethodResult]
    overrides: tuple[str, ...] = ()
    default: bool = True
    ablation_step: bool = False


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method to the benchmark (a method of the same name is replaced)."""
    METHODS[method.name] = method
    return method


def default_methods() -> list[str]:
    """The methods of the default table, in registration order."""
    return [name for name, method in METHODS.items() if method.default]


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


def _metrics_row(
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


def check_methods(methods: list[str] | None) -> None:
    """Refuse unknown method names (ConfigError naming the known ones) before any data is made or trained on."""
    unknown = [m for m in methods or [] if m not in METHODS]
    if unknown:
        raise ConfigError(f"unknown benchmark method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")


def run_benchmark(config: BenchmarkConfig, out: str | Path, progress: bool = True) -> pd.DataFrame:
    """Every method on every (k, seed) sample; writes results.csv after each method, then results.md and the plot.

    Every video of the FileList is probed once, first (`check_videos`): unusable videos stop the benchmark
    before anything trains, or with data.skip_unreadable are left out and listed in out/left_out.csv. With
    `config.test_data`, every method is also tested on that dataset's TEST split (trained and selected on the
    run's data only): the rows say which (`tested_on`)."""
    check_methods(config.methods)
    out = Path(out)
    output_folder(out / "predictions")
    base, data = config.run, config.run.data
    reading = Reading.from_config(data)
    probed = check_videos(data.root, None, ("train", "val", "test"), reading, data.skip_unreadable, progress)
    targets: dict[str | None, dict | None] = {None: None}
    if config.test_data:
        targets[config.test_data] = check_videos(
            config.test_data, None, ("test",), reading, data.skip_unreadable, progress
        )
    device = resolve_device(base.train.device)
    precision = resolve_precision(base.train.precision, device, training=True)
    backbone = load_backbone(base.model.backbone)
    rows: list[dict] = []
    for shots in config.shots:
        for seed in range(config.seeds):
            run = copy.deepcopy(base)
            sampled = dataclasses.replace(base.data, split_file=None)  # every sample is drawn from FileList.csv
            run.data.split_file = str(write_split(sampled, out / "splits" / f"k{shots}_seed{seed}.csv", shots, seed))
            run.data.shots, run.data.split_seed, run.train.seed = shots, seed, base.train.seed + seed
            sample = Sample(shots, seed, run, backbone, config, out, device, precision, progress, probed)
            for root, target_probed in targets.items():
                _run_methods(dataclasses.replace(sample, test_root=root, test_probed=target_probed), rows, out)
    results = pd.DataFrame(rows)
    listed = read_filelist(Path(data.root) / "FileList.csv")
    left_out = unusable(listed[listed["FileName"].isin(list(probed))], probed)  # the datasets' own rule
    if left_out:
        write_left_out(left_out, out / LEFT_OUT_FILE)
    write_results_markdown(results, out / "results.md", base, config)
    own = results[results["tested_on"] == str(data.root)]
    plot_mae_vs_shots(own, out / "mae_vs_shots.png", [m for m in config.methods if m in set(own["method"])])
    return results


def _run_methods(sample: Sample, rows: list[dict], out: Path) -> None:
    """Every method of the benchmark on one sample and one test target; rows and predictions written as they come."""
    y_test, n_train = sample.test_set.ef, len(sample.dataset("train"))
    suffix = "" if sample.test_root is None else f"_on_{Path(sample.test_root).name}"
    for method in sample.config.methods:
        started = time.time()
        pred, note, extra = METHODS[method].runner(sample, METHODS[method])
        rows.append(_metrics_row(method, sample, n_train, y_test, pred, time.time() - started, note, extra))
        pd.DataFrame({"FileName": sample.test_set.file_names, "EF": y_test, "EF_pred": pred}).to_csv(
            out / "predictions" / f"k{sample.shots}_seed{sample.seed}_{method}{suffix}.csv", index=False
        )
        pd.DataFrame(rows).to_csv(out / "results.csv", index=False)
        log.info(
            "k=%d seed=%d %-12s tested on %s: MAE %.2f (%.0f s)",
            *(sample.shots, sample.seed, method, sample.tested_on, rows[-1]["mae"], rows[-1]["seconds"]),
        )


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds of MAE, RMSE and R2 per test dataset, method and k."""
    grouped = results.groupby(["tested_on", "method", "shots"], sort=False)
    columns = ["mae", "rmse", "r2"] + (["key_frame_ratio"] if "key_frame_ratio" in results.columns else [])
    summary = grouped[columns].agg(["mean", "std"])
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    summary["seeds"] = grouped.size()
    summary["n_train"] = grouped["n_train"].mean().round().astype(int)
    summary["note"] = grouped["note"].first()
    return summary.reset_index()


def paired_differences(results: pd.DataFrame) -> pd.DataFrame:
    """For each ablation step present (`Method.ablation_step`: the method against the one before it), the MAE
    difference on the same k-shot samples (method minus previous; negative = the step helps): mean, sd,
    and on how many of the samples the step lowered the MAE."""
    rows = []
    results = results.assign(tested_on=results["tested_on"] if "tested_on" in results.columns else "")
    present = [name for name, m in METHODS.items() if m.ablation_step and name in set(results["method"])]
    for before, after in zip(present, present[1:], strict=False):
        for (tested_on, shots), group in results.groupby(["tested_on", "shots"], sort=False):
            a = group[group["method"] == before].set_index("seed")["mae"]
            b = group[group["method"] == after].set_index("seed")["mae"]
            diff = (b - a).dropna()
            if diff.empty:
                continue
            rows.append(
                {
                    "tested_on": tested_on,
                    "step": f"{after} vs {before}",
                    "shots": shots,
                    "samples": len(diff),
                    "mae_diff_mean": float(diff.mean()),
                    "mae_diff_sd": float(diff.std()) if len(diff) > 1 else float("nan"),
                    "helped": int((diff < 0).sum()),
                }
            )
    return pd.DataFrame(rows)


def _paired_lines(paired: pd.DataFrame) -> list[str]:
    """results.md's table of paired MAE differences of the ablation steps (none when no step ran)."""
    if not len(paired):
        return []
    lines = [
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
            f"| {row['step']}{_on(row)} | {row['shots']} | {row['samples']} | {row['mae_diff_mean']:+.2f} | {sd} "
            f"| {row['helped']}/{row['samples']} |"
        )
    return lines


def _on(row) -> str:
    tested_on = row.get("tested_on", "")
    return f" (on {Path(tested_on).name})" if tested_on else ""


def _label(name: str) -> str:
    return METHODS[name].label if name in METHODS else name


def _external_line(config: BenchmarkConfig) -> list[str]:
    if not config.test_data:
        return []
    return [
        f"External validation: every method was trained and selected on `{config.run.data.root}` and tested on its "
        f"TEST split and on the TEST split of `{config.test_data}` (column \"tested on\").",
        "",
    ]


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
        *_external_line(config),
        "| method | tested on | k | train videos | MAE | RMSE | R² | key frames (x uniform) | seeds | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, row in summary.iterrows():
        key = cell(row, "key_frame_ratio") if np.isfinite(row.get("key_frame_ratio_mean", np.nan)) else "–"
        tested_on = Path(row["tested_on"]).name
        lines.append(
            f"| {_label(row['method'])} | {tested_on} | {row['shots']} | {row['n_train']} | {cell(row, 'mae')} | "
            f"{cell(row, 'rmse')} | {cell(row, 'r2', 3)} | {key} | {row['seeds']} | {row['note']} |"
        )
    lines += _paired_lines(paired_differences(results))
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
