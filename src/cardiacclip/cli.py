"""The `cardiacclip` command line: parsing and printing only; the work is in `cardiacclip.jobs`.

Every command has `--help`. Exit status: 0 when every input was processed; 1 when some inputs
failed (their rows or the list of problems are still written); 2 when the command cannot start
(bad options, config, checkpoint, backbone, output path, a PACS that cannot be used, or a dataset whose
check before the first epoch finds missing, unreadable or flagged videos), with one line saying what to do; 130 on
Ctrl-C. A user mistake never ends in a Python traceback (tests/test_cli_mistakes.py).
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from cardiacclip.about import RESEARCH_NOTICE, __version__
from cardiacclip.choices import (
    ColourMode,
    CropMethod,
    DemoStyle,
    ExternalSet,
    GroupBy,
    Precision,
    PretrainViews,
    SyntheticStyle,
)
from cardiacclip.logging_setup import configure_logging

if TYPE_CHECKING:
    from cardiacclip.config import RunConfig

# What each exit status means, for every command (the manual's reference is generated from this table).
EXIT_STATUSES = {
    0: "every input processed",
    1: "some inputs failed (their rows or the list of problems are still written)",
    2: "the command cannot start (bad options, config, checkpoint, backbone, output path, a PACS that cannot be "
    "reached or refuses the credentials, or missing, unreadable or flagged videos found before the first epoch), "
    "with one line saying what to do",
    130: "interrupted (Ctrl-C)",
}
EXIT_STATUS = "Exit status: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_STATUSES.items()) + "."
EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": False}

app = typer.Typer(
    help=f"CardiacCLIP: few-shot LVEF prediction from echocardiogram videos. {RESEARCH_NOTICE}",
    epilog=EXIT_STATUS,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click output: a usage error is one "Error: ..." line, also in log files
)
console = Console(soft_wrap=True)  # results for a person (stdout); long lines are not broken
err = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("cardiacclip")

# Options that several commands take, declared once; their allowed values come from `cardiacclip.choices`.
Device = Annotated[str, typer.Option("--device", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, ...")]
ConfigName = Annotated[
    str | None, typer.Option("--config", help="YAML file or packaged name (paper, reference, synthetic).")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override any config field: --set data.length=16 --set model.scales=[1] (values are YAML)."
    ),
]
PrecisionOption = Annotated[
    Precision | None,
    typer.Option(
        "--precision",
        help="auto (bf16 on GPUs and on CPUs with native bf16, fp32 elsewhere), fp32, bf16, fp16. "
        "Default: the run's setting.",
    ),
]
Workers = Annotated[
    int, typer.Option("--workers", min=0, help="DataLoader processes that decode and prepare videos (0: in-process).")
]
Clips = Annotated[
    str | None,
    typer.Option("--clips", help="Clips per video: all, or N evenly spaced (default: the run's test_clips)."),
]
SkipUnreadable = Annotated[
    bool,
    typer.Option(
        "--skip-unreadable",
        "--skip-missing",
        help="Leave out listed videos that are missing, unreadable or flagged (listed in the log and in "
        "left_out.csv) instead of refusing to start.",
    ),
]
CropOption = Annotated[
    CropMethod | None,
    typer.Option(
        "--crop",
        help="Ultrasound region: auto (DICOM region tags, else the scan sector found in the pixels; "
        "small square videos as they are), regions, sector, none. Default: auto (train/evaluate: the run's).",
    ),
]
DataFolder = Annotated[Path, typer.Option("--data", help="EchoNet-Dynamic-format folder.")]
BackboneOption = Annotated[
    str | None,
    typer.Option("--backbone", help="hf-hub:mkaichristensen/echo-clip, a weights file or folder, synthetic, tiny."),
]
ModelPath = Annotated[Path, typer.Argument(help="A run folder, checkpoint or `cardiacclip export` package.")]
Epochs = Annotated[int | None, typer.Option("--epochs", help="Override the config's epochs.")]


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging (to stderr).")] = False) -> None:
    configure_logging(verbose)


def stopping_errors() -> tuple[type[Exception], ...]:
    """The errors that stop a command before it can work: exit status 2 and one line."""
    from cardiacclip.config import ConfigError
    from cardiacclip.data.errors import DatasetError
    from cardiacclip.jobs.output import OutputError
    from cardiacclip.jobs.pacs.client import PacsError
    from cardiacclip.model.backbone import BackboneError
    from cardiacclip.model.checkpoint import CheckpointError

    return (ConfigError, CheckpointError, BackboneError, OutputError, DatasetError, PacsError, FileNotFoundError)


@contextmanager
def usage_errors() -> Iterator[None]:
    """Turn the errors that stop a command before it can work (a config, checkpoint, backbone, output path or
    dataset that cannot be used) into one red line and exit status 2; Ctrl-C into status 130."""
    try:
        yield
    except stopping_errors() as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]")
        raise typer.Exit(130) from None


def run_config(
    ctx: typer.Context,
    config: str | None,
    backbone: str | None,
    options: dict[str, object],
    overrides: list[str] | None,
) -> RunConfig:
    """The run config: --config (else the default for the backbone), then the command's options, then --set.

    Extra arguments of the form key=value count as --set values (`--set a=1 b=2`)."""
    from cardiacclip.config import RunConfig, apply_overrides

    extras = [a for a in ctx.args if "=" in a]
    cfg = RunConfig.load(config) if config else RunConfig.default_for(backbone)
    given = [f"{key}={json.dumps(value)}" for key, value in options.items() if value is not None]
    if backbone is not None:
        given.append(f"model.backbone={json.dumps(backbone)}")
    return apply_overrides(cfg, given + list(overrides or []) + extras)


def reject_extras(ctx: typer.Context) -> None:
    """Extra arguments are accepted only as key=value overrides."""
    unexpected = [a for a in ctx.args if "=" not in a]
    if unexpected:
        raise typer.BadParameter(f"unexpected arguments {unexpected}")


def comma_list(text: str, hint: str, kind: type = str) -> list:
    """`a,b,c` -> [a, b, c], each converted by `kind`; a value that does not convert is a usage error."""
    try:
        return [kind(item.strip()) for item in text.split(",") if item.strip()]
    except ValueError:
        message = f"{text!r} is not a comma-separated list of {kind.__name__} values"
        raise typer.BadParameter(message, param_hint=hint) from None


def parse_clips(clips: str | None):
    from cardiacclip.data.clips import parse_clip_count

    try:
        return parse_clip_count(clips)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--clips") from None


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write (FileList.csv, VolumeTracings.csv, Videos/).")],
    n: Annotated[int, typer.Option("--n", help="Number of videos.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same videos.")] = 0,
    size: Annotated[int, typer.Option("--size", help="Frame height and width in pixels.")] = 112,
    fps: Annotated[float, typer.Option("--fps", help="Frame rate.")] = 50.0,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: all cores, at most 8).")] = None,
    style: Annotated[
        SyntheticStyle,
        typer.Option(
            "--style",
            help="Drawing style: echonet (the demo's), mixed (a random look per video, the toy backbone's "
            "pretraining archive) or second (a held-out look: bronze, noisy, narrow sector, 30 fps).",
        ),
    ] = "echonet",
    pacs: Annotated[
        bool,
        typer.Option(
            "--pacs", help="Instead: a synthetic PACS export (OUT/export: DICOM screen captures, ...; OUT/labels.csv)."
        ),
    ] = False,
    layout: Annotated[
        ExternalSet | None,
        typer.Option("--layout", help="Instead: a small fixture in an external set's release layout (--n per view)."),
    ] = None,
) -> None:
    """Write synthetic apical-4-chamber echo videos in the EchoNet-Dynamic layout (or, with --pacs, as a hospital
    export of DICOM screen captures to try `inspect`, `convert` and `predict --by study` on)."""
    from cardiacclip.synthetic.echoes import generate_dataset

    if layout is not None:
        from cardiacclip.synthetic.layouts import write_camus, write_pediatric

        root = write_camus(out, n, seed) if layout == "camus" else write_pediatric(out, n, seed)
        console.print(f"wrote a synthetic {layout} release to {root} (convert it with --from {layout})")
        return
    if pacs:
        from cardiacclip.synthetic.dicoms import write_pacs_export

        export = write_pacs_export(out, n=n, seed=seed)
        console.print(f"wrote a synthetic PACS export of {n} loops to {export}, labels in {out / 'labels.csv'}")
        return

    table = generate_dataset(out, n=n, seed=seed, size=size, fps=fps, workers=workers, style=style)
    counts = table["Split"].value_counts().to_dict()
    console.print(
        f"wrote {len(table)} synthetic videos to {out} ({counts}); EF mean {table['EF'].mean():.1f}, "
        f"sd {table['EF'].std():.1f}, range {table['EF'].min():.1f}-{table['EF'].max():.1f}"
    )


@app.command(epilog=EXIT_STATUS)
def inspect(
    data: Annotated[
        Path,
        typer.Argument(help="EchoNet-Dynamic-format folder (FileList.csv, Videos/), or any folder/file of videos."),
    ],
    decode: Annotated[
        bool, typer.Option("--decode/--no-decode", help="Decode every video in full (slower, finds corrupt streams).")
    ] = True,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write an EF histogram per split (PNG).")] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Plain folders: also write the per-file table as CSV.")
    ] = None,
    crop: CropOption = None,
) -> None:
    """Check a dataset: counts per split, EF distribution, frame sizes and rates, missing or unreadable videos.

    A folder without FileList.csv (or a single file) gets a per-file table instead: readable, frames, fps,
    size, the ultrasound region found, colour, flags. Exits with status 1 when any video is missing, unreadable
    or flagged (what train and evaluate refuse), 2 when the FileList itself cannot be read (invalid rows).
    """
    from dataclasses import asdict

    from cardiacclip.data.filelist import read_filelist
    from cardiacclip.jobs.inspection import inspect_dataset, plot_ef_histogram

    if not (data / "FileList.csv").is_file():
        _inspect_files(data, csv_out, crop or "auto")
        return

    with usage_errors():
        report = inspect_dataset(data, decode=decode)
    _print_report(report, data)
    if json_out:
        json_out.write_text(json.dumps(asdict(report), indent=2))
    if plot:
        plot_ef_histogram(read_filelist(data / "FileList.csv"), plot)
        console.print(f"EF histogram: {plot}")
    if not report.ok:
        console.print(
            f"[red]{len(report.missing)} missing, {len(report.unreadable)} unreadable and {len(report.flagged)} "
            "flagged video(s): train and evaluate refuse them (--skip-unreadable leaves them out)[/red]"
        )
        raise typer.Exit(1)
    console.print(
        "[green]all listed videos present and readable[/green]"
        if decode
        else "[green]all listed videos present[/green] (not decoded)"
    )


def _print_report(report, data: Path) -> None:
    """An `InspectionReport` for a person: the EF table per split, sizes, rates, colours, every problem."""
    table = Table(title=f"{data}: {report.n_videos} videos")
    for column in ("split", "videos", "EF mean", "EF sd", "EF min", "EF max", "EF<40", "EF<50"):
        table.add_column(column)
    for split, s in report.ef_summary.items():
        cells = [str(s["n"]), *(f"{s[k]:.1f}" for k in ("mean", "sd", "min", "max")), str(s["below_40"])]
        table.add_row(split, *cells, str(s["below_50"]))
    console.print(table)
    console.print(f"frame sizes: {report.frame_sizes}")
    console.print(f"frame rates: {report.frame_rates}")
    if report.frame_counts:
        console.print(
            f"frames per video: {report.frame_counts}; FileList NumberOfFrames differs from the decoded count "
            f"for {report.frame_count_mismatches} video(s)"
        )
    console.print(f"VolumeTracings.csv: {'present' if report.has_tracings else 'absent'}")
    if report.colours:
        console.print(f"colour: {report.colours} (tinted loops are read as luminance; see data.colour)")
    for name in report.missing:
        console.print(f"[red]missing[/red] {name}")
    for kind, problems in (("unreadable", report.unreadable), ("flagged", report.flagged)):
        for name, reason in problems.items():
            console.print(f"[red]{kind}[/red] {name}: {reason}", highlight=False)


def _inspect_files(data: Path, csv_out: Path | None, crop: str) -> None:
    from cardiacclip.data.video_io import find_videos
    from cardiacclip.jobs.inspection import inspect_files

    if not data.exists():
        raise typer.BadParameter(f"{data} does not exist", param_hint="DATA")
    files = find_videos([data])
    if not files:
        err.print(f"[red]{data}: no FileList.csv and no videos or DICOM files[/red]")
        raise typer.Exit(1)
    rows = inspect_files(files, crop=crop)
    table = Table(title=f"{data}: {len(rows)} file(s)")
    shown = ["file", "readable", "frames", "fps", "size", "region", "colour", "flags", "error"]
    for column in shown:
        table.add_column(column)
    for row in rows.astype(object).where(rows.notna(), "").to_dict("records"):
        row["error"] = str(row["error"]).replace(f"{row['file']}: ", "")
        name = Path(row["file"]).relative_to(data) if data.is_dir() else Path(row["file"]).name
        table.add_row(str(name), *(str(row[c]) for c in shown[1:]))
    console.print(table)
    if csv_out:
        rows.to_csv(csv_out, index=False)
        console.print(f"per-file table: {csv_out}")
    unreadable = int((~rows["readable"].astype(bool)).sum())
    if unreadable:
        console.print(f"[red]{unreadable} unreadable file(s)[/red]")
        raise typer.Exit(1)


ReportColumn = Annotated[
    str | None,
    typer.Option("--report-column", help="FileList column with report text (default: reports written from EF)."),
]
DrawStyle = Annotated[
    SyntheticStyle | None,
    typer.Option(
        "--draw",
        help="Instead of --data: draw a new synthetic subject in this style (e.g. mixed) for every sample, "
        "rendered at end-diastole and end-systole (key_frames views).",
    ),
]
Views = Annotated[
    PretrainViews,
    typer.Option(
        "--views", help="clips: consecutive frames; key_frames: the traced ED and ES frames (needs VolumeTracings.csv)."
    ),
]
Arch = Annotated[
    str, typer.Option("--arch", help="Packaged open_clip config to start from (random init), or a backbone spec.")
]
PretrainLr = Annotated[
    float, typer.Option("--lr", help="Peak learning rate (1e-3 and above collapse the small model here).")
]
Cache = Annotated[
    bool, typer.Option("--cache/--no-cache", help="Decode every video once and keep the frames in memory.")
]


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
    from cardiacclip.synthetic.pretrain import PretrainConfig

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


RunOut = Annotated[
    Path,
    typer.Option("--out", help="Run folder (config.yaml, split.csv, metrics.csv, checkpoints/); one there resumes."),
]
Shots = Annotated[int | None, typer.Option("--shots", help="k training videos per integer EF value (0: all of TRAIN).")]
SplitFile = Annotated[
    Path | None, typer.Option("--split-file", help="FileList-format CSV with a Split column, used as given.")
]
Prompts = Annotated[
    str | None,
    typer.Option("--prompts", help="Prompt YAML file or packaged prompt set (see `cardiacclip import-prompts`)."),
]


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
        metrics = evaluate_checkpoint(
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
    console.print(format_metrics(metrics))
    console.print(f"wrote {out}/predictions.csv, metrics.json, scatter.png, bland_altman.png. {RESEARCH_NOTICE}")


LabelsCsv = Annotated[
    Path | None,
    typer.Option(
        "--labels", help="CSV with EF and SOPInstanceUID, StudyInstanceUID, AccessionNumber or file (optional Split)."
    ),
]
LabelsFromSr = Annotated[
    bool,
    typer.Option(
        "--labels-from-sr",
        help="Labels from the echo machines' SRs found in SRC (biplane method of disks, then single plane, "
        "then Teichholz; several values averaged; the method in FileList.csv's EF_method).",
    ),
]
PrivateFolder = Annotated[
    Path | None,
    typer.Option("--private", help="Folder for the UID mapping, salt, error log, previews (default: OUT_private)."),
]
KeepFlagged = Annotated[
    bool, typer.Option("--keep-flagged", help="Also convert flagged loops (not ultrasound, Doppler, blank, ...).")
]
ColourOption = Annotated[
    ColourMode,
    typer.Option("--colour", help="Tinted B-mode loops: luminance (written grey, the default) or rgb (as stored)."),
]
FromSet = Annotated[
    ExternalSet | None,
    typer.Option("--from", help="SRC is a release of an external set (CAMUS, EchoNet-Pediatric), not an archive."),
]
View = Annotated[str | None, typer.Option("--view", help="With --from: 4CH or 2CH (CAMUS), A4C or PSAX (Pediatric).")]
Folds = Annotated[
    str | None,
    typer.Option("--folds", help="With --from echonet-pediatric: folds per split (default TRAIN=0-7,VAL=8,TEST=9)."),
]


@app.command(epilog=EXIT_STATUS)
def convert(
    src: Annotated[Path, typer.Argument(help="Folder of DICOMs (any tree, DICOMDIR included) and/or AVI/MP4 files.")],
    out: Annotated[Path, typer.Argument(help="Output folder in the EchoNet-Dynamic layout (FileList.csv, Videos/).")],
    labels: LabelsCsv = None,
    labels_from_sr: LabelsFromSr = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes converting in parallel.")] = 1,
    crop: CropOption = None,
    size: Annotated[int, typer.Option("--size", min=16, help="Output frame side in pixels (EchoNet: 112).")] = 112,
    private: PrivateFolder = None,
    keep_flagged: KeepFlagged = False,
    colour: ColourOption = "luminance",
    source: FromSet = None,
    view: View = None,
    folds: Folds = None,
) -> None:
    """Convert a DICOM/video archive to the EchoNet-Dynamic layout, de-identified, cropped to the ultrasound region.

    FileNames are salted hashes; the mapping back to UIDs and source paths goes to the private folder,
    which must stay inside the hospital. Rerunning skips finished files. With --from, SRC is a release of
    CAMUS or EchoNet-Pediatric (public, de-identified) instead. Exit status 1 when any file failed.
    """
    from cardiacclip.jobs.convert import ConvertSettings, convert_archive

    if not src.exists():
        raise typer.BadParameter(f"{src} does not exist", param_hint="SRC")
    if source is not None:
        _convert_external(src, out, source, view, folds, size)
        return
    with usage_errors():
        settings = ConvertSettings(size=size, crop=crop or "auto", colour=colour, keep_flagged=keep_flagged)
        summary = convert_archive(
            src, out, labels=labels, labels_from_sr=labels_from_sr, workers=workers, settings=settings, private=private
        )
    if summary.reports:
        without = f", {summary.studies_without_ef} stud(ies) without a usable EF" if labels_from_sr else ""
        console.print(f"{summary.reports} echo report(s) (SR) found: read for labels, not converted{without}")
    console.print(
        f"converted {summary.converted}, already done {summary.skipped}, failed {summary.failed}; "
        f"{out}/FileList.csv: {summary.labelled} labelled, FileList_unlabelled.csv: {summary.unlabelled}; "
        f"private mapping, error log and previews in {summary.private}. {RESEARCH_NOTICE}"
    )
    if summary.failed:
        raise typer.Exit(1)


def _convert_external(src: Path, out: Path, source: str, view: str | None, folds: str | None, size: int) -> None:
    from cardiacclip.data.camus import camus_loops
    from cardiacclip.data.external import parse_folds
    from cardiacclip.data.pediatric import pediatric_loops
    from cardiacclip.jobs.convert_external import convert_external

    with usage_errors():
        if source == "camus":
            loops = camus_loops(src, view or "4CH")
        else:
            loops = pediatric_loops(src, view or "A4C", parse_folds(folds))
        summary = convert_external(loops, out, size)
    splits = ", ".join(f"{split} {n}" for split, n in sorted(Counter(loop.split for loop in loops).items()))
    console.print(
        f"{source}: {summary.converted} loop(s) converted to {out} ({splits}), {len(summary.failed)} failed; "
        f"{summary.assumed_fps} without a stated frame rate. {RESEARCH_NOTICE}"
    )
    if summary.failed:
        raise typer.Exit(1)


PredictOut = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="CSV or JSON Lines (.jsonl) file, a row per input written as it is done; default: JSON Lines on stdout.",
    ),
]
GroupByOption = Annotated[
    GroupBy,
    typer.Option(
        "--by",
        help="video, or study: also write OUT.studies.csv, a row per study (median EF of its unflagged videos); "
        "DICOMs grouped by StudyInstanceUID (hashed), other videos by --studies.",
    ),
]


AttentionPlot = Annotated[Path | None, typer.Option("--attention-plot", help="Folder for MFL frame-weight plots.")]
SaveCrops = Annotated[
    Path | None, typer.Option("--save-crops", help="Folder for a preview per file: first frame, crop, sector.")
]
Strict = Annotated[
    bool, typer.Option("--strict", help="Refuse flagged inputs (not ultrasound, Doppler, too short, blank, ...).")
]
WriteSr = Annotated[
    Path | None,
    typer.Option(
        "--write-sr",
        help="Folder for one DICOM SR per study with the EF (TID 1500; needs --out). The SRs carry the "
        "patients' identifiers: keep them where the source studies are allowed to be.",
    ),
]
StudiesCsv = Annotated[
    Path | None, typer.Option("--studies", help="CSV with columns file, study for videos without a study UID.")
]


@app.command(epilog=EXIT_STATUS)
def predict(
    checkpoint: ModelPath,
    paths: Annotated[list[Path], typer.Argument(help="AVI, MP4 or DICOM files, or folders of them (recursive).")],
    out: PredictOut = None,
    resume: Annotated[bool, typer.Option("--resume", help="Skip inputs that already have a row in --out.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out file.")] = False,
    attention_plot: AttentionPlot = None,
    clips: Clips = None,
    crop: CropOption = None,
    save_crops: SaveCrops = None,
    strict: Strict = False,
    by: GroupByOption = "video",
    write_sr: WriteSr = None,
    studies_csv: StudiesCsv = None,
    device: Device = "auto",
    precision: PrecisionOption = None,
    workers: Workers = 0,
) -> None:
    """EF (percent), category and category probabilities per video.

    A file that cannot be read or predicted gets a row with status=error and the reason; the
    batch goes on, and the exit status is then 1. Rows are flushed as they are written, so
    Ctrl-C keeps the finished ones; rerun with --resume to do the rest. Under torchrun each process
    predicts its share of the inputs and rank 0 merges the rows.
    """
    from cardiacclip.jobs.predict import PredictOptions, read_study_map, run_predict

    clip_count = parse_clips(clips)
    with usage_errors():
        options = PredictOptions(
            clips=clip_count,
            crop=crop,
            strict=strict,
            attention_dir=attention_plot,
            crops_dir=save_crops,
            studies=read_study_map(studies_csv) if studies_csv else None,
            workers=workers,
            overwrite=overwrite,
            resume=resume,
            by=by,
            write_sr=write_sr,
        )
        summary = run_predict(checkpoint, paths, out, options, device, precision)
    if summary is None:  # a rank other than 0 under torchrun
        return
    if summary.studies is not None:
        log.info("per-study rows: %s", summary.studies)
    if summary.reports:
        log.info("%d SR(s) written to %s (they hold patient identifiers)", len(summary.reports), write_sr)
    where = out if out is not None else "stdout"
    counts = (summary.done, where, summary.failed, summary.skipped)
    log.info("%d row(s) written to %s (%d failed, %d already there). %s", *counts, RESEARCH_NOTICE)
    if summary.failed:
        log.warning("%d of %d input(s) could not be predicted: see their rows", summary.failed, summary.done)
        raise typer.Exit(1)


@app.command(epilog=EXIT_STATUS)
def export(
    run: Annotated[Path, typer.Argument(help="A run folder or checkpoint written by `cardiacclip train`.")],
    out: Annotated[Path, typer.Argument(help="Folder to write the package to.")],
    push_to_hub: Annotated[
        str | None,
        typer.Option("--push-to-hub", help="Also upload the folder to this Hugging Face Hub repo (user/name)."),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Make a new Hub repository public (default: private).")
    ] = False,
) -> None:
    """A shareable model package: model.safetensors (weights only), config.yaml, prompts.yaml, backbone.json,
    calibration.json and a README.md model card. `cc.load`, predict, evaluate and serve take the folder."""
    from cardiacclip.model.package import export_package
    from cardiacclip.model.package import push_to_hub as push

    with usage_errors():
        folder = export_package(run, out)
    console.print(f"wrote {folder} ({', '.join(sorted(p.name for p in folder.iterdir()))})")
    if push_to_hub:
        try:
            url = push(folder, push_to_hub, private=not public)
        except Exception as exc:  # network, credentials, permissions: say which and stop
            err.print(f"[red]error:[/red] upload to {push_to_hub} failed: {type(exc).__name__}: {exc}", highlight=False)
            raise typer.Exit(1) from None
        console.print(f"uploaded to {url}")


@app.command(epilog=EXIT_STATUS)
def serve(
    model: ModelPath,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; other than loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", envvar="CARDIACCLIP_TOKEN", help="Required on every API call as 'Authorization: Bearer TOKEN'."
        ),
    ] = None,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", help="Larger uploads get 413.")] = 200,
    queue: Annotated[int, typer.Option("--queue", help="Requests that may wait for the model; more get 503.")] = 8,
    device: Device = "auto",
) -> None:
    """A REST API and a web page for one model: POST /v1/predict, GET /v1/model, GET /healthz, GET / (page), /docs."""
    from cardiacclip.jobs.serve import ServeSettings
    from cardiacclip.jobs.serve import serve as run_server

    with usage_errors():
        settings = ServeSettings(token=token, max_upload_bytes=max_upload_mb * (1 << 20), queue_size=queue)
        run_server(model, host, port, settings, device)


@app.command("import-prompts")
def import_prompts(
    reference_dir: Annotated[
        Path, typer.Argument(help="A checkout of the released CardiacCLIP code (github xmed-lab/CardiacCLIP).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Prompt YAML to write.")] = Path("released_prompts.yaml"),
) -> None:
    """Read the released code's five category sentences and anchors into a prompt YAML (for --prompts).

    The sentences are read from your checkout (its utils.py, parsed, never run) and are not part of
    this package.
    """
    from cardiacclip.model.prompts import import_released_prompts, write_prompts

    try:
        prompts = import_released_prompts(reference_dir)
    except (FileNotFoundError, ValueError, SyntaxError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    write_prompts(prompts, out, header=f"Imported by `cardiacclip import-prompts` from {prompts.source}.")
    console.print(
        f"wrote {out} ({len(prompts)} categories, anchors {list(prompts.anchors)}); "
        f"use it with --prompts {out} (or --set model.prompts={out})"
    )


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
    m, b = summary["model"], summary["mean_baseline"]
    console.print(
        f"test MAE {m['mae']:.2f} (RMSE {m['rmse']:.2f}, R2 {m['r2']:.3f}) vs. {b['mae']:.2f} for predicting the "
        f"training mean; {summary['seconds'] / 60:.1f} min"
    )
    console.print(f"report: {summary['report']}")
    console.print(
        f"{RESEARCH_NOTICE} Synthetic data and a toy backbone: these numbers say the pipeline works, nothing clinical."
    )


Methods = Annotated[
    str | None,
    typer.Option(
        "--methods",
        help="Comma-separated subset of: train_mean, zero_shot, linear_probe, clip_ft, mfl, echozoom, cardiacclip, "
        "r2plus1d (the default table), echozoom_fine, echozoom_prompts (on request: the last step split in two).",
    ),
]
R2plus1dWeights = Annotated[
    str | None, typer.Option("--r2plus1d-weights", help="kinetics (torchvision cache), a state-dict file, or none.")
]


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


pacs_app = typer.Typer(
    help="A PACS by DICOMweb: pull studies, push our SRs, or the whole round trip (run). Credentials come from "
    "--user with --password-file, or a bearer token in CARDIACCLIP_PACS_TOKEN or --token-file; never from "
    "the command line. Pulled studies and SRs hold patient data: keep them inside the hospital.",
    no_args_is_help=True,
)
app.add_typer(pacs_app, name="pacs")
PacsUrl = Annotated[str, typer.Argument(help="DICOMweb root, e.g. https://pacs.example.org/dicom-web.")]
User = Annotated[str | None, typer.Option("--user", help="HTTP basic user name (with --password-file).")]
PasswordFile = Annotated[Path | None, typer.Option("--password-file", help="File whose first line is the password.")]
TokenFile = Annotated[Path | None, typer.Option("--token-file", help="File holding a bearer token.")]
Insecure = Annotated[bool, typer.Option("--insecure", help="Skip TLS certificate checks (a test server only).")]
Study = Annotated[list[str] | None, typer.Option("--study", help="StudyInstanceUID to pull (repeatable).")]
Since = Annotated[str | None, typer.Option("--since", help="Studies from this date on (YYYYMMDD).")]


def pacs_settings(url: str, user: str | None, password_file: Path | None, token_file: Path | None, insecure: bool):
    from cardiacclip.jobs.pacs.client import PacsSettings

    return PacsSettings(
        url=url,
        user=user,
        password_file=str(password_file) if password_file else None,
        token_file=str(token_file) if token_file else None,
        insecure=insecure,
    )


@pacs_app.command("pull", epilog=EXIT_STATUS)
def pacs_pull(
    url: PacsUrl,
    out: Annotated[Path, typer.Argument(help="Folder for the studies (OUT/<StudyInstanceUID>/...): patient data.")],
    study: Study = None,
    since: Since = None,
    modality: Annotated[str, typer.Option("--modality", help="Modality in study to search for.")] = "US",
    user: User = None,
    password_file: PasswordFile = None,
    token_file: TokenFile = None,
    insecure: Insecure = False,
) -> None:
    """Fetch the ultrasound cine loops and echo SRs of the PACS's studies; resumable (what is there is kept)."""
    from cardiacclip.jobs.pacs.client import connect
    from cardiacclip.jobs.pacs.pull import pull

    with usage_errors():
        client = connect(pacs_settings(url, user, password_file, token_file, insecure))
        summary = pull(client, out, study, since, modality)
    console.print(
        f"{summary.studies} stud(ies): {summary.fetched} instance(s) fetched, {summary.present} already there, "
        f"{summary.skipped} other object(s) skipped, {len(summary.unreadable)} unreadable, "
        f"{len(summary.failed)} stud(ies) left for the next run"
    )
    if summary.failed or summary.unreadable:
        raise typer.Exit(1)


