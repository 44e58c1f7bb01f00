"""Clips from a frame source: what every job hands the model, without the model.

`prepare_video` gives a probed loop's deterministic evaluation clips (predict, the Python API, serve,
evaluate and validation all call it, so they answer the same EF for the same file); `training_clip`
gives one random, augmented clip (training). Both sample with the loop's own `ClipSampler.for_video`
(the frame-rate policy) and decode only the frames the clips use, each cropped and resized as it is
decoded, so a long full-screen loop never sits in memory at full size. Neither needs the model, so
they run in DataLoader worker processes while the main process runs it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from cardiacclip.data.clips import ClipCount, ClipSampler
from cardiacclip.data.source import FrameSource

FALLBACK_CLIPS = 4  # evenly spaced clips of a loop without a complete beat, when the run's test_clips is no count


def fallback_clip_count(test_clips: ClipCount) -> int:
    """Evenly spaced clips of a loop without a complete beat: the run's test_clips when it is a count."""
    return test_clips if isinstance(test_clips, int) else FALLBACK_CLIPS


@dataclass
class PreparedVideo:
    """One video's evaluation clips and what is known about it.

    clips: (N, T, 3, S, S) float32, preprocessed as the sampler does. starts: (N,) first source frame of
    each clip. source_index: (N, T) source frame of every clip position (positions past the end point past
    the last frame and hold black), or None when clip positions are not single frames (the reference
    frame layout). period: every period-th frame was taken. first_clip: (T, S, S, 3) uint8, the first
    clip as the model sees it (for plots). frame_source: the loop (region, colour, flags, file facts).

    With clips="beats" the beats are not known yet (they need the model): `clips` holds the evenly spaced
    fallback clips, `phase_index` (P,) the source frames the phase signal is computed on, and `frames` the
    decoded loop (F, S, S, 3) uint8 the phase frames and the beat clips are taken from (`cardiacclip.model.beats`).
    """

    source: str
    clips: torch.Tensor
    starts: np.ndarray
    source_index: np.ndarray | None
    period: int
    warnings: list[str]
    frame_source: FrameSource = field(repr=False)
    first_clip: np.ndarray = field(repr=False)
    periods: np.ndarray | None = None  # (N,) each clip's period when clips differ (one clip per beat)
    phase_index: np.ndarray | None = None
    frames: np.ndarray | None = field(default=None, repr=False)


def prepare_video(
    video: FrameSource,
    sampler: ClipSampler,
    clips: ClipCount,
    source: str | None = None,
    decode: bool = True,
    fallback_clips: int = FALLBACK_CLIPS,
) -> PreparedVideo:
    """The evaluation clips of a probed loop: `clips` ("all" or N evenly spaced starts) sampled at the loop's
    own period (`sampler.for_video`). With `decode` False the clips hold black frames (for a model that takes
    every frame's features from a cache and only needs the frame indices). With "beats", every phase frame is
    decoded as well and `fallback_clips` evenly spaced clips wait for a loop without a complete beat (see
    `PreparedVideo`). Raises `CorruptVideoError` when a frame the clips use does not decode."""
    sampler = sampler.for_video(video.fps)
    n = video.n_frames
    even = fallback_clips if clips == "beats" else clips
    starts = sampler.evaluation_starts(n, even)
    wanted = np.concatenate([sampler.frame_indices(n, int(s)) for s in starts])
    phase_index = phase_frame_indices(n, video.fps) if clips == "beats" else None
    if phase_index is not None:
        wanted = np.union1d(wanted, phase_index)
    frames = frames_array(video, sampler.image_size, wanted, decode)
    tensor, starts = sampler.evaluation_clips(frames, even)
    warnings = list(video.warnings)
    if not video.fps:
        warnings.append(f"frame rate unknown: assumed the training rate, {sampler.fps:g} frames/s")
    if n < sampler.span(n):
        warnings.append(f"video has {n} frames, fewer than one clip spans ({sampler.span(n)}): padded with black")
    return PreparedVideo(
        source=source or str(video.path),
        clips=tensor,
        starts=starts,
        source_index=sampler.source_index(starts, tensor.shape[1]),
        period=sampler.period,
        warnings=warnings,
        frame_source=video,
        first_clip=sampler.take(frames, int(starts[0])),
        phase_index=phase_index,
        frames=None if phase_index is None else frames,
    )


PHASE_FPS = 50.0  # loops faster than this are read for their phase every round(fps / PHASE_FPS)-th frame
PHASE_MAX_FRAMES = 600


def phase_frame_indices(n_frames: int, fps: float | None) -> np.ndarray:
    """Source frames the phase signal is computed on: every frame up to PHASE_FPS frames/s, every k-th of a
    faster loop, at most PHASE_MAX_FRAMES of them."""
    step = max(1, int(round((fps or PHASE_FPS) / PHASE_FPS)), -(-n_frames // PHASE_MAX_FRAMES))
    return np.arange(0, n_frames, step)


def plain(sampler: ClipSampler) -> ClipSampler:
    """The sampler's preprocessing for single frames (the reference layout mixes frames of a clip)."""
    return dataclasses.replace(sampler, frame_layout="frames")


def training_clip(
    video: FrameSource,
    sampler: ClipSampler,
    generator: torch.Generator | None = None,
    decode: bool = True,
) -> tuple[torch.Tensor, np.ndarray, int]:
    """One random, augmented clip of a probed loop at its own period: (1, T, 3, S, S) float32, its start (1,)
    and the period used. `decode` as in `prepare_video`."""
    sampler = sampler.for_video(video.fps)
    n = video.n_frames
    start = sampler.random_start(n, generator)
    frames = frames_array(video, sampler.image_size, sampler.frame_indices(n, start), decode)
    clip = sampler.augment(sampler.take(frames, start), generator)
    return sampler.to_tensor(clip)[None], np.array([start]), sampler.period


def frames_array(video: FrameSource, size: int, wanted: np.ndarray, decode: bool = True) -> np.ndarray:
    """(F, size, size, 3) uint8 holding the `wanted` frames, cropped and resized; the others stay black (their
    memory is never touched)."""
    frames = np.zeros((video.n_frames, size, size, 3), dtype=np.uint8)
    if decode:
        for i, frame in video.read_resized(wanted, size).items():
            frames[i] = frame
    return frames
