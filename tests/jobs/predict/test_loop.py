from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.data.clips import BEAT_LEAD
from cardiacclip.data.filelist import read_filelist
from cardiacclip.data.video_io import read_video
from cardiacclip.model.predictor import Predictor
from helpers import set_raw_tag, write_dicom

runner = CliRunner()


def test_predict_cli_on_avi_dicom_and_a_corrupt_file(tiny_run, synthetic_root, tmp_path):
    run_dir, _, _ = tiny_run
    table = read_filelist(synthetic_root / "FileList.csv")
    avi = synthetic_root / "Videos" / table["VideoFile"][0]
    frames, _ = read_video(avi)
    dicom = write_dicom(tmp_path / "study.dcm", frames, "RGB", fps=50)
    corrupt = tmp_path / "corrupt.avi"
    corrupt.write_bytes(b"RIFF" + b"\x00" * 300)
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app,
        [
            "predict",
            str(run_dir / "checkpoints" / "best.pt"),
            str(avi),
            str(dicom),
            str(corrupt),
            "--out",
            str(out),
            "--clips",
            "1",
            "--attention-plot",
            str(tmp_path / "att"),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 1, result.output  # one input failed; its row is written all the same
    predictions = pd.read_csv(out)
    assert predictions.columns[0] == "file" and len(predictions) == 3
    assert predictions["status"].tolist() == ["ok", "ok", "error"]
    assert "corrupt.avi" in predictions["error"][2]
    assert predictions["EF_pred"][0] == pytest.approx(predictions["EF_pred"][1], abs=1.0)  # same video, two containers
    assert predictions[[c for c in predictions.columns if c.startswith("p_")]].iloc[:2].sum(axis=1).round(
        3
    ).tolist() == [1.0, 1.0]
    assert (tmp_path / "att" / "study_attention.png").is_file()
    result = runner.invoke(app, ["predict", str(run_dir), str(avi), "--clips", "1", "--device", "cpu"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]  # JSON Lines on stdout, logs on stderr
    assert len(rows) == 1 and rows[0]["status"] == "ok" and "not a medical device" in rows[0]["notice"]
    assert rows[0]["EF_pred"] == pytest.approx(predictions["EF_pred"][0])


@pytest.fixture(scope="module")
def twenty_inputs(synthetic_root, tmp_path_factory):
    """20 inputs: 18 synthetic AVIs, a DICOM with a decimal-comma FrameTime (readable) and one with
    NumberOfFrames '1A' (not), in the middle of the batch."""
    folder = tmp_path_factory.mktemp("inputs")
    videos = sorted((synthetic_root / "Videos").glob("*.avi"))[:18]
    frames, _ = read_video(videos[0])
    comma = set_raw_tag(write_dicom(folder / "comma.dcm", frames, "RGB", fps=None), "FrameTime", "DS", "20,0")
    malformed = set_raw_tag(write_dicom(folder / "malformed.dcm", frames, "RGB"), "NumberOfFrames", "IS", "1A")
    return videos[:9] + [comma, malformed] + videos[9:]


def test_a_malformed_dicom_gets_its_error_row_and_the_others_their_efs(tiny_run, twenty_inputs, tmp_path):
    run_dir, _, _ = tiny_run
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app, ["predict", str(run_dir), *map(str, twenty_inputs), "--out", str(out), "--clips", "1", "--device", "cpu"]
    )
    assert result.exit_code == 1, result.output
    table = pd.read_csv(out)
    assert table["file"].tolist() == list(map(str, twenty_inputs))
    bad = table[table["status"] == "error"]
    assert bad["file"].tolist() == [str(twenty_inputs[10])] and "malformed NumberOfFrames '1A'" in bad["error"].iloc[0]
    good = table[table["status"] == "ok"]
    assert len(good) == 19 and good["EF_pred"].between(0, 100).all()
    comma = table[table["file"] == str(twenty_inputs[9])].iloc[0]
    assert comma["status"] == "ok" and comma["fps"] == pytest.approx(50.0)
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_worker_processes_give_the_same_rows_in_the_same_order(tiny_run, twenty_inputs, tmp_path):
    run_dir, _, _ = tiny_run
    tables = []
    for workers in ("0", "2"):
        out = tmp_path / f"w{workers}.csv"
        args = ["predict", str(run_dir), *map(str, twenty_inputs), "--out", str(out), "--clips", "3"]
        assert runner.invoke(app, [*args, "--device", "cpu", "--workers", workers]).exit_code == 1  # the bad DICOM
        tables.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(tables[0], tables[1])


@pytest.mark.slow
def test_ctrl_c_keeps_finished_rows_and_resume_completes(tiny_run, twenty_inputs, tmp_path, monkeypatch):
    run_dir, _, _ = tiny_run
    out = tmp_path / "pred.csv"
    args = ["predict", str(run_dir), *map(str, twenty_inputs), "--out", str(out), "--clips", "4", "--device", "cpu"]
    original = Predictor.run_many
    calls = {"n": 0}

    def interrupted_in_the_second_batch(self, *a, **k):  # what Ctrl-C raises in the middle of a forward pass
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *a, **k)

    monkeypatch.setattr(Predictor, "run_many", interrupted_in_the_second_batch)
    result = runner.invoke(app, args)
    assert result.exit_code == 130
    kept = pd.read_csv(out)  # the first batch (16 clips: 4 videos) was finished and written
    assert kept["file"].tolist() == list(map(str, twenty_inputs[:4])) and (kept["status"] == "ok").all()

    monkeypatch.setattr(Predictor, "run_many", original)
    assert runner.invoke(app, args).exit_code == 2  # the file exists: refused without --resume or --overwrite
    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 1  # the malformed DICOM
    table = pd.read_csv(out)
    assert table["file"].tolist() == list(map(str, twenty_inputs))  # every input once, in order
    fresh = tmp_path / "fresh.csv"
    runner.invoke(app, [*args[:-6], "--out", str(fresh), "--clips", "4", "--device", "cpu"])
    pd.testing.assert_frame_equal(table, pd.read_csv(fresh))  # same rows as an uninterrupted run


