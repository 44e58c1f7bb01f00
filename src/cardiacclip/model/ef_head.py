"""From video-text logits to an EF value (CardiacCLIP paper Sec. 2.3; fine stage after NumCLIP, ECCV 2024).

Coarse: p = softmax(logits) over the K categories; EF = sum_k p_k c_k with anchors c
(reference: 15, 37, 50, 62, 85). It can never leave [min c, max c].

Fine (default): each category also predicts where inside its own EF interval the video lies,
sigma_k = (1 + tanh(MLP(logits)_k)) / 2, and EF = sum_k p_k (low_k + width_k sigma_k). The
intervals tile 0-100, so every EF is reachable. The MLP starts with zero output weights and
biases that put each sigma_k at its anchor, so the fine head starts equal to the coarse one.

Tested by tests/model/test_mfl_head.py (with the MFL module).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn


class EFHead(nn.Module):
    def __init__(
        self,
        anchors: Sequence[float],
        lows: Sequence[float],
        highs: Sequence[float],
        mode: Literal["fine", "coarse"] = "fine",
        hidden: int = 32,
    ):
        super().__init__()
        self.mode = mode
        anchors_t = torch.tensor(list(anchors), dtype=torch.float32)
        lows_t = torch.tensor(list(lows), dtype=torch.float32)
        widths_t = torch.tensor(list(highs), dtype=torch.float32) - lows_t
        self.register_buffer("anchors", anchors_t)
        self.register_buffer("lows", lows_t)
        self.register_buffer("widths", widths_t)
        k = len(anchors_t)
        self.refine = nn.Sequential(nn.Linear(k, hidden), nn.GELU(), nn.Linear(hidden, k)) if mode == "fine" else None
        if self.refine is not None:
            position = ((anchors_t - lows_t) / widths_t).clamp(1e-3, 1 - 1e-3)
            with torch.no_grad():
                self.refine[-1].weight.zero_()
                self.refine[-1].bias.copy_(torch.atanh(2 * position - 1))

    def forward(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, K) logits -> (EF prediction (B,), coarse EF (B,))."""
        probs = torch.softmax(logits.float(), dim=-1)
        coarse = probs @ self.anchors
        if self.refine is None:
            return coarse, coarse
        centred = logits.float() - logits.float().mean(dim=-1, keepdim=True)
        position = 0.5 * (1 + torch.tanh(self.refine(centred)))
        values = self.lows + self.widths * position
        return (probs * values).sum(dim=-1), coarse
