"""`predict --write-sr`: one TID 1500 SR per study, the same UIDs on a rerun, the study EF of `--by study`."""

from __future__ import annotations

import highdicom as hd
import pandas as pd
import pydicom
import pytest
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.dicom.echo_sr import walk_content
from cardiacclip.dicom.sr import LVEF, read_study_ef
from cardiacclip.jobs.predict.studies import study_key
from cardiacclip.synthetic.dicoms import screen_capture, write_ultrasound_dicom

runner = CliRunner()


@pytest.mark.slow
def test_predict_writes_one_sr_per_study_with_the_study_ef(tiny_run, tmp_path):
    loops = []
    for i, study in enumerate(["1.2.3.10", "1.2.3.10", "1.2.3.20"]):
        capture = screen_capture(i, height=200, width=260, echo_px=128, n_frames=40)
        loops.append(write_ultrasound_dicom(tmp_path / f"loop{i}.dcm", capture, "rle", study_uid=study))
    args = ["predict", str(tiny_run[0]), *map(str, loops), "--by", "study", "--write-sr", str(tmp_path / "sr")]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a.csv")])
    assert first.exit_code == 0, first.output
    reports = {pydicom.dcmread(p).StudyInstanceUID: p for p in sorted((tmp_path / "sr").glob("*.dcm"))}
    assert sorted(reports) == ["1.2.3.10", "1.2.3.20"]
    studies = pd.read_csv(tmp_path / "a.studies.csv").set_index("study")["EF_median"]
    for study, path in reports.items():
        report = hd.sr.srread(path)
        assert report.Manufacturer == "cardiacclip" and report.PatientID == "000123"
        assert read_study_ef(report) == pytest.approx(studies[study_key(study)], abs=0.005)
        names = [item.ConceptNameCodeSequence[0].CodeValue for item in walk_content(report.ContentSequence)]
        assert names.count(LVEF.value) == (3 if study == "1.2.3.10" else 2)  # each loop, and the study
        assert "87878005" in str(report.ContentSequence)  # finding site: left ventricle
    uids = {p.name for p in reports.values()}
    again = runner.invoke(app, [*args, "--out", str(tmp_path / "b.csv")])
    assert again.exit_code == 0 and {p.name for p in (tmp_path / "sr").glob("*.dcm")} == uids  # same UIDs


def test_write_sr_needs_an_output_file(tiny_run, tmp_path):
    result = runner.invoke(app, ["predict", str(tiny_run[0]), str(tmp_path), "--write-sr", str(tmp_path / "sr")])
    assert result.exit_code == 2 and "need --out FILE" in result.output


def test_a_beat_by_beat_loop_says_how_many_beats_its_ef_averages(tmp_path):
    from cardiacclip.dicom.sr import ModelIdentity, build_report, loop_result, report_text

    capture = screen_capture(0, height=200, width=260, echo_px=128, n_frames=12)
    path = write_ultrasound_dicom(tmp_path / "loop.dcm", capture, "rle", study_uid="1.2.3.30")
    study, loop = loop_result(path, 55.0, 50.0, 60.0, beats=3)
    text = "\n".join(report_text(build_report(study, [loop], ModelIdentity("0" * 64))))
    assert "mean over 3 heartbeats" in text
    study, loop = loop_result(path, 55.0, 50.0, 60.0)
    assert "heartbeats" not in "\n".join(report_text(build_report(study, [loop], ModelIdentity("0" * 64))))
