"""EchoNet-Dynamic dataset (Ouyang et al., Nature 2020) in the form CardiacCLIP trains on.

Layout of `root`::

    FileList.csv          FileName,EF,ESV,EDV,FrameHeight,FrameWidth,FPS,NumberOfFrames,Split
    VolumeTracings.csv    FileName,X1,Y1,X2,Y2,Frame   (optional)
    Videos/<FileName>.avi

A few-shot split file in the FileList format (with its own Split column) can stand in for
`root/FileList.csv`; videos are still looked up under `root/Videos`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from cardiacclip.data.clips import (
    ClipCount,
    Normalization,
    evaluation_starts,
    pad_and_random_crop,
    random_start,
    resize_frames,
    take_clip,
    to_tensor,
)
from cardiacclip.data.errors import DatasetError, MissingVideosError
from cardiacclip.data.filelist import read_filelist, select_split
from cardiacclip.data.video_io import read_video

if TYPE_CHECKING:
    from cardiacclip.config import DataConfig

log = logging.getLogger(__name__)


class EchoNetDataset(Dataset):
    """Echo videos with their EF labels, as clips ready for an image encoder.

    Args:
        root: folder holding `FileList.csv` and `Videos/`.
        split: "train", "val", "test" (matched case-insensitively) or "all".
        filelist: a FileList-format CSV to use instead of `root/FileList.csv`, e.g. a k-shot
            split file; its Split column is used as given.
        file_names: keep only these FileNames (e.g. a seeded k-shot sample), in this order.
        length: frames per clip (CardiacCLIP: 48). None takes the whole video, every
            `period`-th frame, up to `max_length` frames.
        period: take every `period`-th frame (CardiacCLIP: 2, i.e. 25 fps from 50 fps).
        max_length: cap on frames when `length` is None.
        train: True draws one random clip per access and applies the pad-and-crop augmentation;
            False gives deterministic evaluation clips (`clips`).
        clips: evaluation clips per video: "all" (every start) or N evenly spaced starts.
        pad: training augmentation; zero-pad by `pad` pixels, then random crop back (None/0: off).
        image_size: frames are resized to `image_size` x `image_size` (EchoNet videos are 112;
            larger videos, such as the 768x1024 one in the test split, are resized).
        normalize: "clip" (OpenAI CLIP mean/std, EchoCLIP's own preprocessing; the default) or
            "raw" (0-255 floats, what the CardiacCLIP reference code fed).
        skip_missing: leave out videos that are not on disk with a warning, instead of raising
            `MissingVideosError` listing them all.

    Each item is a dict:
        video: float32 tensor (N, T, 3, S, S): N clips (N=1 in training) of T frames.
        ef: float32 scalar tensor, the EF label in percent.
        file_name: FileName as listed.
        starts: int64 tensor (N,), the first frame index of each clip.
        num_frames: decoded frame count of the video.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        *,
        filelist: str | Path | None = None,
        file_names: list[str] | None = None,
        length: int | None = 48,
        period: int = 2,
        max_length: int = 250,
        train: bool | None = None,
        clips: ClipCount = 1,
        pad: int | None = None,
        image_size: int = 112,
        normalize: Normalization = "clip",
        skip_missing: bool = False,
    ):
        self.root = Path(root)
        self.video_dir = self.root / "Videos"
        self.split = split
        self.length = length
        self.period = period
        self.max_length = max_length
        self.train = split.lower() == "train" if train is None else train
        self.clips: ClipCount = clips
        self.pad = pad or 0
        self.image_size = image_size
        self.normalize: Normalization = normalize

        table = read_filelist(filelist or self.root / "FileList.csv")
        table = select_split(table, split)
        if file_names is not None:
            by_name = table.set_index("FileName", drop=False)
            unknown = [n for n in file_names if n not in by_name.index]
            if unknown:
                raise DatasetError(f"{len(unknown)} requested FileName(s) are not in split {split!r}: {unknown[:10]}")
            table = by_name.loc[list(file_names)].reset_index(drop=True)
        table = table.reset_index(drop=True)

        missing = [name for name in table["VideoFile"] if not (self.video_dir / name).is_file()]
        if missing and not skip_missing:
            raise MissingVideosError(missing, self.video_dir)
        if missing:
            log.warning("skipping %d missing video(s) under %s: %s", len(missing), self.video_dir, ", ".join(missing[:20]))
            table = table[~table["VideoFile"].isin(missing)].reset_index(drop=True)
        if len(table) == 0:
            raise DatasetError(f"no videos in split {split!r} of {filelist or self.root / 'FileList.csv'}")
        self.table: pd.DataFrame = table

    def __len__(self) -> int:
        return len(self.table)

    @property
    def file_names(self) -> list[str]:
        return list(self.table["FileName"])

    @property
    def ef(self) -> np.ndarray:
        return self.table["EF"].to_numpy(dtype=float)

    def video_path(self, index: int) -> Path:
        return self.video_dir / self.table.at[index, "VideoFile"]

    def __getitem__(self, index: int) -> dict:
        row = self.table.iloc[index]
        frames = read_video(self.video_dir / row["VideoFile"]).frames
        length, period = self._clip_shape(len(frames))
        if self.train:
            starts = np.array([random_start(len(frames), length, period)])
        else:
            starts = evaluation_starts(len(frames), length, period, self.clips)
        frames = resize_frames(frames, self.image_size)
        clips = []
        for start in starts:
            clip = take_clip(frames, int(start), length, period)
            if self.train:
                clip = pad_and_random_crop(clip, self.pad)
            clips.append(to_tensor(clip, self.normalize))
        return {
            "video": torch.stack(clips),
            "ef": torch.tensor(float(row["EF"]), dtype=torch.float32),
            "file_name": str(row["FileName"]),
            "starts": torch.as_tensor(starts, dtype=torch.int64),
            "num_frames": len(frames),
        }

    def _clip_shape(self, n_frames: int) -> tuple[int, int]:
        if self.length is not None:
            return self.length, self.period
        return max(1, min(self.max_length, -(-n_frames // self.period))), self.period


def dataset_from_config(data: DataConfig, split: str, split_file: str | Path | None = None, train: bool = False,
                        clips: int | str = 1) -> EchoNetDataset:
    """The dataset a run's `data` config describes, under `data.root`; the pad-and-crop augmentation
    applies only to the TRAIN split (and only when `train` is set)."""
    return EchoNetDataset(data.root, split, filelist=split_file, length=data.length, period=data.period,
                          max_length=data.max_length, train=train, clips=clips,
                          pad=data.pad if split.lower() == "train" else None, image_size=data.image_size,
                          normalize=data.normalize, skip_missing=data.skip_missing)
