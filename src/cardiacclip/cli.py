"""The `cardiacclip` command line. Every command has `--help`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from cardiacclip import RESEARCH_NOTICE, __version__
from cardiacclip.logging_setup import configure_logging

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
        raise typer.Exit(2)
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


if __name__ == "__main__":  # pragma: no cover
    app(sys.argv[1:])
