"""Containers: which decoder reads a file, and writing videos.

`open_loop` opens an AVI/MP4 (any container FFmpeg reads, through PyAV) or a DICOM cine loop
(through pydicom, see `cardiacclip.data.dicom`) without decoding it; its `frames(indices)` decodes
just those frames as uint8 RGB (H, W, 3). `read_video` decodes a whole file into one array.
What the model reads goes through `cardiacclip.data.source` (the frame source), built on these.

The frame count a container header declares is not trusted (EchoNet-Dynamic's AVIs and OpenCV's
reported counts are often off): packets are counted, and the frame source checks the count
against the decoder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple, Protocol

import av
import numpy as np

from cardiacclip.data.dicom import LoopInfo, open_dicom
from cardiacclip.data.errors import (
    CorruptVideoError,
    EmptyFileError,
    NoFramesError,
    NotAVideoError,
    VideoNotFoundError,
)
from cardiacclip.data.library_messages import ffmpeg_messages

DICOM_SUFFIXES = {".dcm", ".dicom"}
SEEK_GAP = 12  # a wanted frame further ahead than this is reached by seeking, nearer ones by decoding on
VIDEO_SUFFIXES = {".avi", ".mp4", ".mov", ".m4v", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv"}


class VideoData(NamedTuple):
    """Decoded frames (F, H, W, 3) uint8 RGB and the frame rate in frames per second (None if unknown)."""

    frames: np.ndarray
    fps: float | None


def _head(path: Path) -> bytes:
    """The first 132 bytes of a file (preamble and prefix of a DICOM Part-10 file); empty if it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(132)
    except OSError:
        return b""


def is_part10(path: str | Path) -> bool:
    """Whether a file is a DICOM Part-10 file (a 128-byte preamble, then "DICM"): what a PACS hands out."""
    return _head(Path(path))[128:132] == b"DICM"


def is_dicom(path: str | Path) -> bool:
    """True for a DICOM suffix, a Part-10 file (`is_part10`), or a raw dataset without preamble (a file that
    starts with a group 0x0002 or 0x0008 element, as PACS exports often do)."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    head = _head(path)
    if head[128:132] == b"DICM":
        return True
    return len(head) >= 8 and head[:2] in (b"\x02\x00", b"\x08\x00") and head[3] < 0x10


def find_videos(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders expanded recursively (sorted) to their video and DICOM files, DICOM found by
    content too (PACS files such as IM000001 have no extension). In a DICOMDIR tree the DICOMDIR index
    itself is left out and the images it indexes are found as files."""
    files: list[Path] = []
    suffixes = VIDEO_SUFFIXES | DICOM_SUFFIXES
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.name.upper() != "DICOMDIR" and (p.suffix.lower() in suffixes or is_dicom(p))
                )
            )
        else:
            files.append(path)  # a missing file gets its own error downstream
    return files


def read_video(path: str | Path) -> VideoData:
    """Decoded frames and frame rate of a video or DICOM file; see `read_video_info` for the details."""
    return read_video_info(path)[0]


def read_video_info(path: str | Path) -> tuple[VideoData, LoopInfo]:
    """Read a whole video into memory as uint8 RGB frames.

    Returns the frames (F, H, W, 3) uint8 RGB with the frame rate, and what the file says about
    itself (`LoopInfo`: modality, ultrasound regions, study UID, reading warnings; empty for
    AVI/MP4). Raises a subclass of `VideoReadError` naming the file and the reason: missing file,
    zero bytes, not a video, corrupt stream, or zero decodable frames. DICOM stills (one frame)
    are refused: LVEF needs the motion over the cardiac cycle. Models read through
    `cardiacclip.data.source` instead, which decodes only the frames a clip uses.
    """
    loop = open_loop(path)
    frames = [frame for _, frame in loop.frames()]
    if not frames:
        raise NoFramesError(loop.path)
    return VideoData(np.stack(frames), loop.fps), loop.info


