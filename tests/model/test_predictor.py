from __future__ import annotations

import numpy as np
import pytest
import torch

import cardiacclip as cc
from cardiacclip.data.filelist import read_filelist
from cardiacclip.data.video_io import read_video


@pytest.fixture(scope="module")
def model(tiny_run):
    run_dir, _, _ = tiny_run
    return cc.load(run_dir, device="cpu")


@pytest.fixture(scope="module")
def video_path(synthetic_root):
    table = read_filelist(synthetic_root / "FileList.csv")
    return synthetic_root / "Videos" / table["VideoFile"][0]


def test_file_array_and_tensor_inputs_agree(model, video_path):
    from_file = model.predict(video_path)
    frames, fps = read_video(video_path)
    from_array = model.predict(frames, fps=fps)
    assert isinstance(from_file, cc.Prediction) and from_file.source == str(video_path)
    assert from_array.ef == pytest.approx(from_file.ef, abs=1e-5) and from_array.source == "array"
    assert from_file.category in model.categories and sum(from_file.probabilities.values()) == pytest.approx(1.0)
    assert len(from_file.clip_efs) == len(from_file.clip_starts) == model.config.data.test_clips
    assert from_file.ef == pytest.approx(np.mean(from_file.clip_efs), abs=1e-4)
    assert len(from_file.attention) == model.config.data.length and sum(from_file.attention) == pytest.approx(1.0)
    assert from_file.fps == pytest.approx(50.0) and from_file.n_frames == len(frames) and not from_file.warnings
    assert "not a medical device" in from_file.to_dict()["notice"]

    clips, _ = model.sampler.evaluation_clips(frames, model.config.data.test_clips)
    from_clips = model.predict(clips)  # (N, T, 3, H, W): N clips of one video
    assert from_clips.ef == pytest.approx(from_file.ef, abs=1e-5) and from_clips.source == "tensor"
    one_clip = model.predict(clips[0])  # (T, 3, H, W)
    assert one_clip.ef == pytest.approx(from_file.clip_efs[0], abs=1e-5)


def test_frame_rate_sets_the_period_and_missing_rate_warns(model, video_path):
    frames, _ = read_video(video_path)
    assert model.predict(frames, fps=25.0).period == model.config.data.period // 2
    unknown = model.predict(frames)
    assert unknown.period == model.config.data.period and "assumed the training rate" in unknown.warnings[0]


def test_wrong_layouts_name_the_expected_one(model):
    with pytest.raises(ValueError, match=r"\(B, 3, T, H, W\).*permute\(0, 2, 1, 3, 4\)"):
        model.predict(torch.zeros(2, 3, 4, 112, 112))
    with pytest.raises(ValueError, match=r"expected \(T, 3, H, W\)"):
        model.predict(torch.zeros(112, 112))
    with pytest.raises(ValueError, match=r"\(3, T, H, W\)"):
        model.predict(torch.zeros(3, 4, 112, 112))
    with pytest.raises(ValueError, match="uint8"):
        model.predict(np.zeros((4, 112, 112, 3), dtype=np.float32))
    with pytest.raises(TypeError):
        model.predict([1, 2, 3])


def test_predict_many_keeps_going_when_asked(model, video_path, tmp_path):
    missing = tmp_path / "missing.avi"
    results = model.predict_many([video_path, missing, video_path], errors="return")
    assert isinstance(results[0], cc.Prediction) and isinstance(results[1], FileNotFoundError)
    assert results[2].ef == pytest.approx(results[0].ef)
    with pytest.raises(FileNotFoundError):
        model.predict_many([missing])


def test_videos_batched_together_get_the_same_predictions_as_alone(model, synthetic_root):
    paths = sorted((synthetic_root / "Videos").glob("*.avi"))[:3]
    prepared = [model.prepare(model.probe(p), clips=3) for p in paths]
    together = model.run_many(prepared)
    for video, batched in zip(prepared, together, strict=True):
        alone = model.run(video)
        assert batched.ef == pytest.approx(alone.ef, abs=1e-4) and batched.clip_starts == alone.clip_starts
        assert batched.attention == pytest.approx(alone.attention, abs=1e-5)


def test_a_tinted_loop_predicts_as_its_grey_twin(model, tmp_path):
    from cardiacclip.synthetic.dicoms import screen_capture, write_ultrasound_dicom

    capture = screen_capture(11, height=300, width=400, echo_px=192, n_frames=60)
    grey = model.predict(write_ultrasound_dicom(tmp_path / "grey.dcm", capture, "mono2"))
    bronze = model.predict(write_ultrasound_dicom(tmp_path / "bronze.dcm", capture, "palette_bronze"))
    assert (grey.colour, bronze.colour) == ("grey", "tinted") and not bronze.flags
    assert bronze.ef == pytest.approx(grey.ef, abs=0.05)  # read as luminance: the same frames to +-1 grey level
