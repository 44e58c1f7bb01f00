"""Colour of an echo loop: grey, a tinted B-mode image, or colour Doppler inside the sector.

Ultrasound machines can store B-mode loops through a colour map (bronze, sepia, blue): every
pixel then lies on one curve through RGB, a function of the echo intensity alone. A model trained
on grey echoes reads such a loop as a different image, so by default (`data.colour: luminance`) a
tinted loop is read as its intensity: the luminance Y = 0.299 R + 0.587 G + 0.114 B, scaled so that
the tint's brightest colour maps to white (a linear bronze map whose white is (255, 200, 140) would
otherwise come out 17 % darker than its grey twin). Colour Doppler (red and blue flow painted over
the grey or tinted image) is not on that curve; such loops are flagged `colour_doppler`, never
converted: the flow colours are not an intensity.

`assess_colour` decides from a probe's sample frames, inside the ultrasound region, so burned-in
coloured overlays outside the sector (an ECG trace, a vendor logo) do not count.

Tested by tests/data/test_source.py (tinted, grey and colour-Doppler loops through the frame source).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

ColourKind = Literal["grey", "tinted", "colour_doppler"]
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, the weights of JPEG's Y

MAX_PIXELS = 400_000  # pixels of the sample looked at (evenly spaced)
CHROMA = 24  # max - min over R, G, B above which a pixel is coloured (JPEG chroma noise stays below)
OFF_CURVE = 48  # distance (0-255, largest channel) from the tint curve above which a pixel is not on it
DOPPLER_SHARE = 0.002  # share of off-curve pixels from which a loop holds colour Doppler
TINT_CHROMA = 8  # median colourfulness of the curve above which the grey scale is tinted


@dataclass(frozen=True)
class ColourInfo:
    """What `assess_colour` found: the kind, and for a tint the gain that maps its luminance to grey levels."""

    kind: ColourKind
    gain: float = 1.0


def assess_colour(sample: np.ndarray, mask: np.ndarray | None = None, box: tuple[int, int, int, int] | None = None):
    """The colour kind of a loop from sample frames (k, H, W, 3) uint8 RGB, looked at inside `box`
    (x0, y0, x1, y1) and `mask` (H, W) bool when given. Returns a `ColourInfo`."""
    pixels = _region_pixels(sample, mask, box)
    luma = pixels @ LUMA
    pixels, luma = pixels[luma > 12], luma[luma > 12]  # black background says nothing about colour
    if len(pixels) < 100:
        return ColourInfo("grey")
    chroma = pixels.max(axis=1) - pixels.min(axis=1)
    if (chroma > CHROMA).mean() < DOPPLER_SHARE / 2:
        return ColourInfo("grey")
    curve = _tint_curve(pixels, luma)
    off = np.abs(pixels - curve[np.clip(luma.round().astype(int), 0, 255)]).max(axis=1) > OFF_CURVE
    if off.mean() > DOPPLER_SHARE:
        return ColourInfo("colour_doppler")
    populated = np.unique(np.clip(luma[luma > 40].round().astype(int), 0, 255))
    colourful = curve[populated].max(axis=1) - curve[populated].min(axis=1)
    if len(populated) == 0 or np.median(colourful) <= TINT_CHROMA:
        return ColourInfo("grey")
    return ColourInfo("tinted", _white_gain(pixels, luma))


def to_luminance(frame: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W, 3) uint8 grey: luminance times `gain`, in every channel."""
    luma = np.clip(frame.astype(np.float32) @ (LUMA * gain) + 0.5, 0, 255).astype(np.uint8)
    return np.repeat(luma[..., None], 3, axis=-1)


def _region_pixels(sample: np.ndarray, mask: np.ndarray | None, box: tuple[int, int, int, int] | None) -> np.ndarray:
    """(P, 3) float32 pixels of the sample inside the box and mask, at most `MAX_PIXELS` evenly spaced."""
    if box is not None:
        x0, y0, x1, y1 = box
        sample = sample[:, y0:y1, x0:x1]
        mask = None if mask is None else mask[y0:y1, x0:x1]
    pixels = sample[:, mask] if mask is not None else sample.reshape(len(sample), -1, 3)
    pixels = pixels.reshape(-1, 3)
    step = max(1, len(pixels) // MAX_PIXELS)
    return pixels[::step].astype(np.float32)


def _tint_curve(pixels: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """(256, 3): the median colour of the pixels at each luminance level, interpolated where there are few."""
    level = np.clip(luma.round().astype(int), 0, 255)
    order = np.argsort(level, kind="stable")
    counts = np.bincount(level, minlength=256)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    known = np.flatnonzero(counts >= 8)
    if len(known) == 0:
        return np.repeat(np.arange(256, dtype=np.float32)[:, None], 3, axis=1)
    medians = np.stack([np.median(pixels[order[bounds[k] : bounds[k + 1]]], axis=0) for k in known])
    return np.stack([np.interp(np.arange(256), known, medians[:, c]) for c in range(3)], axis=1)


def _white_gain(pixels: np.ndarray, luma: np.ndarray) -> float:
    """1 / luminance of the tint's white (its colour with the largest channel at full scale), from the brightest
    pixels: the gain that gives a tinted pixel the grey level it was drawn from."""
    bright = pixels[luma >= np.quantile(luma, 0.99)]
    white = np.median(bright / np.maximum(bright.max(axis=1, keepdims=True), 1.0), axis=0)
    return float(np.clip(1.0 / max(float(white @ LUMA), 1e-3), 1.0, 4.0))
