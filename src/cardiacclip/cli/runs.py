"""Commands that train and measure: `train`, `evaluate`, `benchmark`, `demo`, `pretrain`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.choices import DemoStyle
from cardiacclip.cli.app import EXIT_STATUS, app, console, reject_extras, run_config, usage_errors
from cardiacclip.cli.options import (
    EXTRA_ARGS,
    Arch,
    BackboneOption,
    Cache,
    Clips,
    ConfigName,
    CropOption,
    DataFolder,
    Device,
    DrawStyle,
    Epochs,
    Methods,
    ModelPath,
    PrecisionOption,
    PretrainLr,
    Prompts,
    R2plus1dWeights,
    ReportColumn,
    RunOut,
    SetOption,
    Shots,
    SkipUnreadable,
    SplitFile,
    Views,
    Workers,
    comma_list,
    parse_clips,
)


@app.command(context_settings=EXTRA_ARGS, epilog=EXIT_STATUS)
def train(
    ctx: typer.Context,
    data: DataFolder,
    out: RunOut,
    backbone: BackboneOption = None,
    shots: Shots = None,
    config: ConfigName = None,
    split_file: SplitFile = None,
    epochs: Epochs = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Training seed.")] = None,
    split_seed: Annotated[int | None, typer.Option("--split-seed", help="Seed of the k-shot sample.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto (default), cuda, mps, cpu, cuda:1, ...")] = None,
    precision: PrecisionOption = None,
    skip_unreadable: SkipUnreadable = False,
    prompts: Prompts = None,
    crop: CropOption = None,
    set_: SetOption = None,
) -> None:
    """Few-shot training of CardiacCLIP; keeps the best-validation and the last checkpoint.

    Without --config, the toy backbones (synthetic, tiny) get the synthetic config's sizes and any
    other backbone the paper's protocol. Options and --set override the config; the result is
    checked like a config file and saved as config.yaml in the run folder. Under torchrun every process
    runs this command and rank 0 reports.
    """
    from cardiacclip.jobs.train import train as run_training

    reject_extras(ctx)
    options = {
        "data.root": str(data),
        "data.split_file": str(split_file) if split_file else None,
        "data.shots": shots,
        "train.epochs": epochs,
        "train.batch_size": batch_size,
        "train.seed": seed,
        "data.split_seed": split_seed,
        "train.device": device,
        "train.precision": precision,
        "data.skip_unreadable": True if skip_unreadable else None,
        "model.prompts": prompts,
        "data.crop": crop,
    }
    with usage_errors():
        result = run_training(run_config(ctx, config, backbone, options, set_), out)
    if result.main:
        console.print(
            f"best validation MAE {result.best_val_mae:.2f} at epoch {result.best_epoch}; "
            f"checkpoints in {result.run_dir / 'checkpoints'}. {RESEARCH_NOTICE}"
        )


@app.command(epilog=EXIT_STATUS)
def evaluate(
    checkpoint: ModelPath,
    data: DataFolder,
    split: Annotated[str, typer.Option("--split", help="train, val, test or all.")] = "test",
    out: Annotated[Path, typer.Option("--out", help="Folder for predictions.csv, metrics.json and plots.")] = Path(
        "evaluation"
    ),
    clips: Clips = None,
    split_file: SplitFile = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples for the 95% intervals.")] = 1000,
    device: Device = "auto",
    skip_unreadable: SkipUnreadable = False,
    crop: CropOption = None,
    precision: PrecisionOption = None,
    workers: Workers = 0,
) -> None:
    """MAE, RMSE, R2 (bootstrap 95% CI), AUROC for EF<50 and EF<40, category accuracy; tables and plots."""
    from cardiacclip.jobs.evaluate import evaluate_checkpoint, format_metrics

    clip_count = parse_clips(clips)
    with usage_errors():
        result = evaluate_checkpoint(
            checkpoint,
            data,
            out,
            split=split,
            clips=clip_count,
            split_file=split_file,
            device=device,
            n_bootstrap=bootstrap,
            skip_unreadable=skip_unreadable,
            crop=crop,
            precision=precision,
            workers=workers,
        )
    console.print(format_metrics(result))
    console.print(f"wrote {out}/predictions.csv, metrics.json, scatter.png, bland_altman.png. {RESEARCH_NOTICE}")


@app.command(context_settings=EXTRA_ARGS)
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("demo_out"),
    n: Annotated[int, typer.Option("--n", help="Synthetic videos to generate (60% train, 15% val, 25% test).")] = 400,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the synthetic videos (the toy backbone was pretrained on seed 1000).")
    ] = 1,
    epochs: Epochs = None,
    config: Annotated[
        str | None, typer.Option("--config", help="Run config (default: the packaged synthetic config).")
    ] = None,
    style: Annotated[
        DemoStyle,
        typer.Option(
            "--style",
            help="Drawing style of the synthetic echoes: echonet (default) or second (a held-out look the toy "
            "backbone never saw; the same recipe, to check that it does not depend on one style).",
        ),
    ] = "echonet",
    set_: SetOption = None,
) -> None:
    """The main job on the built-in default: synthetic echoes, toy echo-CLIP, 1-shot CardiacCLIP, evaluation, report."""
    from cardiacclip.jobs.demo import run_demo

    reject_extras(ctx)
    with usage_errors():
        cfg = run_config(ctx, config or "synthetic", None, {"train.epochs": epochs}, set_)
        summary = run_demo(out, n_videos=n, data_seed=seed, config=cfg, style=style)
    m, b = summary.model, summary.mean_baseline
    console.print(
        f"test MAE {m.mae:.2f} (RMSE {m.rmse:.2f}, R2 {m.r2:.3f}) vs. {b.mae:.2f} for predicting the "
        f"training mean; {summary.seconds / 60:.1f} min"
    )
    console.print(f"report: {summary.report}")
    console.print(
        f"{RESEARCH_NOTICE} Synthetic data and a toy backbone: these numbers say the pipeline works, nothing clinical."
    )


@app.command(context_settings=EXTRA_ARGS)
def benchmark(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for results.csv, results.md, mae_vs_shots.png, runs and predictions.")
    ],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="EchoNet-Dynamic-format folder (default: synthetic echoes made in OUT/data)."),
    ] = None,
    backbone: BackboneOption = None,
    shots: Annotated[str, typer.Option("--shots", help="k values, comma-separated: --shots 1,2,4,8.")] = "1,2",
    seeds: Annotated[
        int,
        typer.Option("--seeds", help="Seeds per k (0..N-1): k-shot sample and training seed; N>1 gives mean +- sd."),
    ] = 1,
    methods: Methods = None,
    config: Annotated[
        str | None, typer.Option("--config", help="Run config of the trained methods (default: synthetic, or paper).")
    ] = None,
    r2plus1d_weights: R2plus1dWeights = "kinetics",
    quick: Annotated[bool, typer.Option("--quick", help="A smoke run for CI: a few steps, small val/test.")] = False,
    n: Annotated[int | None, typer.Option("--n", help="Synthetic videos without --data (default 600).")] = None,
    test_data: Annotated[
        Path | None,
        typer.Option("--test-data", help="Also test every method on this dataset's TEST split (external validation)."),
    ] = None,
    skip_unreadable: SkipUnreadable = False,
    set_: SetOption = None,
) -> None:
    """The paper's few-shot protocol: every method on the same k-shot samples.

    Writes results.md, results.csv and an MAE-vs-k plot.
    """
    from cardiacclip.jobs.benchmark import benchmark_config, check_methods, run_benchmark, synthetic_benchmark_data

    reject_extras(ctx)
    shot_list = [int(k) for k in comma_list(shots, "--shots", int)]
    method_list = comma_list(methods, "--methods") if methods else None
    with usage_errors():
        check_methods(method_list)  # before any data is made
        root = data if data is not None else synthetic_benchmark_data(out, n)
        options = {"data.root": str(root), "data.skip_unreadable": True if skip_unreadable else None}
        cfg = run_config(ctx, config or ("synthetic" if data is None else "paper"), backbone, options, set_)
        bench = benchmark_config(
            cfg,
            shot_list,
            seeds,
            method_list,
            synthetic_default=data is None and config is None,
            quick=quick,
            r2plus1d_weights=None if r2plus1d_weights in (None, "none") else r2plus1d_weights,
            test_data=str(test_data) if test_data else None,
        )
        results = run_benchmark(bench, out)
    console.print((out / "results.md").read_text())
    console.print(f"wrote {out}/results.csv, results.md, mae_vs_shots.png ({len(results)} runs)")


@app.command(epilog=EXIT_STATUS)
def pretrain(
    out: Annotated[Path, typer.Option("--out", help="Folder for open_clip_config.json + open_clip_model.safetensors.")],
    data: Annotated[Path | None, typer.Option("--data", help="EchoNet-Dynamic-format archive (all splits).")] = None,
    arch: Arch = "small_echoclip",
    report_column: ReportColumn = None,
    draw: DrawStyle = None,
    views: Views = "clips",
    key_jitter: Annotated[int, typer.Option("--key-jitter", help="key_frames: move ED and ES by up to N frames.")] = 2,
    steps: Annotated[int, typer.Option("--steps")] = 1000,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 32,
    frames: Annotated[int, typer.Option("--frames", help="Frames per clip (1: frame-report pairs).")] = 8,
    period: Annotated[int, typer.Option("--period", help="Take every period-th frame.")] = 8,
    lr: PretrainLr = 5e-4,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Data-loading processes.")] = 1,
    cache: Cache = False,
    device: Device = "auto",
) -> None:
    """EchoCLIP-style contrastive pretraining of a small open_clip model on echo clips and report text."""
    from cardiacclip.jobs.pretrain import pretrain as run_pretrain
    from cardiacclip.train.pretrain import PretrainConfig

    with usage_errors():
        config = PretrainConfig(
            data=str(data or ""),
            draw_style=draw,
            arch=arch,
            report_column=report_column,
            views=views,
            key_jitter=key_jitter,
            frames_per_sample=frames,
            period=period,
            batch_size=batch_size,
            steps=steps,
            lr=lr,
            seed=seed,
            device=device,
            num_workers=workers,
            cache=cache,
        )
        folder = run_pretrain(config, out)
    console.print(f"wrote {folder}; use it with --backbone {folder}")
