"""The EchoNet-Dynamic tables: FileList.csv and VolumeTracings.csv.

FileList.csv columns: FileName (no extension; `.avi` implied), EF, ESV, EDV, FrameHeight,
FrameWidth, FPS, NumberOfFrames, Split (TRAIN/VAL/TEST, matched case-insensitively).
VolumeTracings.csv columns: FileName (with `.avi`), X1, Y1, X2, Y2, Frame; per traced frame
the first row is the LV long axis and the others are chords across the cavity.

The released files carry a UTF-8 byte-order mark and CRLF line ends; both are read as they are.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cardiacclip.data.errors import DatasetError, InvalidLabelError
from cardiacclip.data.video_io import DICOM_SUFFIXES, VIDEO_SUFFIXES

# FileList.csv's columns in EchoNet-Dynamic's order and what each holds; the manual's reference lists them from here.
FILELIST_COLUMNS = {
    "FileName": "the video's name under Videos/, without extension (.avi implied; a DICOM keeps its .dcm)",
    "EF": "LVEF in percent, 0-100 (the label)",
    "ESV": "end-systolic volume in mL (EchoNet-Dynamic; optional)",
    "EDV": "end-diastolic volume in mL (EchoNet-Dynamic; optional)",
    "FrameHeight": "frame height in pixels",
    "FrameWidth": "frame width in pixels",
    "FPS": "frame rate in frames per second",
    "NumberOfFrames": "number of frames",
    "Split": "TRAIN, VAL or TEST (case-insensitive)",
}
# Columns other writers add to FileList.csv and readers use when present.
FILELIST_EXTRA_COLUMNS = {
    "EDFrame": "0-based end-diastolic frame (convert --from; the key-frame metric uses it without VolumeTracings.csv)",
    "ESFrame": "0-based end-systolic frame",
    "EF_method": "convert --labels-from-sr: how the echo report measured the EF (biplane, single plane, Teichholz)",
}
# Beats.csv, beside VolumeTracings.csv in a synthetic dataset: every complete beat of every video (ED -> ES -> next
# ED), the truth beat-by-beat methods are measured against.
BEAT_COLUMNS = {
    "FileName": "the video's name, as in FileList.csv",
    "Beat": "0-based index of the complete beat in the video",
    "EDFrame": "0-based end-diastolic frame that starts the beat",
    "ESFrame": "0-based end-systolic frame of the beat",
    "NextEDFrame": "0-based end-diastolic frame that ends the beat (the next beat's EDFrame)",
    "EF": "the beat's LVEF in percent, by the method of disks on its EDFrame and ESFrame",
    "EDV": "end-diastolic volume in mL",
    "ESV": "end-systolic volume in mL",
    "RR_ms": "the beat's ED-to-ED interval in milliseconds",
}
BEATS_FILE = "Beats.csv"
SPLITS = ("TRAIN", "VAL", "TEST")


def read_table(path: str | Path, what: str, **options) -> pd.DataFrame:
    """A CSV table a user gives (a FileList, labels, a study map, tracings), read as UTF-8 with or without a
    byte-order mark. A file that is not UTF-8 text, is empty or does not parse as CSV is a `DatasetError` naming
    the file and what to do; `options` go to `pandas.read_csv`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # rows longer than the header: refused, not cut
            return pd.read_csv(path, encoding="utf-8-sig", index_col=False, **options)
    except pd.errors.ParserWarning:
        raise DatasetError(f"{path}: the {what} has rows with more fields than its header") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: the {what} is not UTF-8 text (byte {exc.start}): save it as UTF-8 CSV") from None
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path}: the {what} is empty") from None
    except pd.errors.ParserError as exc:
        reason = str(exc).splitlines()[0][:160]
        raise DatasetError(f"{path}: the {what} does not parse as CSV ({reason})") from None


def video_file_name(name: str) -> str:
    """FileList names carry no extension in EchoNet-Dynamic: `.avi` is implied."""
    suffix = Path(name).suffix.lower()
    return name if suffix in VIDEO_SUFFIXES | DICOM_SUFFIXES else f"{name}.avi"


def _checked_ef(df: pd.DataFrame, path: Path) -> pd.Series:
    """The EF column as float percent; an absent column, or rows whose EF is missing, not a number or outside
    [0, 100], are an error naming them (line numbers count the header as line 1)."""
    if "EF" not in df.columns:
        raise DatasetError(f"{path}: no EF column (columns: {list(df.columns)})")
    ef = pd.to_numeric(df["EF"], errors="coerce")
    bad = ef.isna() | ~np.isfinite(ef.fillna(0.0)) | (ef < 0) | (ef > 100)
    if bad.any():
        rows = [(int(i) + 2, str(df.at[i, "FileName"]), str(df.at[i, "EF"])) for i in df.index[bad]]
        raise InvalidLabelError(rows, path)
    return ef.astype(float)


