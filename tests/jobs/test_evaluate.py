from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.data.clips import ClipSampler
from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.data.filelist import read_filelist
from cardiacclip.jobs.evaluate import evaluate_model
from cardiacclip.model.predictor import load

runner = CliRunner()


def test_evaluation_twice_gives_identical_numbers(tiny_run, synthetic_root, tmp_path):
    run_dir, _, _ = tiny_run
    predictor = load(run_dir, "cpu", "fp32")
    dataset = EchoNetDataset(synthetic_root, "test", ClipSampler(length=4, period=8), train=False, clips=2)
    a = evaluate_model(predictor, dataset, tmp_path / "a", n_bootstrap=50, progress=False)
    b = evaluate_model(predictor, dataset, tmp_path / "b", n_bootstrap=50, progress=False)
    assert a == b
    key_frames = a.key_frames  # the synthetic set has VolumeTracings.csv
    assert key_frames.n_videos >= 1 and 0 < key_frames.uniform_mass <= 1 and 0 <= key_frames.attention_mass <= 1
    assert key_frames.ed_ratio > 0 and key_frames.es_ratio > 0  # reported apart, each against its own uniform share
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["key_frames"]["es_ratio"] == key_frames.es_ratio
    assert (tmp_path / "a" / "predictions.csv").read_text() == (tmp_path / "b" / "predictions.csv").read_text()
    for name in ("scatter.png", "bland_altman.png", "metrics.json"):
        assert (tmp_path / "a" / name).is_file()


def test_evaluate_cli(tiny_run, synthetic_root, tmp_path):
    run_dir, _, _ = tiny_run
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(run_dir / "checkpoints" / "best.pt"),
            "--data",
            str(synthetic_root),
            "--out",
            str(tmp_path / "ev"),
            "--bootstrap",
            "50",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert {"mae", "rmse", "r2", "auroc_ef_below_50", "auroc_ef_below_40", "category_accuracy", "one_clip"} <= set(
        metrics
    )
    predictions = pd.read_csv(tmp_path / "ev" / "predictions.csv")
    assert {"FileName", "EF", "EF_pred"} <= set(predictions.columns)
    assert len(predictions) == (read_filelist(synthetic_root / "FileList.csv")["Split"] == "TEST").sum()


def test_evaluate_with_one_clip_per_beat_gives_what_predict_gives(tiny_run, synthetic_root, tmp_path):
    run_dir, _, _ = tiny_run
    predictor = load(run_dir, "cpu", "fp32")
    sampler = predictor.sampler
    dataset = EchoNetDataset(synthetic_root, "test", sampler, train=False, clips="beats")
    result = evaluate_model(predictor, dataset, tmp_path / "ev", n_bootstrap=50, progress=False)
    table = pd.read_csv(tmp_path / "ev" / "predictions.csv")
    assert result.clips_per_video == "beats" and json.loads((tmp_path / "ev" / "metrics.json").read_text())
    row = table.iloc[0]
    video = synthetic_root / "Videos" / f"{row['FileName']}.avi"
    expected = predictor.predict(video, clips="beats")
    assert row["EF_pred"] == pytest.approx(expected.ef, abs=1e-3) and row["n_beats"] == expected.beats.n_beats
    assert str(row["clip_periods"]).split() == [str(p) for p in expected.beats.beat_periods]
    assert result.key_frames is not None and result.key_frames.n_videos >= 1  # beat clips hold ED and ES
