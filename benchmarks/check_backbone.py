"""Quick check of a pretrained echo-CLIP on held-out synthetic videos: zero-shot MAE and
frame-averaged-embedding ridge regression MAE (fit on one half, scored on the other).

Usage: python benchmarks/check_backbone.py --backbone synthetic --data DIR [--n 200]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from cardiacclip.baselines.zeroshot import ZeroShotEF
from cardiacclip.data.clips import ClipSampler
from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.model.backbone import load_backbone
from cardiacclip.runtime import resolve_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="synthetic")
    parser.add_argument("--data", required=True)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    device = resolve_device("auto")
    backbone = load_backbone(args.backbone)
    zero_shot = ZeroShotEF(backbone, device)
    dataset = EchoNetDataset(
        args.data, "all", ClipSampler(length=16, period=4, mean=backbone.mean, std=backbone.std), train=False, clips=1
    )
    ef, zs, features = [], [], []
    for i in range(min(args.n, len(dataset))):
        item = dataset[i]
        frames = item["video"][0]
        similarity = zero_shot.frame_similarity(frames)
        zs.append(zero_shot.predict(frames))
        with torch.no_grad():
            emb = F.normalize(backbone.model.encode_image(frames.to(device)).float(), dim=-1).mean(0)
        features.append(emb.cpu().numpy())
        ef.append(float(item["ef"]))
        del similarity
    ef, zs, features = np.array(ef), np.array(zs), np.stack(features)
    half = len(ef) // 2
    from sklearn.linear_model import RidgeCV

    ridge = RidgeCV(alphas=np.logspace(-4, 2, 13)).fit(features[:half], ef[:half])
    probe = ridge.predict(features[half:])
    print(
        f"backbone {args.backbone}: zero-shot MAE {np.mean(np.abs(zs - ef)):.2f} "
        f"(corr {np.corrcoef(zs, ef)[0, 1]:.2f}); "
        f"ridge on frame-mean embeddings MAE {np.mean(np.abs(probe - ef[half:])):.2f} "
        f"(predict-the-mean MAE {np.mean(np.abs(ef[half:] - ef[:half].mean())):.2f}); n={len(ef)}"
    )


if __name__ == "__main__":
    main()
