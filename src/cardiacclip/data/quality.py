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
    if _spectral_only(regions or []):
        flags.append("doppler_or_mmode")
    n_frames = len(frames) if n_frames is None else n_frames
    if fps and n_frames / fps < MIN_SECONDS:
        flags.append("too_short")
    motion = _motion_flag(frames)
    return flags + [motion] if motion else flags


def _spectral_only(regions: list[dict]) -> bool:
    """Region tags that describe M-mode or spectral Doppler and no 2D tissue region."""
    formats = {r.get("RegionSpatialFormat") for r in regions}
    return bool(formats & set(SPECTRAL_OR_MMODE)) and 1 not in formats


def _motion_flag(frames: np.ndarray) -> str | None:
    """"blank" for a dark loop, "near_constant" for one that barely changes, from up to 32 sampled frames."""
    sample = frames[:: max(1, len(frames) // 32)]
    # mean absolute change between consecutive sampled frames, one pair at a time (no float copy of the loop)
    pairs = [np.abs(a.astype(np.int16) - b).mean() for a, b in zip(sample[:-1], sample[1:], strict=True)]
    change = float(np.mean(pairs)) if pairs else 0.0
    if sample.max() < 10:
        return "blank"
    return "near_constant" if change < 0.5 else None
