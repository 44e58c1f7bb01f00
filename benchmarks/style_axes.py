"""Which part of a drawing style costs a pretrained echo-CLIP its EF information.

For the default look (``echonet``), the held-out look (``second``) and the default with one group of
the held-out look's settings swapped in (colour map, speckle, noise, sector width, imaging depth,
grey levels, LV taper), draws `--n` new subjects at end-diastole and end-systole
(`synthetic.echoes.render_key_frames`, seed stream (2000, 0, i), which no archive or pretraining run
uses), embeds both frames and prints the 5-fold cross-validated ridge MAE (EF points) on the mean of
the two embeddings: what an attention on the key frames could read at best with a linear head.
A diagnostic; it chooses nothing.

Usage: python benchmarks/style_axes.py [--backbone synthetic] [--n 300]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import cross_val_predict

from cardiacclip.data.clips import ClipSampler
from cardiacclip.model.backbone import load_backbone
from cardiacclip.synthetic.echoes import render_key_frames
from cardiacclip.synthetic.styles import ECHONET, SECOND, Style

AXES: dict[str, tuple[str, ...]] = {
    "colour map": ("channel_gamma",),
    "speckle": ("speckle_blur", "flicker"),
    "noise": ("noise",),
    "sector width": ("sector_half_angle",),
    "imaging depth": ("zoom",),
    "grey levels": ("gain", "tissue", "blood"),
    "LV taper": ("lv_taper",),
}


def key_frame_embeddings(model: torch.nn.Module, sampler: ClipSampler, style: Style, n: int):
    """(n, D) mean of the ED and ES frames' normalized embeddings and (n,) EF in percent."""
    features, ef = [], []
    for i in range(n):
        pair = render_key_frames(np.random.default_rng([2000, 0, i]), style, sampler.image_size, 0.0)
        with torch.no_grad():
            emb = F.normalize(model.encode_image(sampler.to_tensor(pair.frames())).float(), dim=-1)
        features.append(emb.mean(0).numpy())
        ef.append(pair.ef)
    return np.stack(features), np.array(ef)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="synthetic")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    backbone = load_backbone(args.backbone)
    model = backbone.model.eval()
    sampler = ClipSampler(length=2, period=1, mean=backbone.mean, std=backbone.std)
    styles = {"echonet": ECHONET, "second": SECOND}
    for axis, fields in AXES.items():
        styles[f"echonet + second's {axis}"] = replace(ECHONET, **{f: getattr(SECOND, f) for f in fields})
    print(f"backbone {args.backbone}: 5-fold ridge MAE on ED+ES embeddings, {args.n} subjects per look")
    for name, style in styles.items():
        x, ef = key_frame_embeddings(model, sampler, style, args.n)
        pred = cross_val_predict(RidgeCV(alphas=np.logspace(-4, 2, 13)), x, ef, cv=5)
        print(
            f"  {name:34s} {np.mean(np.abs(pred - ef)):5.2f}  (predict-the-mean {np.mean(np.abs(ef - ef.mean())):.2f})"
        )


if __name__ == "__main__":
    main()
