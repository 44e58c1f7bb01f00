"""`cardiacclip predict` on a folder of hospital-style DICOM screen captures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.config import RunConfig
from cardiacclip.model.backbone import load_backbone
from cardiacclip.model.checkpoint import build_model
from cardiacclip.model.predictor import Predictor
from cardiacclip.model.prompts import load_prompts
from cardiacclip.synthetic.dicoms import screen_capture, write_ultrasound_dicom

runner = CliRunner()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pacs")
    write_ultrasound_dicom(folder / "tagged.dcm", screen_capture(0, n_frames=60), "rgb")
    write_ultrasound_dicom(folder / "IM000002", screen_capture(1, n_frames=60), "mono2", regions=False, preamble=False)
    write_ultrasound_dicom(folder / "ct.dcm", screen_capture(2, n_frames=60), "mono2", modality="CT")
    (folder / "DICOMDIR").write_bytes(b"\0" * 200)
    return folder


def test_a_folder_of_captures_gets_crops_flags_and_no_patient_data(tiny_run, archive, tmp_path):
    out, crops = tmp_path / "pred.csv", tmp_path / "crops"
    result = runner.invoke(
        app,
        [
            "predict",
            str(tiny_run[0]),
            str(archive),
            "--out",
            str(out),
            "--clips",
            "1",
            "--save-crops",
            str(crops),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out).set_index(pd.read_csv(out)["file"].map(lambda f: f.rsplit("/", 1)[-1]))
    assert set(table.index) == {"tagged.dcm", "IM000002", "ct.dcm"}  # found by content; DICOMDIR left out
    assert table.loc["tagged.dcm", "crop_method"] == "regions" and table.loc["IM000002", "crop_method"] == "sector"
    assert table.loc["ct.dcm", "flags"] == "not_ultrasound" and (table["status"] == "ok").all()
    assert "preamble" in table.loc["IM000002", "warnings"]
    assert len(list(crops.glob("*_crop.png"))) == 3
    text = out.read_text()
    assert "Doe" not in text and "000123" not in text and "1970" not in text
    strict = runner.invoke(app, ["predict", str(tiny_run[0]), str(archive / "ct.dcm"), "--strict", "--clips", "1"])
    assert strict.exit_code == 1 and "refused by --strict: not_ultrasound" in strict.stdout


@pytest.mark.slow
def test_full_screen_capture_and_its_sector_only_twin_agree():
    config = RunConfig.load("synthetic")
    torch.manual_seed(0)
    model = build_model(config, load_backbone("synthetic"), load_prompts(config.model.prompts))
    predictor = Predictor(model, config, torch.device("cpu"))
    differences = []
    for seed in range(3):
        capture = screen_capture(seed)
        whole = predictor.predict(capture.frames, fps=capture.fps, crop="sector", clips=2)
        twin = predictor.predict(capture.sector, fps=capture.fps, crop="sector", clips=2)
        squashed = predictor.predict(capture.frames, fps=capture.fps, crop="none", clips=2)
        differences.append((abs(whole.ef - twin.ef), abs(squashed.ef - twin.ef)))
    cropped, squashed = np.array(differences).T
    assert cropped.max() < 1.0, differences  # EF points
    assert squashed.mean() > cropped.mean()  # the whole screen squashed to 112 px is what cropping prevents


def test_predictions_by_study(tiny_run, synthetic_root, tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    uid = "1.2.826.0.1.3680043.8.498.1"
    for i, modality in enumerate(("US", "US", "CT")):
        write_ultrasound_dicom(
            folder / f"v{i}.dcm", screen_capture(10 + i, n_frames=50), "mono2", modality=modality, study_uid=uid
        )
    avi = sorted((synthetic_root / "Videos").glob("*.avi"))[0]
    mapping = tmp_path / "studies.csv"
    mapping.write_text(f"file,study\n{avi.name},clinic-7\n")
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app,
        [
            "predict",
            str(tiny_run[0]),
            str(folder),
            str(avi),
            "--out",
            str(out),
            "--clips",
            "1",
            "--by",
            "study",
            "--studies",
            str(mapping),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    videos = pd.read_csv(out)
    studies = pd.read_csv(tmp_path / "pred.studies.csv").set_index("study")
    dicom_study = videos["study"].iloc[0]
    assert dicom_study.startswith("S") and uid not in out.read_text()  # hashed, the UID is not written
    ok = videos[(videos["study"] == dicom_study) & videos["flags"].isna()]
    assert studies.loc[dicom_study, "videos"] == 3 and studies.loc[dicom_study, "videos_used"] == 2  # CT flagged
    assert studies.loc[dicom_study, "EF_median"] == pytest.approx(ok["EF_pred"].median(), abs=0.01)
    assert studies.loc["clinic-7", "videos"] == 1


def test_rhythm_flags_do_not_leave_a_video_out_of_its_study(tmp_path):
    from cardiacclip.jobs.predict.studies import study_table, usable

    rows = pd.DataFrame(
        {
            "file": ["a", "b", "c", "d"],
            "status": ["ok", "ok", "ok", "error"],
            "study": ["S1", "S1", "S1", "S1"],
            "EF_pred": [50.0, 60.0, 20.0, None],
            "flags": ["irregular_rhythm beat_ef_spread", None, "not_ultrasound", None],
            "n_beats": [3, 2, 1, None],
        }
    )
    assert usable(rows)["file"].tolist() == ["a", "b"]
    table = pd.read_csv(study_table(rows, tmp_path / "pred.csv")).set_index("study")
    assert table.loc["S1", "EF_median"] == 55.0 and table.loc["S1", "videos_used"] == 2
    assert table.loc["S1", "beats"] == 5 and table.loc["S1", "irregular_rhythm"] == 1
