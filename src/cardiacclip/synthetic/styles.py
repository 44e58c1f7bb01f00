"""Drawing styles of the synthetic echo generator (`cardiacclip.synthetic.echoes`).

A style is everything about a synthetic video that is not the heart's function: colour map,
speckle grain, noise, sector width, imaging depth, gain, frame rate and the LV cavity's shape.
Three are used by the project:

- ``echonet`` (default): grey, fine speckle, 50 fps; the demo and the benchmark are drawn in it.
- ``mixed``: every video draws its own style from wide ranges (colour tints, speckle grain,
  noise, sector width and depth, gain, 40-60 fps, LV taper). The toy echo-CLIP's pretraining
  archive is drawn this way so its features do not depend on one look.
- ``second``: a held-out look that no pretraining video has: bronze colour map, coarse and
  noisy speckle, a narrow deep sector, 30 fps and a rounder LV. It is only ever used to check
  that a recipe still works on a style it was not built on; no model is selected on it.

These are drawings for demonstrations and tests, not models of real scanners.

Tested by tests/synthetic/test_echoes.py and tests/test_choices.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cardiacclip.choices import SyntheticStyle, values

STYLE_NAMES = values(SyntheticStyle)


@dataclass(frozen=True)
class Style:
    """One concrete look. Ranges are (low, high) of a uniform draw per video."""

    name: str = "echonet"
    fps: float | None = None  # None: the frame rate the caller asks for
    channel_gamma: tuple[float, float, float] = (1.0, 1.0, 1.0)  # colour map: out_c = in ** gamma_c; (1,1,1) grey
    speckle_blur: float = 0.7  # Gaussian sigma of the speckle field, pixels
    flicker: float = 0.15  # frame-to-frame speckle change
    noise: float = 0.0  # additive Gaussian noise sd, in units of full scale
    sector_half_angle: tuple[float, float] = (36.0, 42.0)  # degrees
    zoom: tuple[float, float] = (0.85, 1.15)  # >1: shallower imaging depth, the heart looks larger
    gain: tuple[float, float] = (0.75, 1.25)
    tissue: tuple[float, float] = (0.25, 0.4)
    blood: tuple[float, float] = (0.03, 0.08)
    lv_taper: float = 0.18  # how much the LV cavity narrows toward the annulus (0: no narrowing)


ECHONET = Style()
SECOND = Style(
    name="second",
    fps=30.0,
    channel_gamma=(0.75, 1.0, 1.6),
    speckle_blur=1.6,
    flicker=0.3,
    noise=0.07,
    sector_half_angle=(28.0, 31.0),
    zoom=(0.72, 0.85),
    gain=(0.9, 1.4),
    tissue=(0.3, 0.45),
    blood=(0.1, 0.16),
    lv_taper=0.4,
)


def mixed_style(rng: np.random.Generator) -> Style:
    """A random look for one pretraining video (ranges chosen to stay clear of the ``second`` style's
    frame rate, sector width, noise level and LV taper).

    The imaging depth (``zoom``) range is wide on purpose: EF is a ratio of LV volumes and does not
    depend on how large the heart is drawn, but in the generator low EF comes with a dilated LV, so a
    backbone that sees a narrow depth range learns to read EF partly from LV size in pixels
    (benchmarks/style_axes.py measured depth as the costliest single axis of a new look)."""
    tinted = rng.random() < 0.5
    return replace(
        ECHONET,
        name="mixed",
        fps=float(rng.choice([40.0, 50.0, 60.0])),
        channel_gamma=tuple(float(g) for g in rng.uniform(0.7, 1.4, size=3)) if tinted else (1.0, 1.0, 1.0),
        speckle_blur=float(rng.uniform(0.5, 1.2)),
        flicker=float(rng.uniform(0.05, 0.25)),
        noise=float(rng.uniform(0.0, 0.04)),
        sector_half_angle=(34.0, 46.0),
        zoom=(0.65, 1.35),
        gain=(0.6, 1.4),
        tissue=(0.2, 0.45),
        blood=(0.02, 0.1),
        lv_taper=float(rng.uniform(0.08, 0.26)),
    )


def check_style_name(name: str) -> None:
    """Raise ValueError unless `name` is one of `STYLE_NAMES` (before any work is done)."""
    if name not in STYLE_NAMES:
        raise ValueError(f"unknown synthetic style {name!r}; choose one of {STYLE_NAMES}")


def style_for_video(name: str, rng: np.random.Generator) -> Style:
    """The concrete style of one video of an archive drawn in style `name` (see `STYLE_NAMES`)."""
    check_style_name(name)
    if name == "echonet":
        return ECHONET
    if name == "second":
        return SECOND
    return mixed_style(rng)


def colour_map(frames: np.ndarray, style: Style) -> np.ndarray:
    """(F, H, W) uint8 grey -> the style's colours: (F, H, W) unchanged for grey, else (F, H, W, 3) RGB."""
    if style.channel_gamma == (1.0, 1.0, 1.0):
        return frames
    levels = np.arange(256, dtype=np.float64) / 255.0
    table = np.stack([np.round(255.0 * levels**g) for g in style.channel_gamma], axis=-1).astype(np.uint8)
    return table[frames]
