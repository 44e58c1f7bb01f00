from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardiacclip.data.clips import ClipSampler
from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.data.fewshot import make_few_shot_split, sample_k_shot, split_from_file, write_split_file
from cardiacclip.data.filelist import read_filelist


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    ef = np.concatenate([rng.uniform(10, 90, 600), [42.1, 42.9, 42.5]])
    return pd.DataFrame({"FileName": [f"V{i:04d}" for i in range(len(ef))], "EF": ef, "Split": "TRAIN"})


@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_k_shot_counts(table, k):
    names = sample_k_shot(table, k, seed=0)
    per_value = np.floor(table["EF"]).astype(int).value_counts()
    assert len(names) == int(np.minimum(per_value, k).sum())
    chosen = table.set_index("FileName").loc[names]
    assert np.floor(chosen["EF"]).astype(int).value_counts().max() <= k
    assert len(set(names)) == len(names)


def test_k_shot_seeding(table):
    assert sample_k_shot(table, 2, seed=1) == sample_k_shot(table.sample(frac=1.0, random_state=3), 2, seed=1)
    assert sample_k_shot(table, 2, seed=1) != sample_k_shot(table, 2, seed=2)


def test_one_shot_covers_every_integer_value(table):
    names = sample_k_shot(table, 1, seed=0)
    assert len(names) == np.floor(table["EF"]).astype(int).nunique()


def test_split_file_round_trip(synthetic_root, tmp_path):
    table = read_filelist(synthetic_root / "FileList.csv")
    split = make_few_shot_split(table, shots=1, seed=5, val_size=4)
    assert len(split.val) == 4 and len(split.test) == (table["Split"] == "TEST").sum()
    path = write_split_file(split, table, tmp_path / "FileList_1_shot.csv")
    again = split_from_file(path)
    assert again.train == split.train and again.val == split.val and again.test == split.test
    dataset = EchoNetDataset(synthetic_root, "train", ClipSampler(length=4), filelist=path)
    assert dataset.file_names == split.train
