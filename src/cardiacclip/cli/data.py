"""Commands that make, check and convert data: `synth`, `inspect`, `convert`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.choices import ExternalSet, SyntheticRhythm, SyntheticStyle
from cardiacclip.cli.app import EXIT_STATUS, app, console, err, usage_errors
from cardiacclip.cli.options import (
    ColourOption,
    CropOption,
    FileTimeout,
    Folds,
    FromSet,
    KeepFlagged,
    LabelsCsv,
    LabelsFromSr,
    PrivateFolder,
    View,
)
from cardiacclip.data.deadline import FILE_TIME_LIMIT


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
    rhythm: Annotated[
        SyntheticRhythm,
        typer.Option(
            "--rhythm",
            help="regular (one cycle length and EF for every beat) or irregular (AF-like: every ED-to-ED interval "
            "drawn apart, each beat's EF following the interval before it; the label is the mean over beats).",
        ),
    ] = "regular",
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
    from cardiacclip.jobs.synth import synthesize

    result = synthesize(out, n, seed, size, fps, workers, style, pacs, layout, rhythm)
    if result.kind == "echoes":
        console.print(
            f"wrote {result.n} synthetic videos to {out} ({result.split_counts}); EF mean {result.ef_mean:.1f}, "
            f"sd {result.ef_sd:.1f}, range {result.ef_min:.1f}-{result.ef_max:.1f}"
        )
    elif result.kind == "pacs":
        console.print(f"wrote a synthetic PACS export of {n} loops to {result.root}, labels in {out / 'labels.csv'}")
    else:
        kind = result.kind
        console.print(f"wrote a synthetic {kind} release to {result.root} (convert it with --from {kind})")


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
    from cardiacclip.jobs.inspection import FolderInspection, run_inspect

    if not data.exists():
        raise typer.BadParameter(f"{data} does not exist", param_hint="DATA")
    with usage_errors():
        result = run_inspect(data, decode, crop or "auto", json_out, plot, csv_out)
    if isinstance(result, FolderInspection):
        _print_files(result, csv_out)
        return
    _print_report(result, data)
    if plot:
        console.print(f"EF histogram: {plot}")
    if not result.ok:
        console.print(
            f"[red]{len(result.missing)} missing, {len(result.unreadable)} unreadable and {len(result.flagged)} "
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


def _print_files(result, csv_out: Path | None) -> None:
    """A `FolderInspection` for a person: a row per file; exit status 1 when a file is unreadable or none was found."""
    data, rows = result.root, result.rows
    if rows.empty:
        err.print(f"[red]{data}: no FileList.csv and no videos or DICOM files[/red]")
        raise typer.Exit(1)
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
        console.print(f"per-file table: {csv_out}")
    if result.unreadable:
        console.print(f"[red]{result.unreadable} unreadable file(s)[/red]")
        raise typer.Exit(1)


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
    file_timeout: FileTimeout = FILE_TIME_LIMIT,
) -> None:
    """Convert a DICOM/video archive to the EchoNet-Dynamic layout, de-identified, cropped to the ultrasound region.

    FileNames are salted hashes; the mapping back to UIDs and source paths goes to the private folder,
    which must stay inside the hospital. Rerunning skips finished files. With --from, SRC is a release of
    CAMUS or EchoNet-Pediatric (public, de-identified) instead. Exit status 1 when any file failed.
    """
    from cardiacclip.jobs.convert import ConvertSettings, convert_archive
    from cardiacclip.jobs.convert_external import convert_release

    if not src.exists():
        raise typer.BadParameter(f"{src} does not exist", param_hint="SRC")
    with usage_errors():
        if source is not None:
            _print_release(source, out, convert_release(src, out, source, view, folds, size))
            return
        settings = ConvertSettings(
            size=size, crop=crop or "auto", colour=colour, keep_flagged=keep_flagged, file_timeout=file_timeout or None
        )
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


def _print_release(source: ExternalSet, out: Path, summary) -> None:
    splits = ", ".join(f"{split} {n}" for split, n in summary.split_counts.items())
    console.print(
        f"{source}: {summary.converted} loop(s) converted to {out} ({splits}), {len(summary.failed)} failed; "
        f"{summary.assumed_fps} without a stated frame rate. {RESEARCH_NOTICE}"
    )
    if summary.failed:
        raise typer.Exit(1)
