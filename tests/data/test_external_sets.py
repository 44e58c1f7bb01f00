"""External sets: CAMUS (NIfTI and MetaImage releases) and EchoNet-Pediatric fixtures, converted and checked
against their own cfg/CSV; short loops; a model trained on one set evaluated on the other."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.data.clips import ClipSampler
from cardiacclip.data.external import parse_folds, read_cfg
from cardiacclip.data.filelist import key_frames, read_filelist
from cardiacclip.data.prepare import prepare_video
from cardiacclip.data.source import probe
from cardiacclip.synthetic.layouts import write_camus, write_pediatric

runner = CliRunner()


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    root = tmp_path_factory.mktemp("external")
    return write_camus(root, 6), write_camus(root, 3, fmt="mhd"), write_pediatric(root, 20)


def test_camus_converts_with_its_cfg_labels_splits_and_key_frames(releases, tmp_path):
    camus = releases[0]
    result = runner.invoke(app, ["convert", str(camus), str(tmp_path / "c"), "--from", "camus", "--view", "2CH"])
    assert result.exit_code == 0, result.output
    table = read_filelist(tmp_path / "c" / "FileList.csv").set_index("FileName")
    official: dict[str, str] = {}
    for split, name in (("TRAIN", "training"), ("VAL", "validation"), ("TEST", "testing")):
        official.update(dict.fromkeys((camus / "database_split" / f"subgroup_{name}.txt").read_text().split(), split))
    assert len(table) == 6
    for patient in sorted(official):
        cfg = read_cfg(camus / "database_nifti" / patient / "Info_2CH.cfg")
        row = table.loc[f"{patient}_2CH"]
        assert row["EF"] == pytest.approx(float(cfg["EF"])) and row["Split"] == official[patient]
        assert (row["EDFrame"], row["ESFrame"]) == (int(cfg["ED"]) - 1, int(cfg["ES"]) - 1)
        assert row["FPS"] == float(cfg["FrameRate"]) and row["NumberOfFrames"] == int(cfg["NbFrame"])
        assert row["ImageQuality"] == cfg["ImageQuality"]
    assert key_frames(tmp_path / "c")["patient0001_2CH.avi"] == (int(table.loc["patient0001_2CH", "ESFrame"]), 0)


def test_the_older_metaimage_release_reads_too(releases, tmp_path):
    result = runner.invoke(app, ["convert", str(releases[1]), str(tmp_path / "m"), "--from", "camus"])
    assert result.exit_code == 0, result.output
    assert "3 without a stated frame rate" in result.output  # its cfg has no FrameRate
    table = read_filelist(tmp_path / "m" / "FileList.csv")
    assert len(table) == 3 and (table["NumberOfFrames"] == 60).all()


def test_pediatric_folds_become_splits_by_the_rule_or_the_users(releases, tmp_path):
    pediatric = releases[2]
    source = pd.read_csv(pediatric / "PSAX" / "FileList.csv")
    args = ["convert", str(pediatric), str(tmp_path / "p"), "--from", "echonet-pediatric", "--view", "PSAX"]
    assert runner.invoke(app, args).exit_code == 0
    table = read_filelist(tmp_path / "p" / "FileList.csv")
    rule = parse_folds(None)
    expected = [next(s for s, folds in rule.items() if fold in folds) for fold in source["Split"]]
    assert table["Split"].tolist() == expected and table["EF"].tolist() == pytest.approx(source["EF"].tolist())
    assert set(table.columns) >= {"Sex", "Age", "Weight", "Height", "EDFrame", "ESFrame"}
    custom = runner.invoke(app, [*args[:2], str(tmp_path / "q"), *args[3:], "--folds", "TRAIN=0-5,VAL=6-7,TEST=8"])
    assert custom.exit_code == 0
    counts = read_filelist(tmp_path / "q" / "FileList.csv")["Split"].value_counts().to_dict()
    assert counts == {"TRAIN": 12, "VAL": 4, "TEST": 2}
    bad = runner.invoke(app, [*args[:2], str(tmp_path / "r"), *args[3:], "--folds", "TRAIN=0-7,VAL=7"])
    assert bad.exit_code == 2 and "a fold is in two splits" in bad.output


def test_a_half_sequence_shorter_than_a_clip_is_padded_with_black(releases, tmp_path):
    assert runner.invoke(app, ["convert", str(releases[0]), str(tmp_path / "c"), "--from", "camus"]).exit_code == 0
    row = read_filelist(tmp_path / "c" / "FileList.csv").iloc[0]
    video = probe(tmp_path / "c" / "Videos" / row["VideoFile"])
    sampler = ClipSampler(length=16, period=2, image_size=112, fps=50.0)
    prepared = prepare_video(video, sampler, clips=1)
    used = sampler.for_video(video.fps)
    assert video.n_frames < used.span(video.n_frames)
    assert any("padded with black" in w for w in prepared.warnings)
    beyond = prepared.source_index[0] >= video.n_frames
    assert beyond.any() and (prepared.first_clip[beyond] == 0).all() and prepared.first_clip[~beyond].any()


@pytest.mark.slow
def test_train_on_one_set_and_evaluate_on_the_other(releases, tmp_path):
    pediatric, camus = tmp_path / "pediatric", tmp_path / "camus"
    args = ["--from", "echonet-pediatric", "--view", "A4C"]
    assert runner.invoke(app, ["convert", str(releases[2]), str(pediatric), *args]).exit_code == 0
    assert runner.invoke(app, ["convert", str(releases[0]), str(camus), "--from", "camus"]).exit_code == 0
    train = ["train", "--data", str(pediatric), "--backbone", "tiny", "--shots", "0", "--epochs", "1"]
    trained = runner.invoke(app, [*train, "--out", str(tmp_path / "run"), "--device", "cpu"])
    assert trained.exit_code == 0, trained.output
    evaluated = runner.invoke(
        app, ["evaluate", str(tmp_path / "run"), "--data", str(camus), "--split", "all", "--out", str(tmp_path / "ev")]
    )
    assert evaluated.exit_code == 0, evaluated.output
    predictions = pd.read_csv(tmp_path / "ev" / "predictions.csv")
    assert len(predictions) == 6 and np.isfinite(predictions["EF_pred"]).all()
