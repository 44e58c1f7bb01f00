"""The learning-rate schedule every trainer here uses: linear warm-up, then cosine decay to zero (or constant)."""

from __future__ import annotations

import math
from typing import Literal

import torch


def warmup_cosine(
    optimizer: torch.optim.Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    shape: Literal["cosine", "constant"] = "cosine",
) -> torch.optim.lr_scheduler.LambdaLR:
    """Scale each group's learning rate by (step+1)/warmup during warm-up, then by
    0.5 (1 + cos(pi * progress)) over the remaining steps (`shape="constant"`: 1). Step it once per optimizer step."""

    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        if shape == "constant":
            return 1.0
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