class Loop(Protocol):
    """An opened video whose pixels are decoded on demand (`open_loop`): PyAV for AVI/MP4, pydicom for DICOM,
    or frames already in memory."""

    path: Path
    n_frames: int  # what the container says; `cardiacclip.data.source.probe` checks it against the decoder
    fps: float | None
    info: LoopInfo

    def frames(self, indices: Iterable[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(index, (H, W, 3) uint8 RGB frame) for the requested indices (all when None), ascending; indices past
        the end are left out."""
        ...

    def count_decoded(self) -> int:
        """Frames the decoder actually yields (decodes the whole loop)."""
        ...


def open_loop(path: str | Path) -> Loop:
    """Open a video or DICOM file without decoding its pixels. Raises a `VideoReadError` subclass naming the
    file and the reason (missing, empty, a folder, not a video, a DICOM still or a DICOM without pixels)."""
    path = _check_file(path)
    return open_dicom(path) if is_dicom(path) else PyAVLoop(path)


class ArrayLoop:
    """Frames (F, H, W, 3) uint8 RGB already in memory, at `fps` frames/s, as a `Loop`."""

    def __init__(self, frames: np.ndarray, fps: float | None, info: LoopInfo | None = None):
        self.path, self.array, self.fps, self.info = Path("array"), frames, fps, info or LoopInfo()
        self.n_frames = len(frames)

    def frames(self, indices: Iterable[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        wanted = range(self.n_frames) if indices is None else sorted({int(i) for i in indices})
        return ((i, self.array[i]) for i in wanted if 0 <= i < self.n_frames)

    def count_decoded(self) -> int:
        return self.n_frames


class PyAVLoop:
    """An AVI/MP4 (any container FFmpeg reads). Opening counts the stream's packets (no decoding: a packet holds
    one frame in the intra-frame and H.264 streams echo archives use); `frames(indices)` seeks to the nearest
    keyframe before a frame that is far ahead (every frame of EchoNet's Motion-JPEG AVIs is one) instead of
    decoding everything in between, and identifies frames by their timestamps."""

    def __init__(self, path: Path):
        self.path, self.info = path, LoopInfo()
        with ffmpeg_messages(self.info.warnings), self._open() as container:
            stream = container.streams.video[0]
            self.fps = float(stream.average_rate) if stream.average_rate else None
            try:
                self.n_frames = sum(1 for packet in container.demux(stream) if packet.size > 0)
            except av.FFmpegError as exc:
                raise CorruptVideoError(path, f"the container cannot be read: {exc}") from exc
            if self.n_frames == 0:  # inside: FFmpeg's messages say why
                raise NoFramesError(path)

    def _open(self):
        try:
            container = av.open(str(self.path))
        except av.FFmpegError as exc:
            raise NotAVideoError(self.path, f"FFmpeg cannot open it: {exc}") from exc
        except UnicodeDecodeError as exc:  # PyAV decodes the container's metadata as text
            raise CorruptVideoError(self.path, f"the container's metadata is damaged ({exc.reason})") from exc
        if not container.streams.video:
            container.close()
            raise NotAVideoError(self.path, "the file holds no video stream")
        return container

    def frames(self, indices: Iterable[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        if indices is None:
            return self._sequential(None)
        wanted = sorted({int(i) for i in indices if int(i) >= 0})
        return iter(self._select(wanted).items()) if wanted else iter(())

    def count_decoded(self) -> int:
        return sum(1 for _ in self._sequential(None))

    def _sequential(self, last: int | None) -> Iterator[tuple[int, np.ndarray]]:
        """Every frame from the start (up to index `last`)."""
        decoded = 0
        with ffmpeg_messages(self.info.warnings), self._open() as container:
            try:
                for frame in container.decode(container.streams.video[0]):
                    yield decoded, frame.to_ndarray(format="rgb24")
                    decoded += 1
                    if last is not None and decoded > last:
                        return
            except av.FFmpegError as exc:
                raise CorruptVideoError(self.path, f"decoding stopped after {decoded} frame(s): {exc}") from exc

    def _select(self, wanted: list[int]) -> dict[int, np.ndarray]:
        """`wanted` (ascending) frames, decoded with seeks; from the start when the stream has no timestamps."""
        out = None
        with ffmpeg_messages(self.info.warnings), self._open() as container:
            stream = container.streams.video[0]
            if stream.average_rate and stream.time_base is not None:
                out = self._seek_and_decode(container, stream, wanted)
        return self._in_order(wanted) if out is None else out

    def _seek_and_decode(self, container, stream, wanted: list[int]) -> dict[int, np.ndarray] | None:
        """Seek to each wanted frame not within `SEEK_GAP` of the last one decoded; None when a frame has no
        timestamp (the caller decodes from the start instead)."""
        rate, base, origin = stream.average_rate, stream.time_base, stream.start_time or 0
        out: dict[int, np.ndarray] = {}
        position, frames = -1, None
        try:
            for target in wanted:
                if frames is None or target > position + SEEK_GAP:
                    container.seek(origin + int(target / rate / base), stream=stream, backward=True)
                    frames = container.decode(stream)
                for frame in frames:
                    if frame.pts is None:
                        return None
                    position = round(float((frame.pts - origin) * base * rate))
                    if position == target:
                        out[target] = frame.to_ndarray(format="rgb24")
                    if position >= target:
                        break
        except av.FFmpegError as exc:
            raise CorruptVideoError(self.path, f"decoding stopped {_where(position)}: {exc}") from exc
        return out

    def _in_order(self, wanted: list[int]) -> dict[int, np.ndarray]:
        todo = set(wanted)
        return {i: frame for i, frame in self._sequential(wanted[-1]) if i in todo}


def _check_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise VideoNotFoundError(path)
    if path.is_dir():
        raise NotAVideoError(path, "is a directory")
    if os.path.getsize(path) == 0:
        raise EmptyFileError(path)
    return path


def _encoder(path: Path, quality: int) -> tuple[str, str, dict[str, str]]:
    """Codec, pixel format and options for the file's suffix: Motion-JPEG AVI or H.264 MP4."""
    suffix = path.suffix.lower()
    if suffix == ".avi":
        return "mjpeg", "yuvj420p", {"qscale": str(quality)}
    if suffix in {".mp4", ".m4v", ".mov"}:
        return "libx264", "yuv420p", {"crf": str(2 * quality), "preset": "veryfast"}
    raise ValueError(f"{path}: write_video writes .avi or .mp4, not {suffix!r}")


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
    codec, pix_fmt, options = _encoder(path, quality)
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


def _where(position: int) -> str:
    """Where decoding stopped, for a message: near a frame, or before the first one (position -1)."""
    return f"near frame {position}" if position >= 0 else "before the first frame"
