"""Frozen-trunk feature cache: each source frame goes through the image trunk once per run.

With `model.freeze_trunk` (a common few-shot recipe) everything EchoZoom computes before its trainable
LayerNorms and projection (`EchoZoom.pooled_features`: the trunk at every scale, stitching, pooling)
depends on the frame alone. `TrunkFeatureCache` keeps those (F,) vectors keyed by (video, source frame
index); later epochs and every validation pass take them from memory (and from `folder`, when given,
across runs with the same model and data config). The frames must reach the model unchanged: no
pixel augmentation (`data.pad` 0), the plain frame layout, per-frame normalisation
(`CardiacCLIP.frames_independent`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.runtime import autocast


class TrunkFeatureCache:
    """Pooled trunk features of source frames, keyed by (video file name, frame index).

    Args:
        folder: optional on-disk cache (one file per video), for reuse across runs; its entries are
            valid only for the same trunk and image geometry, so pass a folder per `key` (see `cache_key`).
    """

    def __init__(self, folder: Path | None = None):
        self.store: dict[tuple[str, int], torch.Tensor] = {}
        self.folder = folder
        self.hits = self.misses = 0
        self._loaded: set[str] = set()

    def __len__(self) -> int:
        return len(self.store)

    @torch.no_grad()
    def pooled(
        self,
        model: CardiacCLIP,
        clips: torch.Tensor,
        names: list[str],
        source_index: np.ndarray,
        device: torch.device,
        precision: str = "fp32",
        strict: bool = False,
    ) -> torch.Tensor:
        """(B, T, F) pooled features for clips (B, T, 3, H, W) of videos `names`, whose position (b, t) holds
        source frame `source_index[b, t]`; frames not in the cache are encoded (once each) and stored. With
        `strict` (the clips hold no pixels: `EchoNetDataset.decode_pixels` is off) a frame not in the cache is
        an error."""
        b, t = clips.shape[:2]
        keys = [(names[i], int(source_index[i, j])) for i in range(b) for j in range(t)]
        for name in set(names):
            self._load(name)
        missing: dict[tuple[str, int], int] = {}
        for position, key in enumerate(keys):
            if key not in self.store and key not in missing:
                missing[key] = position
        if missing and strict:
            raise RuntimeError(f"{len(missing)} frame(s) not in the trunk-feature cache, e.g. {next(iter(missing))}")
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        if missing:
            frames = clips.reshape(b * t, *clips.shape[2:])[list(missing.values())].to(device)
            with autocast(device, precision):
                features = model.image_encoder.pooled_features(frames)
            for key, feature in zip(missing, features.float().cpu(), strict=True):
                self.store[key] = feature
            self._save({name for name, _ in missing})
        return torch.stack([self.store[key] for key in keys]).view(b, t, -1).to(device)

    @torch.no_grad()
    def prefill(
        self,
        model: CardiacCLIP,
        dataset: EchoNetDataset,
        device: torch.device,
        precision: str = "fp32",
        frames_per_pass: int = 64,
        progress: bool = True,
    ) -> None:
        """Encode every frame of every video of `dataset` once, so that random training clips never need the
        trunk again (costs about (frames per video / clip length) epochs of trunk compute, once)."""
        for i in tqdm(range(len(dataset)), desc="caching trunk features", unit="video", disable=not progress):
            name, frames = dataset.all_frames(i)
            for start in range(0, len(frames), frames_per_pass):
                chunk = frames[start : start + frames_per_pass][None]
                index = np.arange(start, start + chunk.shape[1])[None]
                self.pooled(model, chunk, [name], index, device, precision)

    def _load(self, name: str) -> None:
        if self.folder is None or name in self._loaded:
            return
        self._loaded.add(name)
        path = self.folder / f"{name}.pt"
        if path.is_file():
            for index, feature in torch.load(path, weights_only=True).items():
                self.store.setdefault((name, int(index)), feature)

    def _save(self, names: set[str]) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            entries = {index: feature for (video, index), feature in self.store.items() if video == name}
            torch.save(entries, self.folder / f"{name}.pt")


def cache_key(model_config: dict, data_config: dict) -> str:
    """A short hash of what the cached features depend on (backbone, scales, stitching, image geometry and
    preprocessing), to name an on-disk cache folder."""
    relevant = {
        "model": {k: model_config[k] for k in ("backbone", "scales", "zoom_stitch")},
        "data": {k: data_config[k] for k in ("image_size", "normalize", "crop")},
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]
