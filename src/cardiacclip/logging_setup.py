"""One place that configures logging for the command line (library code only creates loggers)."""

from __future__ import annotations

import logging

from rich.logging import RichHandler


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(show_path=False, rich_tracebacks=False)],
        force=True,
    )
    for noisy in ("matplotlib", "PIL", "urllib3", "httpx", "huggingface_hub", "timm", "root"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
