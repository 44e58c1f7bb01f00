"""CardiacCLIP training losses (paper Sec. 2.3; KL term after OrdinalCLIP/NumCLIP).

total = w_ce * CE(logits, category) + w_kl * KL_text->video + w_l1 * |EF_pred - EF|
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


@dataclass
class LossTerms:
    total: torch.Tensor
    ce: torch.Tensor
    kl: torch.Tensor
    l1: torch.Tensor


def cardiacclip_loss(
    logits: torch.Tensor, ef_pred: torch.Tensor, ef: torch.Tensor, classes: torch.Tensor, weights: LossWeights
) -> LossTerms:
    ce = F.cross_entropy(logits.float(), classes)
    kl = text_to_video_kl(logits, classes) if weights.kl else logits.new_zeros((), dtype=torch.float32)
    l1 = (ef_pred.float() - ef.float()).abs().mean()
    total = weights.ce * ce + weights.kl * kl + weights.l1 * l1
    return LossTerms(total, ce.detach(), kl.detach(), l1.detach())
