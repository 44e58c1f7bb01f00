from __future__ import annotations

import shutil

import pandas as pd
import torch

from cardiacclip.data.clips import CLIP_MEAN, CLIP_STD, ClipSampler
from cardiacclip.data.echonet import KEY_ED, KEY_ES, EchoNetDataset
from cardiacclip.data.source import Reading
from cardiacclip.data.video_io import read_video, write_video
from helpers import moving_pattern


def test_training_clip_shape_and_dtype(synthetic_root):
    dataset = EchoNetDataset(synthetic_root, "train", ClipSampler(length=16, period=2, pad=4))
    item = dataset[0]
    assert item["video"].shape == (1, 16, 3, 112, 112)
    assert item["video"].dtype == torch.float32
    assert item["ef"].dtype == torch.float32 and 0 < float(item["ef"]) < 100
    assert isinstance(item["file_name"], str)


def test_default_clip_is_cardiacclip_48_by_2(synthetic_root):
    dataset = EchoNetDataset(synthetic_root, "test", clips=1)
    assert dataset[0]["video"].shape == (1, 48, 3, 112, 112)


def test_evaluation_is_deterministic(synthetic_root):
    a = EchoNetDataset(synthetic_root, "test", ClipSampler(length=8, period=3), clips=3)
    b = EchoNetDataset(synthetic_root, "test", ClipSampler(length=8, period=3), clips=3)
    x, y = a[1], b[1]
    assert torch.equal(x["video"], y["video"]) and torch.equal(x["video"], a[1]["video"])
    assert x["video"].shape[0] == 3
    starts = x["starts"].numpy()
    assert starts[0] == 0 and starts[-1] == x["num_frames"] - ((8 - 1) * 3 + 1)


def test_clips_all_gives_every_start():
    sampler = ClipSampler(length=3, period=2)
    assert list(sampler.evaluation_starts(10, "all")) == [0, 1, 2, 3, 4, 5]
    assert list(sampler.evaluation_starts(10, 2)) == [0, 5]
    assert list(sampler.evaluation_starts(3, "all")) == [0]  # shorter than a clip


def test_training_draws_vary(synthetic_root):
    torch.manual_seed(0)
    dataset = EchoNetDataset(synthetic_root, "train", ClipSampler(length=8, period=2, pad=8))
    draws = {tuple(dataset[0]["starts"].tolist()) for _ in range(8)}
    assert len(draws) > 1


def _single_video_root(tmp_path, frames, name="0XSHORT", fps=50):
    write_video(tmp_path / "Videos" / f"{name}.avi", frames, fps=fps)
    pd.DataFrame(
        [
            {
                "FileName": name,
                "EF": 50.0,
                "FrameHeight": frames.shape[1],
                "FrameWidth": frames.shape[2],
                "FPS": fps,
                "NumberOfFrames": len(frames),
                "Split": "TEST",
            }
        ]
    ).to_csv(tmp_path / "FileList.csv", index=False)
    return tmp_path


def test_video_shorter_than_a_clip_is_zero_padded(tmp_path):
    frames = moving_pattern(n_frames=10, height=112, width=112)
    root = _single_video_root(tmp_path, frames, fps=15)  # 0.67 s: at 50 fps it would be flagged too_short
    item = EchoNetDataset(root, "test", ClipSampler(length=8, period=2, mean=None, fps=15.0), clips="all")[0]
    video = item["video"]
    assert video.shape == (1, 8, 3, 112, 112)
    assert video[0, :5].abs().sum(dim=(1, 2, 3)).min() > 0  # frames 0, 2, .., 8 exist
    assert torch.all(video[0, 5:] == 0)  # frames 10, 12, 14 are padding


def test_non_112_video_is_resized(tmp_path):
    frames = moving_pattern(n_frames=12, height=96, width=128)
    root = _single_video_root(tmp_path, frames, name="0XBIG", fps=20)
    item = EchoNetDataset(root, "test", ClipSampler(length=4, period=1, image_size=112))[0]
    assert item["video"].shape == (1, 4, 3, 112, 112)


def test_normalization_choices(synthetic_root):
    raw = EchoNetDataset(synthetic_root, "test", ClipSampler(length=4, mean=None))[0]["video"]
    clip = EchoNetDataset(synthetic_root, "test", ClipSampler(length=4))[0]["video"]
    assert raw.min() >= 0 and raw.max() > 1 and raw.max() <= 255
    mean = torch.tensor(CLIP_MEAN).view(1, 1, 3, 1, 1) * 255
    std = torch.tensor(CLIP_STD).view(1, 1, 3, 1, 1) * 255
    assert torch.allclose(clip, (raw - mean) / std, atol=1e-4)
    other = ClipSampler(length=4, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))  # a backbone's own preprocessing
    assert torch.allclose(
        EchoNetDataset(synthetic_root, "test", other)[0]["video"], (raw / 255 - 0.5) / 0.25, atol=1e-4
    )


def test_dataset_frames_match_the_file(synthetic_root):
    dataset = EchoNetDataset(synthetic_root, "test", ClipSampler(length=5, period=2, mean=None), clips=1)
    frames = read_video(dataset.video_path(0)).frames
    expected = torch.from_numpy(frames[0:10:2]).permute(0, 3, 1, 2).float()
    assert torch.equal(dataset[0]["video"][0], expected)


