"""CardiacCLIP training losses (paper Sec. 2.3; KL term after OrdinalCLIP/NumCLIP).

total = w_ce * CE(logits, category) + w_kl * KL_text->video + w_l1 * |EF_pred - EF|
        (+ w_key_frames * key-frame attention term, off by default: not in the paper)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cardiacclip.config import LossWeights


def text_to_video_kl(logits: torch.Tensor, classes: torch.Tensor, sharpness: float = 10.0) -> torch.Tensor:
    """KL term in the text-to-video direction.

    For each category c present in the batch, the target distribution over the batch items is
    softmax(sharpness * 1[item has class c]) and the prediction is softmax over the batch of
    the c-th column of the logits; the loss is KL(target || prediction), averaged over the
    present categories.
    """
    per_class = logits.float().t()  # (K, B)
    losses = []
    for c in torch.unique(classes):
        target = torch.softmax(sharpness * (classes == c).float(), dim=0)
        log_pred = torch.log_softmax(per_class[c], dim=0)
        losses.append(F.kl_div(log_pred, target, reduction="sum"))
    return torch.stack(losses).mean()


def key_frame_loss(attention: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of MFL's frame weights (B, T) against a target with half its mass on the clip position of
    the traced end-diastole and half on the end-systole (`positions` (B, 2), -1 where the clip holds none),
    averaged over the clips that hold both; 0 when none does."""
    valid = (positions >= 0).all(dim=1)
    if not bool(valid.any()):
        return attention.new_zeros((), dtype=torch.float32)
    weights = attention[valid].float()
    target = torch.zeros_like(weights)
    for column in (0, 1):
        target.scatter_add_(1, positions[valid][:, column : column + 1].long(), torch.full_like(weights[:, :1], 0.5))
    return -(target * torch.log(weights + 1e-8)).sum(dim=1).mean()


@dataclass
class LossTerms:
    total: torch.Tensor
    ce: torch.Tensor
    kl: torch.Tensor
    l1: torch.Tensor


def cardiacclip_loss(
    logits: torch.Tensor,
    ef_pred: torch.Tensor,
    ef: torch.Tensor,
    classes: torch.Tensor,
    weights: LossWeights,
    attention: torch.Tensor | None = None,
    key_positions: torch.Tensor | None = None,
) -> LossTerms:
    ce = F.cross_entropy(logits.float(), classes)
    kl = text_to_video_kl(logits, classes) if weights.kl else logits.new_zeros((), dtype=torch.float32)
    l1 = (ef_pred.float() - ef.float()).abs().mean()
    total = weights.ce * ce + weights.kl * kl + weights.l1 * l1
    if weights.key_frames and attention is not None and key_positions is not None:
        total = total + weights.key_frames * key_frame_loss(attention, key_positions.to(attention.device))
    return LossTerms(total, ce.detach(), kl.detach(), l1.detach())
