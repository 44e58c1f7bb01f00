"""Split conformal EF intervals (Vovk et al.; Angelopoulos & Bates, "A gentle introduction", Sec. 1-2).

Calibrate on held-out videos (the validation split at the end of training): with absolute
residuals r_i = |y_i - ŷ_i| of n videos and miscoverage alpha (coverage 1 - alpha, 0.9 by
default), q is the ceil((n + 1)(1 - alpha))-th smallest residual; the interval [ŷ - q, ŷ + q]
then covers a new video's EF with probability at least 1 - alpha, if calibration and new videos
are exchangeable. With `method="scaled"` the residuals are divided by the spread of the video's
clip predictions (their standard deviation plus `floor`), and the interval is ŷ ± q·(sd + floor):
wider where the clips disagree. Intervals are clipped to the EF range 0-100.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    """A fitted split-conformal interval: EF ± quantile (× clip spread + floor when scaled), in EF points."""

    coverage: float  # nominal, e.g. 0.9
    quantile: float  # q
    n: int  # calibration videos
    method: Literal["absolute", "scaled"] = "absolute"
    floor: float = 1.0  # added to the clip spread (EF points) when scaled
    source: str = ""  # where it was calibrated, e.g. "validation split, 60 videos"

    def interval(self, ef: np.ndarray | float, clip_sd: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) EF bounds in percent, clipped to 0-100."""
        ef = np.asarray(ef, dtype=float)
        half = (
            self.quantile * (np.asarray(clip_sd, dtype=float) + self.floor)
            if self.method == "scaled"
            else self.quantile
        )
        return np.clip(ef - half, 0.0, 100.0), np.clip(ef + half, 0.0, 100.0)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        return cls(**json.loads(Path(path).read_text()))


def calibrate(
    y: np.ndarray,
    ef_pred: np.ndarray,
    coverage: float = 0.9,
    clip_sd: np.ndarray | None = None,
    method: Literal["absolute", "scaled"] = "absolute",
    floor: float = 1.0,
    source: str = "",
) -> Calibration:
    """Fit the split-conformal quantile on calibration videos (reference EF `y`, predictions `ef_pred`, percent).

    With fewer than ceil(1 / (1 - coverage)) - 1 videos the finite-sample quantile is infinite: the
    interval is then 0-100 (honest, if useless).
    """
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must be between 0 and 1, got {coverage}")
    residuals = np.abs(np.asarray(y, float) - np.asarray(ef_pred, float))
    if method == "scaled":
        if clip_sd is None:
            raise ValueError("method='scaled' needs the clip spread of each calibration video")
        residuals = residuals / (np.asarray(clip_sd, float) + floor)
    n = len(residuals)
    rank = math.ceil((n + 1) * coverage)
    quantile = float(np.sort(residuals)[rank - 1]) if 0 < rank <= n else float("inf")
    return Calibration(coverage=coverage, quantile=quantile, n=n, method=method, floor=floor, source=source)


def empirical_coverage(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> dict[str, float]:
    """Share of videos whose reference EF lies in its interval, and the mean interval width (EF points)."""
    y, low, high = (np.asarray(a, float) for a in (y, low, high))
    return {"coverage": float(np.mean((y >= low) & (y <= high))), "mean_width": float(np.mean(high - low)), "n": len(y)}
