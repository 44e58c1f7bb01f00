"""Every documented user mistake ends in one line that says what to do and exit status 2, never a traceback.

The table is the documentation's list; adding a mistake means adding a row. Each row runs the real command
line (typer's runner over `cardiacclip.cli.app`) on a small synthetic dataset and a tiny trained run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.data.video_io import write_video
from helpers import moving_pattern, write_dicom, write_structured_report

runner = CliRunner()


@pytest.fixture(scope="module")
def places(tmp_path_factory, synthetic_root, tiny_run) -> dict[str, str]:
    """Paths the rows refer to: {data}, {run}, {archive}, {labels}, {file}, {ckpt}, {video}, {tmp}."""
    tmp = tmp_path_factory.mktemp("mistakes")
    archive = tmp / "archive"
    write_video(archive / "loop.avi", moving_pattern(n_frames=30), fps=30.0)
    pd.DataFrame({"file": ["loop.avi"], "ejection_fraction": [55.0]}).to_csv(tmp / "labels.csv", index=False)
    (tmp / "a_file").write_text("not a folder\n")
    (tmp / "not_a_checkpoint.pt").write_bytes(b"\x00 this is not a checkpoint")
    return {
        "data": str(synthetic_root),
        "run": str(tiny_run[0]),
        "archive": str(archive),
        "labels": str(tmp / "labels.csv"),
        "file": str(tmp / "a_file"),
        "ckpt": str(tmp / "not_a_checkpoint.pt"),
        "video": str(archive / "loop.avi"),
        "tmp": str(tmp),
    }


MISTAKES = [  # (what the user did, command line, what the line must say)
    (
        "labels CSV without an EF column",
        "convert {archive} {tmp}/conv1 --labels {labels}",
        "needs an EF column",
    ),
    (
        "private folder inside the output",
        "convert {archive} {tmp}/conv2 --private {tmp}/conv2/private",
        "must not be inside the output",
    ),
    ("unknown benchmark method", "benchmark --out {tmp}/bench --methods nosuch --quick", "choose from"),
    ("missing data folder", "train --data {tmp}/nosuch --out {tmp}/run1 --backbone tiny", "pass --data a folder"),
    ("missing data folder (evaluate)", "evaluate {run} --data {tmp}/nosuch --out {tmp}/ev1", "pass --data a folder"),
    ("bad --crop value", "predict {run} {video} --crop middle", "'middle' is not one of 'auto', 'regions', 'sector'"),
    (
        "resuming a run with another config",
        "train --data {data} --out {run} --backbone tiny --set train.seed=99",
        "use a new --out folder",
    ),
    ("unwritable output (train)", "train --data {data} --out {file}/run --backbone tiny", "pass a writable folder"),
    ("unwritable output (evaluate)", "evaluate {run} --data {data} --out {file}/ev", "pass a writable folder"),
    ("unwritable output (predict)", "predict {run} {video} --out {file}/rows.csv", "not writable"),
    ("a checkpoint that is not one (evaluate)", "evaluate {ckpt} --data {data} --out {tmp}/ev2", "not a"),
    ("a checkpoint that is not one (predict)", "predict {ckpt} {video}", "not a"),
    ("an unknown --set field", "train --data {data} --out {tmp}/run2 --backbone tiny --set data.lenght=4", "fields:"),
]


@pytest.mark.parametrize(("what", "command", "says"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_user_mistake_is_one_line_and_exit_2(places, what, command, says):
    result = runner.invoke(app, command.format(**places).split())
    assert result.exit_code == 2, (what, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert says in " ".join(result.output.split()), result.output


def unusable_dataset(synthetic_root: Path, root: Path) -> list[str]:
    """A copy of the synthetic dataset whose FileList also lists a single-frame DICOM, a structured report and a
    video that is not there (in TRAIN and VAL); returns their FileNames."""
    shutil.copytree(synthetic_root, root)
    write_dicom(root / "Videos" / "still.dcm", moving_pattern(n_frames=1))
    write_structured_report(root / "Videos" / "report.dcm")
    table = pd.read_csv(root / "FileList.csv")
    extra = pd.DataFrame(
        {"FileName": ["still.dcm", "report.dcm", "gone"], "EF": [50.0, 40.0, 60.0], "Split": ["TRAIN", "VAL", "VAL"]}
    )
    pd.concat([table, extra]).to_csv(root / "FileList.csv", index=False)
    return list(extra["FileName"])


@pytest.mark.slow
def test_unusable_videos_stop_training_before_the_first_epoch_or_are_left_out(synthetic_root, tmp_path):
    bad = unusable_dataset(synthetic_root, tmp_path / "data")
    args = ["train", "--data", str(tmp_path / "data"), "--backbone", "tiny", "--shots", "0"]
    args += ["--set", "train.epochs=1", "--set", "train.max_train_steps=2", "--set", "data.length=4"]
    args += ["--set", "train.trunk_cache=false", "--set", "data.val_size=null"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    text = " ".join(result.output.split())
    assert "3 video(s) of split 'train/val'" in text and "--skip-unreadable" in text
    assert (
        "still.dcm: a single still image" in text and "report.dcm: not a video (DICOM file has no pixel data)" in text
    )
    assert "gone: file not found" in text
    assert not (tmp_path / "run" / "checkpoints" / "last.pt").exists()  # nothing trained

    result = runner.invoke(app, [*args, "--out", str(tmp_path / "run2"), "--skip-unreadable"])
    assert result.exit_code == 0, result.output
    left_out = pd.read_csv(tmp_path / "run2" / "left_out.csv")
    assert sorted(left_out["FileName"]) == sorted(bad) and left_out["reason"].str.len().min() > 10
    assert "left out 1 unusable video(s) of split train" in result.output
