"""Few-shot splits of an EchoNet-Dynamic FileList (CardiacCLIP, Sec. 3 "Experimental setup").

"k-shot" means k training videos per integer EF value (the floor of EF); values with fewer
than k videos keep all they have. On EchoNet-Dynamic 1/2/4/8-shot give about 84/162/307/570
videos. Validation is a seeded subset of the VAL split (the reference used 600 videos) and
testing uses the full TEST split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cardiacclip.data.errors import DatasetError
from cardiacclip.data.filelist import read_filelist, select_split, write_filelist

if TYPE_CHECKING:
    from cardiacclip.config import DataConfig


def sample_k_shot(table: pd.DataFrame, k: int, seed: int) -> list[str]:
    """FileNames of a k-shot training sample: up to k videos per integer EF value, seeded.

    `table` holds the candidate rows (normally the TRAIN split). The result is sorted by
    (EF value, FileName) and depends only on the rows, k and seed, not on the row order.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    rows = table.sort_values("FileName").reset_index(drop=True)
    ef_int = np.floor(rows["EF"].to_numpy(dtype=float)).astype(int)
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    for value in np.unique(ef_int):
        names = rows.loc[ef_int == value, "FileName"].to_numpy()
        take = rng.choice(len(names), size=min(k, len(names)), replace=False)
        chosen.extend(sorted(names[take]))
    return chosen


def sample_subset(table: pd.DataFrame, n: int | None, seed: int) -> list[str]:
    """`n` FileNames drawn without replacement (all of them when n is None or larger)."""
    names = np.sort(table["FileName"].to_numpy())
    if n is None or n >= len(names):
        return list(names)
    rng = np.random.default_rng(seed)
    return list(np.sort(rng.choice(names, size=n, replace=False)))


@dataclass
class FewShotSplit:
    """The videos one few-shot run uses: a k-shot train sample, a validation subset and the test split."""

    train: list[str]
    val: list[str]
    test: list[str]

    def to_filelist(self, table: pd.DataFrame) -> pd.DataFrame:
        """The split as a FileList with a Split column (the format the reference published)."""
        parts = []
        for split, names in (("TRAIN", self.train), ("VAL", self.val), ("TEST", self.test)):
            rows = table.set_index("FileName", drop=False).loc[names].copy()
            rows["Split"] = split
            parts.append(rows)
        return pd.concat(parts).reset_index(drop=True)


def make_few_shot_split(
    filelist: str | Path | pd.DataFrame,
    shots: int | None,
    seed: int,
    val_size: int | None = 600,
) -> FewShotSplit:
    """k-shot TRAIN sample (all of TRAIN when `shots` is None), `val_size` VAL videos, the whole TEST split."""
    table = read_filelist(filelist) if not isinstance(filelist, pd.DataFrame) else filelist
    train = select_split(table, "train")
    if len(train) == 0:
        raise DatasetError("the FileList has no TRAIN rows")
    train_names = sample_k_shot(train, shots, seed) if shots else sorted(train["FileName"])
    val_names = sample_subset(select_split(table, "val"), val_size, seed)
    test_names = sorted(select_split(table, "test")["FileName"])
    return FewShotSplit(train_names, val_names, test_names)


def split_from_file(path: str | Path) -> FewShotSplit:
    """A split file in the FileList format (e.g. the reference's FileList_{k}_shot.csv), used as given."""
    table = read_filelist(path)
    return FewShotSplit(*(list(select_split(table, s)["FileName"]) for s in ("train", "val", "test")))


def write_split_file(split: FewShotSplit, table: pd.DataFrame, path: str | Path) -> Path:
    """The split as a FileList-format CSV (rows from `table`, Split set to TRAIN/VAL/TEST)."""
    return write_filelist(split.to_filelist(table), path)


def write_split(data: DataConfig, path: str | Path, shots: int | None = None, seed: int | None = None) -> Path:
    """Write the split a run uses to `path`: `data.split_file` copied as given, else a k-shot sample
    of `data.root`/FileList.csv (`shots`/`seed` default to `data.shots`/`data.split_seed`)."""
    if data.split_file:
        return write_split_file(split_from_file(data.split_file), read_filelist(data.split_file), path)
    table = read_filelist(Path(data.root) / "FileList.csv")
    shots = data.shots if shots is None else shots
    split = make_few_shot_split(table, shots, data.split_seed if seed is None else seed, data.val_size)
    return write_split_file(split, table, path)