@pacs_app.command("push", epilog=EXIT_STATUS)
def pacs_push(
    url: PacsUrl,
    folder: Annotated[Path, typer.Argument(help="Folder of SRs written by --write-sr or pacs run.")],
    user: User = None,
    password_file: PasswordFile = None,
    token_file: TokenFile = None,
    insecure: Insecure = False,
) -> None:
    """Store our SRs in the PACS (STOW-RS); pushing twice leaves one SR per study."""
    from cardiacclip.jobs.pacs.client import connect
    from cardiacclip.jobs.pacs.push import push

    files = sorted(folder.glob("*.dcm")) if folder.is_dir() else []
    if not files:
        raise typer.BadParameter(f"{folder}: no .dcm files to store", param_hint="FOLDER")
    with usage_errors():
        summary = push(connect(pacs_settings(url, user, password_file, token_file, insecure)), files)
    console.print(f"{summary.stored} SR(s) stored, {len(summary.failed)} refused")
    if summary.failed:
        raise typer.Exit(1)


@pacs_app.command("run", epilog=EXIT_STATUS)
def pacs_run(
    model: ModelPath,
    url: PacsUrl,
    out: Annotated[Path, typer.Argument(help="Work folder: pulled/, predictions.csv, sr/ (patient data).")],
    study: Study = None,
    since: Since = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="Store the SRs in the PACS.")] = True,
    user: User = None,
    password_file: PasswordFile = None,
    token_file: TokenFile = None,
    insecure: Insecure = False,
    device: Device = "auto",
) -> None:
    """Pull, predict by study, write one SR per study and store it: one resumable command."""
    from cardiacclip.jobs.pacs.run import run_pacs

    with usage_errors():
        settings = pacs_settings(url, user, password_file, token_file, insecure)
        result = run_pacs(model, settings, out, studies=study, since=since, store=store, device=device)
    pulled, predicted = result.pulled, result.predicted
    stored = f", {result.pushed.stored} stored in the PACS" if result.pushed is not None else " (not stored)"
    console.print(
        f"{pulled.studies} stud(ies), {pulled.fetched} instance(s) fetched ({pulled.present} already there); "
        f"{predicted.done} loop(s) predicted ({predicted.skipped} already); {len(result.reports)} SR(s) in "
        f"{out / 'sr'}{stored}. {RESEARCH_NOTICE}"
    )
    if pulled.failed or pulled.unreadable or predicted.failed or (result.pushed and result.pushed.failed):
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    app(sys.argv[1:])
