"""Reading and writing echocardiogram videos.

`read_video` turns an AVI/MP4 (any container FFmpeg reads, through PyAV) or a DICOM cine loop
(through pydicom, see `cardiacclip.data.dicom`) into a uint8 RGB array of shape
(frames, height, width, 3), plus the frame rate when the file states it.

The frame count a container declares is not trusted (EchoNet-Dynamic's AVIs and OpenCV's
reported counts are often off): frames are decoded until the decoder stops.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

from cardiacclip.data.dicom import DicomInfo, read_dicom_video
from cardiacclip.data.errors import (
    CorruptVideoError,
    EmptyFileError,
    NoFramesError,
    NotAVideoError,
    VideoNotFoundError,
)

DICOM_SUFFIXES = {".dcm", ".dicom"}
VIDEO_SUFFIXES = {".avi", ".mp4", ".mov", ".m4v", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv"}


class VideoData(NamedTuple):
    """Decoded frames (F, H, W, 3) uint8 RGB and the frame rate in frames per second (None if unknown)."""

    frames: np.ndarray
    fps: float | None


def is_dicom(path: str | Path) -> bool:
    """True for a DICOM suffix, the DICOM preamble ("DICM" at byte 128), or a raw dataset without
    preamble (a file that starts with a group 0x0002 or 0x0008 element, as PACS exports often do)."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    if head[128:132] == b"DICM":
        return True
    return len(head) >= 8 and head[:2] in (b"\x02\x00", b"\x08\x00") and head[3] < 0x10


def read_video(path: str | Path) -> VideoData:
    """Decoded frames and frame rate of a video or DICOM file; see `read_video_info` for the details."""
    return read_video_info(path)[0]


def read_video_info(path: str | Path) -> tuple[VideoData, DicomInfo]:
    """Read a whole video into memory as uint8 RGB frames.

    Returns the frames (F, H, W, 3) uint8 RGB with the frame rate, and what the file says about
    itself (`DicomInfo`: modality, ultrasound regions, study UID, reading warnings; empty for
    AVI/MP4). Raises a subclass of `VideoReadError` naming the file and the reason: missing file,
    zero bytes, not a video, corrupt stream, or zero decodable frames. DICOM stills (one frame)
    are refused: LVEF needs the motion over the cardiac cycle.
    """
    path = Path(path)
    if not path.exists():
        raise VideoNotFoundError(path)
    if path.is_dir():
        raise NotAVideoError(path, "is a directory")
    if os.path.getsize(path) == 0:
        raise EmptyFileError(path)
    if is_dicom(path):
        frames, fps, info = read_dicom_video(path)
        return VideoData(frames, fps), info
    return _read_with_pyav(path), DicomInfo()


def _read_with_pyav(path: Path) -> VideoData:
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise NotAVideoError(path, f"FFmpeg cannot open it: {exc}") from exc
    frames: list[np.ndarray] = []
    with container:
        if not container.streams.video:
            raise NotAVideoError(path, "the file holds no video stream")
        stream = container.streams.video[0]
        fps = float(stream.average_rate) if stream.average_rate else None
        try:
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
        except av.FFmpegError as exc:
            raise CorruptVideoError(path, f"decoding stopped after {len(frames)} frame(s): {exc}") from exc
    if not frames:
        raise NoFramesError(path)
    return VideoData(np.stack(frames), fps)


def write_video(path: str | Path, frames: np.ndarray, fps: float = 50.0, quality: int = 2) -> Path:
    """Write uint8 frames (F, H, W, 3) RGB or (F, H, W) gray to AVI (Motion-JPEG, as EchoNet ships) or MP4 (H.264).

    `quality` is the MJPEG quantizer (1 best .. 31 worst) or, for H.264, the CRF divided by 2.
    Height and width must be even for H.264.
    """
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = np.repeat(frames[..., None], 3, axis=-1)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (F, H, W, 3), got {frames.dtype} {frames.shape}")
    suffix = path.suffix.lower()
    if suffix == ".avi":
        codec, pix_fmt, options = "mjpeg", "yuvj420p", {"qscale": str(quality)}
    elif suffix in {".mp4", ".m4v", ".mov"}:
        codec, pix_fmt, options = "libx264", "yuv420p", {"crf": str(2 * quality), "preset": "veryfast"}
    else:
        raise ValueError(f"{path}: write_video writes .avi or .mp4, not {suffix!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = pix_fmt
        stream.options = options
        if codec == "mjpeg":
            # Without qmin=1 the encoder clamps the quantizer and ignores qscale below 2.
            stream.codec_context.qmin = 1
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
