"""Quick check of a pretrained echo-CLIP on held-out synthetic videos: what its frame features carry.

Prints, on one 16-frame clip (every 4th frame) per video:
- zero-shot MAE (EchoCLIP's procedure);
- ridge regression MAE (fit on one half, scored on the other) on the frame-averaged embedding
  (what uniform MFL weights give) and on the mean of the traced ED and ES frames' embeddings
  (what attention on the key frames could give);
- the mean cosine between the frames of a clip (1: the features do not follow the cycle, so an
  attention over frames has nothing to choose from).

Usage: python benchmarks/check_backbone.py --backbone synthetic --data DIR [--n 200]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import RidgeCV

from cardiacclip.baselines.zeroshot import ZeroShotEF
from cardiacclip.data.clips import ClipSampler, resize_frames
from cardiacclip.data.filelist import read_filelist, read_volume_tracings
from cardiacclip.data.video_io import read_video
from cardiacclip.model.backbone import load_backbone
from cardiacclip.runtime import resolve_device


def ridge_mae(features: np.ndarray, ef: np.ndarray) -> float:
    half = len(ef) // 2
    ridge = RidgeCV(alphas=np.logspace(-4, 2, 13)).fit(features[:half], ef[:half])
    return float(np.mean(np.abs(ridge.predict(features[half:]) - ef[half:])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="synthetic")
    parser.add_argument("--data", required=True)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    device = resolve_device("auto")
    backbone = load_backbone(args.backbone)
    model = backbone.model.to(device).eval()
    zero_shot = ZeroShotEF(backbone, device)
    sampler = ClipSampler(length=16, period=4, mean=backbone.mean, std=backbone.std)
    table = read_filelist(f"{args.data}/FileList.csv").head(args.n)
    tracings = read_volume_tracings(f"{args.data}/VolumeTracings.csv")
    ef, zs, clip_mean, key_mean, cosines = [], [], [], [], []
    for _, row in table.iterrows():
        frames = read_video(f"{args.data}/Videos/{row['VideoFile']}").frames
        es, ed = list(tracings[row["VideoFile"]])  # listed ES first, ED last
        start = max(0, min(ed, es) - sampler.period)  # the traced beat inside the clip
        clip = sampler.to_tensor(sampler.take(frames, start))
        keys = sampler.to_tensor(resize_frames(frames[[ed, es]], sampler.image_size))
        with torch.no_grad():
            emb = F.normalize(model.encode_image(clip.to(device)).float(), dim=-1)
            key = F.normalize(model.encode_image(keys.to(device)).float(), dim=-1)
        zs.append(zero_shot.predict(clip))
        clip_mean.append(emb.mean(0).cpu().numpy())
        key_mean.append(key.mean(0).cpu().numpy())
        gram = (emb @ emb.t()).cpu().numpy()
        cosines.append(gram[np.triu_indices(len(gram), 1)].mean())
        ef.append(float(row["EF"]))
    ef, zs = np.array(ef), np.array(zs)
    half = len(ef) // 2
    print(
        f"backbone {args.backbone} on {len(ef)} videos: zero-shot MAE {np.mean(np.abs(zs - ef)):.2f} "
        f"(corr {np.corrcoef(zs, ef)[0, 1]:.2f}); ridge MAE on frame-mean embeddings "
        f"{ridge_mae(np.stack(clip_mean), ef):.2f}, on ED+ES embeddings {ridge_mae(np.stack(key_mean), ef):.2f} "
        f"(predict-the-mean {np.mean(np.abs(ef[half:] - ef[:half].mean())):.2f}); "
        f"within-clip frame cosine {np.mean(cosines):.3f}"
    )


if __name__ == "__main__":
    main()
