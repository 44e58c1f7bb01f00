"""`cardiacclip inspect` on a plain folder of videos and DICOMs: a row per file."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.data.region import box_iou
from cardiacclip.data.video_io import find_videos, write_video
from cardiacclip.jobs.inspection import inspect_files
from cardiacclip.synthetic.dicoms import screen_capture, write_dicomdir_tree, write_ultrasound_dicom

runner = CliRunner()


def test_plain_folder_gets_a_row_per_file(tmp_path):
    folder = tmp_path / "export"
    (folder / "cd").mkdir(parents=True)
    capture = screen_capture(0, n_frames=30)
    write_ultrasound_dicom(folder / "tagged.dcm", capture, "jpeg")
    staged = write_ultrasound_dicom(tmp_path / "plain.dcm", capture, "mono1", regions=False)
    write_dicomdir_tree(folder / "cd", [staged])
    write_video(folder / "loop.avi", capture.frames[:10], fps=capture.fps)
    write_ultrasound_dicom(folder / "doppler.dcm", capture, "rgb", modality="CT")
    (folder / "notes.dcm").write_text("not a dicom")

    files = find_videos([folder])
    assert sorted(f.name for f in files) == ["IM000000", "doppler.dcm", "loop.avi", "notes.dcm", "tagged.dcm"]
    rows = inspect_files(files, progress=False).set_index(pd.Series([f.name for f in files]))
    assert rows.loc["tagged.dcm", "region"] == "regions" and rows.loc["IM000000", "region"] == "sector"
    box = tuple(int(v) for v in rows.loc["IM000000", "box"].split())
    assert box_iou(box, capture.box) >= 0.9
    assert rows.loc["tagged.dcm", "frames"] == 30 and rows.loc["tagged.dcm", "size"] == "800x600"
    assert rows.loc["loop.avi", "frames"] == 10 and "too_short" in rows.loc["loop.avi", "flags"]
    assert rows.loc["doppler.dcm", "flags"] == "not_ultrasound"
    assert not rows.loc["notes.dcm", "readable"] and rows.loc["notes.dcm", "error"]

    result = runner.invoke(app, ["inspect", str(folder), "--csv", str(tmp_path / "files.csv")])
    assert result.exit_code == 1 and "1 unreadable file(s)" in result.stdout
    assert len(pd.read_csv(tmp_path / "files.csv")) == 5


@pytest.mark.slow
def test_synthetic_pacs_export_for_the_readme(tmp_path):
    assert runner.invoke(app, ["synth", str(tmp_path / "pacs"), "--pacs", "--n", "4"]).exit_code == 0
    rows = inspect_files(find_videos([tmp_path / "pacs" / "export"]), progress=False)
    assert len(rows) == 7 and (~rows["readable"]).sum() == 1  # 4 loops, the AVI, the CT object, the truncated file
    assert rows["flags"].fillna("").str.contains("not_ultrasound").sum() == 1
    assert len(pd.read_csv(tmp_path / "pacs" / "labels.csv")) == 2
