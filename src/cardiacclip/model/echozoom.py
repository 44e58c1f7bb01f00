"""EchoZoom: multi-scale frame encoding (CardiacCLIP paper, Sec. 2.1).

Each frame is encoded at every scale s (default [1, 2]): resized to s x base (bicubic), split
into s x s tiles of base size, and every tile of every frame at every scale goes through the
ConvNeXt trunk in one batched call. Tile feature maps are stitched back spatially into one
s-times-larger map, area-pooled to the scale-1 map size, and the scales' maps are concatenated
on channels (C x |scales|). The concatenated map is globally average-pooled, layer-normalized
over channels (per scale) and projected to the joint space by a new linear layer.

Two notes on how this differs from the released code (each has a switch that restores the
released computation, used by `--config reference`):
- The reference flattened the trunk output to (B, C, H*W) before its multi-scale wrapper,
  which then stitched over channels instead of space. Here stitching is spatial; with scales
  [1] the module reduces to the plain trunk, and for a trunk whose receptive field stays inside
  a tile the stitched map equals the map of the whole upsampled image (both tested).
  `stitch="channels"` computes what the released code computes (`stitch_over_channels`).
- Normalization follows pooling, as in ConvNeXt's own head (and so in EchoCLIP's image tower).
  With `init="pretrained"` each scale's norm starts from the trunk's head norm and the new
  projection from the pretrained one divided by the number of scales, so at the start of
  training the embedding is the mean of the pretrained CLIP embeddings at each scale and is
  aligned with the text tower. `init="random"` gives the reference's fresh projection.
  `norm="batch"` is the released normalisation instead: each channel of the pooled features
  standardised over all frames of the batch (unbiased std, 1e-6 added to it, no learnable
  affine), so a prediction depends on which other videos share the batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn


def split_into_tiles(images: torch.Tensor, scale: int) -> torch.Tensor:
    """(N, C, s*H, s*W) -> (N*s*s, C, H, W), tiles in row-major order per image."""
    n, c, height, width = images.shape
    h, w = height // scale, width // scale
    tiles = images.view(n, c, scale, h, scale, w).permute(0, 2, 4, 1, 3, 5)
    return tiles.reshape(n * scale * scale, c, h, w)


def stitch_tiles(tile_maps: torch.Tensor, scale: int) -> torch.Tensor:
    """Inverse of `split_into_tiles` on feature maps: (N*s*s, C, h, w) -> (N, C, s*h, s*w)."""
    total, c, h, w = tile_maps.shape
    n = total // (scale * scale)
    grid = tile_maps.view(n, scale, scale, c, h, w).permute(0, 3, 1, 4, 2, 5)
    return grid.reshape(n, c, scale * h, scale * w)


def stitch_over_channels(tile_maps: torch.Tensor, scale: int) -> torch.Tensor:
    """The released S2 stitching, (N*s*s, C, h, w) tile maps -> (N, C, h, w).

    The released code flattened each tile's map to (C, h*w) before the multi-scale wrapper, which
    reads it as C tokens of h*w channels on a sqrt(C) x sqrt(C) grid: it stitches the tiles' grids
    of *channels* and area-pools them back to sqrt(C) x sqrt(C). So a scale-2 output channel
    k = g*p + q (g = sqrt(C)) is the mean of four neighbouring channels of one quarter tile, at each
    of the h*w positions. With `scale=1` it is the identity. For a channel count that is not a
    square (the toy backbones; the released code would fail there) the grid is the most square
    rectangle g1 x g2 = C.
    """
    total, c, h, w = tile_maps.shape
    rows = max(d for d in range(1, math.isqrt(c) + 1) if c % d == 0)
    cols = c // rows
    n = total // (scale * scale)
    grid = tile_maps.flatten(2).transpose(1, 2).reshape(total, h * w, rows, cols)  # [tile, position, channel grid]
    pooled = F.adaptive_avg_pool2d(stitch_tiles(grid, scale), (rows, cols))
    return pooled.reshape(n, h * w, c).transpose(1, 2).reshape(n, c, h, w)


def batch_standardize(features: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """The released normalisation of (N, D) features: each column minus its mean over the N rows,
    divided by its unbiased standard deviation plus `eps` (NaN for N = 1, as in the released code)."""
    return (features - features.mean(dim=0)) / (features.std(dim=0) + eps)


class EchoZoom(nn.Module):
    """Multi-scale image encoder over a convolutional trunk.

    Args:
        trunk: module with `forward_features(x) -> (N, C, h, w)` (a timm ConvNeXt:
            stem -> stages -> norm_pre).
        feature_dim: C, the trunk's output channels (1024 for ConvNeXt-B).
        embed_dim: joint-space size (512 for EchoCLIP).
        scales: zoom factors; [1] is the plain trunk.
        tile_size: base frame size the trunk sees (112 for EchoNet frames).
        stitch: "spatial" (tiles stitched in space) or "channels" (the released defect).
        norm: "layer" (LayerNorm per frame and scale, learnable) or "batch" (the released
            per-channel standardisation over the frames of the batch).
    """

    def __init__(
        self,
        trunk: nn.Module,
        feature_dim: int,
        embed_dim: int,
        scales: Sequence[int] = (1, 2),
        tile_size: int = 112,
        stitch: Literal["spatial", "channels"] = "spatial",
        norm: Literal["layer", "batch"] = "layer",
    ):
        super().__init__()
        if not scales or any(int(s) < 1 for s in scales):
            raise ValueError(f"scales must be positive integers, got {scales}")
        self.trunk = trunk
        self.scales = [int(s) for s in scales]
        self.tile_size = tile_size
        self.feature_dim = feature_dim
        self.stitch, self.norm = stitch, norm
        count = len(self.scales) if norm == "layer" else 0
        self.norms = nn.ModuleList(nn.LayerNorm(feature_dim, eps=1e-6) for _ in range(count))
        self.proj = nn.Linear(feature_dim * len(self.scales), embed_dim, bias=False)

    @classmethod
    def from_open_clip(
        cls,
        visual: nn.Module,
        scales: Sequence[int],
        tile_size: int,
        init: Literal["pretrained", "random"] = "pretrained",
        stitch: Literal["spatial", "channels"] = "spatial",
        norm: Literal["layer", "batch"] = "layer",
    ) -> EchoZoom:
        """Build over an open_clip timm image tower (`visual.trunk`, `visual.head.proj`)."""
        trunk = visual.trunk
        pretrained_proj = visual.head.proj
        module = cls(trunk, trunk.num_features, pretrained_proj.out_features, scales, tile_size, stitch, norm)
        if init == "pretrained":
            head_norm = getattr(getattr(trunk, "head", None), "norm", None)
            with torch.no_grad():
                for norm in module.norms:
                    if head_norm is not None and getattr(head_norm, "weight", None) is not None:
                        norm.weight.copy_(head_norm.weight)
                        norm.bias.copy_(head_norm.bias)
                        norm.eps = head_norm.eps
                weight = pretrained_proj.weight / len(module.scales)
                module.proj.weight.copy_(weight.repeat(1, len(module.scales)))
        return module

    def scale_maps(self, images: torch.Tensor, scales: Sequence[int] | None = None) -> list[torch.Tensor]:
        """Stitched feature map per scale (default: all of `self.scales`), (N, C, s*h, s*w) (over channels:
        (N, C, h, w)), from one trunk call."""
        n, scales = images.shape[0], self.scales if scales is None else scales
        if images.shape[-1] != self.tile_size or images.shape[-2] != self.tile_size:
            images = F.interpolate(images, size=(self.tile_size, self.tile_size), mode="bicubic", align_corners=False)
        batches = []
        for s in scales:
            zoomed = images if s == 1 else F.interpolate(images, scale_factor=s, mode="bicubic", align_corners=False)
            batches.append(split_into_tiles(zoomed, s))
        maps = self.trunk.forward_features(torch.cat(batches))
        out, offset = [], 0
        stitch = stitch_tiles if self.stitch == "spatial" else stitch_over_channels
        for s in scales:
            count = n * s * s
            out.append(stitch(maps[offset : offset + count], s))
            offset += count
        return out

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        """Scales' maps area-pooled to the scale-1 size and concatenated on channels: (N, C*|scales|, h, w)."""
        maps = self.scale_maps(images)
        h, w = maps[0].shape[-2] // self.scales[0], maps[0].shape[-1] // self.scales[0]
        return torch.cat([F.adaptive_avg_pool2d(m, (h, w)) for m in maps], dim=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) frames -> (N, embed_dim) embeddings (not normalized)."""
        return self.embed_pooled(self.pooled_features(images))

    def pooled_features(self, images: torch.Tensor, plain: torch.Tensor | None = None) -> torch.Tensor:
        """(N, 3, H, W) frames -> (N, C * |scales|): everything before the trainable norms and projection (with a
        frozen trunk, a function of each frame alone that can be cached). `plain`: the frames' (N, C)
        `plain_features`, already computed; the trunk then runs on the other scales only (scales starting at 1;
        area pooling keeps a map's mean, so the result is the same to float rounding)."""
        if plain is None or self.scales[0] != 1:
            return self.feature_map(images).mean(dim=(2, 3))
        zoomed = self.scale_maps(images, self.scales[1:]) if len(self.scales) > 1 else []
        return torch.cat([plain.to(images.dtype), *(m.mean(dim=(2, 3)) for m in zoomed)], dim=1)

    def plain_features(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) frames -> (N, C): the trunk at scale 1 alone, globally pooled (the phase signal's input,
        `cardiacclip.model.phase`; a fifth of a two-scale frame's cost)."""
        if images.shape[-1] != self.tile_size or images.shape[-2] != self.tile_size:
            images = F.interpolate(images, size=(self.tile_size, self.tile_size), mode="bicubic", align_corners=False)
        return self.trunk.forward_features(images).mean(dim=(2, 3))

    def embed_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        """(N, C * |scales|) pooled features -> (N, embed_dim): per-scale LayerNorm (or the reference's batch
        standardisation) and the projection to the joint space."""
        if self.norm == "batch":
            return self.proj(batch_standardize(pooled))
        chunks = pooled.split(self.feature_dim, dim=1)
        normed = torch.cat([norm(chunk) for norm, chunk in zip(self.norms, chunks, strict=True)], dim=1)
        return self.proj(normed)
