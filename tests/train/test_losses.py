from __future__ import annotations

import math

import pytest
import torch

from cardiacclip.data.echonet import KEY_ED, KEY_ES
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


def test_key_frame_loss_rewards_weight_on_the_marked_frames():
    marks = torch.zeros((3, 8), dtype=torch.int8)
    marks[0, 2], marks[0, 6] = KEY_ED, KEY_ES
    marks[1, 3] = KEY_ES  # a clip holding an end-systole only: all its target on it
    uniform = torch.full((3, 8), 1 / 8)  # the third clip holds no key frame: left out
    on_key = torch.full((3, 8), 0.01)
    on_key[0, 2] = on_key[0, 6] = 0.47
    on_key[1, 3] = 0.93
    missing_ed = torch.full((3, 8), 0.01)  # the first clip's ES without its ED, the second's weight elsewhere
    missing_ed[0, 6] = missing_ed[1, 0] = 0.93
    losses = [float(key_frame_loss(weights, marks)) for weights in (on_key, uniform, missing_ed)]
    assert losses[0] < losses[1] < losses[2]
    assert float(key_frame_loss(uniform, marks)) == pytest.approx(float(torch.log(torch.tensor(8.0))), rel=1e-5)
    assert float(key_frame_loss(uniform, torch.zeros((2, 8), dtype=torch.int8))) == 0.0


def test_key_frame_loss_splits_each_kind_over_its_beats():
    marks = torch.tensor([[KEY_ED, KEY_ES, 0, 0, KEY_ED, KEY_ES, 0, 0]], dtype=torch.int8)
    even = torch.tensor([[0.25, 0.25, 0, 0, 0.25, 0.25, 0, 0]])
    one_beat = torch.tensor([[0.5, 0.5, 0, 0, 0, 0, 0, 0]])
    assert float(key_frame_loss(even, marks)) == pytest.approx(float(torch.log(torch.tensor(4.0))), rel=1e-5)
    assert float(key_frame_loss(even, marks)) < float(key_frame_loss(one_beat, marks))
