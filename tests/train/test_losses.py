from __future__ import annotations

import math

import pytest
import torch

from cardiacclip.train.losses import text_to_video_kl


def test_kl_term_matches_hand_computation():
    logits = torch.tensor([[2.0, 0.5], [0.1, 1.0], [1.5, 0.2]])
    classes = torch.tensor([0, 1, 0])
    expected = 0.0
    for c in (0, 1):
        target = torch.softmax(10 * (classes == c).float(), 0)
        pred = torch.softmax(logits[:, c], 0)
        expected += float((target * (target.log() - pred.log())).sum())
    assert text_to_video_kl(logits, classes).item() == pytest.approx(expected / 2, rel=1e-5)
    assert math.isfinite(text_to_video_kl(logits, torch.tensor([1, 1, 1])).item())
