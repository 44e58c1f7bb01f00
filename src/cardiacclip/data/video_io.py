"""Reading and writing echocardiogram videos.

`read_video` turns an AVI/MP4 (any container FFmpeg reads, through PyAV) or a DICOM cine loop
(through pydicom, see `cardiacclip.data.dicom`) into a uint8 RGB array of shape
(frames, height, width, 3), plus the frame rate when the file states it.

The frame count a container declares is not trusted (EchoNet-Dynamic's AVIs and OpenCV's
reported counts are often off): frames are decoded until the decoder stops.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

from cardiacclip.data.dicom import DicomInfo, open_dicom, read_dicom_video
from cardiacclip.data.errors import (
    CorruptVideoError,
    EmptyFileError,
    NoFramesError,
    NotAVideoError,
    VideoNotFoundError,
)

DICOM_SUFFIXES = {".dcm", ".dicom"}
SEEK_GAP = 12  # a wanted frame further ahead than this is reached by seeking, nearer ones by decoding on
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


def read_video_info(path: str | Path) -> tuple[VideoData, DicomInfo]:
    """Read a whole video into memory as uint8 RGB frames.

    Returns the frames (F, H, W, 3) uint8 RGB with the frame rate, and what the file says about
    itself (`DicomInfo`: modality, ultrasound regions, study UID, reading warnings; empty for
    AVI/MP4). Raises a subclass of `VideoReadError` naming the file and the reason: missing file,
    zero bytes, not a video, corrupt stream, or zero decodable frames. DICOM stills (one frame)
    are refused: LVEF needs the motion over the cardiac cycle. For long or large loops use
    `probe_video` and `read_frames`, which keep only the frames asked for.
    """
    path = _check_file(path)
    if is_dicom(path):
        frames, fps, info = read_dicom_video(path)
        return VideoData(frames, fps), info
    reader = _PyAVFrames(path)
    frames = [frame for _, frame in reader]
    if not frames:
        raise NoFramesError(path)
    return VideoData(np.stack(frames), reader.fps), DicomInfo()


@dataclass
class VideoProbe:
    """What one pass over a file learns without keeping the video: frame count, rate, size, the file's own
    facts (`DicomInfo`) and up to `max_sample` evenly spaced frames (`sample` (k, H, W, 3) uint8 RGB at the
    indices `sample_index`, always including frame 0) for finding the scan sector and the sanity checks.
    A small video is kept whole (`whole`) so reading its frames again costs nothing."""

    path: Path
    n_frames: int
    fps: float | None
    height: int
    width: int
    info: DicomInfo
    sample: np.ndarray
    sample_index: np.ndarray
    whole: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_frames(
        cls, frames: np.ndarray, fps: float | None, info: DicomInfo | None = None, max_sample: int = 32
    ) -> VideoProbe:
        """A probe of frames (F, H, W, 3) uint8 RGB already in memory at `fps` frames/s."""
        n = len(frames)
        index = even_indices(n, max_sample)
        return cls(Path("array"), n, fps, *frames.shape[1:3], info or DicomInfo(), frames[index], index, frames)


def even_indices(n_frames: int, count: int) -> np.ndarray:
    """Up to `count` evenly spaced frame indices of a video of `n_frames` frames, first and last included."""
    return np.unique(np.linspace(0, n_frames - 1, min(count, n_frames)).round().astype(int))


def probe_video(path: str | Path, max_sample: int = 32, keep_bytes: int = 64 << 20) -> VideoProbe:
    """Probe a video or DICOM file (see `VideoProbe`). A DICOM decodes only its sample frames; an AVI/MP4 is
    decoded once, keeping the whole video while it stays under `keep_bytes` and a thinning sample otherwise.
    Raises the same `VideoReadError` subclasses as `read_video_info`."""
    path = _check_file(path)
    if is_dicom(path):
        loop = open_dicom(path)
        wanted = even_indices(loop.n_frames, max_sample)
        decoded = list(loop.frames(wanted))
        if not decoded:
            raise NoFramesError(path)
        index = np.array([i for i, _ in decoded])
        sample = np.stack([f for _, f in decoded])
        return VideoProbe(path, loop.n_frames, loop.fps, *sample.shape[1:3], loop.info, sample, index)
    return _probe_pyav(path, max_sample, keep_bytes)


def _probe_pyav(path: Path, max_sample: int, keep_bytes: int) -> VideoProbe:
    reader = _PyAVFrames(path)
    whole, kept, stride, count = [], {}, 1, 0
    for count, frame in reader:
        if whole is not None:
            whole.append(frame)
            if len(whole) * frame.nbytes > keep_bytes:
                whole = None
        if count % stride == 0:
            kept[count] = frame
            if len(kept) > 2 * max_sample:  # thin to every other kept frame, doubling the stride
                stride *= 2
                kept = {i: f for i, f in kept.items() if i % stride == 0}
    if not kept:
        raise NoFramesError(path)
    n_frames = count + 1
    if whole is not None:
        full = np.stack(whole)
        index = even_indices(n_frames, max_sample)
        return VideoProbe(path, n_frames, reader.fps, *full.shape[1:3], DicomInfo(), full[index], index, full)
    index = np.array(sorted(kept))
    sample = np.stack([kept[i] for i in index])
    return VideoProbe(path, n_frames, reader.fps, *sample.shape[1:3], DicomInfo(), sample, index)


def read_frames(
    probe: VideoProbe, indices: Iterable[int], transform: Callable[[np.ndarray], np.ndarray] | None = None
) -> dict[int, np.ndarray]:
    """The frames at `indices` (those past the end are left out) decoded in one pass, each passed through
    `transform` (e.g. crop and resize, so a full-size frame never outlives its decoding): {index: frame}."""
    wanted = sorted({int(i) for i in indices if 0 <= int(i) < probe.n_frames})
    transform = transform or (lambda frame: frame)
    if probe.whole is not None:
        return {i: transform(probe.whole[i]) for i in wanted}
    if not wanted:
        return {}
    if is_dicom(probe.path):
        return {i: transform(frame) for i, frame in open_dicom(probe.path).frames(wanted)}
    return decode_frames(probe.path, wanted, transform)


def decode_frames(
    path: str | Path, indices: Iterable[int], transform: Callable[[np.ndarray], np.ndarray] | None = None
) -> dict[int, np.ndarray]:
    """The frames at `indices` of an AVI/MP4, each through `transform`: {index: frame}. Seeks to the nearest
    keyframe before a frame that is far ahead (every frame of EchoNet's Motion-JPEG AVIs is one) instead of
    decoding everything in between; frames are identified by their timestamps. Indices past the end are left
    out. Falls back to decoding from the start when the stream has no timestamps."""
    return _PyAVFrames(Path(path)).select(sorted({int(i) for i in indices}), transform or (lambda frame: frame))


def _check_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise VideoNotFoundError(path)
    if path.is_dir():
        raise NotAVideoError(path, "is a directory")
    if os.path.getsize(path) == 0:
        raise EmptyFileError(path)
    return path


class _PyAVFrames:
    """(index, (H, W, 3) uint8 RGB frame) for every frame FFmpeg decodes, one frame at a time; `fps` is set
    once the container is open."""

    def __init__(self, path: Path):
        self.path, self.fps = path, None

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        try:
            container = av.open(str(self.path))
        except av.FFmpegError as exc:
            raise NotAVideoError(self.path, f"FFmpeg cannot open it: {exc}") from exc
        with container:
            if not container.streams.video:
                raise NotAVideoError(self.path, "the file holds no video stream")
            stream = container.streams.video[0]
            self.fps = float(stream.average_rate) if stream.average_rate else None
            decoded = 0
            try:
                for frame in container.decode(stream):
                    yield decoded, frame.to_ndarray(format="rgb24")
                    decoded += 1
            except av.FFmpegError as exc:
                raise CorruptVideoError(self.path, f"decoding stopped after {decoded} frame(s): {exc}") from exc

    def select(self, wanted: list[int], transform: Callable[[np.ndarray], np.ndarray]) -> dict[int, np.ndarray]:
        """`wanted` (ascending) frames, decoded with seeks (see `decode_frames`)."""
        out: dict[int, np.ndarray] = {}
        if not wanted:
            return out
        try:
            container = av.open(str(self.path))
        except av.FFmpegError as exc:
            raise NotAVideoError(self.path, f"FFmpeg cannot open it: {exc}") from exc
        with container:
            stream = container.streams.video[0]
            rate, base, origin = stream.average_rate, stream.time_base, stream.start_time or 0
            if not rate or base is None:
                return self._sequential(wanted, transform)
            position, frames = -1, None
            try:
                for target in wanted:
                    if frames is None or target > position + SEEK_GAP:
                        container.seek(origin + int(target / rate / base), stream=stream, backward=True)
                        frames = container.decode(stream)
                    for frame in frames:
                        if frame.pts is None:
                            return self._sequential(wanted, transform)
                        position = round(float((frame.pts - origin) * base * rate))
                        if position == target:
                            out[target] = transform(frame.to_ndarray(format="rgb24"))
                        if position >= target:
                            break
            except av.FFmpegError as exc:
                raise CorruptVideoError(self.path, f"decoding stopped near frame {position}: {exc}") from exc
        return out

    def _sequential(self, wanted: list[int], transform: Callable[[np.ndarray], np.ndarray]) -> dict[int, np.ndarray]:
        """`wanted` (ascending) frames decoded from the start, stopping after the last (streams without timestamps)."""
        todo, out = set(wanted), {}
        for i, frame in self:
            if i in todo:
                out[i] = transform(frame)
            if i >= wanted[-1]:
                break
        return out


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
