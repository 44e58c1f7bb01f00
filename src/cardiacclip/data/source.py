"""The frame source: the one way from a file (or an array) to the frames a model sees.

Every reader goes through it: the dataset (train, evaluate, benchmark, the trunk-feature cache),
predict and the Python API, serve, convert, inspect and pretraining. So a loop gives the same
frames whichever job reads it.

`probe(video, reading)` opens an AVI/MP4, a DICOM cine loop or a frame array without decoding it
whole: the frame count (AVI/MP4: the stream's packets, checked by decoding the last frame), the
frame rate, and an evenly spaced sample of `SAMPLE_FRAMES` frames, from which it decides

- the ultrasound region (`cardiacclip.data.region`: the DICOM region tags when the file has them,
  else the scan sector found in the pixels; EchoNet's small square crops as they are),
- the colour kind (`cardiacclip.data.colour`: grey, tinted, colour Doppler), judged inside the
  ultrasound region that `auto` finds, whatever region the reading keeps,
- the sanity flags (`cardiacclip.data.quality`, the region's and `colour_doppler`).

A frame rate outside `PLAUSIBLE_FPS` (what no scanner records at: a damaged header) is treated as unknown, with
a warning that names the value read, so every job assumes the training rate instead of computing a clip period
from it.

The sample is then dropped: a `FrameSource` is a few numbers (and the sector mask), so a dataset can
hold one per video. `FrameSource.read(indices, transform)` decodes only those frames through the
file's own decoder (pydicom frame by frame for DICOM, PyAV seeking for AVI/MP4), reads a tinted
loop as luminance (`Reading.colour`), then applies `transform`; `read_resized` crops to the region
and resizes, which is what clips are made of.

`Reading` is the reading policy (region method and colour mode); jobs build it from the run's
`data` config, so training, evaluation and prediction read a loop the same way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from cardiacclip.choices import ColourMode, CropMethod
from cardiacclip.config import Validated
from cardiacclip.data.clips import resize_frames
from cardiacclip.data.colour import ColourKind, assess_colour, to_luminance
from cardiacclip.data.deadline import time_limit
from cardiacclip.data.dicom import DicomLoop, LoopInfo
from cardiacclip.data.errors import CorruptVideoError, NoFramesError, VideoReadError
from cardiacclip.data.quality import quality_flags
from cardiacclip.data.region import Region, crop_to_region, locate_region
from cardiacclip.data.video_io import ArrayLoop, Loop, open_loop
from cardiacclip.progress import progress_bar

if TYPE_CHECKING:
    from cardiacclip.config import DataConfig

log = logging.getLogger(__name__)

SAMPLE_FRAMES = 32  # frames a probe decodes to find the region, the colour kind and the flags
PLAUSIBLE_FPS = (1.0, 1000.0)  # frames/s a file may state; outside, the rate is treated as unknown
SourceKind = Literal["video", "dicom", "array"]
Transform = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Reading(Validated):
    """How a loop becomes model frames: the ultrasound region kept (`crop`) and how tinted loops are read
    (`colour`: "luminance" or "rgb"). The same for every job of a run (`from_config`); checked when built."""

    crop: CropMethod = "auto"
    colour: ColourMode = "luminance"

    @classmethod
    def from_config(cls, data: DataConfig, crop: CropMethod | None = None) -> Reading:
        """The reading a run's data config describes (`crop` overrides its region method)."""
        return cls(crop=crop or data.crop, colour=data.colour)


DEFAULT_READING = Reading()


