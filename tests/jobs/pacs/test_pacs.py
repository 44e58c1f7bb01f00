"""From PACS to report against a real Orthanc (Debian's `orthanc` and `orthanc-dicomweb`; `.ci/run` installs them)."""

from __future__ import annotations

import os

import pandas as pd
import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.data.video_io import find_videos
from cardiacclip.dicom.dicomweb import PacsSettings, connect
from cardiacclip.dicom.echo_sr import is_structured_report
from cardiacclip.dicom.ours import OWN_SERIES
from cardiacclip.dicom.sr import read_study_ef
from cardiacclip.jobs.pacs.pull import pull
from cardiacclip.jobs.predict.studies import study_key
from cardiacclip.synthetic.dicoms import write_pacs_export
from cardiacclip.testing import LocalOrthanc, is_part10, orthanc_available

if not orthanc_available() and os.environ.get("CARDIACCLIP_REQUIRE_ORTHANC"):  # CI: a missing server is a failure
    raise RuntimeError("CARDIACCLIP_REQUIRE_ORTHANC is set but Orthanc or its DICOMweb plugin is not installed")
pytestmark = [
    pytest.mark.skipif(not orthanc_available(), reason="apt-get install orthanc orthanc-dicomweb"),
    pytest.mark.slow,  # a real Orthanc and end-to-end runs
]
runner = CliRunner()


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A synthetic PACS export (12 loops of 4 studies) and the echo machine's SR of each study, as Part-10 files."""
    root = tmp_path_factory.mktemp("pacs_export")
    folder = write_pacs_export(root, n=12, seed=0, n_frames=30)
    files = [p for p in find_videos([folder]) if p.suffix != ".avi"] + sorted((root / "reports").glob("*.dcm"))
    return [p for p in files if is_part10(p)]


@pytest.fixture
def orthanc(tmp_path, export):
    with LocalOrthanc(tmp_path / "orthanc") as server:
        assert server.upload(export) >= len(export) - 1  # all but the file that only looks like DICOM
        yield server


def credentials(server: LocalOrthanc) -> list[str]:
    return ["--user", server.user, "--password-file", str(server.password_file)]


def our_reports(server: LocalOrthanc) -> dict[str, pydicom.Dataset]:
    """Our SRs as the PACS holds them, read back by QIDO-RS and WADO-RS: StudyInstanceUID -> SR."""
    session = requests.Session()
    session.auth = server.auth
    client = DICOMwebClient(server.url, session=session)
    found = {}
    for series in client.search_for_series(search_filters={"Modality": "SR"}, fields=["0008103E"]):
        if series.get("0008103E", {}).get("Value", [None])[0] != OWN_SERIES:
            continue
        study, uid = series["0020000D"]["Value"][0], series["0020000E"]["Value"][0]
        for instance in client.search_for_instances(study, uid):
            found[study] = client.retrieve_instance(study, uid, instance["00080018"]["Value"][0])
    return found


def test_pacs_run_writes_each_study_its_sr_and_a_rerun_adds_nothing(tiny_run, orthanc, tmp_path):
    run_dir = tiny_run[0]
    out = tmp_path / "work"
    command = ["pacs", "run", str(run_dir), orthanc.url, str(out), *credentials(orthanc), "--device", "cpu"]
    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    reports = our_reports(orthanc)
    assert len(reports) == 4  # every study got one

    loops = [str(p) for p in find_videos([out / "pulled"]) if not is_structured_report(p)]
    rows = tmp_path / "by_study.csv"
    result = runner.invoke(app, ["predict", str(run_dir), *loops, "--out", str(rows), "--by", "study"])
    assert result.exit_code == 0, result.output
    by_study = pd.read_csv(tmp_path / "by_study.studies.csv").set_index("study")["EF_median"]
    for study, report in reports.items():
        assert read_study_ef(report) == pytest.approx(by_study[study_key(study)], abs=0.005)
        assert report.PatientID == "000123" and report.StudyInstanceUID == study  # it belongs in the study
        assert any("not a medical device" in str(item.get("TextValue", "")) for item in report.ContentSequence)

    counts = {study: len(orthanc.instances(study)) for study in reports}
    again = runner.invoke(app, command)
    assert again.exit_code == 0, again.output
    assert "0 instance(s) fetched" in again.output and "0 loop(s) predicted" in again.output
    assert {study: len(orthanc.instances(study)) for study in reports} == counts  # one SR per study, still
    assert {s: r.SOPInstanceUID for s, r in our_reports(orthanc).items()} == {
        s: r.SOPInstanceUID for s, r in reports.items()
    }


