"""Output paths of the jobs: checked before any work starts, so a mistake is one line, not a traceback later.

Tested by tests/test_cli_mistakes.py (unwritable outputs).
"""

from __future__ import annotations

import os
from pathlib import Path


class OutputError(ValueError):
    """An output path that cannot be used (a file where a folder is needed, not writable, exists without
    --overwrite/--resume, inside another output); the message says what to pass instead."""


def output_folder(path: str | Path) -> Path:
    """Create the folder `path` (and its parents) or raise `OutputError` saying why it cannot be one."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file, not a folder; pass a folder path for the output")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the output folder ({exc.strerror}); pass a writable folder") from None
    if not os.access(path, os.W_OK):
        raise OutputError(f"{path}: the output folder is not writable; pass a writable folder")
    return path
