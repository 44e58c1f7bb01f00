"""EchoNet-Dynamic dataset (Ouyang et al., Nature 2020) in the form CardiacCLIP trains on.

Layout of `root`::

    FileList.csv          FileName,EF,ESV,EDV,FrameHeight,FrameWidth,FPS,NumberOfFrames,Split
    VolumeTracings.csv    FileName,X1,Y1,X2,Y2,Frame   (optional)
    Videos/<FileName>.avi

A few-shot split file in the FileList format (with its own Split column) can stand in for
`root/FileList.csv`; videos are still looked up under `root/Videos`. Videos may be AVI/MP4 or
DICOM cine loops (a FileName with its `.dcm` extension, or any extension the reader knows).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from cardiacclip.data.clips import CLIP_MEAN, CLIP_STD, ClipCount, ClipSampler
from cardiacclip.data.errors import DatasetError, UnusableVideosError, VideoReadError
from cardiacclip.data.filelist import key_frame_lists, read_filelist, select_split, video_file_name
from cardiacclip.data.prepare import FALLBACK_CLIPS, fallback_clip_count, prepare_video, training_clip
from cardiacclip.data.source import DEFAULT_READING, FrameSource, ProbeResult, Reading, probe_all, problem

if TYPE_CHECKING:
    from cardiacclip.config import DataConfig

log = logging.getLogger(__name__)

KEY_ED, KEY_ES = 1, 2  # the marks of a training item's `key_marks`

LEFT_OUT_FILE = "left_out.csv"  # the videos a job left out and why, in its run or output folder


class EchoNetDataset(Dataset):
    """Echo videos with their EF labels, as clips ready for an image encoder.

    Before anything is read, every listed video is probed (`cardiacclip.data.source.probe_all`, in worker
    processes, a sample of frames each): a missing, unreadable or flagged video (`FrameSource.flags`: not
    ultrasound, Doppler, too short, blank, no sector, colour Doppler, ...) stops the dataset with one
    `UnusableVideosError` naming every such video and why, unless `skip_unreadable` leaves them out
    (`skipped` lists them). Clips are read through each video's `FrameSource`, exactly as `predict` reads
    the same file (region, colour, frame-rate policy).

    Args:
        root: folder holding `FileList.csv` and `Videos/`.
        split: "train", "val", "test" (matched case-insensitively) or "all".
        sampler: clip geometry and preprocessing (`ClipSampler`: frames per clip, period at the training
            frame rate, image size, the backbone's mean/std or raw 0-255, the pad-and-crop augmentation).
        filelist: a FileList-format CSV to use instead of `root/FileList.csv`, e.g. a k-shot
            split file; its Split column is used as given.
        file_names: keep only these FileNames (e.g. a seeded k-shot sample), in this order.
        train: True draws one random, augmented clip per access; False gives deterministic
            evaluation clips (`clips`). Default: True for the "train" split.
        clips: evaluation clips per video: "all" (every start), N evenly spaced starts, or "beats" (the item
            then holds the `PreparedVideo` as `prepared`, and the model places one clip per beat).
        fallback_clips: with "beats", the evenly spaced clips of a loop without a complete beat.
        reading: how a file becomes frames (`Reading`: the ultrasound region kept, "auto" leaving
            EchoNet-Dynamic's small square crops as they are; tinted loops read as luminance).
        skip_unreadable: leave out missing, unreadable and flagged videos (listed in `skipped` and the
            log) instead of raising `UnusableVideosError`.
        probed: what an earlier `probe_all` found ({FileName: FrameSource or error}), so a job that builds
            several datasets of one FileList probes each video once; videos it lacks are probed here.
        show_progress: a progress bar while probing.

    Each item is a dict:
        video: float32 tensor (N, T, 3, S, S): N clips (N=1 in training) of T frames.
        ef: float32 scalar tensor, the EF label in percent.
        file_name: FileName as listed.
        starts: int64 tensor (N,), the first frame index of each clip.
        period: every period-th frame was taken (the loop's own, `ClipSampler.for_video`).
        num_frames: frame count of the video.
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
        fallback_clips: int = FALLBACK_CLIPS,
        reading: Reading = DEFAULT_READING,
        skip_unreadable: bool = False,
        probed: Mapping[str, ProbeResult] | None = None,
        show_progress: bool = False,
    ):
        self.root = Path(root)
        self.video_dir = self.root / "Videos"
        self.split = split
        self.sampler = sampler or ClipSampler()
        self.train = split.lower() == "train" if train is None else train
        self.clips: ClipCount = clips
        self.fallback_clips = fallback_clips
        self.reading = reading
        self.filelist = Path(filelist or self.root / "FileList.csv")
        table = _rows(self.filelist, split, file_names)
        results = self._probe(table, probed or {}, show_progress)
        self.skipped = unusable(table, results)
        if self.skipped:
            table = self._leave_out(table, skip_unreadable)
        if len(table) == 0:
            raise DatasetError(f"no usable videos in split {split!r} of {self.filelist}")
        self.table: pd.DataFrame = table
        self.sources: list[FrameSource] = [results[name] for name in table["FileName"]]
        # (ED frames, ES frames) of each video for the key-frame loss, when asked (`with_key_frames`)
        self.key_frames: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] | None = None
        # False once every frame's features are cached (`TrunkFeatureCache`): clips are then built from black
        # frames without reading the file, since only their frame indices are used
        self.decode_pixels = True

    def _probe(self, table: pd.DataFrame, probed: Mapping[str, ProbeResult], show: bool) -> dict[str, ProbeResult]:
        """Every listed video probed (`probe_all`), reusing results already at hand (`probed`)."""
        results = dict(probed)
        paths = {n: self.video_dir / f for n, f in zip(table["FileName"], table["VideoFile"], strict=True)}
        todo = {name: path for name, path in paths.items() if name not in results}
        results.update(probe_all(todo, self.reading, show=show) if todo else {})
        return results

    def _leave_out(self, table: pd.DataFrame, skip_unreadable: bool) -> pd.DataFrame:
        """The table without the unusable videos (named in the log), or `UnusableVideosError` naming them all."""
        if not skip_unreadable:
            raise UnusableVideosError(self.skipped, self.filelist, self.split)
        shown = "; ".join(f"{name}: {reason}" for name, reason in list(self.skipped.items())[:20])
        log.warning("left out %d unusable video(s) of split %s: %s", len(self.skipped), self.split, shown)
        return table[~table["FileName"].isin(self.skipped)].reset_index(drop=True)

    def with_key_frames(self) -> EchoNetDataset:
        """Training items also mark the clip positions of end-diastolic and end-systolic frames (`key_marks`, for
        `train.loss.key_frames`): every beat's from Beats.csv where the dataset has one, else the traced pair."""
        self.key_frames = key_frame_lists(self.root)
        known = sum(video_file_name(str(name)) in self.key_frames for name in self.table["FileName"])
        if known < len(self):
            log.warning(
                "the key-frame loss term has ED/ES frames for %d of %d training videos (Beats.csv, VolumeTracings.csv "
                "or EDFrame/ESFrame columns); the others train without it",
                known,
                len(self),
            )
        return self

    def _key_marks(self, index: int, start: int, period: int, length: int) -> torch.Tensor:
        """(length,) int8: KEY_ED or KEY_ES at the clip position nearest each key frame the clip holds, else 0."""
        marks = torch.zeros(length, dtype=torch.int8)
        ed_frames, es_frames = self.key_frames.get(video_file_name(str(self.table.at[index, "FileName"])), ((), ()))
        for mark, frames in ((KEY_ED, ed_frames), (KEY_ES, es_frames)):
            for frame in frames:
                position = round((frame - start) / period)
                if 0 <= position < length:
                    marks[position] = mark
        return marks

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
        """The item (see the class docstring). A video that fails now, in a frame its probe did not decode, is
        replaced by the next one in training (with a warning: the run goes on); in evaluation its item holds
        `error` (the reason) instead of `video`, and the evaluation leaves it out and lists it."""
        for attempt in range(len(self)):
            try:
                return self._item((index + attempt) % len(self))
            except VideoReadError as exc:
                if not self.train:
                    return {
                        "file_name": self.file_names[index],
                        "ef": float(self.table.at[index, "EF"]),
                        "error": str(exc),
                    }
                log.warning("%s; training on the next video in its place for this access", exc)
        raise DatasetError(f"no video of split {self.split!r} of {self.filelist} can be read any more")

    def _item(self, index: int) -> dict:
        source = self.sources[index]
        if self.train:
            video, starts, period = training_clip(source, self.sampler, decode=self.decode_pixels)
        else:
            prepared = prepare_video(
                source, self.sampler, self.clips, decode=self.decode_pixels, fallback_clips=self.fallback_clips
            )
            video, starts, period = prepared.clips, prepared.starts, prepared.period
        item = {
            "video": video,
            "ef": torch.tensor(float(self.table.at[index, "EF"]), dtype=torch.float32),
            "file_name": str(self.table.at[index, "FileName"]),
            "starts": torch.as_tensor(starts, dtype=torch.int64),
            "period": period,
            "num_frames": source.n_frames,
        }
        if self.train and self.key_frames is not None:
            item["key_marks"] = self._key_marks(index, int(starts[0]), period, video.shape[1])
        if self.clips == "beats" and not self.train:  # beats are placed by the model (`model.beats`)
            item["prepared"] = prepared
        return item

    def all_frames(self, index: int) -> tuple[str, torch.Tensor, ClipSampler]:
        """(FileName, every frame of the video as (F, 3, S, S), the video's own sampler), preprocessed as the clips
        are but never augmented: for caching each frame's features (`cardiacclip.model.feature_cache`)."""
        source, size = self.sources[index], self.sampler.image_size
        decoded = source.read_resized(range(source.n_frames), size)
        frames = np.stack([decoded[i] for i in range(source.n_frames)])
        return str(self.table.at[index, "FileName"]), self.sampler.to_tensor(frames), self.sampler.for_video(source.fps)


def _rows(filelist: Path, split: str, file_names: list[str] | None) -> pd.DataFrame:
    """The FileList rows of `split`, restricted to `file_names` (in that order) when given."""
    table = select_split(read_filelist(filelist), split)
    if file_names is not None:
        by_name = table.set_index("FileName", drop=False)
        unknown = [n for n in file_names if n not in by_name.index]
        if unknown:
            raise DatasetError(f"{len(unknown)} requested FileName(s) are not in split {split!r}: {unknown[:10]}")
        table = by_name.loc[list(file_names)]
    return table.reset_index(drop=True)


def unusable(table: pd.DataFrame, results: Mapping[str, ProbeResult]) -> dict[str, str]:
    """{FileName: why it cannot be used} for the rows whose probe failed or flagged the video. A row that gives
    both EDFrame and ESFrame (an external set's half sequence, `convert --from`) holds a whole systole: being
    shorter than the quality gate's 0.5 s is not held against it."""
    systole = set()
    if {"EDFrame", "ESFrame"} <= set(table.columns):
        systole = set(table.dropna(subset=["EDFrame", "ESFrame"])["FileName"])
    reasons = {name: problem(results[name], name in systole) for name in table["FileName"]}
    return {name: reason for name, reason in reasons.items() if reason is not None}


def write_left_out(left_out: Mapping[str, str], path: Path) -> Path:
    """The videos a job left out ({FileName: reason}) as a CSV (FileName, reason) in its run or output folder."""
    pd.DataFrame({"FileName": list(left_out), "reason": list(left_out.values())}).to_csv(path, index=False)
    log.warning("%d video(s) left out, listed in %s", len(left_out), path)
    return path


def check_data_folder(root: str | Path | None) -> Path:
    """`root` as a dataset folder (FileList.csv and Videos/), or a DatasetError saying what to pass instead."""
    if root is None:
        raise DatasetError("no dataset folder: pass --data FOLDER (holding FileList.csv and Videos/)")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; pass --data a folder holding FileList.csv and Videos/")
    if not (root / "Videos").is_dir():
        raise DatasetError(f"{root}: no Videos/ folder; a dataset folder holds FileList.csv and Videos/")
    return root


def check_videos(
    root: str | Path,
    filelist: str | Path | None,
    splits: tuple[str, ...],
    reading: Reading = DEFAULT_READING,
    skip_unreadable: bool = False,
    show_progress: bool = True,
) -> dict[str, ProbeResult]:
    """The check before the first epoch: probe every video of `splits` of a FileList once (worker processes, a
    sample of frames each) and raise one `UnusableVideosError` naming every missing, unreadable or flagged video
    of all those splits, unless `skip_unreadable`. Returns {FileName: FrameSource or error}, for the datasets of
    the run (`EchoNetDataset(probed=...)`), which then leave the unusable videos out."""
    filelist = Path(filelist or Path(root) / "FileList.csv")
    table = pd.concat([select_split(read_filelist(filelist), split) for split in splits]).drop_duplicates("FileName")
    paths = {n: Path(root) / "Videos" / f for n, f in zip(table["FileName"], table["VideoFile"], strict=True)}
    results = probe_all(paths, reading, show=show_progress)
    problems = unusable(table, results)
    if problems and not skip_unreadable:
        raise UnusableVideosError(problems, filelist, "/".join(splits))
    return results


def dataset_from_config(
    data: DataConfig,
    split: str,
    split_file: str | Path | None = None,
    train: bool = False,
    clips: ClipCount = 1,
    mean: tuple[float, ...] = CLIP_MEAN,
    std: tuple[float, ...] = CLIP_STD,
    probed: Mapping[str, ProbeResult] | None = None,
    show_progress: bool = False,
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
        fallback_clips=fallback_clip_count(data.test_clips),
        reading=Reading.from_config(data),
        skip_unreadable=data.skip_unreadable,
        probed=probed,
        show_progress=show_progress,
    )
