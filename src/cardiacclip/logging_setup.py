"""One place that configures logging for the command line (library code only creates loggers).

Logs go to standard error, so JSON written to standard output stays valid.
"""

from __future__ import annotations

import logging
import os
import sys

from rich.console import Console
from rich.logging import RichHandler

NOISY = ("matplotlib", "PIL", "urllib3", "httpx", "huggingface_hub", "timm", "filelock", "fsspec")


def configure_logging(verbose: bool = False) -> None:
    """INFO (DEBUG with `verbose`) to stderr, rich on a terminal, plain lines elsewhere; third-party chatter only from
    WARNING up. Under torchrun, ranks other than 0 log warnings and errors only (rank 0 reports the run)."""
    level = logging.DEBUG if verbose else logging.INFO
    if int(os.environ.get("RANK", "0")) > 0:
        level = logging.WARNING
    if sys.stderr.isatty():
        handler: logging.Handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
    else:  # a log file or a pipe: one plain line per record, never wrapped
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("cardiacclip").setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
