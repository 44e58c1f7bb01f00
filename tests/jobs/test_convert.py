"""`cardiacclip convert`: a hospital archive to the EchoNet-Dynamic layout, de-identified and resumable."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.data.filelist import read_filelist
from cardiacclip.data.video_io import read_video, write_video
from cardiacclip.jobs.convert import ConvertSettings, convert_archive
from cardiacclip.synthetic.dicoms import screen_capture, write_dicomdir_tree, write_ultrasound_dicom

runner = CliRunner()
PHI = ("Doe", "DOE", "000123", "19700101", "1970-01-01", "20240315")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Six loops of three studies in the ways PACS hands them out, plus two files that must not convert."""
    root = tmp_path_factory.mktemp("archive")
    src = root / "src"
    (src / "cd").mkdir(parents=True)
    study_a, study_b = "1.2.3.4.100", "1.2.3.4.200"
    write_ultrasound_dicom(src / "a1.dcm", screen_capture(0, n_frames=40), "jpeg", study_uid=study_a, accession="A1")
    write_ultrasound_dicom(src / "IM000002", screen_capture(1, n_frames=40), "rle", regions=False, study_uid=study_a)
    write_ultrasound_dicom(src / "raw.dcm", screen_capture(2, n_frames=40), "mono2", preamble=False, timing="none")
    write_ultrasound_dicom(src / "ct.dcm", screen_capture(3, n_frames=40), "mono2", modality="CT")
    (src / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00garbage")
    staged = write_ultrasound_dicom(root / "b1.dcm", screen_capture(4, n_frames=40), "palette16", study_uid=study_b)
    write_dicomdir_tree(src / "cd", [staged])
    capture = screen_capture(5, n_frames=40)
    write_video(src / "capture.avi", capture.frames, fps=capture.fps)
    labels = pd.DataFrame(
        {
            "StudyInstanceUID": [study_a, study_b, None],
            "AccessionNumber": [None, None, "ACC0001"],
            "EF": [35.0, 61.0, 48.0],
        }
    )
    labels.to_csv(root / "labels.csv", index=False)
    return src, root / "labels.csv"


@pytest.mark.slow
def test_convert_writes_a_deidentified_echonet_folder(archive, tmp_path):
    src, labels = archive
    out = tmp_path / "echonet"
    result = runner.invoke(app, ["convert", str(src), str(out), "--labels", str(labels)])
    assert result.exit_code == 1, result.output  # two files failed, the rest converted
    private = tmp_path / "echonet_private"
    errors = pd.read_csv(private / "errors.csv")
    assert sorted(errors["source"].map(lambda s: s.rsplit("/", 1)[-1])) == ["broken.dcm", "ct.dcm"]
    assert errors["error"].str.contains("not_ultrasound").any()

    mapping = pd.read_csv(private / "uid_map.csv", dtype=str)
    assert len(mapping) == 5  # a1, IM000002, raw, the DICOMDIR image, capture.avi
    table = read_filelist(out / "FileList.csv")
    by_source = mapping.set_index(mapping["source"].map(lambda s: s.rsplit("/", 1)[-1]))["FileName"]
    ef = table.set_index("FileName")["EF"]
    assert ef[by_source["a1.dcm"]] == 35.0 and ef[by_source["IM000002"]] == 35.0  # joined by study
    assert ef[by_source["raw.dcm"]] == 48.0  # accession ACC0001 (the generator's default)
    assert len(pd.read_csv(out / "FileList_unlabelled.csv")) == 1  # capture.avi: no UID, no label
    assert (
        table.set_index("FileName").loc[by_source["a1.dcm"], "Split"]
        == table.set_index("FileName").loc[by_source["IM000002"], "Split"]
    )  # a study stays in one split
    for name in mapping["FileName"]:
        video = read_video(out / "Videos" / f"{name}.avi")
        assert video.frames.shape == (40, 112, 112, 3)
    assert "frame rate unknown" in mapping.set_index("FileName").loc[by_source["raw.dcm"], "warnings"]

    identifiers = [*PHI, "1.2.3.4.100", "1.2.3.4.200", "ACC0001", "A1,", str(src)]
    identifiers += [pydicom.dcmread(src / "a1.dcm").SOPInstanceUID]
    for path in out.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert not any(i.encode() in blob for i in identifiers), path
    assert (private / "previews").is_dir() and len(list((private / "previews").glob("*.png"))) == 5


@pytest.mark.slow
def test_convert_resumes_and_parallel_workers_give_the_same_output(archive, tmp_path):
    src, labels = archive
    one, two = tmp_path / "one", tmp_path / "two"
    first = convert_archive(src, one, labels=labels, progress=False)
    again = convert_archive(src, one, labels=labels, progress=False)
    assert (first.converted, again.converted, again.skipped, again.failed) == (5, 0, 5, 2)
    private_two = tmp_path / "two_private"
    private_two.mkdir()
    (private_two / "salt.txt").write_text((tmp_path / "one_private" / "salt.txt").read_text())
    parallel = convert_archive(src, two, labels=labels, workers=2, progress=False)
    assert parallel.converted == 5
    a = pd.read_csv(one / "FileList.csv").sort_values("FileName").reset_index(drop=True)
    b = pd.read_csv(two / "FileList.csv").sort_values("FileName").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    for name in a["FileName"]:
        assert np.array_equal(
            read_video(one / "Videos" / f"{name}.avi").frames, read_video(two / "Videos" / f"{name}.avi").frames
        )


def test_converted_loop_is_the_sector_of_the_capture(tmp_path):
    capture = screen_capture(7, n_frames=30)
    (tmp_path / "src").mkdir()
    write_ultrasound_dicom(tmp_path / "src" / "x.dcm", capture, "rgb")
    summary = convert_archive(tmp_path / "src", tmp_path / "out", settings=ConvertSettings(size=112), progress=False)
    assert summary.converted == 1 and summary.unlabelled == 1
    name = pd.read_csv(tmp_path / "out" / "FileList_unlabelled.csv")["FileName"][0]
    converted = read_video(tmp_path / "out" / "Videos" / f"{name}.avi").frames
    # the drawn echo alone, resized and written by the same AVI writer: the crop keeps exactly the sector
    expected = np.stack([cv2.resize(f, (112, 112), interpolation=cv2.INTER_AREA) for f in capture.sector])
    written = read_video(write_video(tmp_path / "expected.avi", expected, fps=capture.fps)).frames
    assert np.abs(converted.astype(float) - written).mean() <= 1  # grey levels


def test_private_folder_inside_the_output_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must not be inside"):
        convert_archive(tmp_path, tmp_path / "out", private=tmp_path / "out" / "private", progress=False)


@pytest.mark.slow
def test_labels_from_the_echo_reports_of_the_archive(archive, tmp_path):
    import shutil

    from cardiacclip.synthetic.dicoms import write_study_reports

    src, _ = archive
    mixed = tmp_path / "src"
    shutil.copytree(src, mixed)
    # study a: biplane + single plane + Teichholz; b: two biplane values; c: single plane (no loops); d: no EF
    reports = {"1.2.3.4.100": 35.0, "1.2.3.4.200": 61.0, "1.2.3.4.300": 50.0, "1.2.3.4.400": 50.0}
    write_study_reports(mixed / "reports", reports)
    out = tmp_path / "out"
    result = runner.invoke(app, ["convert", str(mixed), str(out), "--labels-from-sr"])
    assert result.exit_code == 1, result.output  # the broken file, as without reports
    assert "4 echo report(s) (SR) found" in result.output and "1 stud(ies) without a usable EF" in result.output
    table = read_filelist(out / "FileList.csv")
    mapping = pd.read_csv(tmp_path / "out_private" / "uid_map.csv", dtype=str).set_index("FileName")
    studies = mapping.loc[table["FileName"], "StudyInstanceUID"].tolist()
    assert sorted(set(studies)) == ["1.2.3.4.100", "1.2.3.4.200"]
    expected = {"1.2.3.4.100": 35.0, "1.2.3.4.200": 61.0}
    assert table["EF"].tolist() == pytest.approx([expected[s] for s in studies])
    assert set(table["EF_method"]) == {"biplane method of disks"}
    assert not any(str(p).endswith(".dcm") and "SR" in p for p in mapping["source"])  # reports are not converted
    without = pd.read_csv(tmp_path / "out_private" / "sr_without_ef.csv", dtype=str)
    assert without["StudyInstanceUID"].tolist() == ["1.2.3.4.400"]
    harvested = pd.read_csv(tmp_path / "out_private" / "sr_labels.csv", dtype=str).set_index("StudyInstanceUID")
    assert float(harvested.at["1.2.3.4.300", "EF"]) == 53.0  # single plane (50 + 3) over Teichholz (50 - 5)
    for phi in PHI:
        assert phi not in (out / "FileList.csv").read_text()


def test_a_file_past_the_time_limit_is_logged_as_failed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    capture = screen_capture(0, n_frames=20)
    write_video(src / "capture.avi", capture.frames, fps=capture.fps)
    summary = convert_archive(src, tmp_path / "out", settings=ConvertSettings(file_timeout=1e-4), progress=False)
    assert summary.converted == 0 and summary.failed == 1
    errors = pd.read_csv(summary.private / "errors.csv")
    assert errors.iloc[0].astype(str).str.contains("took longer than the time limit").any()
