"""The `cardiacclip` command line. Every command has `--help`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.table import Table

from cardiacclip import RESEARCH_NOTICE, __version__
from cardiacclip.logging_setup import configure_logging

if TYPE_CHECKING:
    from cardiacclip.config import RunConfig

app = typer.Typer(
    help=f"CardiacCLIP: few-shot LVEF prediction from echocardiogram videos. {RESEARCH_NOTICE}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
log = logging.getLogger("cardiacclip")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    configure_logging(verbose)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def synth(
    out: Path = typer.Argument(..., help="Folder to write (FileList.csv, VolumeTracings.csv, Videos/)."),
    n: int = typer.Option(200, "--n", help="Number of videos."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same videos."),
    size: int = typer.Option(112, "--size", help="Frame height and width in pixels."),
    fps: float = typer.Option(50.0, "--fps", help="Frame rate."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes (default: all cores, at most 8)."),
) -> None:
    """Write synthetic apical-4-chamber echo videos in the EchoNet-Dynamic layout."""
    from cardiacclip.data.synthetic import generate_dataset

    table = generate_dataset(out, n=n, seed=seed, size=size, fps=fps, workers=workers)
    counts = table["Split"].value_counts().to_dict()
    console.print(
        f"wrote {len(table)} synthetic videos to {out} ({counts}); EF mean {table['EF'].mean():.1f}, "
        f"sd {table['EF'].std():.1f}, range {table['EF'].min():.1f}-{table['EF'].max():.1f}"
    )


@app.command()
def inspect(
    data: Path = typer.Argument(..., help="EchoNet-Dynamic-format folder (FileList.csv, Videos/)."),
    decode: bool = typer.Option(True, "--decode/--no-decode", help="Decode every video in full (slower, finds corrupt streams)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the report as JSON."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write an EF histogram per split (PNG)."),
) -> None:
    """Check a dataset: counts per split, EF distribution, frame sizes and rates, missing or unreadable videos.

    Exits with status 1 when any listed video is missing or unreadable.
    """
    from dataclasses import asdict

    from cardiacclip.data.errors import DatasetError
    from cardiacclip.data.filelist import read_filelist
    from cardiacclip.data.inspect import inspect_dataset, plot_ef_histogram

    try:
        report = inspect_dataset(data, decode=decode)
    except DatasetError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    table = Table(title=f"{data}: {report.n_videos} videos")
    for column in ("split", "videos", "EF mean", "EF sd", "EF min", "EF max", "EF<40", "EF<50"):
        table.add_column(column)
    for split, s in report.ef_summary.items():
        table.add_row(split, str(s["n"]), f"{s['mean']:.1f}", f"{s['sd']:.1f}", f"{s['min']:.1f}", f"{s['max']:.1f}", str(s["below_40"]), str(s["below_50"]))
    console.print(table)
    console.print(f"frame sizes: {report.frame_sizes}")
    console.print(f"frame rates: {report.frame_rates}")
    if report.frame_counts:
        console.print(f"frames per video: {report.frame_counts}; FileList NumberOfFrames differs from the decoded count for {report.frame_count_mismatches} video(s)")
    console.print(f"VolumeTracings.csv: {'present' if report.has_tracings else 'absent'}")
    for name in report.missing:
        console.print(f"[red]missing[/red] {name}")
    for name, reason in report.unreadable.items():
        console.print(f"[red]unreadable[/red] {name}: {reason}")
    if json_out:
        json_out.write_text(json.dumps(asdict(report), indent=2))
    if plot:
        plot_ef_histogram(read_filelist(data / "FileList.csv"), plot)
        console.print(f"EF histogram: {plot}")
    if not report.ok:
        console.print(f"[red]{len(report.missing)} missing and {len(report.unreadable)} unreadable video(s)[/red]")
        raise typer.Exit(1)
    console.print("[green]all listed videos present and readable[/green]" if decode else "[green]all listed videos present[/green] (not decoded)")


@app.command()
def pretrain(
    data: Path = typer.Option(..., "--data", help="EchoNet-Dynamic-format archive (all splits are used)."),
    out: Path = typer.Option(..., "--out", help="Folder for open_clip_config.json + open_clip_model.safetensors."),
    arch: str = typer.Option("small_echoclip", "--arch", help="Packaged open_clip config to start from (random init), or a backbone spec."),
    report_column: Optional[str] = typer.Option(None, "--report-column", help="FileList column with report text (default: reports written from EF)."),
    steps: int = typer.Option(1000, "--steps"),
    batch_size: int = typer.Option(32, "--batch-size"),
    frames: int = typer.Option(8, "--frames", help="Frames per clip (1: EchoCLIP-style frame-report pairs)."),
    period: int = typer.Option(8, "--period", help="Take every period-th frame."),
    lr: float = typer.Option(5e-4, "--lr", help="Peak learning rate (1e-3 and above collapse the small model here)."),
    seed: int = typer.Option(0, "--seed"),
    workers: int = typer.Option(1, "--workers", help="Data-loading processes."),
    cache: bool = typer.Option(False, "--cache/--no-cache", help="Decode every video once and keep the frames in memory."),
    device: str = typer.Option("auto", "--device"),
) -> None:
    """EchoCLIP-style contrastive pretraining of a small open_clip model on echo clips and report text."""
    from cardiacclip.train.pretrain import PretrainConfig, pretrain as run_pretrain

    config = PretrainConfig(data=str(data), arch=arch, report_column=report_column, frames_per_sample=frames, period=period,
                            batch_size=batch_size, steps=steps, lr=lr, seed=seed, device=device, num_workers=workers,
                            cache=cache)
    folder = run_pretrain(config, out)
    console.print(f"wrote {folder}; use it with --backbone {folder}")


def _load_config(config: Optional[str]) -> "RunConfig":
    from cardiacclip.config import RunConfig

    return RunConfig.load(config) if config else RunConfig()


@app.command()
def train(
    data: Path = typer.Option(..., "--data", help="EchoNet-Dynamic-format folder."),
    out: Path = typer.Option(..., "--out", help="Run folder (config.yaml, split.csv, metrics.csv, checkpoints/). An existing run resumes."),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="hf-hub:mkaichristensen/echo-clip, a weights file or folder, synthetic, tiny."),
    shots: Optional[int] = typer.Option(None, "--shots", help="k training videos per integer EF value (0: all of TRAIN)."),
    config: Optional[str] = typer.Option(None, "--config", help="YAML file or packaged name (reference, paper, synthetic)."),
    split_file: Optional[Path] = typer.Option(None, "--split-file", help="FileList-format CSV with a Split column, used as given."),
    epochs: Optional[int] = typer.Option(None, "--epochs"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size"),
    seed: Optional[int] = typer.Option(None, "--seed", help="Training seed."),
    split_seed: Optional[int] = typer.Option(None, "--split-seed", help="Seed of the k-shot sample."),
    device: Optional[str] = typer.Option(None, "--device", help="auto (default), cuda, mps, cpu, cuda:1, ..."),
    precision: Optional[str] = typer.Option(None, "--precision", help="auto, fp32, bf16, fp16."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Leave out listed videos missing on disk, with a warning."),
) -> None:
    """Few-shot training of CardiacCLIP; keeps the best-validation and the last checkpoint."""
    from cardiacclip.train.loop import train as run_training

    cfg = _load_config(config)
    cfg.data.root = str(data)
    if split_file is not None:
        cfg.data.split_file = str(split_file)
    if shots is not None:
        cfg.data.shots = shots or None
    if skip_missing:
        cfg.data.skip_missing = True
    overrides = [
        (cfg.model, "backbone", backbone), (cfg.train, "epochs", epochs), (cfg.train, "batch_size", batch_size),
        (cfg.train, "seed", seed), (cfg.data, "split_seed", split_seed), (cfg.train, "device", device),
        (cfg.train, "precision", precision),
    ]
    for section, name, value in overrides:
        if value is not None:
            setattr(section, name, value)
    result = run_training(cfg, out)
    console.print(f"best validation MAE {result.best_val_mae:.2f} at epoch {result.best_epoch}; "
                  f"checkpoints in {out / 'checkpoints'}. {RESEARCH_NOTICE}")


@app.command()
def evaluate(
    checkpoint: Path = typer.Argument(..., help="A checkpoint written by `cardiacclip train` (best.pt)."),
    data: Path = typer.Option(..., "--data", help="EchoNet-Dynamic-format folder."),
    split: str = typer.Option("test", "--split", help="train, val, test or all."),
    out: Path = typer.Option(Path("evaluation"), "--out", help="Folder for predictions.csv, metrics.json and plots."),
    clips: Optional[str] = typer.Option(None, "--clips", help="Test-time clips per video: all or N evenly spaced (default: the run's test_clips)."),
    split_file: Optional[Path] = typer.Option(None, "--split-file", help="Use this FileList-format split instead of FileList.csv."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the 95% intervals."),
    device: str = typer.Option("auto", "--device"),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Leave out listed videos missing on disk, with a warning."),
) -> None:
    """MAE, RMSE, R2 (bootstrap 95% CI), AUROC for EF<50 and EF<40, category accuracy; tables and plots."""
    from cardiacclip.evaluate.run import evaluate_checkpoint, format_metrics

    clip_count = None if clips is None else (clips if clips == "all" else int(clips))
    metrics = evaluate_checkpoint(checkpoint, data, out, split=split, clips=clip_count, split_file=split_file,
                                  device=device, n_bootstrap=bootstrap, skip_missing=skip_missing)
    console.print(format_metrics(metrics))
    console.print(f"wrote {out}/predictions.csv, metrics.json, scatter.png, bland_altman.png. {RESEARCH_NOTICE}")


@app.command()
def predict(
    checkpoint: Path = typer.Argument(..., help="A checkpoint written by `cardiacclip train`."),
    paths: list[Path] = typer.Argument(..., help="AVI, MP4 or DICOM files, or folders of them."),
    out: Optional[Path] = typer.Option(None, "--out", help="CSV file (one row per input); default: JSON on stdout."),
    attention_plot: Optional[Path] = typer.Option(None, "--attention-plot", help="Folder for per-video MFL frame-weight plots."),
    clips: Optional[str] = typer.Option(None, "--clips", help="Clips per video: all or N evenly spaced."),
    device: str = typer.Option("auto", "--device"),
) -> None:
    """EF, category and category probabilities per video. Unreadable files are reported and skipped."""
    from cardiacclip.predict.predict import collect_inputs, predict_files, results_table, with_notice
    from cardiacclip.runtime import resolve_device, resolve_precision
    from cardiacclip.train.checkpoint import load_model

    torch_device = resolve_device(device)
    model, cfg, _ = load_model(checkpoint, torch_device)
    files = collect_inputs(paths)
    if not files:
        console.print("[red]no video or DICOM files found[/red]")
        raise typer.Exit(2)
    clip_count = None if clips is None else (clips if clips == "all" else int(clips))
    results = predict_files(model, cfg, files, torch_device, resolve_precision(cfg.train.precision, torch_device),
                            clips=clip_count, attention_dir=attention_plot)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        results_table(results).to_csv(out, index=False)
        log.info("wrote %s; %s", out, RESEARCH_NOTICE)
    else:
        typer.echo(json.dumps(with_notice(results), indent=2))
    failed = sum(r["status"] != "ok" for r in results)
    if failed:
        log.warning("%d of %d file(s) could not be read", failed, len(results))


@app.command()
def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", help="Report folder."),
    n: int = typer.Option(400, "--n", help="Synthetic videos to generate (60% train, 15% val, 25% test)."),
    seed: int = typer.Option(1, "--seed", help="Seed of the synthetic videos (the toy backbone was pretrained on seed 1000)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override the synthetic config's epochs."),
    config: Optional[str] = typer.Option(None, "--config", help="Run config (default: the packaged synthetic config)."),
) -> None:
    """The main job on the built-in default: synthetic echoes, toy echo-CLIP, 1-shot CardiacCLIP, evaluation, report."""
    from cardiacclip.pipelines.demo import run_demo

    if seed == 1000:
        raise typer.BadParameter("seed 1000 is the toy backbone's pretraining archive; pick another", param_hint="--seed")
    cfg = _load_config(config or "synthetic")
    if epochs is not None:
        cfg.train.epochs = epochs
    summary = run_demo(out, n_videos=n, data_seed=seed, config=cfg)
    m, b = summary["model"], summary["mean_baseline"]
    console.print(f"test MAE {m['mae']:.2f} (RMSE {m['rmse']:.2f}, R2 {m['r2']:.3f}) vs. {b['mae']:.2f} for predicting the training mean; "
                  f"{summary['seconds'] / 60:.1f} min")
    console.print(f"report: {summary['report']}")
    console.print(f"{RESEARCH_NOTICE} Synthetic data and a toy backbone: these numbers say the pipeline works, nothing clinical.")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def benchmark(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Folder for results.csv, results.md, mae_vs_shots.png, runs and predictions."),
    data: Optional[Path] = typer.Option(None, "--data", help="EchoNet-Dynamic-format folder (default: synthetic echoes made in OUT/data)."),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="Backbone of every CLIP-based method (default: the config's)."),
    shots: list[int] = typer.Option([1, 2], "--shots", help="k values: --shots 1 2 4 8 (or --shots 1 --shots 2)."),
    seeds: int = typer.Option(1, "--seeds", help="Seeds per k (0..N-1): k-shot sample and training seed; N>1 gives mean +- sd."),
    methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated subset of: zero_shot, linear_probe, clip_ft, mfl, echozoom, cardiacclip, r2plus1d (the default table), echozoom_fine, echozoom_prompts (on request: the last step split in two)."),
    config: Optional[str] = typer.Option(None, "--config", help="Run config for the trained methods (default: synthetic, or paper with --data)."),
    r2plus1d_weights: Optional[str] = typer.Option("kinetics", "--r2plus1d-weights", help="kinetics (torchvision cache), a state-dict file, or none."),
    quick: bool = typer.Option(False, "--quick", help="A smoke run for CI: 1 epoch of a few steps, small val/test; not a result."),
    n: int = typer.Option(600, "--n", help="Synthetic videos when --data is not given."),
) -> None:
    """The paper's few-shot protocol: every method on the same k-shot samples; results.md, results.csv, MAE-vs-k plot."""
    from cardiacclip.pipelines.benchmark import METHODS, BenchmarkConfig, run_benchmark
    from cardiacclip.pipelines.demo import ensure_synthetic_data

    extra = list(ctx.args)
    if any(not a.isdigit() for a in extra):
        raise typer.BadParameter(f"unexpected arguments {extra}", param_hint="--shots")
    shots = list(shots) + [int(a) for a in extra]  # `--shots 1 2 4 8`: the values after the first arrive as extras
    cfg = _load_config(config or ("synthetic" if data is None else "paper"))
    r2plus1d_epochs = None  # the run's epochs
    if data is None:
        data = ensure_synthetic_data(out / "data", n, seed=2)
        if config is None:  # sized so the default synthetic benchmark fits 45 minutes on 2 cores
            cfg.train.epochs, r2plus1d_epochs = 5, 4
    cfg.data.root = str(data)
    if backbone:
        cfg.model.backbone = backbone
    chosen = [m.strip() for m in methods.split(",")] if methods else list(METHODS)
    test_limit = None
    if quick:
        cfg.train.epochs, cfg.train.max_train_steps, cfg.data.val_size = 1, 3, 8
        test_limit, shots, seeds = 16, shots[:1], 1
    bench = BenchmarkConfig(run=cfg, shots=list(shots), seeds=seeds, methods=chosen,
                            r2plus1d_weights=None if r2plus1d_weights in (None, "none") else r2plus1d_weights,
                            r2plus1d_size=56 if cfg.model.backbone in ("synthetic", "tiny") else None,
                            r2plus1d_epochs=r2plus1d_epochs, test_limit=test_limit)
    results = run_benchmark(bench, out)
    console.print((out / "results.md").read_text())
    console.print(f"wrote {out}/results.csv, results.md, mae_vs_shots.png ({len(results)} runs)")


if __name__ == "__main__":  # pragma: no cover
    app(sys.argv[1:])
