from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import cardiacclip as cc
from cardiacclip.data.filelist import read_filelist
from cardiacclip.data.video_io import read_video
from cardiacclip.jobs.serve import ServeSettings, check_bind, create_app, model_info
from helpers import write_dicom


@pytest.fixture(scope="module")
def predictor(tiny_run):
    return cc.load(tiny_run[0], device="cpu")


@pytest.fixture(scope="module")
def video(synthetic_root) -> Path:
    return synthetic_root / "Videos" / read_filelist(synthetic_root / "FileList.csv")["VideoFile"][0]


def client(predictor, run_dir, **settings) -> TestClient:
    return TestClient(create_app(predictor, model_info(run_dir, predictor), ServeSettings(**settings)))


def uploads_left() -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob("cardiacclip-upload-*"))


def test_predict_answers_what_the_api_gives(predictor, tiny_run, video, caplog):
    api = client(predictor, tiny_run[0])
    caplog.set_level(logging.DEBUG)
    before = uploads_left()
    response = api.post(
        "/v1/predict",
        files={"file": ("Patient^Jane_1234.avi", video.read_bytes(), "video/x-msvideo")},
        data={"clips": "2"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = predictor.predict(video, clips=2)
    assert body["ef"] == pytest.approx(expected.ef) and body["category"] == expected.category
    assert body["ef_low"] <= body["ef"] <= body["ef_high"] and body["interval_coverage"] == 0.9
    assert len(body["clip_efs"]) == 2 and len(body["attention"]) == predictor.config.data.length
    assert body["frames"][0].startswith("data:image/jpeg;base64,") and body["preview"].startswith("data:image/jpeg")
    assert body["crop"]["method"] == "none" and body["flags"] == [] and "not a medical device" in body["notice"]
    assert "Patient" not in response.text and "Jane" not in response.text and "source" not in body
    assert "Patient" not in caplog.text and "Jane" not in caplog.text
    assert uploads_left() == before  # the upload folder is gone after the response


def test_an_upload_past_the_time_limit_is_a_422_and_the_server_goes_on(predictor, tiny_run, video):
    slow = client(predictor, tiny_run[0], file_timeout=0.001)
    before = uploads_left()
    response = slow.post("/v1/predict", files={"file": ("a.avi", video.read_bytes(), "video/x-msvideo")})
    assert response.status_code == 422 and "took longer than the time limit" in response.json()["detail"]
    assert uploads_left() == before
    in_thread = client(predictor, tiny_run[0], file_timeout=None)
    response = in_thread.post("/v1/predict", files={"file": ("a.avi", video.read_bytes(), "video/x-msvideo")})
    assert response.status_code == 200 and response.json()["ef"] == pytest.approx(predictor.predict(video).ef)


def test_dicom_upload_leaks_no_tag(predictor, tiny_run, video, tmp_path):
    frames, _ = read_video(video)
    path = write_dicom(tmp_path / "study.dcm", frames, "RGB", fps=50)
    import pydicom

    ds = pydicom.dcmread(path)
    ds.PatientName, ds.PatientID = "Doe^John", "MRN0042"
    ds.save_as(path)
    response = client(predictor, tiny_run[0]).post("/v1/predict", files={"file": ("x.dcm", path.read_bytes())})
    assert response.status_code == 200 and "Doe" not in response.text and "MRN0042" not in response.text


def test_bad_input_is_4xx_never_500(predictor, tiny_run, video):
    api = client(predictor, tiny_run[0], max_upload_bytes=1 << 20)
    not_video = api.post("/v1/predict", files={"file": ("notes.txt", b"hello, this is not a video" * 10)})
    assert not_video.status_code == 422 and "not a readable video" in not_video.json()["detail"]
    assert "cardiacclip-upload" not in not_video.text and "notes.txt" not in not_video.text
    assert api.post("/v1/predict", files={"file": ("e.avi", b"")}).status_code == 422
    too_big = api.post("/v1/predict", files={"file": ("big.avi", b"\0" * (2 << 20))})
    assert too_big.status_code == 413
    assert (
        api.post("/v1/predict", files={"file": ("v.avi", video.read_bytes())}, data={"clips": "0"}).status_code == 422
    )
    assert (
        api.post("/v1/predict", files={"file": ("v.avi", video.read_bytes())}, data={"crop": "bogus"}).status_code
        == 422
    )
    assert api.post("/v1/predict").status_code == 422  # no file at all


def test_token_is_checked_on_every_api_call(predictor, tiny_run, video):
    api = client(predictor, tiny_run[0], token="s3cret")
    assert api.get("/healthz").status_code == 200 and api.get("/").status_code == 200
    assert api.get("/v1/model").status_code == 401
    assert api.get("/v1/model", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.post("/v1/predict", files={"file": ("v.avi", video.read_bytes())}).status_code == 401
    info = api.get("/v1/model", headers={"Authorization": "Bearer s3cret"}).json()
    assert info["backbone"] == "tiny" and info["config"]["data"]["root"] is None and "validation" in info
    assert info["calibration"]["coverage"] == 0.9 and info["training_videos"]["TRAIN"] > 0
    with pytest.raises(ValueError, match="--token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "s3cret")
    check_bind("127.0.0.1", None)


def test_a_full_queue_answers_503(predictor, tiny_run, video):
    api = client(predictor, tiny_run[0], queue_size=0)
    response = api.post("/v1/predict", files={"file": ("v.avi", video.read_bytes())})
    assert response.status_code == 503 and response.headers["retry-after"] == "2"


def test_openapi_docs_and_page(predictor, tiny_run):
    api = client(predictor, tiny_run[0])
    assert "/v1/predict" in api.get("/openapi.json").json()["paths"]
    assert api.get("/docs").status_code == 200
    page = api.get("/").text
    assert "not a medical device" in page and 'id="result"' in page


def test_beats_over_the_api(predictor, tiny_run, video):
    response = client(predictor, tiny_run[0]).post(
        "/v1/predict", files={"file": ("a.avi", video.read_bytes(), "video/x-msvideo")}, data={"clips": "beats"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = predictor.predict(video, clips="beats")
    assert body["ef"] == pytest.approx(expected.ef)
    assert body["beats"]["beat_efs"] == pytest.approx(expected.beats.beat_efs)
    assert body["beats"]["n_beats"] == expected.beats.n_beats >= 1
    assert len(body["frame_marks"]) == len(body["frames"]) == len(body["frame_sources"])
    assert {"ED", "ES"} <= set(body["frame_marks"])  # the first beat's clip runs from its ED through its ES
    assert body["frame_sources"][0] == expected.clip_starts[0] <= expected.beats.beat_ed[0]


@pytest.mark.slow
def test_mutated_uploads_get_a_result_or_a_422_never_a_500(predictor, tiny_run, tmp_path):
    import numpy as np

    from cardiacclip.data.source import PLAUSIBLE_FPS
    from cardiacclip.testing import fuzz

    seeds = fuzz.seed_files(tmp_path / "seeds")
    api = client(predictor, tiny_run[0])
    rng = np.random.default_rng(0)
    before, statuses = uploads_left(), []
    for kind in ("dicom", "avi", "mp4"):
        for i in range(6):
            seed = seeds[kind][i % len(seeds[kind])]
            mutation, data = fuzz.mutation_of(kind)(seed, rng)
            response = api.post("/v1/predict", files={"file": (seed.name, data, "application/octet-stream")})
            statuses.append(response.status_code)
            assert response.status_code in (200, 422), (kind, mutation, response.text)
            if response.status_code == 200:
                body = response.json()
                assert 0 <= body["ef"] <= 100 and body["n_frames"] > 0, (kind, mutation)
                assert body["fps"] is None or PLAUSIBLE_FPS[0] <= body["fps"] <= PLAUSIBLE_FPS[1], (kind, mutation)
            else:
                assert "Traceback" not in response.text and str(tmp_path) not in response.text
    assert 200 in statuses and 422 in statuses
    assert uploads_left() == before