def test_labels_from_the_archive_s_reports_train_one_epoch(orthanc, tmp_path):
    pulled = tmp_path / "pulled"
    assert runner.invoke(app, ["pacs", "pull", orthanc.url, str(pulled), *credentials(orthanc)]).exit_code == 0
    converted = tmp_path / "converted"
    result = runner.invoke(app, ["convert", str(pulled), str(converted), "--labels-from-sr"])
    assert result.exit_code == 1 and "failed 1" in result.output, result.output  # one loop is flagged near-constant
    assert "4 echo report(s) (SR) found" in result.output and "1 stud(ies) without a usable EF" in result.output
    table = pd.read_csv(converted / "FileList.csv")
    assert len(table) == 8 and set(table["EF_method"]) == {"biplane method of disks", "single-plane method of disks"}
    labels = pd.read_csv(tmp_path / "converted_private" / "sr_labels.csv", dtype={"StudyInstanceUID": str})
    mapping = pd.read_csv(tmp_path / "converted_private" / "uid_map.csv", dtype=str).set_index("FileName")
    expected = labels.set_index("StudyInstanceUID")["EF"]
    assert table["EF"].tolist() == pytest.approx(expected[mapping.loc[table["FileName"], "StudyInstanceUID"]].tolist())
    split = table.assign(Split=["TRAIN"] * 5 + ["VAL"] * 3)
    split.to_csv(tmp_path / "split.csv", index=False)
    run = ["train", "--data", str(converted), "--split-file", str(tmp_path / "split.csv"), "--backbone", "tiny"]
    trained = runner.invoke(app, [*run, "--epochs", "1", "--out", str(tmp_path / "run"), "--device", "cpu"])
    assert trained.exit_code == 0, trained.output
    assert (tmp_path / "run" / "checkpoints" / "best.pt").is_file()


def test_pacs_mistakes_are_one_line_and_the_rerun_loses_nothing(orthanc, tmp_path):
    pull_args = ["pacs", "pull", orthanc.url, str(tmp_path / "p")]
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not-the-password\n")
    cases = [
        (["pacs", "pull", "http://127.0.0.1:9/dicom-web", str(tmp_path / "x")], 2, "cannot reach the PACS"),
        ([*pull_args, "--user", orthanc.user, "--password-file", str(wrong)], 2, "refused the credentials (401)"),
        ([*pull_args, *credentials(orthanc), "--study", "1.2.3.999"], 1, "not found in the PACS"),
    ]
    for args, code, says in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == code and says in " ".join(result.output.split()), result.output
        assert "Traceback" not in result.output and orthanc.password not in result.output

    settings = PacsSettings(url=orthanc.url, user=orthanc.user, password_file=str(orthanc.password_file), retries=1)
    client = connect(settings)
    fetch, calls = client.retrieve_instance, {"n": 0}

    def stop_after_three(*args, **kwargs):  # the PACS goes away in the middle of the pull
        calls["n"] += 1
        if calls["n"] == 4:
            orthanc.stop()
        return fetch(*args, **kwargs)

    client.retrieve_instance = stop_after_three
    first = pull(client, tmp_path / "mid", progress=False)
    assert first.failed and first.fetched == 3
    orthanc.start()
    second = pull(connect(settings), tmp_path / "mid", progress=False)
    assert not second.failed and second.present == 3
    files = sorted((tmp_path / "mid").rglob("*.dcm"))
    assert len(files) == first.fetched + second.fetched == 15  # 11 loops and 4 reports, each once
    assert not list((tmp_path / "mid").rglob("*.partial"))
