from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from cardiacclip.cli import app
from cardiacclip.config import RunConfig
from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.data.filelist import read_filelist
from cardiacclip.data.video_io import read_video
from cardiacclip.evaluate.inference import predict_dataset
from cardiacclip.evaluate.run import evaluate_model
from cardiacclip.model.prompts import load_prompts
from cardiacclip.train import loop
from cardiacclip.train.checkpoint import load_model, save_checkpoint
from cardiacclip.train.losses import cardiacclip_loss
from conftest import write_dicom
from helpers import small_split_file, tiny_config, tiny_model

runner = CliRunner()


def fit_steps(model, optimizer, video: torch.Tensor, ef: torch.Tensor, steps: int) -> None:
    """Plain optimizer steps on one batch with the CardiacCLIP loss (default weights)."""
    prompts = load_prompts()
    for _ in range(steps):
        out = model(video)
        loss = cardiacclip_loss(out["logits"], out["ef"], ef, prompts.classify(ef), RunConfig().train.loss).total
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_forward_shapes_and_attention():
    model = tiny_model()
    out = model(torch.randn(2, 6, 3, 112, 112))
    assert out["logits"].shape == (2, 5) and out["ef"].shape == (2,) and out["attention"].shape == (2, 6)
    assert torch.allclose(out["attention"].sum(dim=1), torch.ones(2))
    assert torch.allclose(out["probs"].sum(dim=1), torch.ones(2))


def test_text_features_are_cached_when_they_cannot_change():
    model = tiny_model()
    calls = []
    original = model.text_model.encode_text
    model.text_model.encode_text = lambda *a, **k: (calls.append(1), original(*a, **k))[1]
    video = torch.randn(1, 2, 3, 112, 112)
    model.eval()
    with torch.no_grad():
        model(video), model(video), model(video)
    assert len(calls) == 1
    model.train()
    model(video), model(video)
    assert len(calls) == 3  # trainable text tower in training: re-encoded every step
    model.text_parameters_requires_grad(False)
    model(video), model(video)
    assert len(calls) == 4  # frozen text tower: once


def test_fine_stage_predictions_can_leave_15_85():
    torch.manual_seed(0)
    config = tiny_config()
    model = tiny_model(config)
    video = torch.randn(2, 2, 3, 112, 112)
    target = torch.tensor([5.0, 95.0])
    fit_steps(model, torch.optim.Adam(model.parameters(), lr=3e-3), video, target, 60)
    model.eval()
    with torch.no_grad():
        ef = model(video)["ef"]
    assert ef[0] < 15 and ef[1] > 85


