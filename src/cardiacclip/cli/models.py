"""Commands that use and share a trained model: `predict`, `export`, `import-prompts`, `serve`, and `version`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.cli.app import EXIT_STATUS, app, console, err, usage_errors
from cardiacclip.cli.options import (
    AttentionPlot,
    Clips,
    CropOption,
    Device,
    FileTimeout,
    GroupByOption,
    ModelPath,
    PrecisionOption,
    PredictOut,
    SaveCrops,
    Strict,
    StudiesCsv,
    Workers,
    WriteSr,
    parse_clips,
)
from cardiacclip.data.deadline import FILE_TIME_LIMIT

log = logging.getLogger("cardiacclip")


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
    file_timeout: FileTimeout = FILE_TIME_LIMIT,
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
            file_timeout=file_timeout or None,
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
    from cardiacclip.jobs.export import UploadError, export_model

    try:
        with usage_errors():
            result = export_model(run, out, push_to_hub, public)
    except UploadError as exc:  # the package on disk is complete; the upload failed
        console.print(f"wrote {out}")
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"wrote {result.folder} ({', '.join(result.files)})")
    if result.url:
        console.print(f"uploaded to {result.url}")


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
    file_timeout: FileTimeout = FILE_TIME_LIMIT,
    device: Device = "auto",
) -> None:
    """A REST API and a web page for one model: POST /v1/predict, GET /v1/model, GET /healthz, GET / (page), /docs."""
    from cardiacclip.jobs.serve import ServeSettings
    from cardiacclip.jobs.serve import serve as run_server

    with usage_errors():
        settings = ServeSettings(
            token=token,
            max_upload_bytes=max_upload_mb * (1 << 20),
            queue_size=queue,
            file_timeout=file_timeout or None,
        )
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
    from cardiacclip.jobs.export import import_prompts as run_import

    with usage_errors():
        prompts = run_import(reference_dir, out)
    console.print(
        f"wrote {out} ({len(prompts)} categories, anchors {list(prompts.anchors)}); "
        f"use it with --prompts {out} (or --set model.prompts={out})"
    )
