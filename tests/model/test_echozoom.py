from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cardiacclip.model.backbone import load_backbone
from cardiacclip.model.echozoom import EchoZoom, split_into_tiles, stitch_tiles


class PointwiseTrunk(nn.Module):
    """A trunk whose receptive field is one pixel (1x1 conv): tiles see exactly what the whole image sees."""

    def __init__(self, channels: int = 5):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, kernel_size=1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x))


class PatchTrunk(nn.Module):
    """Patchify (kernel = stride = 4) then 1x1: receptive field stays inside a tile when tiles are multiples of 4."""

    def __init__(self, channels: int = 6):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, kernel_size=4, stride=4)
        self.mix = nn.Conv2d(channels, channels, kernel_size=1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.mix(F.gelu(self.stem(x)))


def test_split_and_stitch_are_inverse():
    images = torch.randn(3, 4, 8, 8)
    tiles = split_into_tiles(images, 2)
    assert tiles.shape == (12, 4, 4, 4)
    assert torch.equal(tiles[1], images[0, :, :4, 4:])  # row-major: second tile is the top-right quarter
    assert torch.equal(stitch_tiles(tiles, 2), images)


def test_stitched_tiles_equal_the_whole_upsampled_image():
    torch.manual_seed(0)
    frames = torch.randn(2, 3, 16, 16)
    for trunk in (PointwiseTrunk(), PatchTrunk()):
        zoom = EchoZoom(
            trunk, feature_dim=6 if isinstance(trunk, PatchTrunk) else 5, embed_dim=8, scales=[1, 2, 3], tile_size=16
        )
        maps = zoom.scale_maps(frames)
        for scale, stitched in zip([1, 2, 3], maps, strict=False):
            whole = (
                frames if scale == 1 else F.interpolate(frames, scale_factor=scale, mode="bicubic", align_corners=False)
            )
            assert torch.allclose(stitched, trunk.forward_features(whole), atol=1e-5), scale


def test_stitching_is_spatial_not_over_channels():
    """The reference's defect: stitching the flattened (B, C, H*W) map mixes channels.
    Ours keeps a feature at its place."""
    trunk = PointwiseTrunk(channels=2)
    zoom = EchoZoom(trunk, feature_dim=2, embed_dim=4, scales=[2], tile_size=8)
    frame = torch.zeros(1, 3, 8, 8)
    frame[..., :2, :2] = 5.0  # a bright spot in the top-left corner only
    stitched = zoom.scale_maps(frame)[0]
    response = (stitched - stitched[..., -1:, -1:]).abs().sum(dim=1)[0]
    assert response[:6, :6].sum() > 0 and response[8:, :].sum() < 1e-4 and response[:, 8:].sum() < 1e-4


def test_scale_one_reduces_to_the_pretrained_image_tower():
    torch.manual_seed(0)
    backbone = load_backbone("tiny")
    backbone.model.eval()
    frames = torch.randn(3, 3, 112, 112)
    with torch.no_grad():
        expected = backbone.model.encode_image(frames)
        zoom = EchoZoom.from_open_clip(backbone.model.visual, scales=[1], tile_size=112, init="pretrained").eval()
        assert torch.allclose(zoom(frames), expected, atol=1e-5)
        multi = EchoZoom.from_open_clip(backbone.model.visual, scales=[1, 2], tile_size=112, init="pretrained").eval()
        upsampled = F.interpolate(frames, scale_factor=2, mode="bicubic", align_corners=False)
        tiles_mean = multi.trunk.forward_features(split_into_tiles(upsampled, 2))
        # scale 2's pooled map is the mean over its 4 tiles' maps,
        # so init gives the mean of the two scales' CLIP embeddings
        pooled2 = stitch_tiles(tiles_mean, 2).mean(dim=(2, 3))
        scale2 = backbone.model.visual.head(backbone.model.visual.trunk.head.norm(pooled2[..., None, None]).flatten(1))
        assert torch.allclose(multi(frames), (expected + scale2) / 2, atol=1e-4)


def test_shapes_and_one_trunk_call():
    backbone = load_backbone("tiny")
    zoom = EchoZoom.from_open_clip(backbone.model.visual, scales=[1, 2], tile_size=112)
    calls = []
    zoom.trunk.register_forward_hook(lambda *args: calls.append(1))
    original = zoom.trunk.forward_features
    zoom.trunk.forward_features = lambda x: (calls.append(x.shape[0]), original(x))[1]
    out = zoom(torch.randn(4, 3, 112, 112))
    assert out.shape == (4, 64)
    assert calls == [4 * (1 + 4)]  # every tile of every frame at every scale in one batch
    assert zoom.feature_map(torch.randn(2, 3, 112, 112)).shape == (2, 320 * 2, 3, 3)


def test_pooled_features_from_a_given_scale_one_part_are_the_same():
    torch.manual_seed(0)
    zoom = EchoZoom.from_open_clip(load_backbone("tiny").model.visual, scales=[1, 2], tile_size=112).eval()
    frames = torch.randn(3, 3, 112, 112)
    with torch.no_grad():
        whole = zoom.pooled_features(frames)
        reused = zoom.pooled_features(frames, zoom.plain_features(frames))
    assert reused.shape == whole.shape == (3, 320 * 2)
    torch.testing.assert_close(reused, whole, atol=1e-5, rtol=1e-5)
