"""A time limit per file: reading one damaged file never holds up a batch.

`time_limit` arms a timer (SIGALRM) around the reading of one file; when it fires, the read is abandoned with a
`ReadTimeoutError` naming the file, which every job turns into that file's error. The limit holds wherever a file
is read in a process's main thread: `predict` (and its DataLoader workers), `convert` (and its worker
processes), the probes before training and evaluation. It cannot interrupt a thread (the server reads uploads in
one: it bounds them by size instead) nor a decoder stuck inside one call to a C library that never returns.

Tested by tests/data/test_deadline.py.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cardiacclip.data.errors import ReadTimeoutError

FILE_TIME_LIMIT = 120.0  # seconds one file may take to read and prepare (a 1,000-frame DICOM takes a few)


class _Expired(BaseException):
    """Raised by the timer; a BaseException, so that a reader's own `except Exception` cannot swallow it."""


@contextmanager
def time_limit(path: str | Path, seconds: float | None = FILE_TIME_LIMIT) -> Iterator[None]:
    """Run the body with at most `seconds` of wall time (None or 0: no limit), else `ReadTimeoutError(path)`.
    Outside a process's main thread, or where the platform has no interval timer, the body runs without one."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
        signal.setitimer(signal.ITIMER_REAL, 0)  # inside the try: a timer firing just before is still caught
    except _Expired:
        raise ReadTimeoutError(path, f"more than {seconds:g} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
