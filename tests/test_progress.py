from __future__ import annotations

import logging

from cardiacclip import progress


def test_a_log_file_gets_a_plain_line_per_tenth_not_redraws(caplog, monkeypatch):
    monkeypatch.setattr(progress.sys.stderr, "isatty", lambda: False)
    with caplog.at_level(logging.INFO, logger="cardiacclip.progress"):
        items = list(progress.progress_bar(range(50), desc="probing videos", unit="video"))
    lines = [r.getMessage() for r in caplog.records]
    assert items == list(range(50))
    assert len(lines) == 11 and lines[0].startswith("probing videos:  10% 5/50 video") and lines[-1].endswith("(done)")
    assert not any("\r" in line for line in lines)


def test_inner_loops_log_only_every_30_seconds(caplog, monkeypatch):
    monkeypatch.setattr(progress.sys.stderr, "isatty", lambda: False)
    clock = iter(range(0, 10_000, 7))  # every call 7 s later
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    with caplog.at_level(logging.INFO, logger="cardiacclip.progress"):
        bar = progress.progress_bar(total=20, desc="epoch 1/60", unit="batch", leave=False)
        for _ in range(20):
            bar.update()
        bar.set_postfix(loss="1.234")
        bar.close()
    lines = [r.getMessage() for r in caplog.records]
    assert 3 <= len(lines) <= 5 and all("epoch 1/60:" in line for line in lines)  # 140 s: one per 30 s


def test_a_terminal_gets_a_tqdm_bar(monkeypatch):
    monkeypatch.setattr(progress.sys.stderr, "isatty", lambda: True)
    bar = progress.progress_bar(total=3, desc="x")
    assert isinstance(bar, progress.tqdm) and not isinstance(bar, progress.LogProgress)
    bar.close()


def test_the_bar_does_not_change_a_shuffled_loaders_batches(monkeypatch):
    import torch
    from torch.utils.data import DataLoader

    def batches(wrap) -> list[list[int]]:
        loader = DataLoader(list(range(12)), batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(7))
        return [[b.tolist() for b in wrap(loader)] for _ in range(2)]  # two epochs

    plain = batches(lambda loader: loader)
    for tty in (True, False):
        monkeypatch.setattr(progress.sys.stderr, "isatty", lambda tty=tty: tty)
        assert batches(lambda loader: progress.progress_bar(loader, desc="epoch", leave=False)) == plain
        assert batches(lambda loader: progress.progress_bar(loader, disable=True)) == plain
