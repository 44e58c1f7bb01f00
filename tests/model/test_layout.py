from __future__ import annotations

from cardiacclip.model.layout import PackageFolder, RunFolder


def test_a_run_folder_is_found_from_its_checkpoints_or_itself(tmp_path):
    run = RunFolder(tmp_path / "k1")
    run.checkpoints.mkdir(parents=True)
    run.best.write_bytes(b"x")
    assert RunFolder.of(run.best) == run and RunFolder.of(run.root) == run
    assert RunFolder.of(tmp_path / "elsewhere.pt") == RunFolder(tmp_path)
    assert run.best.name == "best.pt" and run.last.parent == run.checkpoints and run.calibration.parent == run.root


def test_a_package_needs_its_weights_and_backbone(tmp_path):
    package = PackageFolder(tmp_path)
    assert not package.exists()
    package.weights.write_bytes(b"")
    assert not package.exists()
    package.backbone.write_text("{}")
    assert package.exists()
