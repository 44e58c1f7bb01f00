from __future__ import annotations

import math

import pytest
import torch

from cardiacclip.train.losses import key_frame_loss, text_to_video_kl


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


def test_key_frame_loss_rewards_weight_on_the_traced_frames():
    positions = torch.tensor([[2, 6], [-1, 3]])  # the second clip holds no ED: left out
    uniform = torch.full((2, 8), 1 / 8)
    on_key = torch.full((2, 8), 0.01)
    on_key[0, 2] = on_key[0, 6] = 0.47
    on_es_only = torch.full((2, 8), 0.01)
    on_es_only[0, 6] = 0.93
    losses = [float(key_frame_loss(weights, positions)) for weights in (on_key, uniform, on_es_only)]
    assert losses[0] < losses[1] < losses[2]
    assert float(key_frame_loss(uniform, positions)) == pytest.approx(float(torch.log(torch.tensor(8.0))), rel=1e-5)
    assert float(key_frame_loss(uniform, torch.tensor([[-1, 2], [-1, -1]]))) == 0.0
