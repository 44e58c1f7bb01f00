from __future__ import annotations

import pandas as pd
import torch

from cardiacclip.data.clips import ClipSampler
from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.model.checkpoint import save_checkpoint
from cardiacclip.model.factory import open_model
from cardiacclip.model.inference import predict_dataset
from cardiacclip.runtime import CPU_FP32


def test_checkpoint_round_trip_gives_the_same_predictions(tiny_run, synthetic_root, tmp_path):
    run_dir, config, _ = tiny_run
    loaded = open_model(run_dir / "checkpoints" / "best.pt")
    model = loaded.model
    assert loaded.config.to_dict() == config.to_dict()
    dataset = EchoNetDataset(synthetic_root, "test", ClipSampler(length=4, period=8), train=False, clips=2)
    first = predict_dataset(model, dataset, CPU_FP32, progress=False).table
    backbone_description = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["backbone"]
    save_checkpoint(tmp_path / "again.pt", model, config, backbone_description)
    again = open_model(tmp_path / "again.pt").model
    second = predict_dataset(again, dataset, CPU_FP32, progress=False).table
    pd.testing.assert_frame_equal(first, second)
