from __future__ import annotations

import pytest
import torch

import cardiacclip as cc
from cardiacclip.data.filelist import read_filelist
from cardiacclip.model.checkpoint import CheckpointError
from cardiacclip.model.layout import PackageFolder
from cardiacclip.model.package import export_package


def test_export_and_load_round_trip_gives_the_same_efs(tiny_run, synthetic_root, tmp_path):
    run_dir, _, _ = tiny_run
    package = export_package(run_dir, tmp_path / "package")
    names = {p.name for p in package.iterdir()}
    assert {
        "model.safetensors",
        "backbone.json",
        "config.yaml",
        "prompts.yaml",
        "calibration.json",
        "README.md",
    } <= names
    assert not any(name.endswith((".pt", ".pkl")) for name in names) and PackageFolder(package).exists()
    card = (package / "README.md").read_text()
    assert "not a medical device" in card and "k = 1" in card and "validation (model selection)" in card
    videos = [synthetic_root / "Videos" / f for f in read_filelist(synthetic_root / "FileList.csv")["VideoFile"][:3]]
    original, exported = cc.load(run_dir, device="cpu"), cc.load(package, device="cpu")
    for video in videos:
        a, b = original.predict(video), exported.predict(video)
        assert b.ef == pytest.approx(a.ef, abs=1e-5) and (b.ef_low, b.ef_high) == pytest.approx((a.ef_low, a.ef_high))
        assert b.ef_low <= b.ef <= b.ef_high and b.interval_coverage == 0.9


def test_torch_hub_loads_a_package_offline(tiny_run, synthetic_root, tmp_path):
    run_dir, _, _ = tiny_run
    package = export_package(run_dir, tmp_path / "package")
    repo = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    model = torch.hub.load(repo, "cardiacclip", str(package), source="local", device="cpu")
    assert torch.hub.load(repo, "cardiacclip", source="local", package=str(package)).categories == model.categories
    video = synthetic_root / "Videos" / read_filelist(synthetic_root / "FileList.csv")["VideoFile"][0]
    assert model.predict(video).ef == pytest.approx(cc.load(run_dir, device="cpu").predict(video).ef, abs=1e-5)


def test_a_broken_package_is_one_clear_error(tiny_run, tmp_path):
    run_dir, _, _ = tiny_run
    package = export_package(run_dir, tmp_path / "package")
    (package / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="not a usable cardiacclip package"):
        cc.load(package)


def test_push_to_hub_uploads_the_folder(tiny_run, tmp_path, monkeypatch):
    import huggingface_hub

    from cardiacclip.model.package import push_to_hub

    calls = []

    class FakeApi:  # the Hub is not reachable here; check what would be sent
        def __init__(self, token=None):
            calls.append(("token", token))

        def create_repo(self, repo_id, repo_type, private, exist_ok):
            calls.append(("create", repo_id, repo_type, private))
            return f"hub/{repo_id}"

        def upload_folder(self, folder_path, repo_id, repo_type):
            calls.append(("upload", sorted(p.name for p in __import__("pathlib").Path(folder_path).iterdir()), repo_id))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    package = export_package(tiny_run[0], tmp_path / "package")
    assert push_to_hub(package, "lab/cardiacclip-k1") == "hub/lab/cardiacclip-k1"
    assert ("create", "lab/cardiacclip-k1", "model", True) in calls
    upload = [c for c in calls if c[0] == "upload"][0]
    assert "model.safetensors" in upload[1] and "README.md" in upload[1]