def test_screen_capture_videos_are_cropped_to_the_sector(tmp_path):
    from cardiacclip.data.clips import resize_frames
    from cardiacclip.synthetic.dicoms import screen_capture

    capture = screen_capture(3, n_frames=30)
    write_video(tmp_path / "Videos" / "cap.avi", capture.frames, fps=capture.fps, quality=1)
    pd.DataFrame({"FileName": ["cap"], "EF": [capture.ef], "Split": ["TEST"]}).to_csv(
        tmp_path / "FileList.csv", index=False
    )
    sampler = ClipSampler(length=8, period=1, image_size=112, mean=None)

    def clip(crop: str) -> torch.Tensor:
        return EchoNetDataset(tmp_path, "test", sampler, reading=Reading(crop=crop))[0]["video"][0]

    auto, none = clip("auto"), clip("none")
    twin = sampler.to_tensor(resize_frames(capture.sector[:8], 112))
    assert (auto - twin).abs().mean() < 4 < (none - twin).abs().mean()  # grey levels (MJPEG in between)


def test_later_accesses_decode_only_clip_frames_and_can_skip_pixels(synthetic_root):
    sampler = ClipSampler(length=8, period=3, image_size=112)
    for train in (False, True):
        dataset = EchoNetDataset(synthetic_root, "test", sampler, train=train, clips=3)
        torch.manual_seed(0)
        first = [dataset[i] for i in range(4)]
        torch.manual_seed(0)
        again = [dataset[i] for i in range(4)]  # only the clip frames are decoded, seeking in the file
        for a, b in zip(first, again, strict=True):
            assert torch.equal(a["video"], b["video"]) and torch.equal(a["starts"], b["starts"])
        dataset.decode_pixels = False  # the feature cache holds every frame: clips keep their indices only
        torch.manual_seed(0)
        blind = dataset[0]
        black = blind["video"].amax(dim=(-2, -1)) == blind["video"].amin(dim=(-2, -1))  # every plane constant
        assert torch.equal(blind["starts"], first[0]["starts"]) and bool(black.all())


def test_a_video_that_fails_after_its_probe_costs_one_access_not_the_run(synthetic_root, tmp_path, caplog):
    import shutil

    from cardiacclip.model.inference import predict_dataset
    from cardiacclip.runtime import CPU_FP32
    from helpers import tiny_model

    root = tmp_path / "copy"
    shutil.copytree(synthetic_root, root)
    sampler = ClipSampler(length=4, period=8)
    training = EchoNetDataset(root, "test", sampler, train=True)
    evaluation = EchoNetDataset(root, "test", sampler, train=False, clips=2)
    name = training.file_names[0]
    frames = read_video(training.video_path(0)).frames
    write_video(training.video_path(0), frames[:5], fps=50.0)  # the file changed after its probe: frames lost
    torch.manual_seed(0)
    item = training[0]
    assert item["file_name"] == training.file_names[1] and "training on the next video" in caplog.text
    assert "error" in evaluation[0] and "could not be decoded" in evaluation[0]["error"]
    predicted = predict_dataset(tiny_model(), evaluation, CPU_FP32, progress=False)
    table = predicted.table
    assert name not in set(table["FileName"]) and len(table) == len(evaluation) - 1
    assert list(predicted.failed) == [name]


def test_training_items_mark_every_beats_key_frames(synthetic_root, tmp_path, caplog):
    dataset = EchoNetDataset(synthetic_root, "train", ClipSampler(length=32, period=2)).with_key_frames()
    beats = pd.read_csv(synthetic_root / "Beats.csv")
    marked_beats = 0
    for index in range(len(dataset)):
        item = dataset[index]
        start, marks = int(item["starts"][0]), item["key_marks"]
        drawn = beats[beats["FileName"] == item["file_name"]]
        for kind, column in ((KEY_ED, "EDFrame"), (KEY_ES, "ESFrame")):
            inside = [round((f - start) / 2) for f in drawn[column] if 0 <= round((f - start) / 2) < 32]
            assert sorted(torch.nonzero(marks == kind).flatten().tolist()) == sorted(inside)
            marked_beats += len(inside)
    assert marked_beats > len(dataset)  # most clips hold more than the one traced beat's pair
    # a folder without Beats.csv marks its one traced pair (VolumeTracings.csv: ES listed first, then ED)
    copy = tmp_path / "traced_only"
    shutil.copytree(synthetic_root, copy, ignore=shutil.ignore_patterns("Beats.csv"))
    traced = EchoNetDataset(copy, "train", ClipSampler(length=32, period=2)).with_key_frames()
    assert all(len(ed) == 1 and len(es) == 1 for ed, es in traced.key_frames.values())
    (copy / "VolumeTracings.csv").unlink()  # nothing to learn the key frames from: said, and no marks
    untraced = EchoNetDataset(copy, "train", ClipSampler(length=32, period=2)).with_key_frames()
    assert "has ED/ES frames for 0 of" in caplog.text
    assert int(untraced[0]["key_marks"].abs().sum()) == 0
