"""Frozen-trunk feature cache: each source frame goes through the image trunk once per run.

With `model.freeze_trunk` (a common few-shot recipe) everything EchoZoom computes before its trainable
LayerNorms and projection (`EchoZoom.pooled_features`: the trunk at every scale, stitching, pooling)
depends on the frame alone. `TrunkFeatureCache` keeps those (F,) vectors keyed by (video, source frame
index); later epochs and every validation pass take them from memory. The frames must reach the model unchanged: no
pixel augmentation (`data.pad` 0), the plain frame layout, per-frame normalisation
(`CardiacCLIP.frames_independent`).
"""

from __future__ import annotations

import numpy as np
import torch

from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.progress import progress_bar
from cardiacclip.runtime import CPU_FP32, Placement


class TrunkFeatureCache:
    """Pooled trunk features of source frames, keyed by (video file name, frame index), in memory for one run."""

    def __init__(self):
        self.store: dict[tuple[str, int], torch.Tensor] = {}
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self.store)

    def _missing(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The keys not in the cache, each with the first position that holds it."""
        missing: dict[tuple[str, int], int] = {}
        for position, key in enumerate(keys):
            if key not in self.store and key not in missing:
                missing[key] = position
        return missing

    @torch.no_grad()
    def pooled(
        self,
        model: CardiacCLIP,
        clips: torch.Tensor,
        names: list[str],
        source_index: np.ndarray,
        placement: Placement = CPU_FP32,
        strict: bool = False,
    ) -> torch.Tensor:
        """(B, T, F) pooled features for clips (B, T, 3, H, W) of videos `names`, whose position (b, t) holds
        source frame `source_index[b, t]`; frames not in the cache are encoded (once each) and stored. With
        `strict` (the clips hold no pixels: `EchoNetDataset.decode_pixels` is off) a frame not in the cache is
        an error."""
        b, t = clips.shape[:2]
        keys = [(names[i], int(source_index[i, j])) for i in range(b) for j in range(t)]
        missing = self._missing(keys)
        if missing and strict:
            raise RuntimeError(f"{len(missing)} frame(s) not in the trunk-feature cache, e.g. {next(iter(missing))}")
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        if missing:
            frames = clips.reshape(b * t, *clips.shape[2:])[list(missing.values())].to(placement.device)
            with placement.autocast():
                features = model.image_encoder.pooled_features(frames)
            self.store.update(zip(missing, features.float().cpu(), strict=True))
        return torch.stack([self.store[key] for key in keys]).view(b, t, -1).to(placement.device)

    @torch.no_grad()
    def prefill(
        self,
        model: CardiacCLIP,
        dataset: EchoNetDataset,
        placement: Placement = CPU_FP32,
        frames_per_pass: int = 64,
        progress: bool = True,
    ) -> None:
        """Encode every frame of every video of `dataset` once, so that random training clips never need the
        trunk again (costs about (frames per video / clip length) epochs of trunk compute, once).

        A video shorter than one clip is padded with black frames by the sampler; those positions (source
        index past the end) get the black frame's features."""
        for i in progress_bar(range(len(dataset)), desc="caching trunk features", unit="video", disable=not progress):
            name, frames, sampler = dataset.all_frames(i)
            for start in range(0, len(frames), frames_per_pass):
                chunk = frames[start : start + frames_per_pass][None]
                index = np.arange(start, start + chunk.shape[1])[None]
                self.pooled(model, chunk, [name], index, placement)
            span = sampler.span(len(frames))
            if span > len(frames):
                size = sampler.image_size
                black = sampler.to_tensor(np.zeros((1, size, size, 3), dtype=np.uint8))[None]
                feature = self.pooled(model, black, [name], np.array([[len(frames)]]), placement)[0, 0]
                for index in range(len(frames) + 1, span):
                    self.store[(name, index)] = feature.cpu()
