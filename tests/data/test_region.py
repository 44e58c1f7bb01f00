from __future__ import annotations

import cv2
import numpy as np
import pytest

from cardiacclip.data.quality import quality_flags
from cardiacclip.data.region import box_iou, crop_to_region, locate_region, tissue_region_box
from cardiacclip.synthetic.dicoms import screen_capture


@pytest.fixture(scope="module")
def captures():
    return [screen_capture(seed, n_frames=50) for seed in range(3)]


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    x, y, w, h = cv2.boundingRect(cv2.findNonZero(mask.astype(np.uint8)))
    return x, y, x + w, y + h


def test_sector_found_from_pixels_despite_text_ecg_and_scale(captures):
    for capture in captures:
        region = locate_region(capture.frames, "sector")
        assert region.method == "sector" and not region.flags
        assert box_iou(region.box, mask_box(capture.mask)) >= 0.9
        iou = (region.mask & capture.mask).sum() / (region.mask | capture.mask).sum()
        assert iou >= 0.9
        assert not region.mask[:120, :200].any()  # the burned-in text is outside
        assert not region.mask[-60:].any()  # so is the ECG trace


def test_region_tags_give_the_box_and_auto_prefers_them(captures):
    capture = captures[0]
    regions = [
        {
            "RegionSpatialFormat": 1,
            "RegionDataType": 1,
            "RegionLocationMinX0": capture.box[0],
            "RegionLocationMinY0": capture.box[1],
            "RegionLocationMaxX1": capture.box[2] - 1,
            "RegionLocationMaxY1": capture.box[3] - 1,
        }
    ]
    assert tissue_region_box(regions, 600, 800) == capture.box
    region = locate_region(capture.frames, "auto", regions)
    assert region.method == "regions" and region.box == capture.box
    assert locate_region(capture.frames, "regions", []).flags == ["no_region_tags"]
    assert locate_region(capture.frames, "none").box == (0, 0, 800, 600)


def test_crop_keeps_the_aspect_ratio_and_masks_outside():
    frames = np.full((2, 60, 100, 3), 200, dtype=np.uint8)
    from cardiacclip.data.region import Region

    mask = np.zeros((60, 100), dtype=bool)
    mask[10:50, 20:60] = True
    cropped = crop_to_region(frames, Region("sector", (20, 10, 80, 50), mask))
    assert cropped.shape == (2, 60, 60, 3)  # 60 wide, 40 high: padded to 60 x 60
    assert cropped[0, 10:50, :40].min() == 200 and cropped[0, 10:50, 40:].max() == 0  # outside the mask: black
    assert cropped[0, :10].max() == 0 and cropped[0, 50:].max() == 0  # padding


def test_small_square_videos_are_left_alone_and_blank_loops_flagged():
    small = np.random.default_rng(0).integers(0, 255, (20, 112, 112, 3), dtype=np.uint8)
    assert locate_region(small, "auto").method == "none"
    blank = np.zeros((30, 300, 400, 3), dtype=np.uint8)
    assert locate_region(blank, "auto").flags == ["no_sector"]
    assert "blank" in quality_flags(blank, 30.0)
    frozen = np.repeat(small[:1], 30, axis=0)
    assert "near_constant" in quality_flags(frozen, 30.0) and "too_short" in quality_flags(small[:10], 50.0)
    assert quality_flags(small, 30.0, "CT") == ["not_ultrasound"]
    doppler = [{"RegionSpatialFormat": 3, "RegionDataType": 3}]
    assert quality_flags(small, 30.0, "US", doppler) == ["doppler_or_mmode"]
