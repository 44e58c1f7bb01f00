from __future__ import annotations

import numpy as np
import pytest
import torch

from cardiacclip.model.ef_head import EFHead
from cardiacclip.model.mfl import MFL, MeanPool
from cardiacclip.model.prompts import Interval, load_prompts

ANCHORS, LOWS, HIGHS = [15, 37, 50, 62, 85], [0, 30, 45, 55, 70], [30, 45, 55, 70, 100]


def test_attention_weights_sum_to_one_and_select_frames():
    torch.manual_seed(0)
    mil = MFL(16, hidden=8, init="random")
    frames = torch.randn(3, 7, 16)
    embedding, weights = mil(frames)
    assert embedding.shape == (3, 16) and weights.shape == (3, 7)
    assert torch.allclose(weights.sum(dim=1), torch.ones(3))
    assert torch.allclose(embedding.norm(dim=1), torch.ones(3))
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[:, 5:] = False
    _, masked = mil(frames, mask)
    assert torch.all(masked[:, 5:] == 0) and torch.allclose(masked.sum(dim=1), torch.ones(3))


def test_context_scores_see_the_neighbouring_frames():
    torch.manual_seed(0)
    frames = torch.randn(1, 6, 8)
    changed = frames.clone()
    changed[0, 4] += 1.0  # a neighbour (two positions on) of frame 2
    for score_input, moves in (("frame", False), ("context", True)):
        mil = MFL(8, hidden=8, init="random", score_input=score_input)
        _, before = mil(frames)
        _, after = mil(changed)
        ratio = lambda w: float(w[0, 2] / w[0, 0])  # noqa: E731  frames 0 and 2 are the same in both clips
        assert (abs(ratio(before) - ratio(after)) > 1e-4) == moves
        assert torch.allclose(after.sum(dim=1), torch.ones(1))


def test_identity_init_starts_as_frame_averaging():
    frames = torch.randn(2, 5, 12)
    mil_embedding, weights = MFL(12, init="identity")(frames)
    mean_embedding, mean_weights = MeanPool()(frames)
    assert torch.allclose(weights, torch.full((2, 5), 0.2))
    assert torch.allclose(mil_embedding, mean_embedding, atol=1e-6) and torch.allclose(weights, mean_weights)


def test_coarse_head_is_bounded_by_anchors_fine_head_is_not():
    coarse = EFHead(ANCHORS, LOWS, HIGHS, mode="coarse")
    fine = EFHead(ANCHORS, LOWS, HIGHS, mode="fine")
    logits = torch.tensor([[30.0, 0, 0, 0, 0], [0, 0, 0, 0, 30.0]])
    low, high = coarse(logits)[0]
    assert low.item() >= 15 - 1e-3 and high.item() <= 85 + 1e-3
    assert torch.allclose(fine(logits)[0], coarse(logits)[0], atol=1e-3)  # fine starts equal to coarse
    # train only the fine head toward targets outside [15, 85]
    optimizer = torch.optim.Adam(fine.parameters(), lr=0.05)
    target = torch.tensor([4.0, 97.0])
    for _ in range(200):
        loss = (fine(logits)[0] - target).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    prediction = fine(logits)[0]
    assert prediction[0] < 15 - 5 and prediction[1] > 85 + 5


def test_prompt_bins_match_the_prompt_text():
    prompts = load_prompts()
    ef = np.array([0, 29.99, 30, 44.99, 45, 54.99, 55, 70, 70.01, 100])
    assert prompts.classify(ef).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert "<30%" in prompts.texts[0] and ">70%" in prompts.texts[4]
    assert all(t.startswith("THE LEFT VENTRICULAR EJECTION FRACTION IS ESTIMATED TO BE") for t in prompts.texts)
    # the reference's bins (floor, 0-30/31-45/46-55/56-70/71+) disagree on purpose-built cases
    assert prompts.classify(np.array([30.5, 45.5, 70.5]), "reference").tolist() == [0, 1, 3]
    assert prompts.classify(torch.tensor([30.5]), "prompt").tolist() == [1]


def test_interval_parsing():
    interval = Interval.parse("(70, 100]")
    assert not interval.contains(np.array([70.0]))[0] and interval.contains(np.array([100.0]))[0]
    with pytest.raises(ValueError):
        Interval.parse("70-100")
