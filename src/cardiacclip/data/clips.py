"""Clip sampling as EchoNet-Dynamic does it, with deterministic evaluation.

A clip is `length` frames taken every `period`-th frame from a start index; videos shorter
than a clip are padded with black frames. Training draws one random start and augments by
zero-padding `pad` pixels and cropping back at a random offset; evaluation takes fixed
starts (`"all"` or N evenly spaced), so the same video gives the same tensors every time.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import torch

ClipCount = int | Literal["all"]
Normalization = Literal["clip", "raw"]

# OpenAI CLIP statistics, which EchoCLIP's own preprocessing uses (on a 0-1 scale).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def clip_span(length: int, period: int) -> int:
    """Number of source frames one clip covers."""
    return (length - 1) * period + 1


def evaluation_starts(n_frames: int, length: int, period: int, clips: ClipCount) -> np.ndarray:
    """Start indices for deterministic evaluation clips.

    `clips="all"` gives every possible start; an integer N gives N starts evenly spaced from
    the first to the last possible start (N=1 gives the first). A video shorter than one clip
    has the single start 0 (the clip is then zero-padded).
    """
    max_start = max(n_frames - clip_span(length, period), 0)
    if clips == "all":
        return np.arange(max_start + 1)
    if int(clips) < 1:
        raise ValueError(f"clips must be 'all' or a positive integer, got {clips!r}")
    return np.rint(np.linspace(0, max_start, int(clips))).astype(int)


def random_start(n_frames: int, length: int, period: int, generator: torch.Generator | None = None) -> int:
    """A uniformly random start index (training)."""
    max_start = max(n_frames - clip_span(length, period), 0)
    return int(torch.randint(0, max_start + 1, (1,), generator=generator).item())


def take_clip(frames: np.ndarray, start: int, length: int, period: int) -> np.ndarray:
    """Frames start, start+period, ... (`length` of them); indices past the end are black frames."""
    index = start + period * np.arange(length)
    clip = np.zeros((length, *frames.shape[1:]), dtype=frames.dtype)
    valid = index < len(frames)
    clip[valid] = frames[index[valid]]
    return clip


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """Resize (F, H, W, 3) frames to (F, size, size, 3); area interpolation when shrinking."""
    if frames.shape[1] == size and frames.shape[2] == size:
        return frames
    shrinking = frames.shape[1] > size or frames.shape[2] > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (size, size), interpolation=interpolation) for f in frames])


def pad_and_random_crop(clip: np.ndarray, pad: int, generator: torch.Generator | None = None) -> np.ndarray:
    """Zero-pad every frame by `pad` pixels, then crop back to size at one random offset for the whole clip."""
    if pad <= 0:
        return clip
    t, h, w, c = clip.shape
    padded = np.zeros((t, h + 2 * pad, w + 2 * pad, c), dtype=clip.dtype)
    padded[:, pad : pad + h, pad : pad + w] = clip
    i, j = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=generator))
    return padded[:, i : i + h, j : j + w]


def to_tensor(clip: np.ndarray, normalize: Normalization = "clip") -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, H, W) float32, CLIP mean/std normalized or raw 0-255."""
    tensor = torch.from_numpy(np.ascontiguousarray(clip)).permute(0, 3, 1, 2).float()
    if normalize == "raw":
        return tensor
    if normalize != "clip":
        raise ValueError(f"normalize must be 'clip' or 'raw', got {normalize!r}")
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1) * 255.0
    return (tensor - mean) / std


def evaluation_clips(
    frames: np.ndarray,
    length: int,
    period: int,
    clips: ClipCount,
    image_size: int,
    normalize: Normalization = "clip",
) -> tuple[torch.Tensor, np.ndarray]:
    """All deterministic clips of one video: a (N, T, 3, S, S) tensor and the N start indices."""
    starts = evaluation_starts(len(frames), length, period, clips)
    frames = resize_frames(frames, image_size)
    stacked = np.stack([take_clip(frames, int(s), length, period) for s in starts])
    tensor = to_tensor(stacked.reshape(-1, *stacked.shape[2:]), normalize)
    return tensor.view(len(starts), length, *tensor.shape[1:]), starts
