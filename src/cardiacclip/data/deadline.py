"""A time limit per file: reading one damaged file never holds up a batch or a server.

`time_limit` arms a timer (SIGALRM) around the reading of one file; when it fires, the read is abandoned with a
`ReadTimeoutError` naming the file, which every job turns into that file's error. It holds wherever a file is
read in a process's main thread: `predict` (and its DataLoader workers), `convert` (and its worker processes),
the probes before training and evaluation; it cannot stop a decoder stuck inside one call to a C library.
`in_child` runs a read in a child process instead and kills it at the limit, wherever it is stuck: the server,
whose requests run in threads, reads uploads that way.

Tested by tests/data/test_deadline.py.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import pickle
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cardiacclip.data.errors import ReadTimeoutError, VideoReadError

FILE_TIME_LIMIT = 120.0  # seconds one file may take to read and prepare (a 1,000-frame DICOM takes a few)
READERS = ["cardiacclip.data.prepare"]  # what `in_child`'s fork server imports for every child (torch included)


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


def in_child(
    function: Callable[..., Any], args: tuple, path: str | Path, seconds: float, preload: list[str] | None = None
) -> Any:
    """`function(*args)` in a child process started by a fork server (which imports the readers and `preload` once,
    when the first call starts it, and never runs the caller's threads or torch's thread pool), killed after
    `seconds`: what the function returned, the exception it raised, or `ReadTimeoutError(path)`. The function must
    be importable and its arguments and result picklable."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*READERS, *(preload or [])])
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_answer, args=(function, args, send), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(seconds):
            raise ReadTimeoutError(path, f"more than {seconds:g} s")
        succeeded, value = pickle.loads(receive.recv_bytes())
    except EOFError:  # the child died without answering (killed for memory, a crash in a decoder)
        raise VideoReadError(path, "the reading process ended without an answer") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    if succeeded:
        return value
    raise value


def start_fork_server(preload: list[str]) -> None:
    """Start `in_child`'s fork server now (it imports `preload` once, a few seconds), not at the first read."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*READERS, *preload])
    multiprocessing.forkserver.ensure_running()


def _answer(function: Callable[..., Any], args: tuple, send) -> None:
    """The child's side of `in_child`: what reading noticed travels with the result, so the child logs nothing."""
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    try:
        answer = (True, function(*args))
    except Exception as exc:  # handed to the caller, which raises it
        answer = (False, exc)
    try:  # plain pickle: tensors travel by value, not as shared memory that dies with this process
        data = pickle.dumps(answer)
    except Exception as exc:  # an unpicklable result or exception: its words still arrive
        data = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    send.send_bytes(data)
