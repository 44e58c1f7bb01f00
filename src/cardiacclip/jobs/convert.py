"""`cardiacclip convert`: a DICOM or video archive to the EchoNet-Dynamic layout, de-identified.

Every readable loop becomes `OUT/Videos/<name>.avi`: the ultrasound region (`cardiacclip.data.region`)
cropped, zeroed outside the sector, padded to a square and resized to `size` x `size` (EchoNet: 112),
at its own frame rate. `OUT/FileList.csv` lists FileName, EF, FrameHeight, FrameWidth, FPS,
NumberOfFrames and Split, with EF joined from a labels CSV by SOPInstanceUID, StudyInstanceUID,
AccessionNumber or file name; converted loops without a label go to `OUT/FileList_unlabelled.csv`.

De-identification: a FileName is a salted hash of the SOP Instance UID (of the file's path for
AVI/MP4), and nothing written under OUT holds a patient name, ID, date, UID or source path: only
the cropped ultrasound region is kept (burned-in text outside it is dropped) and no DICOM header
is copied. What links a FileName back to its source (UIDs, accession number, path), the salt, the
per-file error log and the crop previews go to a separate private folder (default
`OUT_private/`), which stays inside the hospital.

Resumable: a loop already in the private mapping whose AVI exists is skipped; AVIs are written
under a temporary name and renamed when complete. `--workers N` converts in N processes; one bad
file never stops the run, it gets a line in the error log.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from cardiacclip.choices import ColourMode, CropMethod
from cardiacclip.config import ConfigError, Validated
from cardiacclip.data.deadline import FILE_TIME_LIMIT, time_limit
from cardiacclip.data.errors import DatasetError
from cardiacclip.data.region import preview
from cardiacclip.data.source import Reading, probe
from cardiacclip.data.video_io import find_videos, write_video
from cardiacclip.dicom.echo_sr import Harvest, harvest_labels
from cardiacclip.jobs.convert_labels import read_labels, write_filelists
from cardiacclip.jobs.output import OutputError, output_folder
from cardiacclip.jobs.predict.rows import RowWriter
from cardiacclip.progress import progress_bar

log = logging.getLogger(__name__)

MAP_COLUMNS = [
    "FileName",
    "source",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "AccessionNumber",
    "FPS",
    "NumberOfFrames",
    "FrameHeight",
    "FrameWidth",
    "crop_method",
    "crop_box",
    "flags",
    "colour",
    "warnings",
]
ASSUMED_FPS = 50.0  # EchoNet-Dynamic's rate, written for loops that state none (with a warning)


@dataclass(frozen=True)
class ConvertSettings(Validated):
    """How loops are converted: the region kept (`crop`), how tinted loops are read (`colour`: as luminance, or
    as stored), the output side in pixels (`size`), whether flagged inputs (not ultrasound, Doppler, blank,
    no sector, colour Doppler...; `cardiacclip.data.quality`) are kept, and the seconds one file may take to read
    (`file_timeout`, `cardiacclip.data.deadline`; None: no limit)."""

    size: int = 112
    crop: CropMethod = "auto"
    colour: ColourMode = "luminance"
    keep_flagged: bool = False
    previews: bool = True
    file_timeout: float | None = FILE_TIME_LIMIT

    def validate(self) -> None:
        if self.size < 16:
            raise ConfigError(f"ConvertSettings.size must be at least 16 pixels, got {self.size}")


@dataclass
class ConvertSummary:
    converted: int  # loops converted in this run
    skipped: int  # already converted (resume)
    failed: int  # got a line in the error log
    labelled: int  # rows of FileList.csv
    unlabelled: int  # rows of FileList_unlabelled.csv
    out: Path
    private: Path
    reports: int = 0  # SR files found (reports, not loops: not converted)
    studies_without_ef: int = 0  # with labels_from_sr: studies whose reports hold no usable EF


def private_folder(out: Path) -> Path:
    """The default folder for the re-identification material: beside OUT, never inside it."""
    return out.parent / f"{out.name}_private"


def convert_archive(
    src: Path,
    out: Path,
    *,
    labels: Path | None = None,
    labels_from_sr: bool = False,
    workers: int = 1,
    settings: ConvertSettings | None = None,
    private: Path | None = None,
    progress: bool = True,
) -> ConvertSummary:
    """Convert every video and DICOM under `src` (recursively; DICOM found by content) into `out` (see
    the module docstring). Returns counts; a file that fails is logged to `<private>/errors.csv`.
    With `labels_from_sr` the labels come from the echo machines' SRs found under `src`
    (`cardiacclip.dicom.echo_sr`: one rule, the chosen value's method in FileList.csv's EF_method column); the
    per-study labels and the studies without a usable EF go to the private folder (they name studies). SR files
    are reports, not loops: never converted.
    Raises DatasetError for a labels CSV that cannot be joined (no EF or no key column) and OutputError for an
    output or private folder that cannot be used, before any file is converted."""
    label_table = _given_labels(labels, labels_from_sr)  # read before any work: a bad CSV stops it
    settings = settings or ConvertSettings()
    private = _check_private(private or private_folder(out), out)
    output_folder(out / "Videos")
    output_folder(private)
    salt = _salt(private / "salt.txt")
    map_path = private / "uid_map.csv"
    done = _finished(map_path, out / "Videos")
    found = find_videos([src])
    harvest = harvest_labels(found)
    label_table = _report_labels(harvest, private) if labels_from_sr else label_table
    reports = {str(p) for p in harvest.reports}
    files = _pending(found, done, reports)
    converted, failed = _convert_files(_run(files, src, out, private, salt, settings, workers, progress), private)
    mapping = pd.read_csv(map_path, dtype=str).fillna("") if map_path.is_file() else pd.DataFrame(columns=MAP_COLUMNS)
    labelled, unlabelled = write_filelists(mapping, out, label_table, salt)
    summary = ConvertSummary(converted, len(done), failed, labelled, unlabelled, out, private)
    summary.reports, summary.studies_without_ef = len(reports), len(harvest.without_ef)
    return summary


def _given_labels(labels: Path | None, labels_from_sr: bool) -> pd.DataFrame | None:
    """The labels CSV (`read_labels`), if one is given; giving it with `labels_from_sr` is a `DatasetError`."""
    if labels is None:
        return None
    if labels_from_sr:
        raise DatasetError("give --labels CSV or --labels-from-sr, not both")
    return read_labels(labels)


def _pending(found: list[Path], done: set[str], reports: set[str]) -> list[Path]:
    """The loops still to convert: neither converted by an earlier run nor an echo report."""
    if done:
        log.info("resuming: %d loop(s) already converted", len(done))
    return [f for f in found if str(f) not in done and str(f) not in reports]


def _convert_files(results: Iterator[tuple[Path, dict | None, str | None]], private: Path) -> tuple[int, int]:
    """Append each converted loop's row to the private UID map, and each failure to this run's error log;
    returns how many were converted and how many failed."""
    map_path = private / "uid_map.csv"
    failed = converted = 0
    mapping = RowWriter(map_path, MAP_COLUMNS, append=map_path.is_file() and map_path.stat().st_size > 0)
    errors = RowWriter(private / "errors.csv", ["source", "error"])  # this run's failures only
    try:
        for source, record, error in results:
            if error is not None:
                failed += 1
                errors.write({"source": str(source), "error": error})
                log.error("%s: %s", source, error)
            else:
                converted += 1
                mapping.write(record)
    finally:
        mapping.close()
        errors.close()
    return converted, failed


def _check_private(private: Path, out: Path) -> Path:
    if private.resolve().is_relative_to(out.resolve()):
        raise OutputError(
            f"the private folder {private} must not be inside the output {out}: the output is shared, the "
            f"private folder stays in the hospital; pass --private {private_folder(out)} or another folder outside it"
        )
    return private


def _report_labels(harvest: Harvest, private: Path) -> pd.DataFrame:
    """The labels table of the harvested reports (StudyInstanceUID, EF, EF_method), also written with the studies
    that have no usable EF to the private folder (study UIDs are identifiers)."""
    table = pd.DataFrame(
        [(study, label.ef, label.method, label.n_values) for study, label in harvest.labels.items()],
        columns=["StudyInstanceUID", "EF", "EF_method", "EF_values"],
    )
    table.to_csv(private / "sr_labels.csv", index=False)
    pd.DataFrame({"StudyInstanceUID": harvest.without_ef}).to_csv(private / "sr_without_ef.csv", index=False)
    if harvest.without_ef:
        where = private / "sr_without_ef.csv"
        log.warning("%d stud(ies) have echo reports without a usable EF: listed in %s", len(harvest.without_ef), where)
    log.info("labels from %d echo report(s): %d stud(ies) labelled", len(harvest.reports), len(table))
    return table


def _run(
    files: list[Path],
    src: Path,
    out: Path,
    private: Path,
    salt: str,
    settings: ConvertSettings,
    workers: int,
    progress: bool,
) -> Iterator[tuple[Path, dict | None, str | None]]:
    """(source, mapping record or None, error or None) per file, in completion order."""
    bar = progress_bar(total=len(files), desc="converting", unit="file", disable=not progress or not files)
    jobs = [(f, src, out, private, salt, settings) for f in files]
    if workers <= 1:
        for job in jobs:
            yield job[0], *convert_one(*job)
            bar.update()
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = {pool.submit(convert_one, *job): job[0] for job in jobs}
            for future in as_completed(futures):
                try:
                    record, error = future.result()
                except Exception as exc:  # a worker that died (e.g. killed for memory) fails its file only
                    record, error = None, f"worker failed: {type(exc).__name__}: {exc}"
                yield futures[future], record, error
                bar.update()
    bar.close()


def convert_one(
    path: Path, src: Path, out: Path, private: Path, salt: str, settings: ConvertSettings
) -> tuple[dict | None, str | None]:
    """Convert one loop: (mapping record, None) or (None, the reason it was not converted). Never raises."""
    try:
        with time_limit(path, settings.file_timeout):
            video = probe(path, Reading(settings.crop, settings.colour))
            if video.flags and not settings.keep_flagged:
                return None, f"not converted, flagged: {' '.join(video.flags)} (--keep-flagged converts it anyway)"
            decoded = video.read_resized(range(video.n_frames), settings.size)
        name = file_name(video.info.sop_uid or _relative(path, src), salt)
        frames = np.stack([decoded[i] for i in sorted(decoded)])
        warnings = list(video.warnings)
        fps = video.fps or ASSUMED_FPS
        if not video.fps:
            warnings.append(f"frame rate unknown: written at {ASSUMED_FPS:g} frames/s")
        _write_loop(out / "Videos" / f"{name}.avi", frames, fps)
        if settings.previews:
            _write_preview(video, private / "previews" / f"{name}.png")
        return _record(path, name, video, len(frames), fps, settings.size, warnings), None
    except Exception as exc:  # one bad file never stops the archive
        return None, (str(exc) or type(exc).__name__).replace(f"{path}: ", "")  # the log names the file


def _record(path: Path, name: str, video, n_frames: int, fps: float, size: int, warnings: list[str]) -> dict:
    """A converted loop's row of the private UID map (`MAP_COLUMNS`)."""
    info = video.info
    return {
        "FileName": name,
        "source": str(path),
        "SOPInstanceUID": info.sop_uid or "",
        "StudyInstanceUID": info.study_uid or "",
        "AccessionNumber": info.accession or "",
        "FPS": round(float(fps), 3),
        "NumberOfFrames": n_frames,
        "FrameHeight": size,
        "FrameWidth": size,
        "crop_method": video.region.method,
        "crop_box": " ".join(map(str, video.region.box)),
        "flags": " ".join(video.flags),
        "colour": video.colour,
        "warnings": "; ".join(warnings),
    }


