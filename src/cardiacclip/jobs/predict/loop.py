"""`cardiacclip predict`: EF, category and category probabilities for new echo videos, at archive scale.

Any number of files or folders (searched recursively for AVI/MP4/DICOM) in, one row per file
out, written and flushed as soon as that file is done (CSV, or JSON Lines for `.jsonl` and for
standard output). A file that fails for any reason gets a row with `status=error` and the
reason; the batch goes on. Ctrl-C or a crash keeps every finished row, and `resume=True`
skips the inputs the output already has a row for.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import cv2
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.data.clips import ClipCount, ClipSampler
from cardiacclip.data.prepare import PreparedVideo, prepare_video
from cardiacclip.data.region import CropMethod, preview
from cardiacclip.data.source import Reading, probe
from cardiacclip.distributed import Rank, barrier, gather_objects
from cardiacclip.evaluate.plots import plot_attention_strip
from cardiacclip.jobs.output import OutputError, output_folder
from cardiacclip.model.predictor import Prediction, Predictor
from cardiacclip.progress import progress_bar

log = logging.getLogger(__name__)

BASE_COLUMNS = ["file", "status", "EF_pred", "EF_low", "EF_high", "category"]
DETAIL_COLUMNS = [
    "study",
    "flags",
    "colour",
    "crop_method",
    "crop_box",
    "EF_coarse",
    "frames",
    "fps",
    "period",
    "clips",
    "clip_starts",
    "attention",
    "warnings",
    "error",
    "attention_plot",
    "crop_preview",
    "notice",
]


def output_columns(categories: Iterable[str]) -> list[str]:
    return BASE_COLUMNS + [f"p_{name.replace(' ', '_')}" for name in categories] + DETAIL_COLUMNS


def prediction_row(prediction: Prediction) -> dict[str, Any]:
    """A result as one output row (EF in percent, to 1e-4: the figure `evaluate` computes for the same file)."""
    return {
        "file": prediction.source,
        "status": "ok",
        "EF_pred": round(prediction.ef, 4),
        "EF_low": None if prediction.ef_low is None else round(prediction.ef_low, 4),
        "EF_high": None if prediction.ef_high is None else round(prediction.ef_high, 4),
        "category": prediction.category,
        **{f"p_{name.replace(' ', '_')}": round(p, 4) for name, p in prediction.probabilities.items()},
        "flags": " ".join(prediction.flags),
        "colour": prediction.colour,
        "crop_method": (prediction.crop or {}).get("method"),
        "crop_box": " ".join(map(str, (prediction.crop or {}).get("box", []))),
        "EF_coarse": round(prediction.ef_coarse, 4),
        "frames": prediction.n_frames,
        "fps": prediction.fps,
        "period": prediction.period,
        "clips": len(prediction.clip_efs),
        "clip_starts": " ".join(map(str, prediction.clip_starts)),
        "attention": " ".join(f"{a:.4f}" for a in prediction.attention),
        "warnings": "; ".join(prediction.warnings),
        "error": "",
        "notice": RESEARCH_NOTICE,
    }


def error_row(path: Path, exc: BaseException) -> dict[str, Any]:
    message = str(exc) or type(exc).__name__
    if not isinstance(exc, (OSError, ValueError)) and type(exc).__name__ not in message:
        message = f"{type(exc).__name__}: {message}"
    return {"file": str(path), "status": "error", "error": message, "notice": RESEARCH_NOTICE}


def failure_row(path: Path, exc: BaseException) -> dict[str, Any]:
    """`error_row` for a failure while reading or predicting, logged (the traceback at debug level)."""
    row = error_row(path, exc)
    log.error("%s", row["error"])
    log.debug("traceback for %s", path, exc_info=True)
    return row


class RowWriter:
    """Appends rows to a CSV or JSON Lines file (or standard output) and flushes after each one."""

    def __init__(self, path: Path | None, columns: list[str], append: bool = False):
        self.path, self.columns = path, columns
        self.jsonl = path is None or path.suffix.lower() in {".jsonl", ".ndjson", ".json"}
        self.stream: IO[str] = sys.stdout if path is None else open(path, "a" if append else "w", newline="")  # noqa: SIM115 (closed by close())
        self.csv = None if self.jsonl else csv.DictWriter(self.stream, fieldnames=columns, extrasaction="ignore")
        if self.csv is not None and not append:
            self.csv.writeheader()
            self.stream.flush()

    def write(self, row: dict[str, Any]) -> None:
        if self.csv is not None:
            self.csv.writerow(row)
        else:
            self.stream.write(json.dumps({c: row.get(c) for c in self.columns if c in row}) + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.path is not None:
            self.stream.close()


def check_output(out: Path | None, overwrite: bool = False, resume: bool = False) -> None:
    """Check the output path before any work starts (cheap: call it before loading a model)."""
    if out is None:
        if resume:
            raise OutputError("--resume needs --out FILE (rows on standard output cannot be resumed)")
        return
    if overwrite and resume:
        raise OutputError("--overwrite and --resume exclude each other")
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; pass a file name such as {out / 'predictions.csv'}")
    if out.suffix.lower() not in {".csv", ".jsonl", ".ndjson", ".json"}:
        raise OutputError(f"{out}: the output is a .csv or .jsonl file")
    if out.exists() and not (overwrite or resume):
        raise OutputError(f"{out}: exists; pass --overwrite to replace it or --resume to add the missing rows")
    try:
        output_folder(out.parent)
    except OutputError as exc:
        raise OutputError(f"{out}: not writable ({exc})") from None
    if not os.access(out if out.exists() else out.parent, os.W_OK):
        raise OutputError(f"{out}: not writable; pass --out a file in a writable folder")


def _rows_done(out: Path, columns: list[str]) -> set[str]:
    """Inputs with a row in `out`; a last line cut off by a crash is removed so appending stays valid."""
    text = out.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        out.write_text(text)
    if not text.strip():
        if out.suffix.lower() == ".csv":
            out.write_text(",".join(columns) + "\r\n")
        return set()
    if out.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames != columns:
            raise OutputError(
                f"{out}: its columns are not this model's ({reader.fieldnames[:6]}...); write to a new file"
            )
        return {row["file"] for row in reader}
    return {json.loads(line)["file"] for line in text.splitlines() if line.strip()}


def study_key(study_uid: str) -> str:
    """A study identifier safe to write out: a hash of the StudyInstanceUID (the UID itself is not written)."""
    return "S" + hashlib.sha256(study_uid.encode()).hexdigest()[:16]


def read_study_map(path: Path) -> dict[str, str]:
    """A user's CSV mapping videos to studies (columns: file, study), for AVI/MP4 that carry no study UID.
    `file` may be the path as given to predict or just the file name."""
    import pandas as pd

    table = pd.read_csv(path, dtype=str)
    if not {"file", "study"} <= set(table.columns):
        raise OutputError(f"{path}: a study map needs the columns file and study (has {list(table.columns)})")
    return dict(zip(table["file"].str.strip(), table["study"].str.strip(), strict=True))


def study_table(out: Path) -> Path:
    """Per-study rows beside the per-video output (`<out>.studies.csv`): median EF of the unflagged videos
    that were predicted, how many were used of how many (as EchoPrime reports at study level)."""
    import pandas as pd

    rows = pd.read_csv(out) if out.suffix.lower() == ".csv" else pd.read_json(out, lines=True)
    rows = rows[rows["study"].fillna("").astype(str) != ""]
    records = []
    for study, group in rows.groupby("study", sort=True):
        used = group[(group["status"] == "ok") & (group["flags"].fillna("").astype(str) == "")]
        records.append(
            {
                "study": study,
                "EF_median": round(float(used["EF_pred"].median()), 2) if len(used) else None,
                "videos_used": len(used),
                "videos": len(group),
                "notice": RESEARCH_NOTICE,
            }
        )
    path = out.with_suffix(".studies.csv")
    pd.DataFrame(records, columns=["study", "EF_median", "videos_used", "videos", "notice"]).to_csv(path, index=False)
    return path


@dataclass
class PredictSummary:
    done: int  # rows written in this run
    failed: int  # of which errors
    skipped: int  # inputs that already had a row (resume)


def predict_files(
    predictor: Predictor,
    files: list[Path],
    out: Path | None = None,
    *,
    clips: ClipCount | None = None,
    attention_dir: Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    crop: CropMethod | None = None,
    crops_dir: Path | None = None,
    strict: bool = False,
    studies: dict[str, str] | None = None,
    workers: int = 0,
    rank: Rank | None = None,
    batch_clips: int = 16,
) -> PredictSummary:
    """Predict every file and write its row as soon as it is done; one file's failure never stops the batch.

    `crop` chooses the ultrasound region (`cardiacclip.data.region`; default: the run's); `crops_dir` gets a
    preview per file (first frame, box and mask outline); with `strict`, flagged inputs (see `cardiacclip.data.quality`)
    get an error row instead of an EF. With `workers` > 0, that many DataLoader processes read and prepare
    the files (decode, crop, clips) while this process runs the model; consecutive videos go through the model
    together, about `batch_clips` clips at a time; rows keep the input order. Under
    torchrun (`rank`), each process predicts every world-th input and rank 0 merges the rows into `out`, in
    input order: the same table as one process.

    Raises `OutputError` before any work when `out` cannot be used.
    """
    rank = rank or Rank()
    columns = output_columns(predictor.categories)
    if rank.distributed and out is None:
        raise OutputError("under torchrun, predict needs --out FILE: the ranks' rows are merged into it")
    check_output(out, overwrite, resume)
    if rank.main and resume and out is not None and out.exists():
        merge_parts(out, files, columns)  # rows an interrupted sharded run left in part files
    done = _rows_done(out, columns) if rank.main and resume and out is not None else set()
    barrier()
    done = _rows_done(out, columns) if not rank.main and resume and out is not None else done
    todo = [f for f in files if str(f) not in done]
    if done and rank.main:
        log.info("resuming: %d of %d input(s) already have a row in %s", len(files) - len(todo), len(files), out)
    append = resume and out is not None and out.exists()
    if rank.distributed:  # each rank predicts every world-th input into its own part file; rank 0 merges them
        if rank.main and not append:
            RowWriter(out, columns).close()  # the header
        todo, writer = todo[rank.rank :: rank.world], RowWriter(part_file(out, rank.rank), columns)
    else:
        writer = RowWriter(out, columns, append=append)
    failed = 0
    prepared = prepare_inputs(predictor, todo, clips, crop, workers)
    try:
        bar = progress_bar(total=len(todo), desc="predicting", unit="video", disable=not progress or len(todo) < 2)
        for group in _groups(prepared, batch_clips):
            rows = _predict_group(predictor, group, attention_dir, crops_dir, strict)
            for (path, _, _), row in zip(group, rows, strict=True):
                if studies and not row.get("study"):
                    row["study"] = studies.get(str(path), studies.get(path.name, ""))
                failed += row["status"] != "ok"
                writer.write(row)
            bar.update(len(group))
        bar.close()
    finally:
        writer.close()
    if rank.distributed:
        barrier()
        if rank.main:
            merge_parts(out, files, columns)
        counts = gather_objects((len(todo), failed))
        return PredictSummary(sum(c[0] for c in counts), sum(c[1] for c in counts), len(done))
    return PredictSummary(done=len(todo), failed=failed, skipped=len(files) - len(todo))


def part_file(out: Path, rank: int) -> Path:
    """Where rank `rank` of a sharded predict writes its rows before rank 0 merges them into `out`."""
    return out.with_name(f"{out.stem}.rank{rank}{out.suffix}")


def merge_parts(out: Path, files: list[Path], columns: list[str]) -> int:
    """Append the rows of every rank's part file to `out`, in input order (a cut-off last line is dropped), and
    delete the parts. Returns the number of rows merged."""
    order = {str(f): i for i, f in enumerate(files)}
    rows: list[dict[str, Any]] = []
    parts = sorted(out.parent.glob(f"{out.stem}.rank*{out.suffix}"))
    for part in parts:
        text = part.read_text()
        lines = text.splitlines()[: text.count("\n")]  # complete lines only
        if out.suffix.lower() == ".csv":
            rows.extend(csv.DictReader(lines))
        else:
            rows.extend(json.loads(line) for line in lines if line.strip())
    rows.sort(key=lambda row: order.get(row["file"], len(order)))
    if rows:
        writer = RowWriter(out, columns, append=True)
        for row in rows:
            writer.write(row)
        writer.close()
    for part in parts:
        part.unlink()
    return len(rows)


Prepared = tuple[Path, PreparedVideo | None, dict[str, Any] | None]


def prepare_inputs(
    predictor: Predictor, files: list[Path], clips: ClipCount | None, crop: CropMethod | None, workers: int = 0
) -> Iterator[Prepared]:
    """(path, prepared video or None, error row or None) per file, in order; in `workers` processes when > 0."""
    count = clips if clips is not None else predictor.config.data.test_clips
    inputs = _Inputs(files, predictor.sampler, predictor.reading(crop), count)
    if workers <= 0:
        return (inputs[i] for i in range(len(inputs)))
    return iter(DataLoader(inputs, batch_size=None, num_workers=workers, collate_fn=_as_is, prefetch_factor=2))


class _Inputs(TorchDataset):
    """Files to probe and prepare (`cardiacclip.data.prepare.prepare_video`); any failure becomes that file's
    error row."""

    def __init__(self, files: list[Path], sampler: ClipSampler, reading: Reading, clips: ClipCount):
        self.files, self.sampler, self.reading, self.clips = files, sampler, reading, clips

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Prepared:
        path = self.files[index]
        try:
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


def _predict_group(
    predictor: Predictor,
    group: list[Prepared],
    attention_dir: Path | None,
    crops_dir: Path | None,
    strict: bool,
) -> list[dict[str, Any]]:
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
        rows.append(_predict_one(predictor, path, video, attention_dir, crops_dir, strict, prediction))
    return rows


def _predict_one(
    predictor: Predictor,
    path: Path,
    video: PreparedVideo,
    attention_dir: Path | None,
    crops_dir: Path | None = None,
    strict: bool = False,
    prediction: Prediction | None = None,
) -> dict[str, Any]:
    try:
        prediction = prediction or predictor.run(video)
        row = prediction_row(prediction)
        study_uid = video.frame_source.info.study_uid
        row["study"] = study_key(study_uid) if study_uid else ""
        if crops_dir is not None:
            crops_dir.mkdir(parents=True, exist_ok=True)
            preview_path = crops_dir / f"{path.stem}_crop.png"
            image = preview(video.frame_source.frame(0), prediction.region)
            cv2.imwrite(str(preview_path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            row["crop_preview"] = str(preview_path)
        if strict and prediction.flags:
            return {
                **error_row(path, ValueError(f"refused by --strict: {' '.join(prediction.flags)}")),
                "flags": row["flags"],
                "crop_method": row["crop_method"],
                "crop_box": row["crop_box"],
                "study": row["study"],
            }
        if attention_dir is not None:
            row["attention_plot"] = str(_attention_plot(prediction, path, attention_dir))
        return row
    except Exception as exc:  # any failure becomes this input's row; the batch goes on
        return failure_row(path, exc)


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
