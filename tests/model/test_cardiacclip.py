from __future__ import annotations

import numpy as np
import pytest
import torch

from cardiacclip.config import RunConfig
from cardiacclip.data.clips import ClipSampler
from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.model.prompts import load_prompts
from cardiacclip.train.losses import cardiacclip_loss
from helpers import tiny_config, tiny_model


def fit_steps(model, optimizer, video: torch.Tensor, ef: torch.Tensor, steps: int) -> None:
    """Plain optimizer steps on one batch with the CardiacCLIP loss (default weights)."""
    prompts = load_prompts()
    for _ in range(steps):
        out = model(video)
        loss = cardiacclip_loss(out["logits"], out["ef"], ef, prompts.classify(ef), RunConfig().train.loss).total
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_forward_shapes_and_attention():
    model = tiny_model()
    out = model(torch.randn(2, 6, 3, 112, 112))
    assert out["logits"].shape == (2, 5) and out["ef"].shape == (2,) and out["attention"].shape == (2, 6)
    assert torch.allclose(out["attention"].sum(dim=1), torch.ones(2))
    assert torch.allclose(out["probs"].sum(dim=1), torch.ones(2))


def test_text_features_are_cached_when_they_cannot_change():
    model = tiny_model()
    calls = []
    original = model.text_model.encode_text
    model.text_model.encode_text = lambda *a, **k: (calls.append(1), original(*a, **k))[1]
    video = torch.randn(1, 2, 3, 112, 112)
    model.eval()
    with torch.no_grad():
        model(video), model(video), model(video)
    assert len(calls) == 1
    model.train()
    model(video), model(video)
    assert len(calls) == 3  # trainable text tower in training: re-encoded every step
    model.text_parameters_requires_grad(False)
    model(video), model(video)
    assert len(calls) == 4  # frozen text tower: once


@pytest.mark.slow
def test_fine_stage_predictions_can_leave_15_85():
    torch.manual_seed(0)
    config = tiny_config()
    model = tiny_model(config)
    video = torch.randn(2, 2, 3, 112, 112)
    target = torch.tensor([5.0, 95.0])
    fit_steps(model, torch.optim.Adam(model.parameters(), lr=3e-3), video, target, 60)
    model.eval()
    with torch.no_grad():
        ef = model(video)["ef"]
    assert ef[0] < 15 and ef[1] > 85


@pytest.mark.slow
def test_short_training_lowers_the_training_loss(synthetic_root):
    """A few optimizer steps on four synthetic videos, with the pretrained toy backbone and the loop's
    per-part learning rates (random weights give nearly identical features for every echo, and one
    large learning rate for the pretrained trunk and text tower first destroys what they know)."""
    config = tiny_config(synthetic_root, backbone="synthetic")
    model = tiny_model(config)
    dataset = EchoNetDataset(synthetic_root, "train", ClipSampler(length=8, period=4), train=False, clips=1)
    order = np.argsort(dataset.ef)
    picks = [int(i) for i in (order[0], order[1], order[-2], order[-1])]  # low and high EF
    batch = torch.stack([dataset[i]["video"][0] for i in picks])
    ef = torch.stack([dataset[i]["ef"] for i in picks])
    prompts = load_prompts()
    lrs = {"trunk": 1e-4, "text": 1e-4}
    optimizer = torch.optim.RAdam(
        [{"params": p, "lr": lrs.get(name, 1e-3)} for name, p in model.parameter_groups().items()]
    )

    def loss_now() -> float:
        model.eval()
        with torch.no_grad():
            out = model(batch)
        model.train()
        return cardiacclip_loss(out["logits"], out["ef"], ef, prompts.classify(ef), config.train.loss).total.item()

    before = loss_now()
    fit_steps(model, optimizer, batch, ef, 20)
    assert loss_now() < 0.5 * before
