"""The time limit per file: a read that takes too long becomes that file's error, and nothing else changes."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from cardiacclip.data.deadline import in_child, time_limit
from cardiacclip.data.errors import CorruptVideoError, ReadTimeoutError, VideoReadError


def test_a_read_past_the_limit_is_abandoned_with_the_file_named(tmp_path):
    started = time.monotonic()
    expected = pytest.raises(ReadTimeoutError, match="took longer than the time limit.*more than 0.2 s")
    with expected as raised, time_limit(tmp_path / "slow.avi", 0.2):
        time.sleep(5)
    assert time.monotonic() - started < 2
    assert isinstance(raised.value, VideoReadError) and raised.value.path.name == "slow.avi"


def test_a_reader_catching_every_exception_cannot_swallow_the_limit(tmp_path):
    with pytest.raises(ReadTimeoutError), time_limit(tmp_path / "x.dcm", 0.1):
        for _ in range(100):
            try:
                time.sleep(0.05)
            except Exception:  # what a decoder that retries on any error does
                continue


def test_a_read_within_the_limit_leaves_no_timer_and_the_old_handler(tmp_path):
    before = signal.getsignal(signal.SIGALRM)
    with time_limit(tmp_path / "x.avi", 5):
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == before


def test_outside_the_main_thread_and_with_no_limit_the_body_just_runs(tmp_path):
    done = []

    def body():
        with time_limit(tmp_path / "x.avi", 0.01):
            time.sleep(0.1)
            done.append("thread")

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    with time_limit(tmp_path / "x.avi", None):
        time.sleep(0.05)
        done.append("none")
    assert done == ["thread", "none"]


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _refuse(path) -> None:
    raise CorruptVideoError(path, "frame 3 does not decode")


def test_in_child_returns_raises_and_kills_at_the_limit(tmp_path):
    assert in_child(_sleep, (0.01,), tmp_path / "x.avi", 30) == 0.01
    with pytest.raises(CorruptVideoError, match="x.avi: corrupt video stream .frame 3 does not decode"):
        in_child(_refuse, (tmp_path / "x.avi",), tmp_path / "x.avi", 30)
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError, match="more than 0.5 s"):
        in_child(_sleep, (60,), tmp_path / "slow.avi", 0.5)
    assert time.monotonic() - started < 10
