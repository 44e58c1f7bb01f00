from __future__ import annotations

import numpy as np
import pytest
import torch

from cardiacclip.config import DataConfig
from cardiacclip.data.clips import CLIP_MEAN, ClipSampler, parse_clip_count


def test_parse_clip_count():
    assert parse_clip_count("all") == "all" and parse_clip_count("3") == 3 and parse_clip_count(None) is None
    for bad in ("0", "-2", "some"):
        with pytest.raises(ValueError, match="clips must be"):
            parse_clip_count(bad)


def test_from_config_takes_the_backbones_preprocessing():
    data = DataConfig(length=8, period=3, pad=5)
    sampler = ClipSampler.from_config(data, mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2))
    assert sampler.mean == (0.5, 0.5, 0.5) and sampler.pad == 0  # augmentation only on request
    assert ClipSampler.from_config(data, augment=True).pad == 5
    assert ClipSampler.from_config(DataConfig(normalize="raw")).mean is None
    assert ClipSampler.from_config(DataConfig()).mean == CLIP_MEAN
    assert ClipSampler.from_config(DataConfig(frame_layout="reference")).frame_layout == "reference"


def test_period_follows_the_frame_rate():
    sampler = ClipSampler(length=16, period=4, fps=50.0)
    assert sampler.for_video(25.0).period == 2
    assert sampler.for_video(100.0).period == 8
    assert sampler.for_video(30.0).period == 2  # round(2.4): the nearest whole period
    assert sampler.for_video(None).period == 4  # unknown rate: the training rate is assumed
    assert ClipSampler.from_config(DataConfig(period=2, fps=25.0)).for_video(50.0).period == 4


def test_take_resizes_only_the_clip_and_pads_with_black():
    frames = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 64, 48, 3), dtype=np.uint8)
    clip = ClipSampler(length=4, period=3, image_size=32).take(frames, 2)
    assert clip.shape == (4, 32, 32, 3)
    assert [int(f[0, 0, 0]) for f in clip] == [2, 5, 8, 0]  # frame 11 does not exist: black


def test_grey_single_channel_frames_become_three_channels():
    grey = np.full((5, 16, 16, 1), 128, dtype=np.uint8)
    tensor = ClipSampler(length=2, period=1, image_size=16, mean=None).to_tensor(grey)
    assert tensor.shape == (5, 3, 16, 16) and torch.all(tensor == 128)


def test_whole_video_when_length_is_none():
    sampler = ClipSampler(length=None, period=2, max_length=250)
    assert sampler.clip_length(11) == 6 and list(sampler.evaluation_starts(11, "all")) == [0]


def test_reference_frame_layout_puts_three_time_steps_of_one_colour_in_a_frame():
    t = 6
    clip = np.zeros((t, 4, 4, 3), dtype=np.uint8)
    for step in range(t):
        for colour in range(3):
            clip[step, ..., colour] = 10 * colour + step  # value = 10 * colour + time
    ours = ClipSampler(length=t, period=1, image_size=4, mean=None).to_tensor(clip)
    released = ClipSampler(length=t, period=1, image_size=4, mean=None, frame_layout="reference").to_tensor(clip)
    assert ours[2, 1, 0, 0] == 10 * 1 + 2  # frame 2 = time step 2, channel 1 = green
    stack = torch.from_numpy(clip).permute(3, 0, 1, 2).float()  # (3, T, H, W), as the released loader yields
    assert torch.equal(released, stack.reshape(t, 3, 4, 4))
    assert [int(v) for v in released[0, :, 0, 0]] == [0, 1, 2]  # frame 0 = red at times 0, 1, 2
    assert [int(v) for v in released[2, :, 0, 0]] == [10, 11, 12]  # frame 2 = green at times 0, 1, 2
