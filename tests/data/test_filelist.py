from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from cardiacclip.data import DatasetError, InvalidLabelError, UnusableVideosError
from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.data.filelist import read_filelist, read_volume_tracings, volume_from_tracing


def _write_bom_crlf(path, text: str) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))


def test_bom_and_crlf_filelist(tmp_path):
    _write_bom_crlf(
        tmp_path / "FileList.csv",
        "FileName,EF,ESV,EDV,FrameHeight,FrameWidth,FPS,NumberOfFrames,Split\n"
        "0X1A,55.5,30,70,112,112,50,100,Train\n"
        "0X2B,31.25,60,90,112,112,50,100,val\n"
        "0X3C,70.0,20,60,112,112,50,100,TEST\n",
    )
    table = read_filelist(tmp_path / "FileList.csv")
    assert list(table.columns[:2]) == ["FileName", "EF"]  # no BOM glued to the first column name
    assert list(table["FileName"]) == ["0X1A", "0X2B", "0X3C"]  # no trailing \r
    assert list(table["Split"]) == ["TRAIN", "VAL", "TEST"]
    assert list(table["VideoFile"]) == ["0X1A.avi", "0X2B.avi", "0X3C.avi"]
    assert table["EF"].tolist() == [55.5, 31.25, 70.0]


def test_bom_and_crlf_volume_tracings(tmp_path):
    _write_bom_crlf(
        tmp_path / "VolumeTracings.csv",
        "FileName,X1,Y1,X2,Y2,Frame\n"
        "0X1A.avi,10,0,10,20,46\n0X1A.avi,8,5,12,5,46\n0X1A.avi,6,15,14,15,46\n"
        "0X1A.avi,10,0,10,30,61\n0X1A.avi,5,7.5,15,7.5,61\n0X1A.avi,3,22.5,17,22.5,61\n",
    )
    tracings = read_volume_tracings(tmp_path / "VolumeTracings.csv")
    assert list(tracings["0X1A.avi"]) == [46, 61]  # listed order kept: first ES, last ED
    small, large = (volume_from_tracing(tracings["0X1A.avi"][f]) for f in (46, 61))
    assert small == pytest.approx(np.pi * (2**2 + 4**2) * 20 / 2)
    assert large > small


def test_bad_ef_rows_are_named(tmp_path):
    (tmp_path / "FileList.csv").write_text("FileName,EF,Split\nA,50,TRAIN\nB,,TRAIN\nC,abc,TRAIN\nD,60,VAL\n")
    with pytest.raises(InvalidLabelError) as info:
        read_filelist(tmp_path / "FileList.csv")
    message = str(info.value)
    assert "2 row(s)" in message and "line 3: FileName='B'" in message and "line 4: FileName='C'" in message
    assert "'A'" not in message


def test_missing_videos_listed_together_or_skipped(synthetic_root, tmp_path, caplog):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_root, root)
    table = read_filelist(root / "FileList.csv")
    gone = list(table.loc[table["Split"] == "TEST", "FileName"][:2])
    for name in gone:
        (root / "Videos" / f"{name}.avi").unlink()
    with pytest.raises(UnusableVideosError) as info:
        EchoNetDataset(root, "test")
    assert list(info.value.problems) == gone and all("file not found" in r for r in info.value.problems.values())
    assert all(name in str(info.value) for name in gone) and "--skip-unreadable" in str(info.value)
    dataset = EchoNetDataset(root, "test", skip_unreadable=True)
    assert len(dataset) == (table["Split"] == "TEST").sum() - 2 and dataset.skipped == info.value.problems
    assert "left out 2 unusable video(s)" in caplog.text


def test_split_names_case_insensitive(synthetic_root):
    n_val = (pd.read_csv(synthetic_root / "FileList.csv")["Split"] == "VAL").sum()
    assert len(EchoNetDataset(synthetic_root, "Val")) == len(EchoNetDataset(synthetic_root, "VAL")) == n_val


def test_ef_outside_0_100_is_named(tmp_path):
    (tmp_path / "FileList.csv").write_text("FileName,EF,Split\nA,50,TRAIN\nB,-3,TRAIN\nC,100.5,VAL\nD,100,TEST\n")
    with pytest.raises(InvalidLabelError) as info:
        read_filelist(tmp_path / "FileList.csv")
    message = str(info.value)
    assert "2 row(s)" in message and "FileName='B'" in message and "FileName='C'" in message and "'D'" not in message


def test_duplicated_file_names_are_named(tmp_path):
    (tmp_path / "FileList.csv").write_text(
        "FileName,EF,Split\nA,50,TRAIN\nB,40,TRAIN\nA,50,TRAIN\nA,50,TEST\nC,60,VAL\n"
    )
    with pytest.raises(DatasetError, match=r"listed more than once(.|\n)*A: lines 2, 4, 5") as info:
        read_filelist(tmp_path / "FileList.csv")
    assert "B:" not in str(info.value)
