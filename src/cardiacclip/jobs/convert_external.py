"""`cardiacclip convert --from camus|echonet-pediatric`: an external validation set into the EchoNet-Dynamic layout.

Each loop of the release (`cardiacclip.data.camus`, `cardiacclip.data.pediatric`) goes through the frame source
(the ultrasound region found, cropped, resized to `size`) into OUT/Videos/<name>.avi, and FileList.csv gets a row:
FileName, EF, FrameHeight, FrameWidth, FPS, NumberOfFrames, Split, EDFrame and ESFrame (0-based, where the
source has them: the key-frame metric reads them), and the release's other labels (Sex, Age, ...). These sets
are public and already de-identified: no private folder. A loop that cannot be read is named and left out.

Tested by tests/data/test_external_sets.py.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.choices import ExternalSet
from cardiacclip.data.camus import camus_loops
from cardiacclip.data.errors import DatasetError, VideoReadError
from cardiacclip.data.external import SourceLoop, parse_folds, read_image_frames
from cardiacclip.data.filelist import write_filelist
from cardiacclip.data.pediatric import pediatric_loops
from cardiacclip.data.source import probe
from cardiacclip.data.video_io import write_video
from cardiacclip.jobs.convert import ASSUMED_FPS
from cardiacclip.jobs.output import output_folder
from cardiacclip.progress import progress_bar

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".nii", ".gz", ".mhd")


@dataclass
class ExternalSummary:
    converted: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # name -> reason
    assumed_fps: int = 0  # loops whose release states no frame rate (written at ASSUMED_FPS)
    split_counts: dict[str, int] = field(default_factory=dict)  # loops of the release per split


def convert_release(
    src: Path, out: Path, release: ExternalSet, view: str | None = None, folds: str | None = None, size: int = 112
) -> ExternalSummary:
    """Read a CAMUS or EchoNet-Pediatric release (`view`: 4CH/2CH or A4C/PSAX; Pediatric `folds` as
    TRAIN=0-7,VAL=8,TEST=9) and convert its loops (`convert_external`)."""
    if release == "camus":
        loops = camus_loops(src, view or "4CH")
    else:
        loops = pediatric_loops(src, view or "A4C", parse_folds(folds))
    summary = convert_external(loops, out, size)
    summary.split_counts = dict(sorted(Counter(loop.split for loop in loops).items()))
    return summary


def _frames(loop: SourceLoop, size: int) -> tuple[np.ndarray, float | None]:
    """(F, size, size, 3) uint8 frames of a loop through the frame source, and its frame rate."""
    if loop.path.suffix.lower() in IMAGE_SUFFIXES:
        grey = read_image_frames(loop.path)
        video = probe(np.repeat(grey[..., None], 3, axis=-1), fps=loop.fps)
    else:
        video = probe(loop.path)
    decoded = video.read_resized(range(video.n_frames), size)
    return np.stack([decoded[i] for i in sorted(decoded)]), loop.fps or video.fps


def convert_external(loops: list[SourceLoop], out: Path, size: int = 112, progress: bool = True) -> ExternalSummary:
    """Write `loops` to `out` in the EchoNet-Dynamic layout (see the module docstring)."""
    output_folder(out / "Videos")
    summary, rows = ExternalSummary(), []
    for loop in progress_bar(loops, desc="converting", unit="loop", disable=not progress or len(loops) < 2):
        try:
            frames, fps = _frames(loop, size)
        except (VideoReadError, DatasetError, OSError, ValueError) as exc:
            summary.failed[loop.name] = str(exc)
            log.error("%s: not converted: %s", loop.name, exc)
            continue
        if not fps:
            fps, summary.assumed_fps = ASSUMED_FPS, summary.assumed_fps + 1
        write_video(out / "Videos" / f"{loop.name}.avi", frames, fps=fps)
        rows.append(_row(loop, frames, fps, size))
        summary.converted += 1
    if summary.assumed_fps:
        log.warning("%d loop(s) state no frame rate: written at %g frames/s", summary.assumed_fps, ASSUMED_FPS)
    write_filelist(pd.DataFrame(rows), out / "FileList.csv")
    (out / "NOTICE.txt").write_text(f"Converted by cardiacclip convert --from. {RESEARCH_NOTICE}\n")
    return summary


def _row(loop: SourceLoop, frames: np.ndarray, fps: float, size: int) -> dict:
    return {
        "FileName": loop.name,
        "EF": loop.ef,
        "FrameHeight": size,
        "FrameWidth": size,
        "FPS": round(float(fps), 3),
        "NumberOfFrames": len(frames),
        "Split": loop.split,
        "EDFrame": loop.ed,
        "ESFrame": loop.es,
        **loop.extra,
    }
