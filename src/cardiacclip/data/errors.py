"""Typed errors of the data layer.

Every error names the file (or the FileList row) and the reason, so that a user with a
10,000-video archive can find and fix the one broken input without reading a traceback.

Tested by tests/data/test_dicom.py, tests/data/test_video_io.py and tests/data/test_echonet.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


class VideoReadError(Exception):
    """A video file could not be turned into frames."""

    reason = "unreadable video"

    def __init__(self, path: str | Path, detail: str | None = None):
        self.path = Path(path)
        self.detail = detail
        message = f"{self.path}: {self.reason}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)

    def __reduce__(self):  # pickled as (path, detail), so that a worker process's error arrives as raised
        return type(self), (self.path, self.detail)


class VideoNotFoundError(VideoReadError, FileNotFoundError):
    reason = "file not found"


class EmptyFileError(VideoReadError):
    reason = "file is empty (0 bytes)"


class NotAVideoError(VideoReadError):
    reason = "not a video"


class CorruptVideoError(VideoReadError):
    reason = "corrupt video stream"


class NoFramesError(VideoReadError):
    reason = "no decodable frames"


class SingleFrameError(NotAVideoError):
    reason = "a single still image, not a video: LVEF needs a cine loop of the cardiac cycle"


class UnsupportedEncodingError(VideoReadError):
    reason = "unsupported pixel encoding"


class ReadTimeoutError(VideoReadError):
    reason = "reading took longer than the time limit per file"


class DatasetError(Exception):
    """A dataset folder or FileList that cannot be used as given."""


class UnusableVideosError(DatasetError):
    """Listed videos that are missing, unreadable or flagged, found before the first epoch; all of them are named
    at once, each with its reason."""

    def __init__(self, problems: Mapping[str, str], filelist: str | Path, split: str):
        self.problems = dict(problems)
        shown = "\n  ".join(f"{name}: {reason}" for name, reason in list(self.problems.items())[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(
            f"{len(self.problems)} video(s) of split {split!r} in {filelist} cannot be used:\n  {shown}{more}\n"
            "Fix or remove them, or pass --skip-unreadable (data.skip_unreadable=true) to leave them out."
        )


class InvalidLabelError(DatasetError):
    """FileList rows whose EF is missing, not a number or outside [0, 100]; all of them are named at once."""

    def __init__(self, rows: Sequence[tuple[int, str, str]], source: str | Path):
        self.rows = list(rows)
        lines = "\n  ".join(f"line {line}: FileName={name!r} EF={value!r}" for line, name, value in self.rows[:50])
        super().__init__(
            f"{source}: {len(self.rows)} row(s) whose EF is missing, not a number or outside [0, 100]:\n  {lines}"
        )
