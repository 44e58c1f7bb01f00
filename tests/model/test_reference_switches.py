"""Each `--config reference` switch pinned on small tensors (the released code is not needed here;
benchmarks/reference_equivalence.py compares with it when a user has a checkout)."""

from __future__ import annotations

import textwrap

import pytest
import torch
import torch.nn.functional as F

from cardiacclip.config import RunConfig
from cardiacclip.model.echozoom import EchoZoom, batch_standardize, split_into_tiles, stitch_over_channels
from cardiacclip.model.prompts import import_released_prompts, load_prompts, write_prompts
from helpers import tiny_model


def released_channel_grid(tile_maps: torch.Tensor) -> torch.Tensor:
    """The released scale-2 value, written out: channel k = g*p + q is the mean of channels
    (2(p % m) + a) * g + 2(q % m) + b, a, b in {0, 1}, of tile (p // m, q // m), m = g / 2."""
    total, c, h, w = tile_maps.shape
    g, m = int(c**0.5), int(c**0.5) // 2
    n = total // 4
    tiles = tile_maps.reshape(n, 2, 2, c, h, w)
    out = torch.zeros(n, c, h, w)
    for p in range(g):
        for q in range(g):
            parts = [tiles[:, p // m, q // m, (2 * (p % m) + a) * g + 2 * (q % m) + b] for a in (0, 1) for b in (0, 1)]
            out[:, g * p + q] = torch.stack(parts).mean(0)
    return out


def test_stitching_over_channels_is_the_released_channel_grid():
    torch.manual_seed(0)
    maps = torch.randn(2 * 4, 16, 3, 3)  # 2 frames x 4 tiles, 16 channels (a 4 x 4 grid), 3 x 3 positions
    assert torch.allclose(stitch_over_channels(maps, 2), released_channel_grid(maps), atol=1e-6)
    assert torch.equal(stitch_over_channels(maps[:2], 1), maps[:2])  # scale 1: untouched
    odd = stitch_over_channels(torch.randn(4, 12, 2, 2), 2)  # 12 channels: a 3 x 4 grid
    assert odd.shape == (1, 12, 2, 2)


def test_batch_standardisation_is_per_channel_over_frames():
    x = torch.tensor([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]])
    expected = (x - x.mean(0)) / (x.std(0, unbiased=True) + 1e-6)
    assert torch.allclose(batch_standardize(x), expected)
    assert torch.allclose(batch_standardize(x)[:, 0], torch.tensor([-1.0, 0.0, 1.0]), atol=1e-5)
    # the same frame gets a different feature when it shares the batch with other frames
    assert not torch.allclose(batch_standardize(x[:2])[0], batch_standardize(x)[0])


def test_echozoom_reference_switches_run_and_drop_the_learnable_norm():
    trunk = torch.nn.Conv2d(3, 16, kernel_size=16, stride=16)
    trunk.forward_features = trunk.forward
    zoom = EchoZoom(trunk, 16, 8, scales=(1, 2), tile_size=32, stitch="channels", norm="batch")
    assert len(zoom.norms) == 0
    frames = torch.randn(5, 3, 32, 32)
    tiles = torch.cat([frames, split_into_tiles(F.interpolate(frames, scale_factor=2, mode="bicubic"), 2)])
    maps = trunk(tiles)
    expected = torch.cat([maps[:5], released_channel_grid(maps[5:])], 1).mean(dim=(2, 3))
    assert torch.allclose(zoom(frames), zoom.proj(batch_standardize(expected)), atol=1e-5)


def test_mfl_input_and_text_attention_switches():
    config = RunConfig.load("reference")
    config.model.backbone = "tiny"
    torch.manual_seed(0)
    video = torch.randn(2, 3, 3, 112, 112)
    reference = tiny_model(config)
    raw = reference.encode_frames(video)
    assert not torch.allclose(raw.norm(dim=-1), torch.ones(2, 3))  # MFL sees the raw projections
    assert reference.text_model.attn_mask is None
    ours = tiny_model()
    assert torch.allclose(ours.encode_frames(video).norm(dim=-1), torch.ones(2, 3), atol=1e-5)
    assert ours.text_model.attn_mask is not None
    # same weights, with and without the causal mask: different text features
    ours.text_model.load_state_dict(reference.text_model.state_dict())
    ours.eval(), reference.eval()
    with torch.no_grad():
        assert not torch.allclose(ours.text_features(), reference.text_features(), atol=1e-4)


def test_reference_config_sets_every_switch():
    config = RunConfig.load("reference")
    ours = RunConfig()
    switches = {
        ("data", "normalize"),
        ("data", "frame_layout"),
        ("data", "eval_random_clip"),
        ("data", "test_clips"),
        ("model", "zoom_stitch"),
        ("model", "zoom_norm"),
        ("model", "mfl_input"),
        ("model", "text_attention"),
        ("model", "label_bins"),
        ("model", "head"),
        ("model", "zoom_init"),
        ("model", "mfl_init"),
        ("train", "schedule_step"),
        ("train", "drop_last"),
        ("train", "precision"),
    }
    for section, name in switches:
        assert getattr(getattr(config, section), name) != getattr(getattr(ours, section), name), (section, name)


def test_released_prompts_are_imported_from_a_checkout(tmp_path):
    sentences = [f"THE LEFT VENTRICULAR EJECTION FRACTION IS ESTIMATED TO BE category {i}." for i in range(5)]
    (tmp_path / "utils.py").write_text(
        textwrap.dedent(f"""
        import torch
        LVEF_fine_prompts_new = {sentences!r}
        def compute_regression_metric(video_embeddings, prompt_embeddings, logits):
            prompt_values = [15,37,50,62,85]
            raise SystemExit("never run")
    """)
    )
    prompts = import_released_prompts(tmp_path)
    assert list(prompts.texts) == sentences and prompts.anchors == (15, 37, 50, 62, 85)
    assert prompts.names == load_prompts().names
    again = load_prompts(str(write_prompts(prompts, tmp_path / "released.yaml")))
    assert again.texts == prompts.texts and again.intervals == prompts.intervals
    with pytest.raises(FileNotFoundError):
        import_released_prompts(tmp_path / "nothing")
