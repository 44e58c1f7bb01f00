"""The predict loop: files in, one row per file out, written and flushed as soon as that file is done.

A file that fails for any reason gets a row with `status=error` and the reason; the batch goes on. Ctrl-C
or a crash keeps every finished row, and `resume` skips the inputs the output already has a row for.
`run_predict` is the whole job (output check, torchrun set-up, model, rows, per-study table).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from cardiacclip import distributed
from cardiacclip.choices import CropMethod, GroupBy
from cardiacclip.config import Validated
from cardiacclip.data.clips import ClipCount, ClipSampler
from cardiacclip.data.deadline import FILE_TIME_LIMIT, time_limit
from cardiacclip.data.errors import DatasetError
from cardiacclip.data.prepare import PreparedVideo, prepare_video
from cardiacclip.data.region import preview
from cardiacclip.data.source import Reading, probe
from cardiacclip.data.video_io import find_videos
from cardiacclip.dicom.sr import ModelIdentity
from cardiacclip.distributed import Rank, barrier, gather_objects
from cardiacclip.evaluate.plots import plot_attention_strip
from cardiacclip.jobs.output import OutputError
from cardiacclip.jobs.predict.rows import (
    RowWriter,
    check_output,
    error_row,
    failure_row,
    output_columns,
    prediction_row,
    read_rows,
    rows_done,
)
from cardiacclip.jobs.predict.shards import merge_parts, part_file
from cardiacclip.jobs.predict.studies import report_studies, study_key
from cardiacclip.model.predictor import Prediction, Predictor, load
from cardiacclip.progress import progress_bar
from cardiacclip.runtime import resolve_device

log = logging.getLogger(__name__)


@dataclass
class PredictOptions(Validated):
    """What predict does with each file; checked when built (`config.Validated`).

    Args:
        clips: evaluation clips per video ("all" or N evenly spaced; default: the run's test_clips).
        crop: the ultrasound region method (`cardiacclip.data.region`; default: the run's).
        strict: flagged inputs (see `cardiacclip.data.quality`) get an error row instead of an EF.
        attention_dir: folder for a per-video plot of the first clip's MFL frame weights.
        crops_dir: folder for a preview per file (first frame, box and mask outline).
        studies: file path or name -> study, for videos that carry no StudyInstanceUID.
        workers: DataLoader processes that read and prepare the files while this process runs the model.
        file_timeout: seconds one file may take to read and prepare (`cardiacclip.data.deadline`; None: no limit).
        batch_clips: consecutive videos go through the model together, about this many clips at a time.
        overwrite, resume: replace an existing output, or add the rows it lacks.
        by: "study" also writes `<out>.studies.csv` (`studies.report_studies`).
        write_sr: folder for one DICOM SR per study (`cardiacclip.dicom.sr`; needs an output file).
    """

    clips: ClipCount | None = None
    crop: CropMethod | None = None
    strict: bool = False
    attention_dir: Path | None = None
    crops_dir: Path | None = None
    studies: dict[str, str] | None = None
    workers: int = 0
    file_timeout: float | None = FILE_TIME_LIMIT
    batch_clips: int = 16
    overwrite: bool = False
    resume: bool = False
    by: GroupBy = "video"
    write_sr: Path | None = None


@dataclass
class PredictSummary:
    done: int  # rows written in this run
    failed: int  # of which errors
    skipped: int  # inputs that already had a row (resume)
    studies: Path | None = None  # the per-study table (by="study")
    reports: list[Path] | None = None  # the SRs (write_sr)


def run_predict(
    model: str | Path,
    paths: list[Path],
    out: Path | None,
    options: PredictOptions,
    device: str = "auto",
    precision: str | None = None,
) -> PredictSummary | None:
    """The predict job: find the files under `paths`, check the output before the model loads, join torchrun's
    process group when launched by it (each rank predicts its share), predict, and write the per-study table.
    Returns None on ranks other than 0, which report nothing.

    Raises `OutputError` (an output that cannot be used) or `DatasetError` (no input files) before any work.
    """
    if out is None and (options.by == "study" or options.write_sr is not None):
        raise OutputError("--by study and --write-sr need --out FILE (they are made from its rows)")
    files = find_videos(paths)
    if not files:
        raise DatasetError(f"no video or DICOM files found in {', '.join(map(str, paths))}")
    check_output(out, options.overwrite, options.resume)  # a bad output path fails before the model loads
    rank, torch_device = distributed.setup(resolve_device(device))
    try:
        summary = predict_files(load(model, torch_device, precision), files, out, options, rank=rank)
    finally:
        distributed.teardown()
    if not rank.main:
        return None
    if options.by == "study" or options.write_sr is not None:
        identity = ModelIdentity.of(model) if options.write_sr is not None else None
        outputs = report_studies(read_rows(out), out, options.by == "study", options.write_sr, identity)
        summary.studies, summary.reports = outputs.table, outputs.reports
    return summary


def predict_files(
    predictor: Predictor,
    files: list[Path],
    out: Path | None = None,
    options: PredictOptions | None = None,
    *,
    progress: bool = True,
    rank: Rank | None = None,
) -> PredictSummary:
    """Predict every file (see `PredictOptions`) and write its row as soon as it is done (`out`: CSV or JSON Lines;
    None: JSON Lines on standard output); one file's failure never stops the batch; rows keep the input order.
    Under torchrun (`rank`), each process predicts every world-th input and rank 0 merges the rows into `out`,
    in input order: the same table as one process (`_predict_sharded`).

    Raises `OutputError` before any work when `out` cannot be used.
    """
    options, rank = options or PredictOptions(), rank or Rank()
    if rank.distributed:
        return _predict_sharded(predictor, files, out, options, progress, rank)
    check_output(out, options.overwrite, options.resume)
    columns = output_columns(predictor.model.prompts)
    append = _appending(out, options)
    todo = _todo(files, _already_done(out, files, columns, rank) if append else set(), out)
    writer = RowWriter(out, columns, append=append)
    try:
        failed = _write_rows(predictor, todo, writer, options, progress)
    finally:
        writer.close()
    return PredictSummary(done=len(todo), failed=failed, skipped=len(files) - len(todo))


def _appending(out: Path | None, options: PredictOptions) -> bool:
    """Whether the rows go after those already in `out` (resuming onto an existing file)."""
    return bool(options.resume and out is not None and out.exists())


def _todo(files: list[Path], done: set[str], out: Path | None, report: bool = True) -> list[Path]:
    """The files without a row yet; how many were done already is logged when `report`."""
    todo = [f for f in files if str(f) not in done]
    if done and report:
        log.info("resuming: %d of %d input(s) already have a row in %s", len(files) - len(todo), len(files), out)
    return todo


def _predict_sharded(
    predictor: Predictor, files: list[Path], out: Path | None, options: PredictOptions, progress: bool, rank: Rank
) -> PredictSummary:
    """Under torchrun: every rank predicts every world-th input into its own part file; rank 0 merges them."""
    if out is None:
        raise OutputError("under torchrun, predict needs --out FILE: the ranks' rows are merged into it")
    check_output(out, options.overwrite, options.resume)
    columns = output_columns(predictor.model.prompts)
    barrier()  # every rank has checked the output before rank 0 writes to it
    done = _already_done(out, files, columns, rank) if options.resume else set()
    todo = _todo(files, done, out, report=rank.main)
    if rank.main and not _appending(out, options):
        RowWriter(out, columns).close()  # the header
    mine = todo[rank.rank :: rank.world]
    writer = RowWriter(part_file(out, rank.rank), columns)
    try:
        failed = _write_rows(predictor, mine, writer, options, progress)
    finally:
        writer.close()
    barrier()
    if rank.main:
        merge_parts(out, files, columns)
    done_counts, failed_counts = zip(*gather_objects((len(mine), failed)), strict=True)
    return PredictSummary(sum(done_counts), sum(failed_counts), len(done))


def _already_done(out: Path, files: list[Path], columns: list[str], rank: Rank) -> set[str]:
    """The inputs `out` has a row for; rank 0 first merges the part files an interrupted sharded run left and
    repairs a cut-off last line, then the other ranks read the result."""
    done: set[str] = set()
    if rank.main and out.exists():
        merge_parts(out, files, columns)
    if rank.main:
        done = rows_done(out, columns) if out.exists() else set()
    barrier()
    if not rank.main:
        done = rows_done(out, columns) if out.exists() else set()
    return done


def _write_rows(
    predictor: Predictor, todo: list[Path], writer: RowWriter, options: PredictOptions, progress: bool
) -> int:
    """Predict `todo` in groups and write each row; returns how many rows are errors."""
    failed = 0
    prepared = read_inputs(predictor, todo, options)
    bar = progress_bar(total=len(todo), desc="predicting", unit="video", disable=not progress or len(todo) < 2)
    for group in _groups(prepared, options.batch_clips):
        rows = _predict_group(predictor, group, options)
        for (path, _, _), row in zip(group, rows, strict=True):
            if options.studies and not row.get("study"):
                row["study"] = options.studies.get(str(path), options.studies.get(path.name, ""))
            failed += row["status"] != "ok"
            writer.write(row)
        bar.update(len(group))
    bar.close()
    return failed


Prepared = tuple[Path, PreparedVideo | None, dict[str, Any] | None]


def read_inputs(predictor: Predictor, files: list[Path], options: PredictOptions) -> Iterator[Prepared]:
    """(path, prepared video or None, error row or None) per file, in order; in `options.workers` processes when
    > 0, each file within `options.file_timeout` seconds."""
    count = options.clips if options.clips is not None else predictor.config.data.test_clips
    inputs = _Inputs(files, predictor.sampler, predictor.reading(options.crop), count, options.file_timeout)
    workers = options.workers
    if workers <= 0:
        return (inputs[i] for i in range(len(inputs)))
    return iter(DataLoader(inputs, batch_size=None, num_workers=workers, collate_fn=_as_is, prefetch_factor=2))


class _Inputs(TorchDataset):
    """Files to probe and prepare (`cardiacclip.data.prepare.prepare_video`); any failure becomes that file's
    error row."""

    def __init__(
        self, files: list[Path], sampler: ClipSampler, reading: Reading, clips: ClipCount, timeout: float | None
    ):
        self.files, self.sampler, self.reading, self.clips, self.timeout = files, sampler, reading, clips, timeout

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Prepared:
        path = self.files[index]
        try:
            with time_limit(path, self.timeout):
                return path, prepare_video(probe(path, self.reading), self.sampler, self.clips, str(path)), None
        except Exception as exc:  # any failure becomes this input's row; the batch goes on
            return path, None, failure_row(path, exc)


def _as_is(item: Prepared) -> Prepared:
    return item


def _groups(prepared: Iterator[Prepared], max_clips: int) -> Iterator[list[Prepared]]:
    """Consecutive inputs in groups holding about `max_clips` clips (a video with more goes alone: batching
    pays for small batches, while concatenating many clips only costs memory)."""
    group: list[Prepared] = []
    clips = 0
    for item in prepared:
        group.append(item)
        clips += len(item[1].clips) if item[1] is not None else 0
        if clips >= max_clips:
            yield group
            group, clips = [], 0
    if group:
        yield group


def _predict_group(predictor: Predictor, group: list[Prepared], options: PredictOptions) -> list[dict[str, Any]]:
    """Rows for a group of inputs, in order: their clips go through the model in one batch; if that fails,
    each video alone, so a failure stays with its own input."""
    videos = [video for _, video, _ in group if video is not None]
    try:
        predictions = iter(predictor.run_many(videos) if videos else [])
    except Exception:  # e.g. clips of different sizes: one video at a time
        predictions = None
    rows = []
    for path, video, error in group:
        if video is None:
            rows.append(error)
            continue
        prediction = next(predictions) if predictions is not None else None
        rows.append(_predict_one(predictor, path, video, options, prediction))
    return rows


def _predict_one(
    predictor: Predictor,
    path: Path,
    video: PreparedVideo,
    options: PredictOptions,
    prediction: Prediction | None = None,
) -> dict[str, Any]:
    try:
        prediction = prediction or predictor.run(video)
        row = prediction_row(prediction, predictor.model.prompts)
        study_uid = video.frame_source.info.study_uid
        row["study"] = study_key(study_uid) if study_uid else ""
        if options.crops_dir is not None:
            row["crop_preview"] = str(_crop_preview(video, prediction, path, options.crops_dir))
        if options.strict and prediction.flags:
            refused = error_row(path, ValueError(f"refused by --strict: {' '.join(prediction.flags)}"))
            return {**refused, **{key: row[key] for key in ("flags", "crop_method", "crop_box", "study")}}
        if options.attention_dir is not None:
            row["attention_plot"] = str(_attention_plot(prediction, path, options.attention_dir))
        return row
    except Exception as exc:  # any failure becomes this input's row; the batch goes on
        return failure_row(path, exc)


def _crop_preview(video: PreparedVideo, prediction: Prediction, path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    preview_path = folder / f"{path.stem}_crop.png"
    image = preview(video.frame_source.frame(0), prediction.region)
    cv2.imwrite(str(preview_path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return preview_path


def _attention_plot(prediction: Prediction, path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    start = prediction.clip_starts[0]
    title = (
        f"{path.name}: EF {prediction.ef:.1f}% ({prediction.category}), first clip from frame {start}, "
        f"period {prediction.period}"
    )
    return plot_attention_strip(
        prediction.first_clip,
        prediction.attention,
        folder / f"{path.stem}_attention.png",
        title=title,
    )