def test_resume_drops_a_half_written_last_line(tiny_run, twenty_inputs, tmp_path):
    run_dir, _, _ = tiny_run
    out = tmp_path / "pred.jsonl"
    args = ["predict", str(run_dir), *map(str, twenty_inputs[:3]), "--out", str(out), "--clips", "1", "--device", "cpu"]
    assert runner.invoke(app, args).exit_code == 0
    lines = out.read_text().splitlines()
    out.write_text(lines[0] + "\n" + lines[1][:25])  # a crash in the middle of the second row
    assert runner.invoke(app, [*args, "--resume"]).exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["file"] for r in rows] == list(map(str, twenty_inputs[:3]))


def test_output_path_is_checked_before_any_work(tiny_run, twenty_inputs, tmp_path):
    run_dir, _, _ = tiny_run
    video = str(twenty_inputs[0])
    for out, message in [(tmp_path, "is a folder"), (tmp_path / "p.txt", ".csv or .jsonl")]:
        result = runner.invoke(app, ["predict", str(run_dir), video, "--out", str(out)])
        assert result.exit_code == 2 and message in result.output
    result = runner.invoke(app, ["predict", str(tmp_path / "nothing"), video, "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 2 and "no such checkpoint" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "p.csv").exists()
    both = runner.invoke(
        app, ["predict", str(run_dir), video, "--out", str(tmp_path / "q.csv"), "--resume", "--overwrite"]
    )
    assert both.exit_code == 2 and "exclude each other" in both.output


def test_predict_with_beats_writes_each_beat(tiny_run, synthetic_root, tmp_path):
    videos = sorted((synthetic_root / "Videos").glob("*.avi"))[:2]
    out = tmp_path / "beats.jsonl"
    args = ["predict", str(tiny_run[0]), *map(str, videos), "--clips", "beats", "--out", str(out), "--device", "cpu"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    for row in rows:
        efs = [float(e) for e in row["beat_efs"].split()]
        assert row["n_beats"] == len(efs) == row["clips"] >= 1 and row["phase_route"] in ("head", "periodicity")
        assert row["EF_pred"] == pytest.approx(sum(efs) / len(efs), abs=1e-3)
        starts, eds = (list(map(int, str(row[c]).split())) for c in ("clip_starts", "beat_ed_frames"))
        assert starts == [max(0, ed - BEAT_LEAD * row["period"]) for ed in eds] and 30 < row["heart_rate"] < 200
        assert len(row["es_frames"].split()) >= row["n_beats"]


def test_a_file_past_the_time_limit_gets_an_error_row_and_the_batch_goes_on(tiny_run, synthetic_root, tmp_path):
    run_dir, _, _ = tiny_run
    videos = sorted((synthetic_root / "Videos").glob("*.avi"))[:2]
    out = tmp_path / "pred.csv"
    args = ["predict", str(run_dir), *map(str, videos), "--out", str(out), "--clips", "1", "--device", "cpu"]
    result = runner.invoke(app, [*args, "--file-timeout", "0.0001"])
    assert result.exit_code == 1, result.output
    table = pd.read_csv(out)
    assert table["status"].tolist() == ["error", "error"]
    assert table["error"].str.contains("took longer than the time limit per file").all()
