"""The rows `cardiacclip predict` writes: their columns (named once), the writer that flushes each row as it is
done, the output-path check, and the resume repair of a file a crash cut off.

Tested by tests/jobs/predict/test_loop.py (columns, resume after a cut-off line, output checks).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.jobs.output import OutputError, output_folder
from cardiacclip.model.beats import BEAT_COLUMNS
from cardiacclip.model.predictor import Prediction
from cardiacclip.model.prompts import PromptSet

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}  # written as JSON Lines

# Each column of predict's rows and what it holds, in output order; the manual's reference lists them from here.
# The category probabilities p_<name> (one per prompt category) sit between the two groups.
BASE_COLUMNS = {
    "file": "the input path as given",
    "status": "ok, or error (the reason in `error`)",
    "EF_pred": "predicted LVEF in percent, the mean over the video's clips (with --clips beats: over its beats)",
    "EF_low": "lower end of the calibrated EF interval (empty when the model has no calibration)",
    "EF_high": "upper end of the calibrated EF interval",
    "category": "the LVEF category with the highest mean probability",
}
DETAIL_COLUMNS = {
    "study": "with --by study: the study the video belongs to (a hash of its StudyInstanceUID, or --studies)",
    "flags": "quality and rhythm flags, space-separated (too_short, blank, irregular_rhythm, beat_ef_spread, ...)",
    "colour": "grey, tinted (read as luminance) or colour_doppler",
    "crop_method": "how the region was found: regions (DICOM tags), sector (pixels) or none (the whole frame)",
    "crop_box": "the region kept, as x0 y0 x1 y1 in pixels of the stored frame",
    "EF_coarse": "the coarse EF (probabilities times category anchors), beside the fine head's EF_pred",
    "frames": "number of frames in the loop",
    "fps": "frame rate read from the file (empty when unknown)",
    "period": "clip period used: every period-th frame, following the loop's frame rate",
    "clips": "number of clips averaged",
    "clip_starts": "first frame of each clip, space-separated",
    **BEAT_COLUMNS,
    "attention": "MFL weight of each frame of the first clip, space-separated",
    "warnings": "warnings about this input, separated by '; '",
    "error": "the reason, when status is error",
    "attention_plot": "with --attention-plot: the PNG written for this input",
    "crop_preview": "with --save-crops: the preview PNG of the region kept",
    "notice": "the research notice: not a medical device",
}


def output_columns(prompts: PromptSet) -> list[str]:
    """The columns of predict's rows, in order, for a model's categories."""
    return [*BASE_COLUMNS, *prompts.probability_columns, *DETAIL_COLUMNS]


def prediction_row(prediction: Prediction, prompts: PromptSet) -> dict[str, Any]:
    """A result as one output row (EF in percent, to 1e-4: the figure `evaluate` computes for the same file)."""
    probabilities = [round(prediction.probabilities[name], 4) for name in prompts.names]
    return {
        "file": prediction.source,
        "status": "ok",
        "EF_pred": round(prediction.ef, 4),
        "EF_low": None if prediction.ef_low is None else round(prediction.ef_low, 4),
        "EF_high": None if prediction.ef_high is None else round(prediction.ef_high, 4),
        "category": prediction.category,
        **dict(zip(prompts.probability_columns, probabilities, strict=True)),
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
        **(prediction.beats.columns() if prediction.beats is not None else dict.fromkeys(BEAT_COLUMNS)),
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
        self.jsonl = path is None or path.suffix.lower() in JSON_SUFFIXES
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
    if overwrite and resume:
        raise OutputError("--overwrite and --resume exclude each other")
    if out is None:
        if resume:
            raise OutputError("--resume needs --out FILE (rows on standard output cannot be resumed)")
        return
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; pass a file name such as {out / 'predictions.csv'}")
    if out.suffix.lower() not in {".csv", ".jsonl", ".ndjson", ".json"}:
        raise OutputError(f"{out}: the output is a .csv or .jsonl file")
    if out.exists() and not (overwrite or resume):
        raise OutputError(f"{out}: exists; pass --overwrite to replace it or --resume to add the missing rows")
    _check_writable(out)


def _check_writable(out: Path) -> None:
    try:
        output_folder(out.parent)
    except OutputError as exc:
        raise OutputError(f"{out}: not writable ({exc})") from None
    if not os.access(out if out.exists() else out.parent, os.W_OK):
        raise OutputError(f"{out}: not writable; pass --out a file in a writable folder")


def read_rows(path: Path) -> pd.DataFrame:
    """Predict's rows from its output file, as `RowWriter` wrote them (JSON Lines for `JSON_SUFFIXES`, else CSV)."""
    import pandas as pd

    return pd.read_json(path, lines=True) if path.suffix.lower() in JSON_SUFFIXES else pd.read_csv(path)


def rows_done(out: Path, columns: list[str]) -> set[str]:
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


