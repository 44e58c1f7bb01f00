"""One place that configures logging for the command line (library code only creates loggers).

Logs go to standard error, so JSON written to standard output stays valid.

Tested by every command-line test (tests/test_cli.py) and tests/test_progress.py (log lines off a terminal).
"""

from __future__ import annotations

import logging
import os
import sys

from rich.console import Console
from rich.logging import RichHandler


class CurrentStderr(logging.StreamHandler):
    """A handler that writes to whatever `sys.stderr` is when a record is emitted (not the stream of the moment it
    was made), so a caller that swaps stderr for a while (a test runner, a notebook) never leaves it writing to a
    closed stream."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # logging.StreamHandler assigns it; the current stderr is always used
        pass


# Libraries that log what they also raise or warn about: the readers turn that into the file's reason or warning,
# so their own records (pydicom's come with full tracebacks; FFmpeg's through PyAV) only show with -v.
REPEATING = ("pydicom", "libav")
NOISY = (
    *("matplotlib", "PIL", "urllib3", "httpx", "huggingface_hub", "timm", "filelock", "fsspec"),
    *("highdicom", "dicomweb_client"),
)


def configure_logging(verbose: bool = False) -> None:
    """INFO (DEBUG with `verbose`) to stderr, rich on a terminal, plain lines elsewhere; third-party chatter only from
    WARNING up, and the libraries in `REPEATING` not at all unless `verbose`; Python warnings become one log line
    each. Under torchrun, ranks other than 0 log warnings and errors only (rank 0 reports the run)."""
    level = logging.DEBUG if verbose else logging.INFO
    if int(os.environ.get("RANK", "0")) > 0:
        level = logging.WARNING
    if sys.stderr.isatty():
        handler: logging.Handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
    else:  # a log file or a pipe: one plain line per record, never wrapped
        handler = CurrentStderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("cardiacclip").setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for repeating in REPEATING:
        logging.getLogger(repeating).setLevel(logging.DEBUG if verbose else logging.CRITICAL + 1)
    logging.captureWarnings(True)
