from __future__ import annotations

import json
import shutil

import pytest
import torch

from cardiacclip.model.backbone import BackboneError, load_backbone, save_backbone_weights


def _sample_output(backbone) -> torch.Tensor:
    backbone.model.eval()
    torch.manual_seed(1)
    with torch.no_grad():
        return backbone.model.encode_image(torch.randn(1, 3, 112, 112))


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A local open_clip folder (config + weights) made from the tiny config."""
    from importlib import resources

    folder = tmp_path_factory.mktemp("tiny_clip")
    torch.manual_seed(0)
    backbone = load_backbone("tiny")
    config = json.loads((resources.files("cardiacclip.model") / "configs" / "tiny.json").read_text())
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    torch.save(backbone.model.state_dict(), folder / "open_clip_pytorch_model.bin")
    return folder, _sample_output(backbone)


def test_local_folder_and_file(tiny_folder):
    folder, expected = tiny_folder
    for spec in (str(folder), f"local-dir:{folder}", str(folder / "open_clip_pytorch_model.bin")):
        backbone = load_backbone(spec)
        assert backbone.weights.endswith("open_clip_pytorch_model.bin")
        assert torch.allclose(_sample_output(backbone), expected)


def test_dataparallel_prefix_and_safetensors(tiny_folder, tmp_path):
    folder, expected = tiny_folder
    state = torch.load(folder / "open_clip_pytorch_model.bin", weights_only=True)
    shutil.copy(folder / "open_clip_config.json", tmp_path / "open_clip_config.json")
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "weights.pt")
    assert torch.allclose(_sample_output(load_backbone(str(tmp_path / "weights.pt"))), expected)
    (tmp_path / "weights.pt").unlink()
    model = load_backbone(str(folder)).model
    save_backbone_weights(model, tmp_path / "open_clip_model.safetensors", half=False, compact_embeddings=False)
    assert torch.allclose(_sample_output(load_backbone(str(tmp_path))), expected)


def test_compact_fp16_storage_round_trip(tiny_folder, tmp_path):
    folder, _ = tiny_folder
    model = load_backbone(str(folder)).model
    with torch.no_grad():
        model.token_embedding.weight[1000:] = 0  # rows never trained
    shutil.copy(folder / "open_clip_config.json", tmp_path / "open_clip_config.json")
    path = save_backbone_weights(model, tmp_path / "open_clip_model.safetensors", metadata={"note": "toy"})
    assert path.stat().st_size < (folder / "open_clip_pytorch_model.bin").stat().st_size / 2
    restored = load_backbone(str(tmp_path))
    assert restored.metadata["note"] == "toy"
    assert torch.allclose(restored.model.token_embedding.weight, model.token_embedding.weight, atol=1e-2)
    assert torch.all(restored.model.token_embedding.weight[1000:] == 0)


def test_pickled_code_is_refused(tmp_path, tiny_folder):
    folder, _ = tiny_folder
    shutil.copy(folder / "open_clip_config.json", tmp_path / "open_clip_config.json")
    torch.save({"state_dict": {"x": torch.zeros(1)}, "payload": BackboneError("pickled object")}, tmp_path / "evil.bin")
    with pytest.raises(BackboneError, match="weights-only"):
        load_backbone(str(tmp_path / "evil.bin"))


def test_mismatched_weights_are_named(tmp_path, tiny_folder):
    folder, _ = tiny_folder
    torch.save({"visual.trunk.stem.0.weight": torch.zeros(1)}, tmp_path / "partial.bin")
    with pytest.raises(BackboneError, match="do not match"):
        load_backbone(str(tmp_path / "partial.bin"), load_weights=True)  # convnext_base config, wrong keys


def test_unreachable_hub_says_how_to_pass_a_local_path():
    with pytest.raises(BackboneError, match="--backbone /path/to/echo-clip"):
        load_backbone("hf-hub:mkaichristensen/echo-clip", offline=True)


def test_unknown_spec():
    with pytest.raises(BackboneError, match="not a file, a folder"):
        load_backbone("no-such-backbone")


def test_echoclip_architecture_is_convnext_base():
    backbone = load_backbone("convnext_base")
    cfg = backbone.model_cfg
    assert cfg["embed_dim"] == 512 and cfg["vision_cfg"]["timm_model_name"] == "convnext_base"
    assert cfg["text_cfg"]["layers"] == 12 and cfg["text_cfg"]["width"] == 512
    assert backbone.model.visual.trunk.num_features == 1024
