"""Linear probe: ridge regression on frame-averaged frozen CLIP image embeddings.

Each clip's feature is the mean of its frames' unit image embeddings from the backbone's own
(pretrained) image tower; ridge's alpha is chosen by validation MAE; a video's prediction is
the mean over its evaluation clips.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import Ridge

from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.model.backbone import Backbone
from cardiacclip.progress import progress_bar

ALPHAS = tuple(np.logspace(-4, 3, 15))


@torch.no_grad()
def clip_features(
    backbone: Backbone, dataset: EchoNetDataset, device: torch.device, progress: bool = True
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per video: (n_clips, D) frame-averaged unit embeddings; and the EF labels."""
    model = backbone.model.to(device).eval()
    features, labels = [], []
    for i in progress_bar(range(len(dataset)), desc="features", unit="video", disable=not progress, leave=False):
        item = dataset[i]
        clips = item["video"]
        n, t = clips.shape[:2]
        frames = clips.flatten(0, 1).to(device)
        if frames.shape[-1] != backbone.image_size:
            frames = F.interpolate(frames, size=(backbone.image_size,) * 2, mode="bicubic", align_corners=False)
        embedding = F.normalize(model.encode_image(frames).float(), dim=-1).view(n, t, -1).mean(dim=1)
        features.append(embedding.cpu().numpy())
        labels.append(float(item["ef"]))
    return features, np.asarray(labels)


class LinearProbe:
    def __init__(self, alphas: tuple[float, ...] = ALPHAS):
        self.alphas = alphas
        self.model: Ridge | None = None
        self.alpha: float | None = None

    def fit(
        self, train: list[np.ndarray], y_train: np.ndarray, val: list[np.ndarray], y_val: np.ndarray
    ) -> LinearProbe:
        x_train = np.concatenate(train)
        targets = np.concatenate([np.full(len(f), y) for f, y in zip(train, y_train, strict=True)])
        best = None
        for alpha in self.alphas:
            model = Ridge(alpha=alpha).fit(x_train, targets)
            mae = float(np.mean(np.abs(self._predict(model, val) - y_val)))
            if best is None or mae < best[0]:
                best = (mae, alpha, model)
        _, self.alpha, self.model = best
        return self

    @staticmethod
    def _predict(model: Ridge, features: list[np.ndarray]) -> np.ndarray:
        return np.array([model.predict(f).mean() for f in features])

    def predict(self, features: list[np.ndarray]) -> np.ndarray:
        assert self.model is not None, "fit first"
        return np.clip(self._predict(self.model, features), 0.0, 100.0)