@dataclass
class FrameSource:
    """One probed loop (see the module docstring); `read` decodes its frames on demand.

    n_frames: frames the decoder yields. fps: frames per second stated by the file (None: unknown).
    height, width: frame size in pixels. region: what is kept (`Region`: method, box, mask).
    colour: grey, tinted or colour_doppler; luminance_gain: set when frames are read as luminance.
    flags: reasons the loop should not get an EF (empty: none). warnings: what reading it noticed.
    info: what a DICOM says about itself (modality, regions, study UID; empty for AVI/MP4).
    """

    path: Path
    kind: SourceKind
    n_frames: int
    fps: float | None
    height: int
    width: int
    region: Region
    colour: ColourKind
    luminance_gain: float | None
    flags: list[str]
    warnings: list[str]
    info: LoopInfo
    array: np.ndarray | None = field(default=None, repr=False)  # the frames of an array source

    def read(self, indices: Iterable[int], transform: Transform | None = None) -> dict[int, np.ndarray]:
        """{index: frame} for `indices` (those past the end left out, each decoded once): (H, W, 3) uint8 RGB,
        read as luminance when the loop is tinted and the reading says so, then through `transform`. A frame
        the decoder does not yield is a `CorruptVideoError` naming it."""
        wanted = sorted({int(i) for i in np.asarray(list(indices)).reshape(-1) if 0 <= int(i) < self.n_frames})
        if not wanted:
            return {}
        out = {}
        for i, frame in self._loop().frames(wanted):
            if self.luminance_gain is not None:
                frame = to_luminance(frame, self.luminance_gain)
            out[i] = transform(frame) if transform is not None else frame
        if len(out) < len(wanted):
            lost = sorted(set(wanted) - set(out))
            raise CorruptVideoError(self.path, f"frame(s) {lost[:5]} of {self.n_frames} could not be decoded")
        return out

    def read_resized(self, indices: Iterable[int], size: int) -> dict[int, np.ndarray]:
        """{index: (size, size, 3) uint8 frame}: `read`, cropped to the region (a square, aspect kept) and resized."""
        return self.read(indices, lambda frame: resize_frames(crop_to_region(frame[None], self.region), size)[0])

    def frame(self, index: int = 0) -> np.ndarray:
        """One frame at full size (H, W, 3) uint8, colour as read: for crop previews."""
        return self.read([index])[index]

    def _loop(self) -> Loop:
        return ArrayLoop(self.array, self.fps, self.info) if self.array is not None else open_loop(self.path)


def probe(
    video: str | Path | np.ndarray,
    reading: Reading = DEFAULT_READING,
    *,
    fps: float | None = None,
    info: LoopInfo | None = None,
) -> FrameSource:
    """Probe a file or a (F, H, W, 3) uint8 RGB frame array at `fps` frames/s (see the module docstring).
    Raises a `VideoReadError` subclass naming the file and the reason it cannot be read."""
    if isinstance(video, np.ndarray):
        loop: Loop = ArrayLoop(video, fps, info)
        kind: SourceKind = "array"
    else:
        loop = open_loop(video)
        kind = "dicom" if isinstance(loop, DicomLoop) else "video"
    fps = plausible_fps(loop.fps, loop.info.warnings)
    index, sample = _sample(loop)
    region = locate_region(sample, reading.crop, loop.info.regions)
    # colour is a property of the ultrasound image, judged inside it whatever the crop keeps (a screen's ECG
    # trace and logo are coloured too)
    image = region if reading.crop == "auto" else locate_region(sample, "auto", loop.info.regions)
    colour = assess_colour(sample, image.mask, image.box)
    flags = quality_flags(sample, fps, loop.info.modality, loop.info.regions, loop.n_frames) + region.flags
    if colour.kind == "colour_doppler":
        flags.append("colour_doppler")
    gain = colour.gain if colour.kind == "tinted" and reading.colour == "luminance" else None
    return FrameSource(
        path=loop.path,
        kind=kind,
        n_frames=loop.n_frames,
        fps=fps,
        height=sample.shape[1],
        width=sample.shape[2],
        region=region,
        colour=colour.kind,
        luminance_gain=gain,
        flags=flags,
        warnings=list(loop.info.warnings),
        info=loop.info,
        array=video if kind == "array" else None,
    )


