"""Zero-shot EF regression, EchoCLIP's published procedure (Christensen et al., Nature Medicine 2024).

Prompts "THE LEFT VENTRICULAR EJECTION FRACTION IS ESTIMATED TO BE <#>% " and
"LV EJECTION FRACTION IS <#>%. " for every integer 0-100 (202 prompts, each carrying its value).
Per frame: cosine similarity to every prompt, prompts sorted by similarity, mapped to their
values (one ranked value list per frame). The ranked lists are averaged over frames position
by position, and the prediction is the median of the first 20 % of positions (40 of 202).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cardiacclip.model.backbone import Backbone

TEMPLATES = ("THE LEFT VENTRICULAR EJECTION FRACTION IS ESTIMATED TO BE {}% ", "LV EJECTION FRACTION IS {}%. ")


def zero_shot_prompts() -> tuple[list[str], np.ndarray]:
    texts, values = [], []
    for template in TEMPLATES:
        for value in range(101):
            texts.append(template.format(value))
            values.append(value)
    return texts, np.asarray(values, dtype=float)


def ranked_value_prediction(similarity: np.ndarray, values: np.ndarray, top_fraction: float = 0.2) -> float:
    """(frames, prompts) similarities -> EF: median of the top `top_fraction` of the frame-averaged ranked values."""
    ranked = values[np.argsort(-similarity, axis=1, kind="stable")]
    averaged = ranked.mean(axis=0)
    top = max(1, int(len(values) * top_fraction))
    return float(np.median(averaged[:top]))


class ZeroShotEF:
    """Predicts EF from frames with a CLIP backbone and no training."""

    def __init__(self, backbone: Backbone, device: torch.device | str = "cpu"):
        self.backbone, self.device = backbone, torch.device(device)
        self.model = backbone.model.to(device).eval()
        texts, self.values = zero_shot_prompts()
        with torch.no_grad():
            tokens = backbone.tokenizer(texts).to(device)
            self.text = self.model.encode_text(tokens, normalize=True).float()

    @torch.no_grad()
    def frame_similarity(self, frames: torch.Tensor) -> np.ndarray:
        """(T, 3, H, W) normalized frames -> (T, 202) cosine similarities."""
        size = self.backbone.image_size
        if frames.shape[-1] != size:
            frames = F.interpolate(frames, size=(size, size), mode="bicubic", align_corners=False)
        image = self.model.encode_image(frames.to(self.device), normalize=True).float()
        return (image @ self.text.t()).cpu().numpy()

    def predict(self, frames: torch.Tensor) -> float:
        return ranked_value_prediction(self.frame_similarity(frames), self.values)
