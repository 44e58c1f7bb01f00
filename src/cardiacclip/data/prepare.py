"""A video file made ready for the model, without the model: what `predict` does before the forward pass.

`prepare_video` probes a file (or takes frames in memory), finds the ultrasound region and the sanity
flags from the probe's sample, decodes only the frames the evaluation clips use (each cropped and
resized as it is decoded) and builds the clips. It needs the clip sampler and nothing else, so it runs
in DataLoader worker processes (`predict --workers`) while the main process runs the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cardiacclip.data.clips import ClipCount, ClipSampler, resize_frames
from cardiacclip.data.dicom import DicomInfo
from cardiacclip.data.quality import sanity_flags
from cardiacclip.data.region import CropMethod, Region, crop_to_region, locate_region
from cardiacclip.data.video_io import VideoProbe, probe_video, read_frames


@dataclass
class PreparedVideo:
    """One video's evaluation clips and what is known about it.

    clips: (N, T, 3, S, S) float32, preprocessed as the sampler does. starts: (N,) first source frame of
    each clip. source_index: (N, T) source frame of every clip position (positions past the end point past
    the last frame and hold black), or None when clip positions are not single frames (the reference
    frame layout). first_clip: (T, S, S, 3) uint8, the first clip as the model sees it (for plots).
    first_frame: (H, W, 3) uint8, frame 0 at full size (for crop previews).
    """

    source: str
    clips: torch.Tensor
    starts: np.ndarray
    source_index: np.ndarray | None
    period: int
    fps: float | None
    n_frames: int
    region: Region
    flags: list[str]
    warnings: list[str]
    info: DicomInfo
    first_clip: np.ndarray = field(repr=False)
    first_frame: np.ndarray = field(repr=False)


def prepare_video(
    video: str | Path | VideoProbe,
    sampler: ClipSampler,
    train_fps: float,
    clips: ClipCount,
    crop: CropMethod = "auto",
    source: str | None = None,
) -> PreparedVideo:
    """Clips of one video file or probe, at the clip duration of training videos at `train_fps` frames/s.

    The region and the sanity flags come from the probe's sample frames; then only the frames the clips
    use are decoded, each cropped and resized as it is decoded, so a long full-screen loop never sits in
    memory at full size. Raises the `VideoReadError` subclasses of `probe_video`.
    """
    probe = video if isinstance(video, VideoProbe) else probe_video(video)
    region, flags = assess(probe, crop)
    warnings = list(probe.info.warnings)
    if not probe.fps:
        warnings.append(f"frame rate unknown: assumed the training rate, {train_fps:g} frames/s")
    sampler = sampler.at_frame_rate(probe.fps, train_fps)
    n, size = probe.n_frames, sampler.image_size
    starts = sampler.evaluation_starts(n, clips)
    source_index = np.stack([sampler.frame_indices(n, int(s)) for s in starts])
    frames = np.zeros((n, size, size, 3), dtype=np.uint8)  # pages of frames never filled are never touched
    for i, frame in read_frames(probe, source_index.ravel(), lambda f: crop_resize(f, region, size)).items():
        frames[i] = frame
    tensor, starts = sampler.evaluation_clips(frames, clips)
    if n < sampler.span(n):
        warnings.append(f"video has {n} frames, fewer than one clip spans ({sampler.span(n)}): padded with black")
    return PreparedVideo(
        source=source or str(probe.path),
        clips=tensor,
        starts=starts,
        source_index=source_index if sampler.frame_layout == "frames" else None,
        period=sampler.period,
        fps=probe.fps,
        n_frames=n,
        region=region,
        flags=flags,
        warnings=warnings,
        info=probe.info,
        first_clip=sampler.take(frames, int(starts[0])),
        first_frame=probe.sample[0],
    )


def assess(probe: VideoProbe, crop: CropMethod = "auto") -> tuple[Region, list[str]]:
    """The ultrasound region `crop` finds in a probe's sample frames, and the sanity flags (`data.quality`,
    plus the region's own, e.g. no_sector) of the video."""
    region = locate_region(probe.sample, crop, probe.info.regions)
    flags = sanity_flags(probe.sample, probe.fps, probe.info.modality, probe.info.regions, probe.n_frames)
    return region, flags + region.flags


def crop_resize(frame: np.ndarray, region: Region, size: int) -> np.ndarray:
    """One (H, W, 3) frame cropped to its ultrasound region and resized to (size, size, 3)."""
    return resize_frames(crop_to_region(frame[None], region), size)[0]