def _sample(loop: Loop) -> tuple[np.ndarray, np.ndarray]:
    """Evenly spaced frames (first and last included) and their indices. When the last frame the container
    announces does not decode, the loop's frame count is corrected by decoding it through."""
    index = even_indices(loop.n_frames, SAMPLE_FRAMES)
    decoded = dict(loop.frames(index))
    if index[-1] not in decoded:
        counted = loop.count_decoded()
        if counted == 0:
            raise NoFramesError(loop.path)
        loop.info.warnings.append(f"the container announces {loop.n_frames} frames, the decoder yields {counted}")
        loop.n_frames = counted
        index = even_indices(counted, SAMPLE_FRAMES)
        decoded = dict(loop.frames(index))
    if not decoded:  # the counted frames decode in order but not where the sample seeks them
        raise NoFramesError(loop.path, "no sampled frame decodes")
    index = np.array(sorted(decoded))
    return index, np.stack([decoded[i] for i in index])


def even_indices(n_frames: int, count: int) -> np.ndarray:
    """Up to `count` evenly spaced frame indices of a video of `n_frames` frames, first and last included."""
    return np.unique(np.linspace(0, n_frames - 1, min(count, n_frames)).round().astype(int))


ProbeResult = FrameSource | VideoReadError  # what `probe_all` gives each video: its source or why it cannot be read


def plausible_fps(fps: float | None, warnings: list[str]) -> float | None:
    """The stated frame rate if it lies in `PLAUSIBLE_FPS`; otherwise None (unknown), with a warning naming it."""
    low, high = PLAUSIBLE_FPS
    if fps is None or low <= fps <= high:
        return fps
    warnings.append(
        f"implausible frame rate {fps:.10g} frames/s read from the file (outside {low:g}-{high:g}): treated as unknown"
    )
    return None


def probe_all(
    paths: Mapping[str, Path], reading: Reading = DEFAULT_READING, workers: int | None = None, show: bool = True
) -> dict[str, ProbeResult]:
    """`probe` every video ({name: path}) in `workers` processes (default: the CPU count, at most 8; in this
    process for a handful of videos): {name: FrameSource, or the VideoReadError saying why not}. Never raises
    for a single video."""
    names = list(paths)
    workers = min(workers or os.cpu_count() or 1, 8, max(1, len(names) // 4))
    jobs = [(paths[name], reading) for name in names]
    bar = progress_bar(total=len(names), desc="probing videos", unit="video", disable=not show)
    results: dict[str, ProbeResult] = {}
    if workers <= 1:
        for name, job in zip(names, jobs, strict=True):
            results[name] = _probe_or_error(job)
            bar.update()
    else:
        context = get_context("fork") if os.name == "posix" else None  # fork: no re-import of torch per worker
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for name, result in zip(names, pool.map(_probe_or_error, jobs, chunksize=4), strict=True):
                results[name] = result
                bar.update()
    bar.close()
    return results


def _probe_or_error(job: tuple[Path, Reading]) -> ProbeResult:
    path, reading = job
    try:
        with time_limit(path):
            return probe(path, reading)
    except VideoReadError as exc:
        return exc
    except Exception as exc:  # a decoder's own error on a damaged file: this video's reason, not the run's end
        return CorruptVideoError(path, f"{type(exc).__name__}: {exc}")


def problem(result: ProbeResult, holds_systole: bool = False) -> str | None:
    """Why a probed video cannot be used for training or evaluation (unreadable, or flagged), or None.
    `holds_systole`: the dataset says the loop holds its end-diastole and end-systole (an external set's half
    sequence, short by design), so `too_short` does not count against it."""
    if isinstance(result, VideoReadError):
        return str(result).replace(f"{result.path}: ", "", 1)
    flags = [flag for flag in result.flags if not (holds_systole and flag == "too_short")]
    return f"flagged: {' '.join(flags)}" if flags else None