@pytest.fixture(scope="module")
def tiny_run(synthetic_root, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    config = tiny_config(synthetic_root)  # a real 1-shot sample, cut short after 4 optimizer steps
    config.train.max_train_steps = 4
    result = loop.train(config, run_dir, progress=False)
    return run_dir, config, result


def test_training_writes_the_run_folder(tiny_run):
    run_dir, config, result = tiny_run
    for name in ("config.yaml", "split.csv", "metrics.csv", "learning_curves.png", "checkpoints/best.pt", "checkpoints/last.pt"):
        assert (run_dir / name).is_file(), name
    assert RunConfig.load(run_dir / "config.yaml").to_dict() == config.to_dict()
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert {"train_loss", "train_mae", "val_mae"} <= set(metrics.columns)
    assert np.isfinite(result.best_val_mae)


def test_short_training_lowers_the_training_loss(synthetic_root):
    """A few optimizer steps on four synthetic videos, with the pretrained toy backbone and the loop's
    per-part learning rates (random weights give nearly identical features for every echo, and one
    large learning rate for the pretrained trunk and text tower first destroys what they know)."""
    config = tiny_config(synthetic_root, backbone="synthetic")
    model = tiny_model(config)
    dataset = EchoNetDataset(synthetic_root, "train", length=8, period=4, train=False, clips=1)
    order = np.argsort(dataset.ef)
    picks = [int(i) for i in (order[0], order[1], order[-2], order[-1])]  # low and high EF
    batch = torch.stack([dataset[i]["video"][0] for i in picks])
    ef = torch.stack([dataset[i]["ef"] for i in picks])
    prompts = load_prompts()
    lrs = {"trunk": 1e-4, "text": 1e-4}
    optimizer = torch.optim.RAdam([{"params": p, "lr": lrs.get(name, 1e-3)} for name, p in model.parameter_groups().items()])

    def loss_now() -> float:
        model.eval()
        with torch.no_grad():
            out = model(batch)
        model.train()
        return cardiacclip_loss(out["logits"], out["ef"], ef, prompts.classify(ef), config.train.loss).total.item()

    before = loss_now()
    fit_steps(model, optimizer, batch, ef, 10)
    assert loss_now() < 0.5 * before


def test_checkpoint_round_trip_gives_the_same_predictions(tiny_run, synthetic_root, tmp_path):
    run_dir, config, _ = tiny_run
    model, loaded_config, _ = load_model(run_dir / "checkpoints" / "best.pt")
    assert loaded_config.to_dict() == config.to_dict()
    dataset = EchoNetDataset(synthetic_root, "test", length=4, period=8, train=False, clips=2)
    first, _ = predict_dataset(model, dataset, torch.device("cpu"), progress=False)
    backbone_description = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["backbone"]
    save_checkpoint(tmp_path / "again.pt", model, config, backbone_description)
    again, _, _ = load_model(tmp_path / "again.pt")
    second, _ = predict_dataset(again, dataset, torch.device("cpu"), progress=False)
    pd.testing.assert_frame_equal(first, second)


def test_evaluation_twice_gives_identical_numbers(tiny_run, synthetic_root, tmp_path):
    run_dir, _, _ = tiny_run
    model, config, _ = load_model(run_dir / "checkpoints" / "best.pt")
    dataset = EchoNetDataset(synthetic_root, "test", length=4, period=8, train=False, clips=2)
    a = evaluate_model(model, dataset, tmp_path / "a", torch.device("cpu"), n_bootstrap=50, progress=False)
    b = evaluate_model(model, dataset, tmp_path / "b", torch.device("cpu"), n_bootstrap=50, progress=False)
    assert a == b
    assert (tmp_path / "a" / "predictions.csv").read_text() == (tmp_path / "b" / "predictions.csv").read_text()
    for name in ("scatter.png", "bland_altman.png", "metrics.json"):
        assert (tmp_path / "a" / name).is_file()


def test_resume_after_interruption_matches_an_uninterrupted_run(synthetic_root, tmp_path, monkeypatch):
    config = tiny_config(synthetic_root, split_file=small_split_file(synthetic_root, tmp_path / "split.csv"))
    config.train.epochs = 2
    config.train.max_train_steps = None
    straight = loop.train(config, tmp_path / "straight", progress=False)

    calls = {"n": 0}
    original = loop.predict_dataset

    def interrupt_second_validation(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(loop, "predict_dataset", interrupt_second_validation)
    with pytest.raises(KeyboardInterrupt):
        loop.train(config, tmp_path / "resumed", progress=False)
    monkeypatch.setattr(loop, "predict_dataset", original)
    resumed = loop.train(config, tmp_path / "resumed", progress=False)
    assert resumed.epochs_run == 2
    a = torch.load(tmp_path / "straight/checkpoints/last.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "resumed/checkpoints/last.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert pd.read_csv(tmp_path / "resumed/metrics.csv")["val_mae"].tolist() == pytest.approx(
        pd.read_csv(tmp_path / "straight/metrics.csv")["val_mae"].tolist())
    assert resumed.best_val_mae == pytest.approx(straight.best_val_mae)


def test_predict_cli_on_avi_dicom_and_a_corrupt_file(tiny_run, synthetic_root, tmp_path):
    run_dir, _, _ = tiny_run
    table = read_filelist(synthetic_root / "FileList.csv")
    avi = synthetic_root / "Videos" / table["VideoFile"][0]
    frames, _ = read_video(avi)
    dicom = write_dicom(tmp_path / "study.dcm", frames, "RGB", fps=50)
    corrupt = tmp_path / "corrupt.avi"
    corrupt.write_bytes(b"RIFF" + b"\x00" * 300)
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["predict", str(run_dir / "checkpoints" / "best.pt"), str(avi), str(dicom), str(corrupt),
                                 "--out", str(out), "--clips", "1", "--attention-plot", str(tmp_path / "att"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(out)
    assert predictions.columns[0] == "file" and len(predictions) == 3
    assert predictions["status"].tolist() == ["ok", "ok", "error"]
    assert "corrupt.avi" in predictions["error"][2]
    assert predictions["EF_pred"][0] == pytest.approx(predictions["EF_pred"][1], abs=1.0)  # same video, two containers
    assert predictions[[c for c in predictions.columns if c.startswith("p_")]].iloc[:2].sum(axis=1).round(3).tolist() == [1.0, 1.0]
    assert (tmp_path / "att" / "study_attention.png").is_file()
    result = runner.invoke(app, ["predict", str(run_dir / "checkpoints" / "best.pt"), str(avi), "--clips", "1", "--device", "cpu"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout[result.stdout.index("{"):])
    assert payload["predictions"][0]["status"] == "ok" and "not a medical device" in payload["notice"]


def test_evaluate_cli(tiny_run, synthetic_root, tmp_path):
    run_dir, _, _ = tiny_run
    result = runner.invoke(app, ["evaluate", str(run_dir / "checkpoints" / "best.pt"), "--data", str(synthetic_root),
                                 "--out", str(tmp_path / "ev"), "--bootstrap", "50", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert {"mae", "rmse", "r2", "auroc_ef_below_50", "auroc_ef_below_40", "category_accuracy", "one_clip"} <= set(metrics)
    predictions = pd.read_csv(tmp_path / "ev" / "predictions.csv")
    assert {"FileName", "EF", "EF_pred"} <= set(predictions.columns)
    assert len(predictions) == (read_filelist(synthetic_root / "FileList.csv")["Split"] == "TEST").sum()


def test_config_yaml_round_trip_and_typos(tmp_path):
    config = RunConfig.load("reference")
    assert config.data.normalize == "raw" and config.model.head == "coarse" and config.model.label_bins == "reference"
    path = tmp_path / "c.yaml"
    config.to_yaml(path)
    assert RunConfig.load(path).to_dict() == config.to_dict()
    with pytest.raises(ValueError, match="unknown ModelConfig"):
        RunConfig.from_dict({"model": {"scale": [1]}})
    with pytest.raises(ValueError, match="must be one of"):
        RunConfig.from_dict({"model": {"head": "medium"}})


def test_reference_switches_and_gradient_checkpointing_run(synthetic_root, tmp_path):
    config = RunConfig.load("reference")
    small = tiny_config(synthetic_root, split_file=small_split_file(synthetic_root, tmp_path / "split.csv"))
    config.data = small.data
    config.data.normalize, config.data.eval_random_clip = "raw", True
    config.model.backbone, config.model.grad_checkpointing = "tiny", True
    config.train.epochs, config.train.max_train_steps, config.train.device = 1, 2, "cpu"
    result = loop.train(config, tmp_path / "run", progress=False)
    model, loaded, _ = load_model(tmp_path / "run" / "checkpoints" / "best.pt")
    assert loaded.model.head == "coarse" and loaded.model.label_bins == "reference" and np.isfinite(result.best_val_mae)
    with torch.no_grad():
        ef = model(torch.rand(1, 4, 3, 112, 112) * 255)["ef"]
    assert 15 <= float(ef) <= 85  # the coarse head stays inside the anchors
