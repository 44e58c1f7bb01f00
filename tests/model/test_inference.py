"""Running a model over clips: each frame shared by overlapping clips is encoded once, with the same result."""

from __future__ import annotations

import numpy as np

from cardiacclip.data.clips import ClipSampler
from cardiacclip.model.inference import predict_clips
from cardiacclip.runtime import CPU_FP32
from helpers import tiny_model


def test_overlapping_clips_encode_each_frame_once_with_the_same_outputs(monkeypatch):
    model = tiny_model().eval()
    sampler = ClipSampler(length=8, period=2, image_size=32)
    frames = np.random.default_rng(0).integers(0, 255, (30, 32, 32, 3), dtype=np.uint8)
    clips, starts = sampler.evaluation_clips(frames, "all")
    index = np.stack([sampler.frame_indices(len(frames), int(s)) for s in starts])
    plain = predict_clips(model, clips, CPU_FP32)

    encoded = []
    original = model.encode_frames
    monkeypatch.setattr(model, "encode_frames", lambda x: encoded.append(x.shape[1]) or original(x))
    shared = predict_clips(model, clips, CPU_FP32, source_index=index)
    assert sum(encoded) == len(np.unique(index)) == 30 < clips.shape[0] * clips.shape[1]
    for key in ("ef", "ef_coarse", "probs", "attention"):
        np.testing.assert_allclose(shared[key], plain[key], atol=1e-5)
