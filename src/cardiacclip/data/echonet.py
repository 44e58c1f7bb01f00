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

from cardiacclip.data.clips import CLIP_MEAN, CLIP_STD, ClipCount, ClipSampler, LazyFrames, resize_frames
from cardiacclip.data.errors import DatasetError, MissingVideosError
from cardiacclip.data.filelist import read_filelist, select_split
from cardiacclip.data.prepare import crop_resize
from cardiacclip.data.region import CropMethod, Region, crop_to_region, locate_region
from cardiacclip.data.video_io import decode_frames, read_video

if TYPE_CHECKING:
    from cardiacclip.config import DataConfig

log = logging.getLogger(__name__)


class EchoNetDataset(Dataset):
    """Echo videos with their EF labels, as clips ready for an image encoder.

    Args:
        root: folder holding `FileList.csv` and `Videos/`.
        split: "train", "val", "test" (matched case-insensitively) or "all".
        sampler: clip geometry and preprocessing (`ClipSampler`: frames per clip, period, image
            size, the backbone's mean/std or raw 0-255, the pad-and-crop augmentation).
        filelist: a FileList-format CSV to use instead of `root/FileList.csv`, e.g. a k-shot
            split file; its Split column is used as given.
        file_names: keep only these FileNames (e.g. a seeded k-shot sample), in this order.
        train: True draws one random, augmented clip per access; False gives deterministic
            evaluation clips (`clips`). Default: True for the "train" split.
        clips: evaluation clips per video: "all" (every start) or N evenly spaced starts.
        skip_missing: leave out videos that are not on disk with a warning, instead of raising
            `MissingVideosError` listing them all.
        crop: the ultrasound region kept (`cardiacclip.data.region`): "auto" leaves small square
            videos (EchoNet-Dynamic's 112 x 112 crops) as they are and finds the scan sector in
            screen captures; "regions" is not available here (AVIs carry no region tags).

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
        sampler: ClipSampler | None = None,
        *,
        filelist: str | Path | None = None,
        file_names: list[str] | None = None,
        train: bool | None = None,
        clips: ClipCount = 1,
        skip_missing: bool = False,
        crop: CropMethod = "auto",
    ):
        self.root = Path(root)
        self.video_dir = self.root / "Videos"
        self.split = split
        self.sampler = sampler or ClipSampler()
        self.train = split.lower() == "train" if train is None else train
        self.clips: ClipCount = clips
        self.crop: CropMethod = crop

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
            log.warning(
                "skipping %d missing video(s) under %s: %s", len(missing), self.video_dir, ", ".join(missing[:20])
            )
            table = table[~table["VideoFile"].isin(missing)].reset_index(drop=True)
        if len(table) == 0:
            raise DatasetError(f"no videos in split {split!r} of {filelist or self.root / 'FileList.csv'}")
        self.table: pd.DataFrame = table
        self._seen: dict[str, tuple[int, Region]] = {}  # per video: decoded frame count, ultrasound region
        # False once every frame's features are cached (`TrunkFeatureCache`): clips of seen videos are then
        # built from black frames without reading the file, since only their frame indices are used
        self.decode_pixels = True

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
        path, name = self.video_dir / row["VideoFile"], str(row["FileName"])
        # first access: the whole video, to count its frames and find its region; later: only the clip frames
        seen = self._seen.get(name)
        frames = self._whole_video(path, name) if seen is None else self._clip_frames(path, *seen)
        if self.train:
            video, starts = self.sampler.training_clip(frames)
        else:
            if isinstance(frames, LazyFrames):  # every clip's frames in one pass over the file
                starts = self.sampler.evaluation_starts(len(frames), self.clips)
                frames.prefetch(np.concatenate([self.sampler.frame_indices(len(frames), int(s)) for s in starts]))
            video, starts = self.sampler.evaluation_clips(frames, self.clips)
        return {
            "video": video,
            "ef": torch.tensor(float(row["EF"]), dtype=torch.float32),
            "file_name": name,
            "starts": torch.as_tensor(starts, dtype=torch.int64),
            "num_frames": len(frames),
        }

    def all_frames(self, index: int) -> tuple[str, torch.Tensor]:
        """(FileName, every frame of the video as (F, 3, S, S)), preprocessed as the clips are but never
        augmented: for caching each frame's features (`cardiacclip.model.feature_cache`)."""
        row = self.table.iloc[index]
        frames = self._whole_video(self.video_dir / row["VideoFile"], str(row["FileName"]))
        return str(row["FileName"]), self.sampler.to_tensor(resize_frames(frames, self.sampler.image_size))

    def _whole_video(self, path: Path, name: str) -> np.ndarray:
        """Every frame, cropped to the video's ultrasound region; its frame count and region are remembered."""
        frames = read_video(path).frames
        region = locate_region(frames, self.crop)
        frames = crop_to_region(frames, region)
        self._seen[name] = (len(frames), region)
        return frames

    def _clip_frames(self, path: Path, n_frames: int, region: Region) -> LazyFrames:
        """The video as `LazyFrames`: the sampler draws its clip starts from the frame count, then only the
        frames those clips use are decoded (seeking in the file), each cropped to the region and resized."""
        size = self.sampler.image_size
        if not self.decode_pixels:
            black = np.zeros((size, size, 3), dtype=np.uint8)
            return LazyFrames(n_frames, size, lambda indices: dict.fromkeys(map(int, indices), black))

        def decode(indices: np.ndarray) -> dict[int, np.ndarray]:
            return decode_frames(path, indices, lambda f: crop_resize(f, region, size))

        return LazyFrames(n_frames, size, decode)


def dataset_from_config(
    data: DataConfig,
    split: str,
    split_file: str | Path | None = None,
    train: bool = False,
    clips: ClipCount = 1,
    mean: tuple[float, ...] = CLIP_MEAN,
    std: tuple[float, ...] = CLIP_STD,
) -> EchoNetDataset:
    """The dataset a run's `data` config describes, under `data.root`, normalized with the backbone's
    `mean`/`std`; the pad-and-crop augmentation applies only to the TRAIN split (and only when `train` is set)."""
    sampler = ClipSampler.from_config(data, mean, std, augment=train and split.lower() == "train")
    return EchoNetDataset(
        data.root,
        split,
        sampler,
        filelist=split_file,
        train=train,
        clips=clips,
        skip_missing=data.skip_missing,
        crop=data.crop,
    )
