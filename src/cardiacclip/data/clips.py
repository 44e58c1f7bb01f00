"""The one clip sampler: how a decoded video becomes model input, for every job.

A clip is `length` frames taken every `period`-th frame from a start index (EchoNet-Dynamic's
recipe); videos shorter than a clip are padded with black frames.

Frame-rate policy: the period follows the loop's frame rate (`for_video`), so a clip spans the same
time in every loop: `period` is the period at the training rate `fps` (data.fps, 50 frames/s for
EchoNet-Dynamic), and a 30 frames/s loop is sampled every round(period * 30 / 50)-th frame. A loop
whose rate is unknown is sampled at `period` (its rate is assumed to be the training rate). Every
job samples through `for_video`, so training, evaluation and prediction see the same clips. Training draws one random
start and augments by zero-padding `pad` pixels and cropping back at a random offset;
evaluation takes fixed starts (`"all"` or N evenly spaced), so the same video gives the same
tensors every time. Frames are resized to `image_size` and normalized with the backbone's
preprocessing mean/std (open_clip's `preprocess_cfg`; OpenAI CLIP's for EchoCLIP), or left as
raw 0-255 values (`mean=None`, what the CardiacCLIP reference code fed).

The training dataset, evaluation, `predict`, the toy backbone's pretraining and the demo all
sample through `ClipSampler`; the frames come from `cardiacclip.data.source`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
import torch

if TYPE_CHECKING:
    from cardiacclip.config import DataConfig

# Clips per video at evaluation: N evenly spaced, every start ("all"), or one per heartbeat ("beats", placed by
# `cardiacclip.model.beats` from the model's phase signal).
ClipCount = int | Literal["all", "beats"]

# OpenAI CLIP statistics on a 0-1 scale: EchoCLIP's preprocessing, and open_clip's default.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
BEAT_LEAD = 2  # sampled frames a beat's clip starts before the beat's end-diastole (`ClipSampler.beat_clips`)


def parse_clip_count(text: str | int | None) -> ClipCount | None:
    """`--clips` values: "all", "beats", a positive integer, or None (keep the run's setting)."""
    if text is None or text in ("all", "beats"):
        return text
    try:
        count = int(text)
    except (TypeError, ValueError):
        raise ValueError(f"clips must be 'all', 'beats' or a positive integer, got {text!r}") from None
    if count < 1:
        raise ValueError(f"clips must be 'all', 'beats' or a positive integer, got {text!r}")
    return count


@dataclass(frozen=True)
class ClipSampler:
    """Clip geometry and preprocessing.

    Args:
        length: frames per clip (CardiacCLIP: 48); None takes the whole video, every
            `period`-th frame, up to `max_length` frames.
        period: take every `period`-th frame (CardiacCLIP: 2, i.e. 25 fps from 50 fps videos).
        image_size: frames are resized to `image_size` x `image_size` pixels.
        mean: per-channel mean of the preprocessing, on a 0-1 scale; None keeps raw 0-255 values.
        std: per-channel standard deviation of the preprocessing, on a 0-1 scale.
        pad: training augmentation; zero-pad by `pad` pixels, then crop back at a random offset.
        max_length: cap on frames when `length` is None.
        frame_layout: "frames" (each (3, H, W) frame is one time step's RGB) or "reference": the
            released CardiacCLIP loader's (3, T, H, W) clip read as (T, 3, H, W) without moving T, so
            frame i holds planes 3i..3i+2 of the channel-major stack: three consecutive time steps of
            one colour channel (for grey echoes, time triplets).
        fps: the frame rate `period` is meant for (the training videos'); `for_video` scales the period to
            other rates. None: never scaled.
    """

    length: int | None = 48
    period: int = 2
    image_size: int = 112
    mean: tuple[float, float, float] | None = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    pad: int = 0
    max_length: int = 250
    frame_layout: Literal["frames", "reference"] = "frames"
    fps: float | None = 50.0

    @classmethod
    def from_config(
        cls,
        data: DataConfig,
        mean: tuple[float, ...] = CLIP_MEAN,
        std: tuple[float, ...] = CLIP_STD,
        augment: bool = False,
    ) -> ClipSampler:
        """The sampler a run's data config describes; `mean`/`std` come from the backbone; `augment` turns on `pad`."""
        return cls(
            length=data.length,
            period=data.period,
            image_size=data.image_size,
            mean=None if data.normalize == "raw" else tuple(mean),
            std=tuple(std),
            pad=(data.pad or 0) if augment else 0,
            max_length=data.max_length,
            frame_layout=data.frame_layout,
            fps=data.fps,
        )

    def for_video(self, fps: float | None) -> ClipSampler:
        """The sampler of a loop at `fps` frames/s: the period scaled so a clip spans the same time as at the
        training rate `self.fps` (the module's frame-rate policy); an unknown rate keeps the period."""
        if not fps or not self.fps:
            return self
        return dataclasses.replace(self, period=max(1, int(round(self.period * fps / self.fps))))

    # ------------------------------------------------------------------ where clips start
    def clip_length(self, n_frames: int) -> int:
        if self.length is not None:
            return self.length
        return max(1, min(self.max_length, -(-n_frames // self.period)))

    def span(self, n_frames: int) -> int:
        """Number of source frames one clip covers."""
        return (self.clip_length(n_frames) - 1) * self.period + 1

    def evaluation_starts(self, n_frames: int, clips: ClipCount) -> np.ndarray:
        """Start indices of deterministic clips: every start ("all") or N evenly spaced from the first
        to the last possible start (N=1: the first). A video shorter than a clip has the single start 0."""
        max_start = max(n_frames - self.span(n_frames), 0)
        if clips == "all":
            return np.arange(max_start + 1)
        if clips == "beats":
            raise ValueError("clips='beats' are placed from the model's phase signal (cardiacclip.model.beats)")
        if int(clips) < 1:
            raise ValueError(f"clips must be 'all' or a positive integer, got {clips!r}")
        return np.rint(np.linspace(0, max_start, int(clips))).astype(int)

    def beat_clips(self, beats: list[tuple[int, int]], n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """(starts (N,), periods (N,)) of one clip per beat, given as (end-diastolic frame, end-systolic frame):
        every `period`-th frame, the spacing of the evenly spaced clips and of training (MFL's context scores
        were learned at it), starting `BEAT_LEAD` sampled frames before the beat's end-diastole so that the
        end-diastole's score sees the frames before it. The clip holds the beat's end-systole too: a clip too
        short for that takes a longer period. A beat shorter than the clip lends it the next beat's start."""
        last = self.clip_length(n_frames) - 1
        starts = np.array([max(0, ed - BEAT_LEAD * self.period) for ed, _ in beats], dtype=int)
        reach = np.array([es for _, es in beats], dtype=int) - starts
        periods = np.maximum(self.period, np.ceil(reach / max(last, 1))).astype(int)
        return starts, periods

    def random_start(self, n_frames: int, generator: torch.Generator | None = None) -> int:
        """A uniformly random start index (training)."""
        max_start = max(n_frames - self.span(n_frames), 0)
        return int(torch.randint(0, max_start + 1, (1,), generator=generator).item())

    # ------------------------------------------------------------------ frames of one clip
    def frame_indices(self, n_frames: int, start: int) -> np.ndarray:
        """Source frame index of each clip position (indices past the end become black frames)."""
        return clip_positions(np.array([start]), self.clip_length(n_frames), self.period)[0]

    def source_index(
        self, starts: np.ndarray, length: int, period: int | np.ndarray | None = None
    ) -> np.ndarray | None:
        """(N, length) source frame of every position of clips starting at `starts` (N,), taken every `period`-th
        frame (one period, or one per clip (N,); default `self.period`), or None in the reference layout, where a
        clip position mixes several frames."""
        if self.frame_layout != "frames":
            return None
        return clip_positions(starts, length, self.period if period is None else period)

    def take(self, frames: np.ndarray, start: int, period: int | None = None) -> np.ndarray:
        """(F, H, W, C) uint8 video -> (T, S, S, C) uint8 clip, resized to `image_size`; every `period`-th frame
        (default `self.period`)."""
        index = clip_positions(np.array([start]), self.clip_length(len(frames)), period or self.period)[0]
        valid = index < len(frames)
        picked = resize_frames(frames[index[valid]], self.image_size) if valid.any() else None
        clip = np.zeros((len(index), self.image_size, self.image_size, frames.shape[-1]), dtype=frames.dtype)
        if picked is not None:
            clip[valid] = picked
        return clip

    def to_tensor(self, clip: np.ndarray) -> torch.Tensor:
        """(T, S, S, C) uint8 (C = 1 or 3) -> (T, 3, S, S) float32, normalized or raw 0-255, in `frame_layout`."""
        tensor = torch.from_numpy(np.ascontiguousarray(clip)).permute(0, 3, 1, 2).float()
        if tensor.shape[1] == 1:
            tensor = tensor.expand(-1, 3, -1, -1)
        if self.mean is not None:
            mean = torch.tensor(self.mean).view(1, 3, 1, 1) * 255.0
            std = torch.tensor(self.std).view(1, 3, 1, 1) * 255.0
            tensor = (tensor - mean) / std
        if self.frame_layout == "reference":
            tensor = tensor.transpose(0, 1).reshape(tensor.shape)
        return tensor.contiguous()

    def augment(self, clip: np.ndarray, generator: torch.Generator | None = None) -> np.ndarray:
        """Zero-pad every frame by `pad` pixels, then crop back to size at one random offset for the whole clip."""
        if self.pad <= 0:
            return clip
        t, h, w, c = clip.shape
        padded = np.zeros((t, h + 2 * self.pad, w + 2 * self.pad, c), dtype=clip.dtype)
        padded[:, self.pad : self.pad + h, self.pad : self.pad + w] = clip
        i, j = (int(v) for v in torch.randint(0, 2 * self.pad + 1, (2,), generator=generator))
        return padded[:, i : i + h, j : j + w]

    # ------------------------------------------------------------------ whole videos
    def evaluation_clips(self, frames: np.ndarray, clips: ClipCount) -> tuple[torch.Tensor, np.ndarray]:
        """All deterministic clips of one video: a (N, T, 3, S, S) tensor and the N start indices."""
        starts = self.evaluation_starts(len(frames), clips)
        return torch.stack([self.to_tensor(self.take(frames, int(s))) for s in starts]), starts

    def training_clip(
        self, frames: np.ndarray, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, np.ndarray]:
        """One random, augmented clip: a (1, T, 3, S, S) tensor and its start index."""
        start = self.random_start(len(frames), generator)
        clip = self.augment(self.take(frames, start), generator)
        return self.to_tensor(clip)[None], np.array([start])


def clip_positions(starts: np.ndarray, length: int, period: int | np.ndarray) -> np.ndarray:
    """(N, length) source frame index of every position of N clips starting at `starts` (N,), taken every
    `period`-th frame (one period for all, or one per clip (N,)): the one formula of a clip's frames."""
    period = np.asarray(period).reshape(-1, 1)
    return np.asarray(starts).reshape(-1, 1) + period * np.arange(length)


def batch_frame_ids(indices: list[np.ndarray]) -> np.ndarray:
    """Source indices (N_i, T) of the clips of several videos batched together -> (sum N_i, T) frame ids that are
    equal only for the same frame of the same video (video i's ids are offset past every earlier video's)."""
    offsets = np.cumsum([0] + [int(index.max()) + 1 for index in indices[:-1]])
    return np.concatenate([index + offset for index, offset in zip(indices, offsets, strict=True)])


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """Resize (F, H, W, C) frames to (F, size, size, C); area interpolation when shrinking."""
    if frames.shape[1] == size and frames.shape[2] == size:
        return frames
    shrinking = frames.shape[1] > size or frames.shape[2] > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    resized = [cv2.resize(f, (size, size), interpolation=interpolation) for f in frames]
    return np.stack([r[..., None] if r.ndim == 2 else r for r in resized])


def distinct_frames(clips: torch.Tensor, source_index: np.ndarray) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Each distinct source frame of (N, T, ...) clips once: (U, ...) frames, their (U,) source frame numbers, and
    the (N*T,) position in them of every clip position (`source_index` (N, T): a clip position's source frame)."""
    n, t = clips.shape[:2]
    unique, inverse = np.unique(np.asarray(source_index).reshape(-1), return_inverse=True)
    first = np.zeros(len(unique), dtype=np.int64)
    first[inverse] = np.arange(n * t)  # a clip position holding each distinct frame (all hold the same pixels)
    return clips.reshape(n * t, *clips.shape[2:])[torch.from_numpy(first)], unique, inverse
