from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.config import RunConfig
from cardiacclip.data.filelist import read_filelist
from cardiacclip.data.video_io import read_video
from helpers import set_raw_tag, write_dicom

runner = CliRunner()


def test_synth_and_inspect(tmp_path):
    out = tmp_path / "syn"
    result = runner.invoke(app, ["synth", str(out), "--n", "8", "--seed", "3", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert (out / "FileList.csv").is_file() and (out / "VolumeTracings.csv").is_file()
    assert len(list((out / "Videos").glob("*.avi"))) == 8
    result = runner.invoke(
        app, ["inspect", str(out), "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "ef.png")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["n_videos"] == 8 and sum(report["split_counts"].values()) == 8
    assert report["frame_sizes"] == {"112x112": 8}
    assert (tmp_path / "ef.png").stat().st_size > 1000


def test_inspect_names_missing_and_unreadable(synthetic_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_root, root)
    videos = sorted((root / "Videos").glob("*.avi"))
    videos[0].unlink()
    videos[1].write_bytes(b"")
    result = runner.invoke(app, ["inspect", str(root)])
    assert result.exit_code == 1
    assert videos[0].stem in result.output and "missing" in result.output
    assert videos[1].stem in result.output and "empty" in result.output


def test_every_command_has_help():
    for command in ["synth", "inspect", "train", "evaluate", "predict", "pretrain", "demo", "benchmark", "version"]:
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.slow
def test_train_logs_to_stderr_applies_set_and_gives_toy_backbones_the_synthetic_sizes(synthetic_root, tmp_path):
    run_dir = tmp_path / "run"
    args = [
        "train",
        "--data",
        str(synthetic_root),
        "--out",
        str(run_dir),
        "--backbone",
        "tiny",
        "--device",
        "cpu",
        "--set",
        "train.epochs=1",
        "train.max_train_steps=1",
        "--set",
        "data.val_size=2",
        "data.test_clips=all",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "training on" in result.stderr and "epoch 1/1" in result.stderr  # INFO lines are logged, to stderr
    assert "best validation MAE" in result.stdout and "training on" not in result.stdout
    config = RunConfig.load(run_dir / "config.yaml")
    synthetic = RunConfig.load("synthetic")
    assert (config.data.length, config.data.period) == (synthetic.data.length, synthetic.data.period)
    assert (config.train.epochs, config.data.val_size, config.data.test_clips) == (1, 2, "all")
    assert config.model.backbone == "tiny"


def test_usage_errors_exit_2_with_one_line(synthetic_root, tmp_path):
    base = ["train", "--data", str(synthetic_root), "--out", str(tmp_path / "r"), "--backbone", "tiny"]
    for extra, message in [
        (["--set", "data.lenght=3"], "no field 'lenght'"),
        (["--precision", "bf17"], "bf17"),
        (["--config", "nope"], "no config 'nope'"),
        (["stray"], "unexpected arguments"),
    ]:
        result = runner.invoke(app, base + extra)
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_inspect_names_invalid_filelist_rows(synthetic_root, tmp_path):
    root = tmp_path / "dup"
    shutil.copytree(synthetic_root, root)
    table = read_filelist(root / "FileList.csv").drop(columns="VideoFile")
    pd.concat([table, table.iloc[[3]]]).to_csv(root / "FileList.csv", index=False)
    result = runner.invoke(app, ["inspect", str(root)])
    assert result.exit_code == 2 and "listed more than once" in result.output and table["FileName"][3] in result.output
    assert "Traceback" not in result.output


def test_inspect_reports_a_malformed_dicom_and_goes_on(synthetic_root, tmp_path):
    root = tmp_path / "dicom"
    shutil.copytree(synthetic_root, root)
    table = read_filelist(root / "FileList.csv").drop(columns="VideoFile")
    frames, _ = read_video(root / "Videos" / f"{table['FileName'][0]}.avi")
    set_raw_tag(write_dicom(root / "Videos" / "bad.dcm", frames, "RGB"), "NumberOfFrames", "IS", "1A")
    extra = table.iloc[[0]].assign(FileName="bad.dcm")
    pd.concat([table, extra]).to_csv(root / "FileList.csv", index=False)
    result = runner.invoke(app, ["inspect", str(root)])
    assert result.exit_code == 1 and "unreadable" in result.output and "malformed NumberOfFrames" in result.output
    assert "0 missing, 1 unreadable and 0 flagged" in result.output


def test_synth_styles_and_their_usage_errors(tmp_path):
    result = runner.invoke(app, ["synth", str(tmp_path / "second"), "--n", "2", "--workers", "1", "--style", "second"])
    assert result.exit_code == 0, result.output
    table = read_filelist(tmp_path / "second" / "FileList.csv")
    assert (table["FPS"] == 30).all()
    for command in (["synth", str(tmp_path / "x")], ["demo", "--out", str(tmp_path / "d")]):
        bad = runner.invoke(app, [*command, "--style", "sepia"])
        assert bad.exit_code == 2 and "sepia" in bad.output
        assert not (tmp_path / "x").exists() and not (tmp_path / "d").exists()
    both = runner.invoke(app, ["pretrain", "--out", str(tmp_path / "p")])
    assert both.exit_code == 2 and "--data DIR or --draw STYLE" in both.output
