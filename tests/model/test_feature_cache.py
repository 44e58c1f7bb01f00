from __future__ import annotations

import numpy as np
import pytest
import torch

from cardiacclip.model.feature_cache import TrunkFeatureCache
from cardiacclip.runtime import CPU_FP32, Placement
from helpers import tiny_model


def test_each_frame_goes_through_the_trunk_once_and_comes_back_the_same():
    model = tiny_model().eval()
    device = Placement(torch.device("cpu"))
    frames = torch.randn(6, 3, 112, 112)
    clips = torch.stack([frames[[0, 1, 2]], frames[[2, 3, 4]]])  # frame 2 in both clips
    cache = TrunkFeatureCache()
    first = cache.pooled(model, clips, ["a.avi", "a.avi"], np.array([[0, 1, 2], [2, 3, 4]]), device)
    assert first.shape[:2] == (2, 3) and len(cache) == 5 and cache.misses == 5 and cache.hits == 1
    with torch.no_grad():
        direct = model.image_encoder.pooled_features(frames[:5])
    torch.testing.assert_close(first[0], direct[:3], rtol=1e-5, atol=1e-5)
    again = cache.pooled(model, torch.zeros_like(clips), ["a.avi", "a.avi"], np.array([[0, 1, 2], [2, 3, 4]]), device)
    torch.testing.assert_close(again, first)  # from memory: the (blank) pixels were not read
    assert cache.hits == 7 and cache.misses == 5


def test_strict_refuses_a_frame_it_does_not_hold():
    model = tiny_model().eval()
    cache = TrunkFeatureCache()
    with pytest.raises(RuntimeError, match="not in the trunk-feature cache"):
        blank = torch.zeros(1, 2, 3, 112, 112)
        cache.pooled(model, blank, ["b.avi"], np.array([[0, 1]]), CPU_FP32, strict=True)
