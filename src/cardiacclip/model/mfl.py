"""Frame aggregation: MFL attention pooling (CardiacCLIP paper, Sec. 2.2) and plain averaging.

MFL scores each frame with a small MLP, s_t = W3 tanh(W2 tanh(W1 f_t)) (D -> 64 -> 64 -> 1),
turns the scores into weights a = softmax_t(s), and forms v = W4 sum_t a_t f_t (D -> D), then
L2-normalizes v. The weights are returned so a user can see which frames the model used.

With `init="identity"` W3 starts at zero (uniform weights) and W4 at the identity, so MFL
begins as frame averaging in the pretrained joint space and learns to depart from it;
`init="random"` is PyTorch's default initialization, as in the reference code.

With `score_input="context"` (not in the paper) the MLP scores f_t together with its differences to the two
frames before and after it, [f_t, f_{t-2} - f_t, f_{t-1} - f_t, f_{t+1} - f_t, f_{t+2} - f_t] (5D -> 64 -> 64 -> 1):
end-diastole is the frame where filling turns into emptying, which one frame alone barely shows (it looks like
the diastasis before it), its neighbours do. The pooled sum still uses the frames themselves.

Tested by tests/model/test_mfl_head.py (with the EF head).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

CONTEXT = 2  # neighbours on each side a "context" score sees


class MFL(nn.Module):
    """Multi-Frame Learning (paper Sec. 2.2): gated attention over frames, (B, T, D) -> (B, D) and weights (B, T).

    Formerly `AttentionMIL` (the gated-MIL pooling it is built like); MFL is the one name now.
    """

    def __init__(
        self,
        dim: int,
        hidden: int = 64,
        init: Literal["identity", "random"] = "identity",
        score_input: Literal["frame", "context"] = "frame",
    ):
        super().__init__()
        self.score_input = score_input
        scored = dim * (1 + 2 * CONTEXT) if score_input == "context" else dim
        self.score = nn.Sequential(
            nn.Linear(scored, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1)
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
        scores = self.score(self._scored(frames)).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores.float(), dim=1).to(frames.dtype)
        pooled = torch.einsum("bt,btd->bd", weights, frames)
        return F.normalize(self.out(pooled), dim=-1), weights

    def _scored(self, frames: torch.Tensor) -> torch.Tensor:
        """What the scoring MLP sees: (B, T, D) frames, or with "context" (B, T, 5D): each frame and its differences
        to the frames `CONTEXT` positions before and after it (the clip's end frames repeated past its ends)."""
        if self.score_input == "frame":
            return frames
        t = frames.shape[1]
        padded = torch.cat([frames[:, :1]] * CONTEXT + [frames] + [frames[:, -1:]] * CONTEXT, dim=1)
        offsets = [o for o in range(-CONTEXT, CONTEXT + 1) if o]
        return torch.cat([frames] + [padded[:, CONTEXT + o : CONTEXT + o + t] - frames for o in offsets], dim=-1)


class MeanPool(nn.Module):
    """Frame averaging (the ablation without MFL)."""

    def forward(self, frames: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if mask is None:
            mask = torch.ones(frames.shape[:2], dtype=torch.bool, device=frames.device)
        weights = mask.to(frames.dtype) / mask.sum(dim=1, keepdim=True).clamp(min=1).to(frames.dtype)
        pooled = torch.einsum("bt,btd->bd", weights, frames)
        return F.normalize(pooled, dim=-1), weights
