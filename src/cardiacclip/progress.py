"""Progress on long work, for a person at a terminal and for a log file alike.

On a terminal (standard error is a TTY) `progress_bar` is a tqdm bar, redrawn in place. Anywhere
else (`make demo > log 2>&1`, a batch job, CI) redraws would fill the file with carriage returns,
so it logs one plain INFO line when another 10 % is done or 30 s have passed, and a last line with
the total time. Inner loops (`leave=False`: an epoch's batches, a validation pass, whose results
are logged anyway) log only every 30 s. Every loop of the package that a person waits on goes
through it.

Either way the loop sees the same items in the same order (a test checks it). That is why the bar
is `tqdm.std`'s, not `tqdm.auto`'s: the latter's asyncio bar calls iter() on its iterable when it is
made, which starts a second pass over a DataLoader and draws from its shuffling generator, so a
run's batches depended on the bar.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from tqdm import tqdm

log = logging.getLogger("cardiacclip.progress")

PARTS = 10  # a log line each time another tenth is done...
LINE_EVERY_SECONDS = 30.0  # ...or per 30 s, whichever comes first


def progress_bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    disable: bool = False,
    leave: bool = True,
):
    """A tqdm bar on a terminal, `LogProgress` elsewhere: iterate it, or call `update(n)`, `set_postfix(...)`
    and `close()`. `total` defaults to `len(iterable)`."""
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if disable or sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=leave)
    return LogProgress(iterable, total=total, desc=desc, unit=unit, inner=not leave)


class LogProgress:
    """Progress as plain log lines (see the module docstring); the same calls as a tqdm bar."""

    def __init__(
        self, iterable: Iterable | None = None, *, total: int | None, desc: str, unit: str, inner: bool = False
    ):
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc or "progress", unit
        self.inner = inner  # only time-based lines, no closing line
        self.n, self.postfix, self.closed = 0, "", False
        self.started = self.last_time = time.monotonic()
        self.last_part = 0

    def __iter__(self) -> Iterator:
        for item in self.iterable or ():
            yield item
            self.update()
        self.close()

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        part = self.n * PARTS // self.total if self.total and not self.inner else 0
        if part > self.last_part or now - self.last_time >= LINE_EVERY_SECONDS:
            self.last_part, self.last_time = part, now
            log.info("%s", self._line(now))

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        if not self.closed and self.n and not self.inner:
            log.info("%s (done)", self._line(time.monotonic()))
        self.closed = True

    def _line(self, now: float) -> str:
        done = f"{self.n}/{self.total}" if self.total else str(self.n)
        share = f" {100 * self.n / self.total:3.0f}%" if self.total else ""
        postfix = f", {self.postfix}" if self.postfix else ""
        return f"{self.desc}:{share} {done} {self.unit}, {now - self.started:.0f} s{postfix}"
