from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from cardiacclip.cli import app

runner = CliRunner()


def test_synth_and_inspect(tmp_path):
    out = tmp_path / "syn"
    result = runner.invoke(app, ["synth", str(out), "--n", "8", "--seed", "3", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert (out / "FileList.csv").is_file() and (out / "VolumeTracings.csv").is_file()
    assert len(list((out / "Videos").glob("*.avi"))) == 8
    result = runner.invoke(app, ["inspect", str(out), "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "ef.png")])
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
