from __future__ import annotations

import torch

from cardiacclip.baselines.video_regressor import build_r2plus1d, to_video_input


def test_clips_become_channel_first_video_input_at_the_asked_size():
    clips = torch.randn(2, 5, 3, 40, 40)
    video = to_video_input(clips, 32)
    assert video.shape == (2, 3, 5, 32, 32)
    torch.testing.assert_close(to_video_input(clips, None), clips.permute(0, 2, 1, 3, 4))


def test_a_scratch_regressor_starts_at_the_training_mean():
    model, source = build_r2plus1d(None, mean_ef=57.0)
    assert source == "scratch"
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, 3, 4, 32, 32))
    assert out.shape == (1, 1) and float(model.fc.bias.detach()) == 57.0
