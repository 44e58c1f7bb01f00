"""A sanity gate for inputs that should not get an EF: not ultrasound, Doppler or M-mode, too short,
blank or frozen loops, no scan sector. Flagged inputs still get a prediction row with their flags;
`--strict` refuses them.

Tested by tests/data/test_region.py (the flags of each kind of bad input).
"""

from __future__ import annotations

import numpy as np

SPECTRAL_OR_MMODE = (2, 3)  # RegionSpatialFormat: 2 M-mode, 3 spectral (Doppler)
MIN_SECONDS = 0.5  # shorter than one cardiac cycle at 120 beats per minute


def quality_flags(
    frames: np.ndarray,
    fps: float | None,
    modality: str | None = None,
    regions: list[dict] | None = None,
    n_frames: int | None = None,
) -> list[str]:
    """Flags for (F, H, W, 3) uint8 frames at `fps` frames/s with their DICOM modality and ultrasound regions.
    `frames` may be an evenly spaced sample of a video of `n_frames` frames (default: all of it)."""
    flags = []
    if modality and modality.upper() != "US":
        flags.append("not_ultrasound")
    regions = regions or []
    if any(r.get("RegionSpatialFormat") in SPECTRAL_OR_MMODE for r in regions) and not any(
        r.get("RegionSpatialFormat") == 1 for r in regions
    ):
        flags.append("doppler_or_mmode")
    n_frames = len(frames) if n_frames is None else n_frames
    if fps and n_frames / fps < MIN_SECONDS:
        flags.append("too_short")
    step = max(1, len(frames) // 32)
    sample = frames[::step]
    # mean absolute change between consecutive sampled frames, one pair at a time (no float copy of the loop)
    pairs = [np.abs(a.astype(np.int16) - b).mean() for a, b in zip(sample[:-1], sample[1:], strict=True)]
    change = float(np.mean(pairs)) if pairs else 0.0
    if sample.max() < 10:
        flags.append("blank")
    elif change < 0.5:
        flags.append("near_constant")
    return flags
