"""EchoNet-Dynamic-style supervised video regressor: torchvision r2plus1d_18 with a regression head.

As in Ouyang et al. (Nature 2020): an R(2+1)D-18 over a clip, its classifier replaced by a
single output initialized at the training mean EF, trained with MSE (AdamW here, cosine
schedule; EchoNet used SGD over 45 epochs of the full training set), best epoch by validation MAE.
Kinetics-400 weights are
used when the user has them (a local state-dict file, or torchvision's cache); otherwise the
network starts from scratch, and results say which. Its datasets are sampled with Kinetics-400's
mean/std (`KINETICS_MEAN`, `KINETICS_STD` as the sampler's preprocessing), not CLIP's.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.progress import progress_bar
from cardiacclip.runtime import autocast
from cardiacclip.train.schedule import warmup_cosine

log = logging.getLogger(__name__)

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


def build_r2plus1d(weights: str | None = None, mean_ef: float = 55.0) -> tuple[nn.Module, str]:
    """(model, "kinetics400" or "scratch"). `weights`: None (scratch), "kinetics" (torchvision cache) or a file."""
    from torchvision.models.video import R2Plus1D_18_Weights, r2plus1d_18

    model = r2plus1d_18(weights=None)
    source = "scratch"
    if weights:
        try:
            if weights == "kinetics":
                state = R2Plus1D_18_Weights.KINETICS400_V1.get_state_dict(progress=False)
            else:
                state = torch.load(Path(weights), map_location="cpu", weights_only=True)
            model.load_state_dict(state)
            source = "kinetics400"
        except Exception as exc:  # offline or missing file: say so, and train from scratch
            log.warning("r2plus1d_18: Kinetics-400 weights unavailable (%s); training from scratch", exc)
    model.fc = nn.Linear(model.fc.in_features, 1)
    with torch.no_grad():
        model.fc.bias.fill_(mean_ef)
    return model, source


def to_video_input(clips: torch.Tensor, size: int | None) -> torch.Tensor:
    """(B, T, 3, H, W) clips (Kinetics-normalized by the sampler) -> (B, 3, T, S, S), resized to `size`."""
    video = clips.permute(0, 2, 1, 3, 4)
    if size is not None and size != video.shape[-1]:
        b, c, t, h, w = video.shape
        video = F.interpolate(video.reshape(b, c * t, h, w), size=(size, size), mode="bilinear", align_corners=False)
        video = video.view(b, c, t, size, size)
    return video


class VideoRegressor:
    """Trains and applies r2plus1d_18 on EchoNet-style datasets sampled with Kinetics-400's mean/std."""

    def __init__(
        self,
        device: torch.device,
        precision: str = "fp32",
        weights: str | None = None,
        size: int | None = None,
        lr: float = 1e-4,
        weight_decay: float = 1e-4,
        epochs: int = 10,
        batch_size: int = 4,
    ):
        self.device, self.precision, self.weights, self.size = device, precision, weights, size
        self.lr, self.weight_decay, self.epochs, self.batch_size = lr, weight_decay, epochs, batch_size
        self.model: nn.Module | None = None
        self.source = "scratch"

    def fit(
        self,
        train: EchoNetDataset,
        val: EchoNetDataset,
        generator: torch.Generator | None = None,
        progress: bool = True,
        max_steps: int | None = None,
    ) -> VideoRegressor:
        model, self.source = build_r2plus1d(self.weights, float(np.mean(train.ef)))
        model.to(self.device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        loader = DataLoader(
            train, batch_size=self.batch_size, shuffle=True, generator=generator, drop_last=len(train) > self.batch_size
        )
        scheduler = warmup_cosine(optimizer, self.epochs * len(loader))
        best, best_state, steps = float("inf"), {k: v.detach().clone() for k, v in model.state_dict().items()}, 0
        for epoch in range(self.epochs):
            model.train()
            for batch in progress_bar(
                loader,
                desc=f"r2plus1d epoch {epoch + 1}/{self.epochs}",
                unit="batch",
                disable=not progress,
                leave=False,
            ):
                video = to_video_input(batch["video"][:, 0].to(self.device), self.size)
                with autocast(self.device, self.precision):
                    prediction = model(video).squeeze(1).float()
                loss = F.mse_loss(prediction, batch["ef"].to(self.device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                steps += 1
                if max_steps is not None and steps >= max_steps:
                    break
            self.model = model
            mae = float(np.mean(np.abs(self.predict(val, progress=False) - val.ef)))
            if mae < best:
                best, best_state = mae, {k: v.detach().clone() for k, v in model.state_dict().items()}
            if max_steps is not None and steps >= max_steps:
                break
        model.load_state_dict(best_state)
        self.model = model
        return self

    @torch.no_grad()
    def predict(self, dataset: EchoNetDataset, progress: bool = True) -> np.ndarray:
        assert self.model is not None, "fit first"
        self.model.eval()
        out = []
        videos = progress_bar(
            range(len(dataset)), desc="r2plus1d predict", unit="video", disable=not progress, leave=False
        )
        for i in videos:
            clips = dataset[i]["video"].to(self.device)
            with autocast(self.device, self.precision):
                out.append(float(self.model(to_video_input(clips, self.size)).float().mean()))
        return np.asarray(out)
