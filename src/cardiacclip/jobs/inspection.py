"""`cardiacclip inspect`: check an EchoNet-Dynamic-format folder before anyone trains on it, or a plain folder of
videos and DICOMs (a row per file: readable, frames, rate, size, ultrasound region, flags) before predicting."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cardiacclip.choices import CropMethod
from cardiacclip.data.errors import VideoReadError
from cardiacclip.data.filelist import read_filelist
from cardiacclip.data.source import Reading, probe, probe_all, problem
from cardiacclip.data.video_io import read_video
from cardiacclip.progress import progress_bar


@dataclass
class InspectionReport:
    """What `inspect_dataset` found. `ok` is False when any listed video is missing, unreadable or flagged (what
    `train` and `evaluate` would refuse before their first epoch)."""

    root: str
    n_videos: int
    split_counts: dict[str, int]
    ef_summary: dict[str, dict[str, float]]
    frame_sizes: dict[str, int]
    frame_rates: dict[str, int]
    frame_counts: dict[str, float]
    missing: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
    flagged: dict[str, str] = field(default_factory=dict)
    colours: dict[str, int] = field(default_factory=dict)
    frame_count_mismatches: int = 0
    has_tracings: bool = False

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unreadable and not self.flagged


def _ef_summary(ef: pd.Series) -> dict[str, float]:
    ef = ef.astype(float)
    return {
        "n": int(len(ef)),
        "mean": float(ef.mean()),
        "sd": float(ef.std(ddof=1)) if len(ef) > 1 else 0.0,
        "min": float(ef.min()),
        "max": float(ef.max()),
        "below_40": int((ef < 40).sum()),
        "below_50": int((ef < 50).sum()),
    }


def inspect_dataset(
    root: str | Path, decode: bool = True, workers: int | None = None, progress: bool = True
) -> InspectionReport:
    """Count videos per split, summarize EF (percent), sizes and rates, and find missing, unreadable or flagged
    videos.

    Every present video is probed as `train` probes it (`cardiacclip.data.source.probe_all`: readable, colour,
    flags). With `decode` every video is also decoded in full (a corrupt stream can fail late); without it
    sizes and rates are the FileList's.
    Raises `DatasetError` for a FileList that cannot be used (e.g. invalid or duplicated rows).
    """
    root = Path(root)
    table = read_filelist(root / "FileList.csv")
    paths = {name: root / "Videos" / file for name, file in zip(table["FileName"], table["VideoFile"], strict=True)}
    present = {name: path for name, path in paths.items() if path.is_file()}
    missing = [name for name in paths if name not in present]
    unreadable, flagged, colours = _probed_problems(present, workers, progress)
    decoded, failed = _decode_all(present, workers, progress) if decode else ({}, {})
    unreadable.update(failed)
    sizes, rates, counts, mismatches = _decoded_summary(decoded, table) if decode else (*_listed_summary(table), [], 0)
    splits = table["Split"] if "Split" in table.columns else pd.Series(["ALL"] * len(table))
    return InspectionReport(
        root=str(root),
        n_videos=len(table),
        split_counts={str(k): int(v) for k, v in splits.value_counts().sort_index().items()},
        ef_summary=_ef_by_split(table["EF"], splits),
        frame_sizes=sizes,
        frame_rates=rates,
        frame_counts=_spread(counts),
        missing=missing,
        unreadable=unreadable,
        flagged=flagged,
        colours=colours,
        frame_count_mismatches=mismatches,
        has_tracings=(root / "VolumeTracings.csv").is_file(),
    )


def _probed_problems(
    present: dict[str, Path], workers: int | None, progress: bool
) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
    """Probe every video as `train` does: the unreadable and the flagged ones with their reasons, and the count of
    each colour kind among the readable."""
    probed = probe_all(present, Reading(), workers, progress)
    read = {name: r for name, r in probed.items() if not isinstance(r, VideoReadError)}
    unreadable = {name: str(r) for name, r in probed.items() if name not in read}
    flagged = {name: problem(r) for name, r in read.items() if r.flags}
    colours = pd.Series([r.colour for r in read.values()]).value_counts()
    return unreadable, flagged, {str(k): int(v) for k, v in colours.items()}


def _ef_by_split(ef: pd.Series, splits: pd.Series) -> dict[str, dict[str, float]]:
    """EF summary (`_ef_summary`) of all videos, then of each split."""
    summary = {"ALL": _ef_summary(ef)}
    for split in sorted(splits.unique()):
        summary[split] = _ef_summary(ef[splits == split])
    return summary


def _spread(counts: list[int]) -> dict[str, float]:
    """Min, median and max of frames per video (empty without decoded videos)."""
    if not counts:
        return {}
    return {"min": float(np.min(counts)), "median": float(np.median(counts)), "max": float(np.max(counts))}


VideoInfo = tuple[int, int, int, "float | None"]  # frames, height, width, fps


def decode_info(path: Path) -> VideoInfo:
    """Decode a whole video: (frames, height, width, fps). Raises on any failure."""
    frames, fps = read_video(path)
    return len(frames), frames.shape[1], frames.shape[2], fps


def _decode_all(
    paths: dict[str, Path], workers: int | None, progress: bool
) -> tuple[dict[str, VideoInfo], dict[str, str]]:
    """Decode every video in threads; any failure (not only a read error) is that video's reason."""

    def probe(name: str) -> tuple[str, VideoInfo | None, str | None]:
        try:
            return name, decode_info(paths[name]), None
        except Exception as exc:  # one broken file must not end the inspection
            return name, None, str(exc) if isinstance(exc, VideoReadError) else f"{paths[name]}: {exc}"

    decoded: dict[str, VideoInfo] = {}
    unreadable: dict[str, str] = {}
    with ThreadPoolExecutor(workers or min(4, os.cpu_count() or 1)) as pool:
        results = pool.map(probe, list(paths))
        for name, info, error in progress_bar(
            results, total=len(paths), desc="decoding", unit="video", disable=not progress
        ):
            if error is not None:
                unreadable[name] = error
            else:
                decoded[name] = info
    return decoded, unreadable


