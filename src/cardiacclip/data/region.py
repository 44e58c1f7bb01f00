"""The ultrasound region of a screen capture: where the scan sector is, and the crop that keeps only it.

Hospital echoes come out of PACS as screen captures (e.g. 600 x 800) with the sector in the middle
and burned-in text, an ECG trace and a depth scale around it. Squashing the whole screen to
112 x 112 loses the aspect ratio and feeds the overlays to the model. Two ways to find the sector:

- `regions`: the DICOM SequenceOfUltrasoundRegions; the 2D tissue region (RegionSpatialFormat 1,
  RegionDataType 1) gives the box.
- `sector`: from the pixels, as EchoNet-Dynamic's conversion notebook and EchoPrime do: pixels that
  change over the loop, thin structures (the ECG line, text edges) removed by a morphological
  opening, the largest connected area kept and its convex hull taken as the sector mask.

`crop_to_region` zeroes everything outside the mask, crops to its bounding box and pads to a
square (keeping the aspect ratio); the clip sampler then resizes. `auto` uses the tags when they
exist, leaves small square videos (EchoNet-Dynamic's 112 x 112 crops) alone, and looks for the
sector otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from cardiacclip.choices import CropMethod

SMALL_SQUARE = 160  # videos at most this size and square are already crops (EchoNet-Dynamic: 112)


@dataclass
class Region:
    """Where the ultrasound image is: method used, box (x0, y0, x1, y1) exclusive, optional mask (H, W) bool."""

    method: str
    box: tuple[int, int, int, int]
    mask: np.ndarray | None = None
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"method": self.method, "box": [int(v) for v in self.box]}


def tissue_region_box(regions: list[dict], height: int, width: int) -> tuple[int, int, int, int] | None:
    """The box of the first 2D tissue region among DICOM ultrasound regions (dicts with the tag keywords)."""
    for region in regions:
        if region.get("RegionSpatialFormat") == 1 and region.get("RegionDataType") in (1, None):
            box = _region_box(region, height, width)
            if box is not None:
                return box
    return None


def _region_box(region: dict, height: int, width: int) -> tuple[int, int, int, int] | None:
    """A region's box clipped to the frame, or None when its coordinates are missing, not numbers or leave less
    than 9 pixels each way (damaged tags are no region)."""
    keys = ("RegionLocationMinX0", "RegionLocationMinY0", "RegionLocationMaxX1", "RegionLocationMaxY1")
    try:
        x0, y0, x1, y1 = (int(region[key]) for key in keys)
    except (KeyError, TypeError, ValueError):
        return None
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1 + 1), min(height, y1 + 1)
    return (x0, y0, x1, y1) if x1 - x0 > 8 and y1 - y0 > 8 else None


def find_sector(
    frames: np.ndarray,
    max_frames: int = 32,
    motion_threshold: float = 6.0,
    bright_threshold: float = 12.0,
    min_area: float = 0.02,
) -> Region:
    """The scan sector from the pixels of (F, H, W, 3) uint8 frames (see the module docstring).

    The largest area that changes over the loop (after an opening that removes thin lines: the
    ECG trace, text edges) is the seed; the sector is the convex hull of the bright area (in the
    loop's maximum projection) that overlaps the seed most. Static text, scales and logos are
    bright but never overlap the seed. Returns a Region with method "sector", or the whole frame
    with the flag "no_sector" when no moving area of at least `min_area` of the frame is found.
    """
    f, h, w = frames.shape[:3]
    step = max(1, f // max_frames)
    grey = frames[::step].max(axis=-1)  # uint8: no float copy of the sample
    moving = ((grey.max(axis=0).astype(np.int16) - grey.min(axis=0)) > motion_threshold).astype(np.uint8)
    seed = cv2.morphologyEx(moving, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(seed, connectivity=8)
    if count < 2 or stats[1:, cv2.CC_STAT_AREA].max() < min_area * h * w:
        return Region("none", (0, 0, w, h), None, ["no_sector"])
    seed = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    bright = (grey.max(axis=0) > bright_threshold).astype(np.uint8)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    _, areas = cv2.connectedComponents(bright, connectivity=8)
    overlap = np.bincount(areas[seed], minlength=areas.max() + 1)
    overlap[0] = 0
    chosen = (areas == int(np.argmax(overlap))) if overlap.max() > 0 else seed
    hull = cv2.convexHull(cv2.findNonZero(chosen.astype(np.uint8)))
    mask = np.zeros((h, w), dtype=np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    x, y, bw, bh = cv2.boundingRect(hull)
    return Region("sector", (x, y, x + bw, y + bh), mask.astype(bool))


def locate_region(frames: np.ndarray, method: CropMethod = "auto", regions: list[dict] | None = None) -> Region:
    """The region to keep for `method` ("auto", "regions", "sector", "none"); see the module docstring."""
    h, w = frames.shape[1:3]
    whole = Region("none", (0, 0, w, h))
    if method == "none":
        return whole
    box = tissue_region_box(regions or [], h, w)
    if method == "regions" or (method == "auto" and box is not None):
        if box is None:
            return Region("none", (0, 0, w, h), None, ["no_region_tags"])
        return Region("regions", box)
    if method == "auto" and h == w and h <= SMALL_SQUARE:
        return whole
    return find_sector(frames)


def crop_to_region(frames: np.ndarray, region: Region) -> np.ndarray:
    """Zero outside the mask, crop to the box, pad to a square with black (aspect ratio kept): (F, S, S, C)."""
    if region.method == "none" and region.mask is None:
        x0, y0, x1, y1 = region.box
        if (y1 - y0, x1 - x0) == frames.shape[1:3]:
            return frames
    x0, y0, x1, y1 = region.box
    cropped = frames[:, y0:y1, x0:x1]
    if region.mask is not None:
        cropped = cropped * region.mask[y0:y1, x0:x1, None].astype(frames.dtype)
    h, w = cropped.shape[1:3]
    side = max(h, w)
    square = np.zeros((len(frames), side, side, frames.shape[-1]), dtype=frames.dtype)
    top, left = (side - h) // 2, (side - w) // 2
    square[:, top : top + h, left : left + w] = cropped
    return square


def box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def preview(frame: np.ndarray, region: Region) -> np.ndarray:
    """A frame with the box (green) and the mask outline (yellow) drawn, for a person to check the crop.

    Only the pixels inside the box are shown: burned-in text outside it (names, IDs, dates) is blacked out.
    """
    x0, y0, x1, y1 = region.box
    image = np.zeros(frame.shape, dtype=frame.dtype)  # C order, whatever the frame's layout (OpenCV needs it)
    image[y0:y1, x0:x1] = frame[y0:y1, x0:x1]
    if region.mask is not None:
        contours, _ = cv2.findContours(region.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(image, contours, -1, (255, 220, 0), 2)
    cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), (0, 220, 0), 2)
    return image
