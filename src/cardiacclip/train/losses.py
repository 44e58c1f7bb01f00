"""CardiacCLIP training losses (paper Sec. 2.3; KL term after OrdinalCLIP/NumCLIP).

total = w_ce * CE(logits, category) + w_kl * KL_text->video + w_l1 * |EF_pred - EF|
        (+ w_key_frames * key-frame attention term, off by default: not in the paper)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cardiacclip.config import LossWeights
from cardiacclip.data.echonet import KEY_ED, KEY_ES


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


def key_frame_loss(attention: torch.Tensor, marks: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of MFL's frame weights (B, T) against a target that puts half its mass on the clip positions
    marked end-diastolic and half on those marked end-systolic (`marks` (B, T): `KEY_ED`, `KEY_ES` or 0; all of
    it on one kind when the clip holds only that kind), averaged over the clips with a mark; 0 when none has."""
    ed, es = (marks == KEY_ED).float(), (marks == KEY_ES).float()
    n_ed, n_es = ed.sum(dim=1, keepdim=True), es.sum(dim=1, keepdim=True)
    share_ed = torch.where(n_es > 0, 0.5, 1.0) * (n_ed > 0)
    target = share_ed * ed / n_ed.clamp(min=1) + (1 - share_ed) * es / n_es.clamp(min=1)
    marked = (n_ed + n_es).squeeze(1) > 0
    if not bool(marked.any()):
        return attention.new_zeros((), dtype=torch.float32)
    log_weights = torch.log(attention[marked].float() + 1e-8)
    return -(target[marked] * log_weights).sum(dim=1).mean()


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
    key_marks: torch.Tensor | None = None,
) -> LossTerms:
    ce = F.cross_entropy(logits.float(), classes)
    kl = text_to_video_kl(logits, classes) if weights.kl else logits.new_zeros((), dtype=torch.float32)
    l1 = (ef_pred.float() - ef.float()).abs().mean()
    total = weights.ce * ce + weights.kl * kl + weights.l1 * l1
    if weights.key_frames and attention is not None and key_marks is not None:
        total = total + weights.key_frames * key_frame_loss(attention, key_marks.to(attention.device))
    return LossTerms(total, ce.detach(), kl.detach(), l1.detach())