def _decoded_summary(decoded: dict[str, VideoInfo], table: pd.DataFrame) -> tuple[dict, dict, list[int], int]:
    """Counts of frame sizes and rates, frames per video, and videos whose frame count differs from the FileList's."""
    sizes: dict[str, int] = {}
    rates: dict[str, int] = {}
    listed = (
        table.set_index("FileName")["NumberOfFrames"] if "NumberOfFrames" in table.columns else pd.Series(dtype=float)
    )
    mismatches = 0
    for name, (n_frames, h, w, fps) in decoded.items():
        sizes[f"{w}x{h}"] = sizes.get(f"{w}x{h}", 0) + 1
        key = f"{fps:.0f}" if fps else "unknown"
        rates[key] = rates.get(key, 0) + 1
        if name in listed.index and pd.notna(listed[name]):
            mismatches += int(int(listed[name]) != n_frames)
    return sizes, rates, [info[0] for info in decoded.values()], mismatches


def _listed_summary(table: pd.DataFrame) -> tuple[dict, dict]:
    """Frame sizes and rates as the FileList states them (without decoding)."""
    sizes: dict[str, int] = {}
    rates: dict[str, int] = {}
    if {"FrameWidth", "FrameHeight"} <= set(table.columns):
        for (w, h), n in table.groupby(["FrameWidth", "FrameHeight"]).size().items():
            sizes[f"{w}x{h} (listed)"] = int(n)
    if "FPS" in table.columns:
        for fps, n in table["FPS"].round().value_counts().items():
            rates[f"{fps:.0f} (listed)"] = int(n)
    return sizes, rates


