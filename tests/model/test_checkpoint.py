from __future__ import annotations

import collections
from pathlib import Path

import pandas as pd
import pytest
import torch

from cardiacclip.data.clips import ClipSampler
from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.model.checkpoint import CheckpointError, load_model, save_checkpoint
from cardiacclip.model.inference import predict_dataset


def test_checkpoint_round_trip_gives_the_same_predictions(tiny_run, synthetic_root, tmp_path):
    run_dir, config, _ = tiny_run
    model, loaded_config, _ = load_model(run_dir / "checkpoints" / "best.pt")
    assert loaded_config.to_dict() == config.to_dict()
    dataset = EchoNetDataset(synthetic_root, "test", ClipSampler(length=4, period=8), train=False, clips=2)
    first, _ = predict_dataset(model, dataset, torch.device("cpu"), progress=False)
    backbone_description = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["backbone"]
    save_checkpoint(tmp_path / "again.pt", model, config, backbone_description)
    again, _, _ = load_model(tmp_path / "again.pt")
    second, _ = predict_dataset(again, dataset, torch.device("cpu"), progress=False)
    pd.testing.assert_frame_equal(first, second)


def test_checkpoint_problems_are_one_clear_line(tiny_run, tmp_path):
    run_dir, _, _ = tiny_run
    good = (run_dir / "checkpoints" / "best.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 2])
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": "cardiacclip-checkpoint/1", "payload": collections.OrderedDict(a=Path("/x"))}, pickled)
    cases = {
        tmp_path / "missing.pt": "no such checkpoint",
        tmp_path: "holds no checkpoints/best.pt",
        truncated: "truncated or corrupt",
        empty: "empty file",
        foreign: "not a cardiacclip checkpoint",
        pickled: "Python objects besides tensors",
    }
    for path, reason in cases.items():
        with pytest.raises(CheckpointError) as info:
            load_model(path)
        message = str(info.value)
        assert reason in message and str(path) in message
        assert "\n" not in message and "weights_only=False" not in message and "unsafe" not in message.lower()


def test_a_run_folder_loads_its_best_checkpoint(tiny_run):
    run_dir, config, _ = tiny_run
    model, loaded, _ = load_model(run_dir)
    assert loaded.to_dict() == config.to_dict() and not model.training