def _write_loop(target: Path, frames: np.ndarray, fps: float) -> None:
    """Write the AVI under a temporary name first, so an interrupted run never leaves a partial video."""
    partial = target.with_name(f".{target.stem}.partial.avi")
    write_video(partial, frames, fps=fps)
    partial.replace(target)


def _write_preview(video, path: Path) -> None:
    """The first frame with the region kept (the box and the sector; no burned-in text outside the box)."""
    path.parent.mkdir(exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(preview(video.frame(0), video.region), cv2.COLOR_RGB2BGR))


def file_name(key: str, salt: str) -> str:
    """The de-identified FileName of a loop: a salted SHA-256 of its SOP Instance UID (or path), 20 hex digits."""
    return "CC" + hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:20]


def _relative(path: Path, src: Path) -> str:
    try:
        return str(path.resolve().relative_to(src.resolve()))
    except ValueError:
        return str(path.resolve())


def _salt(path: Path) -> str:
    """The archive's salt: made once, kept in the private folder so resumed runs give the same names."""
    if path.is_file():
        return path.read_text().strip()
    salt = secrets.token_hex(16)
    path.write_text(salt + "\n")
    return salt


def _finished(map_path: Path, videos: Path) -> set[str]:
    """Sources already converted: in the mapping and with their AVI on disk."""
    if not map_path.is_file():
        return set()
    mapping = pd.read_csv(map_path, dtype=str)
    return {
        source
        for source, name in zip(mapping["source"], mapping["FileName"], strict=True)
        if (videos / f"{name}.avi").is_file()
    }