FILE_COLUMNS = ["file", "readable", "frames", "fps", "size", "region", "box", "colour", "flags", "warnings", "error"]


def inspect_files(
    paths: list[Path], crop: CropMethod = "auto", workers: int | None = None, progress: bool = True
) -> pd.DataFrame:
    """A row per video or DICOM file (`FILE_COLUMNS`): whether it reads, frame count, frame rate (frames/s),
    size (WxH), the ultrasound region `crop` finds and its box, the colour kind, the sanity flags, and the reading
    warnings or error. Probing decodes a sample of frames per file (`cardiacclip.data.source.probe`)."""

    def one(path: Path) -> dict:
        try:
            video = probe(path, Reading(crop=crop))
            return {
                "file": str(path),
                "readable": True,
                "frames": video.n_frames,
                "fps": round(video.fps, 2) if video.fps else None,
                "size": f"{video.width}x{video.height}",
                "region": video.region.method,
                "box": " ".join(map(str, video.region.box)),
                "colour": video.colour,
                "flags": " ".join(video.flags),
                "warnings": "; ".join(video.warnings),
                "error": "",
            }
        except Exception as exc:  # a file that does not read is this file's row, not the end of the inspection
            return {"file": str(path), "readable": False, "error": str(exc) or type(exc).__name__}

    with ThreadPoolExecutor(workers or min(4, os.cpu_count() or 1)) as pool:
        rows = list(
            progress_bar(pool.map(one, paths), total=len(paths), desc="probing", unit="file", disable=not progress)
        )
    table = pd.DataFrame(rows, columns=FILE_COLUMNS)
    table["frames"] = table["frames"].astype("Int64")
    return table


def plot_ef_histogram(table: pd.DataFrame, path: str | Path) -> Path:
    """EF histogram per split, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.arange(0, 101, 2.5)
    groups = table.groupby("Split") if "Split" in table.columns else [("ALL", table)]
    for split, rows in groups:
        ax.hist(rows["EF"], bins=bins, alpha=0.5, label=f"{split} (n={len(rows)})")
    ax.set_xlabel("EF (%)")
    ax.set_ylabel("videos")
    ax.legend()
    ax.set_title("EF distribution")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


@dataclass
class FolderInspection:
    """What `inspect_folder` found in a plain folder (or a single file): a row per file (`FILE_COLUMNS`)."""

    root: Path
    rows: pd.DataFrame

    @property
    def unreadable(self) -> int:
        return int((~self.rows["readable"].astype(bool)).sum())


def inspect_folder(root: Path, crop: CropMethod = "auto", csv_out: Path | None = None) -> FolderInspection:
    """Every video and DICOM file under `root` (`inspect_files`), the table also written to `csv_out`."""
    from cardiacclip.data.video_io import find_videos

    files = find_videos([root])
    rows = inspect_files(files, crop=crop) if files else pd.DataFrame(columns=FILE_COLUMNS)
    if csv_out is not None and files:
        rows.to_csv(csv_out, index=False)
    return FolderInspection(root, rows)


def run_inspect(
    root: Path,
    decode: bool = True,
    crop: CropMethod = "auto",
    json_out: Path | None = None,
    plot: Path | None = None,
    csv_out: Path | None = None,
) -> InspectionReport | FolderInspection:
    """`cardiacclip inspect`: a dataset report when `root` holds FileList.csv (also as JSON in `json_out`, its EF
    histogram in `plot`), else the per-file table of a plain folder (also as CSV in `csv_out`)."""
    import json
    from dataclasses import asdict

    if not (root / "FileList.csv").is_file():
        return inspect_folder(root, crop, csv_out)
    report = inspect_dataset(root, decode=decode)
    if json_out:
        json_out.write_text(json.dumps(asdict(report), indent=2))
    if plot:
        plot_ef_histogram(read_filelist(root / "FileList.csv"), plot)
    return report
