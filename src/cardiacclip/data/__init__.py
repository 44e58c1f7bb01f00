"""Data layer: video reading, the EchoNet-Dynamic layout, clip sampling, few-shot splits, synthetic echoes."""

from cardiacclip.data.errors import (
    CorruptVideoError,
    DatasetError,
    EmptyFileError,
    InvalidLabelError,
    NoFramesError,
    NotAVideoError,
    SingleFrameError,
    UnsupportedEncodingError,
    UnusableVideosError,
    VideoNotFoundError,
    VideoReadError,
)
from cardiacclip.data.video_io import VideoData, read_video, write_video

__all__ = [
    "CorruptVideoError",
    "DatasetError",
    "EmptyFileError",
    "InvalidLabelError",
    "NoFramesError",
    "NotAVideoError",
    "SingleFrameError",
    "UnsupportedEncodingError",
    "UnusableVideosError",
    "VideoData",
    "VideoNotFoundError",
    "VideoReadError",
    "read_video",
    "write_video",
]
