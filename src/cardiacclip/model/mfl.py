"""Frame aggregation: MFL attention pooling (CardiacCLIP paper, Sec. 2.2) and plain averaging.

MFL scores each frame with a small MLP, s_t = W3 tanh(W2 tanh(W1 f_t)) (D -> 64 -> 64 -> 1),
turns the scores into weights a = softmax_t(s), and forms v = W4 sum_t a_t f_t (D -> D), then
L2-normalizes v. The weights are returned so a user can see which frames the model used.

With `init="identity"` W3 starts at zero (uniform weights) and W4 at the identity, so MFL
begins as frame averaging in the pretrained joint space and learns to depart from it;
`init="random"` is PyTorch's default initialization, as in the reference code.

Tested by tests/model/test_mfl_head.py (with the EF head).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn


class MFL(nn.Module):
    """Multi-Frame Learning (paper Sec. 2.2): gated attention over frames, (B, T, D) -> (B, D) and weights (B, T).

    Formerly `AttentionMIL` (the gated-MIL pooling it is built like); MFL is the one name now.
    """

    def __init__(self, dim: int, hidden: int = 64, init: Literal["identity", "random"] = "identity"):
        super().__init__()
        self.score = nn.Sequential(
            nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1)
        )
        self.out = nn.Linear(dim, dim)
        if init == "identity":
            with torch.no_grad():
                self.score[-1].weight.zero_()
                self.score[-1].bias.zero_()
                self.out.weight.copy_(torch.eye(dim))
                self.out.bias.zero_()

    def forward(self, frames: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, D) frame features -> ((B, D) unit video embedding, (B, T) frame weights summing to 1).

        `mask` (B, T) bool marks real frames; padded frames get zero weight.
        """
        scores = self.score(frames).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores.float(), dim=1).to(frames.dtype)
        pooled = torch.einsum("bt,btd->bd", weights, frames)
        return F.normalize(self.out(pooled), dim=-1), weights


class MeanPool(nn.Module):
    """Frame averaging (the ablation without MFL)."""

    def forward(self, frames: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if mask is None:
            mask = torch.ones(frames.shape[:2], dtype=torch.bool, device=frames.device)
        weights = mask.to(frames.dtype) / mask.sum(dim=1, keepdim=True).clamp(min=1).to(frames.dtype)
        pooled = torch.einsum("bt,btd->bd", weights, frames)
        return F.normalize(pooled, dim=-1), weights
