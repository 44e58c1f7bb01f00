"""What FFmpeg and ITK say about the file being read, caught so that it is reported once, as that file's warning
or in its error, instead of reaching the terminal or the log on its own.

- FFmpeg (through PyAV): PyAV drops FFmpeg's messages unless a log level is set. `ffmpeg_messages` sets WARNING
  for the duration of one read and captures the messages of every thread (a decoder's own threads report a
  damaged H.264 stream; a job reads one file at a time per process). Messages outside a capture go to the
  `libav` logger, shown only with `-v` (`cardiacclip.logging_setup`).
- ITK and its NIfTI library (through SimpleITK) write to the process's standard error. `stderr_messages` points
  file descriptor 2 at a temporary file for the duration of one read.

Every message is logged in full at DEBUG (`-v`).

Tested by tests/data/test_library_messages.py.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import av
import av.logging

from cardiacclip.data.errors import VideoReadError

log = logging.getLogger(__name__)

SHOWN = 3  # distinct messages quoted in a file's warning
# said of intact files too (swscale's notice about JPEG-range pixel formats, for every Motion-JPEG AVI): DEBUG only
HARMLESS = ("deprecated pixel format used",)


def summary(library: str, messages: list[str]) -> str | None:
    """One line for a file's warning or error: the distinct messages (the first `SHOWN`), or None when none."""
    lines = (" ".join(message.split()) for message in messages)
    distinct = list(dict.fromkeys(line for line in lines if line and not line.startswith(HARMLESS)))
    if not distinct:
        return None
    more = f" (and {len(distinct) - SHOWN} more)" if len(distinct) > SHOWN else ""
    return f"{library} reported: {'; '.join(distinct[:SHOWN])}{more}"


@contextmanager
def ffmpeg_messages(into: list[str]) -> Iterator[None]:
    """FFmpeg's messages (WARNING and up) during the body, appended to `into` as one `summary` line, or to the
    detail of a `VideoReadError` the body raises."""
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    captured: list = []
    failed = None
    try:
        with av.logging.Capture(local=False) as captured:
            yield
    except VideoReadError as exc:
        failed = exc
    finally:
        av.logging.set_level(previous)
        messages = [str(message) for _, _, message in captured]
        _report("FFmpeg", messages, [] if failed is not None else into)
    if failed is not None:
        raise _with_messages(failed, summary("FFmpeg", messages)) from failed.__cause__


def _with_messages(exc: VideoReadError, line: str | None) -> VideoReadError:
    """The same error with the library's messages added to its detail."""
    if line is None:
        return exc
    return type(exc)(exc.path, "; ".join(part for part in (exc.detail, line) if part))


@contextmanager
def stderr_messages(into: list[str]) -> Iterator[None]:
    """What C libraries write to standard error during the body, appended to `into` as one `summary` line."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            _report("ITK", sink.read().decode(errors="replace").splitlines(), into)


def _report(library: str, messages: list[str], into: list[str]) -> None:
    for message in messages:
        log.debug("%s: %s", library, " ".join(message.split()))
    line = summary(library, messages)
    if line is not None:
        into.append(line)
