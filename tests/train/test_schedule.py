from __future__ import annotations

import pytest
import torch

from cardiacclip.train.schedule import warmup_cosine


def lrs(total: int, warmup: int, shape: str = "cosine") -> list[float]:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    schedule = warmup_cosine(optimizer, total, warmup, shape)
    out = []
    for _ in range(total):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return out


def test_warmup_then_cosine_to_zero():
    values = lrs(12, 2)
    assert values[:2] == pytest.approx([0.5, 1.0])
    assert values[2] == pytest.approx(1.0) and values[7] == pytest.approx(0.5)  # halfway through the decay
    assert all(a >= b for a, b in zip(values[2:], values[3:], strict=False)) and values[-1] < 0.05


def test_constant_after_warmup():
    assert lrs(6, 3, "constant") == pytest.approx([1 / 3, 2 / 3, 1, 1, 1, 1])