def read_filelist(path: str | Path, require_ef: bool = True) -> pd.DataFrame:
    """Read a FileList in the EchoNet-Dynamic format.

    Returns a DataFrame with the file's columns, `Split` upper-cased, `EF` as float (percent)
    and a `VideoFile` column (the name with its extension). Rows whose EF is missing, not a
    number or outside [0, 100] raise `InvalidLabelError` naming every such row (when
    `require_ef`); a FileName listed more than once raises `DatasetError` naming the lines.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: FileList not found")
    df = read_table(path, "FileList", dtype={"FileName": str, "Split": str}, keep_default_na=True)
    df.columns = [str(c).strip() for c in df.columns]
    if "FileName" not in df.columns:
        raise DatasetError(f"{path}: no FileName column (columns: {list(df.columns)})")
    df["FileName"] = df["FileName"].astype(str).str.strip()
    if "Split" in df.columns:
        df["Split"] = df["Split"].astype(str).str.strip().str.upper()
    if require_ef:
        df["EF"] = _checked_ef(df, path)
    duplicated = df["FileName"].duplicated(keep=False)
    if duplicated.any():
        lines = df.index[duplicated].groupby(df.loc[duplicated, "FileName"])
        shown = "\n  ".join(
            f"{name}: lines {', '.join(str(int(i) + 2) for i in rows)}" for name, rows in list(lines.items())[:50]
        )
        raise DatasetError(
            f"{path}: {len(lines)} FileName(s) listed more than once (each video must appear once):\n  {shown}"
        )
    df["VideoFile"] = df["FileName"].map(video_file_name)
    return df


def select_split(df: pd.DataFrame, split: str | None) -> pd.DataFrame:
    """Rows of one split (case-insensitive), or all rows for None/"all"."""
    if split is None or split.lower() == "all":
        return df
    if "Split" not in df.columns:
        raise DatasetError("the FileList has no Split column; pass split='all' or a split file")
    return df[df["Split"] == split.upper()]


def write_filelist(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a FileList in the EchoNet-Dynamic column order (extra columns kept at the end)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [c for c in FILELIST_COLUMNS if c in df.columns]
    columns += [c for c in df.columns if c not in columns and c != "VideoFile"]
    df[columns].to_csv(path, index=False)
    return path


def read_volume_tracings(path: str | Path) -> dict[str, dict[int, np.ndarray]]:
    """VolumeTracings.csv as {video file name: {frame: (rows, 4) array of X1, Y1, X2, Y2}}.

    Frames keep the order in which they are listed: EchoNet-Dynamic takes the first listed
    frame as end-systolic (small) and the last as end-diastolic (large).
    """
    df = read_table(path, "VolumeTracings.csv")
    df.columns = [str(c).strip() for c in df.columns]
    tracings: dict[str, dict[int, np.ndarray]] = {}
    for (name, frame), rows in df.groupby(["FileName", "Frame"], sort=False):
        tracings.setdefault(str(name), {})[int(frame)] = rows[["X1", "Y1", "X2", "Y2"]].to_numpy(float)
    return tracings


def key_frames(root: str | Path) -> dict[str, tuple[int, int]]:
    """{video file name: (end-systolic frame, end-diastolic frame)} of a dataset folder: from VolumeTracings.csv
    (the first frame listed is ES, the last ED), else from FileList.csv's ESFrame and EDFrame columns (what
    `convert --from camus|echonet-pediatric` writes). Videos with no pair are left out."""
    root = Path(root)
    if (root / "VolumeTracings.csv").is_file():
        tracings = read_volume_tracings(root / "VolumeTracings.csv")
        return {name: (list(frames)[0], list(frames)[-1]) for name, frames in tracings.items() if len(frames) >= 2}
    if not (root / "FileList.csv").is_file():
        return {}
    table = read_table(root / "FileList.csv", "FileList")
    if not {"ESFrame", "EDFrame"} <= set(table.columns):
        return {}
    table = table.dropna(subset=["ESFrame", "EDFrame"])
    names = [video_file_name(str(n)) for n in table["FileName"]]
    return dict(zip(names, zip(table["ESFrame"].astype(int), table["EDFrame"].astype(int), strict=True), strict=True))


def key_frame_lists(root: str | Path) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """{video file name: (end-diastolic frames, end-systolic frames)} of a dataset folder: every complete beat's
    from Beats.csv where the folder has one (a synthetic dataset), else the one pair of `key_frames`."""
    beats = read_beats(root)
    if beats is None:
        return {name: ((ed,), (es,)) for name, (es, ed) in key_frames(root).items()}
    return {
        video_file_name(str(name)): (tuple(rows["EDFrame"].astype(int)), tuple(rows["ESFrame"].astype(int)))
        for name, rows in beats.groupby("FileName", sort=False)
    }


def read_beats(root: str | Path) -> pd.DataFrame | None:
    """A dataset folder's Beats.csv (`BEAT_COLUMNS`), FileName without extension; None when it has none."""
    path = Path(root) / BEATS_FILE
    if not path.is_file():
        return None
    table = read_table(path, "Beats")
    missing = [c for c in BEAT_COLUMNS if c not in table.columns]
    if missing:
        raise DatasetError(f"{path}: missing columns {missing}")
    table["FileName"] = [Path(str(n)).stem if str(n).endswith(".avi") else str(n) for n in table["FileName"]]
    return table


def volume_from_tracing(coords: np.ndarray) -> float:
    """LV volume (cubic pixels) by the method of disks on one traced frame.

    Row 0 is the long axis; the other rows are chords perpendicular to it, each the diameter
    of a disk whose height is the long-axis length divided by the number of chords.
    """
    axis = coords[0]
    length = float(np.hypot(axis[2] - axis[0], axis[3] - axis[1]))
    chords = coords[1:]
    diameters = np.hypot(chords[:, 2] - chords[:, 0], chords[:, 3] - chords[:, 1])
    return float(np.sum(np.pi * (diameters / 2.0) ** 2) * length / max(len(chords), 1))
