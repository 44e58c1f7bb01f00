from __future__ import annotations

import numpy as np
import torch

from cardiacclip.data.clips import ClipSampler
from cardiacclip.data.prepare import frames_array, prepare_video, training_clip
from cardiacclip.data.source import probe
from helpers import moving_pattern


def test_evaluation_clips_follow_the_loop_rate_and_hold_only_the_frames_they_use():
    frames = moving_pattern(n_frames=60, height=32, width=32)
    sampler = ClipSampler(length=4, period=4, image_size=32, fps=50.0)
    at_25 = prepare_video(probe(frames, fps=25.0), sampler, clips=3)
    assert at_25.period == 2 and at_25.clips.shape == (3, 4, 3, 32, 32)  # the period follows the rate
    assert at_25.source_index.tolist() == [list(s + 2 * np.arange(4)) for s in at_25.starts]
    assert at_25.first_clip.shape == (4, 32, 32, 3)
    unknown = prepare_video(probe(frames), sampler, clips=1)
    assert unknown.period == 4 and any("frame rate unknown" in w for w in unknown.warnings)


def test_a_loop_shorter_than_a_clip_is_padded_with_black_and_says_so():
    frames = moving_pattern(n_frames=6, height=32, width=32)
    prepared = prepare_video(probe(frames, fps=50.0), ClipSampler(length=4, period=4, image_size=32), clips=1)
    assert any("fewer than one clip spans" in w for w in prepared.warnings)
    assert (prepared.first_clip[2:] == 0).all() and prepared.first_clip[:2].any()


def test_frames_array_decodes_only_wanted_frames_or_none_at_all():
    frames = moving_pattern(n_frames=20, height=32, width=32)
    video = probe(frames, fps=50.0)
    wanted = np.array([3, 7, 3])
    array = frames_array(video, 32, wanted)
    assert array.shape == (20, 32, 32, 3) and array[3].any() and array[7].any() and not array[4].any()
    assert not frames_array(video, 32, wanted, decode=False).any()


def test_a_training_clip_starts_anywhere_the_clip_fits():
    frames = moving_pattern(n_frames=40, height=32, width=32)
    sampler = ClipSampler(length=4, period=2, image_size=32, fps=50.0)
    starts = set()
    for seed in range(20):
        clip, start, period = training_clip(probe(frames, fps=25.0), sampler, torch.Generator().manual_seed(seed))
        assert clip.shape == (1, 4, 3, 32, 32) and period == 1  # at half the rate, every frame
        starts.add(int(start[0]))
    assert len(starts) > 3 and max(starts) <= 40 - 4
