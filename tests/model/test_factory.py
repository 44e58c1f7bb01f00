from __future__ import annotations

import collections
import shutil
from pathlib import Path

import pytest
import torch

from cardiacclip.model.checkpoint import CheckpointError
from cardiacclip.model.factory import open_model, resolve
from cardiacclip.model.layout import RunFolder
from cardiacclip.model.package import export_package


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
            open_model(path)
        message = str(info.value)
        assert reason in message and str(path) in message
        assert "\n" not in message and "weights_only=False" not in message and "unsafe" not in message.lower()


def test_one_resolver_for_a_run_folder_a_checkpoint_and_a_package(tiny_run, tmp_path):
    run_dir, config, _ = tiny_run
    run = RunFolder(run_dir)
    package = export_package(run_dir, tmp_path / "package")
    assert resolve(run_dir).path == run.best and resolve(run_dir).calibration == run.calibration
    assert resolve(run.best).kind == "checkpoint" and resolve(package).kind == "package"
    weights = {}
    for path in (run_dir, run.best, package):
        loaded = open_model(path)
        assert loaded.config.to_dict() == config.to_dict() and not loaded.model.training
        assert (loaded.calibration is None) == (not run.calibration.is_file())
        weights[str(path)] = loaded.model.state_dict()
    reference = weights[str(run_dir)]
    for state in weights.values():
        assert all(torch.equal(reference[k], state[k]) for k in reference)


def test_a_run_folder_without_best_falls_back_to_last(tiny_run, tmp_path):
    run_dir, _, _ = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    RunFolder(copy).best.unlink()
    assert resolve(copy).path == RunFolder(copy).last
