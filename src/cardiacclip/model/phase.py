"""Cardiac phase from the video alone: a per-frame filling signal, and the beats it shows.

No segmentation runs at prediction time. Every frame of a loop goes once through the image trunk at
scale 1 (`CardiacCLIP.phase_features`, a fifth of an EchoZoom frame's cost), and the pooled features
(F, C) become one number per frame, high at end-diastole (LV full) and low at end-systole:

- the **phase head** (route "head"): a fixed direction w in feature space, fitted once after training
  on the traced ED and ES frames of the training videos (`fit_phase_head`): Fisher's discriminant of
  the within-video differences f(ED) - f(ES), shrunk toward the identity. It needs ED/ES labels
  (VolumeTracings.csv, or EDFrame/ESFrame columns) and is stored beside the run as `phase.json`.
- the **label-free route** ("periodicity"): the loop's own first principal component over time (the
  frames' largest common change is the heart's cycle), oriented so that most frames lie on the full
  side (median above mean): the LV spends diastole, about two thirds of a beat, near its end-diastolic
  size and reaches end-systole only briefly.

`find_beats` turns the signal into beats, as EchoNet-Dynamic finds end-systoles on its segmented LV
area: end-systoles are the signal's prominent troughs (scipy's `find_peaks`), each end-diastole the
fullest frame in the 0.55 cycle before its end-systole (further back lies diastasis, nearly as full);
a complete beat runs ED -> ES -> next ED. The cycle is the median ES-to-ES interval (with one
end-systole, the signal's autocorrelation between 30 and 200 beats/min).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.signal import find_peaks

PHASE_FILE = "phase.json"
PhaseRoute = Literal["head", "periodicity"]
HEART_RATE_RANGE = (30.0, 200.0)  # beats per minute the cycle search considers
IRREGULAR_CV = 0.12  # coefficient of variation of ED-to-ED intervals above which a rhythm is flagged irregular


@dataclass(frozen=True)
class PhaseHead:
    """The fitted filling direction: signal = features @ weight (per-frame pooled trunk features (F, C)).

    `route` is the route predictions use: "head", or "periodicity" when the label-free route found the
    validation videos' traced frames more closely (`validation`: mean absolute ED and ES frame errors of
    both routes, e.g. {"head_ed": 0.8, "head_es": 0.4, "periodicity_ed": 0.7, "periodicity_es": 0.3}).
    """

    weight: tuple[float, ...]
    n_videos: int  # training videos it was fitted on
    source: str = ""  # what it was fitted on, e.g. "training split, 240 videos with traced ED/ES"
    route: PhaseRoute = "head"
    validation: dict[str, float] = field(default_factory=dict)

    def signal(self, features: np.ndarray) -> np.ndarray:
        """(F, C) features -> (F,) filling signal, standardised over the loop (ED high)."""
        return _standardise(np.asarray(features, dtype=np.float64) @ np.asarray(self.weight))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(asdict(self)))
        return path

    @classmethod
    def load(cls, path: str | Path) -> PhaseHead:
        data = json.loads(Path(path).read_text())
        route = data.get("route", "head")
        if route not in ("head", "periodicity"):
            raise ValueError(f"{path}: unknown phase route {route!r}")
        validation = {str(k): float(v) for k, v in data.get("validation", {}).items()}
        return cls(
            tuple(map(float, data["weight"])), int(data["n_videos"]), str(data.get("source", "")), route, validation
        )


def phase_signal(features: np.ndarray, fps: float, head: PhaseHead | None) -> tuple[np.ndarray, PhaseRoute]:
    """(F, C) pooled features of a loop's frames at `fps` -> its filling signal (F,) and the route that made it:
    the head when the run has one that won on validation, else the label-free route."""
    if head is not None and head.route == "head":
        return head.signal(features), "head"
    return periodicity_signal(features, fps), "periodicity"


def fit_phase_head(ed_features: np.ndarray, es_features: np.ndarray, noise: np.ndarray, source: str = "") -> PhaseHead:
    """Fisher's direction separating ED from ES frames of the same videos.

    Args:
        ed_features: (N, C) pooled features of N training videos' traced end-diastolic frames.
        es_features: (N, C) the same videos' end-systolic frames.
        noise: (M, C) differences between neighbouring frames (what the direction should ignore).
        source: what the videos were, for the record.
    """
    diff = np.asarray(ed_features, np.float64) - np.asarray(es_features, np.float64)
    scatter = np.cov(diff, rowvar=False) + np.cov(np.asarray(noise, np.float64), rowvar=False)
    scatter = np.atleast_2d(scatter)
    shrink = 0.1 * np.trace(scatter) / len(scatter)
    weight = np.linalg.solve(scatter + shrink * np.eye(len(scatter)), diff.mean(axis=0))
    return PhaseHead(tuple(float(w) for w in weight / np.linalg.norm(weight)), len(diff), source)


def periodicity_signal(features: np.ndarray, fps: float) -> np.ndarray:
    """(F, C) features -> (F,) filling signal without labels: the first principal component over time,
    oriented so that most frames lie on the full side (see the module docstring)."""
    centred = np.asarray(features, dtype=np.float64) - np.mean(features, axis=0)
    if len(centred) < 3 or not np.any(centred):
        return np.zeros(len(centred))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    signal = _standardise(centred @ vt[0])
    return signal if np.median(signal) >= 0.0 else -signal


@dataclass(frozen=True)
class Beat:
    """One complete beat, in source frames (0-based) of the loop."""

    ed_frame: int
    es_frame: int
    next_ed_frame: int


@dataclass
class BeatFinding:
    """The beats of one loop (`find_beats`).

    Attributes:
        beats: every complete beat (ED -> ES -> next ED), in order.
        ed_frames, es_frames: every end-diastole and end-systole found, complete beats or not.
        heart_rate: beats per minute from the mean ED-to-ED interval; None without two end-diastoles.
        rr_cv: coefficient of variation of the ED-to-ED intervals (None with fewer than two intervals).
        route: "head" or "periodicity", what made the signal.
        signal: (F,) the filling signal (ED high), for plots.
    """

    beats: list[Beat]
    ed_frames: list[int]
    es_frames: list[int]
    heart_rate: float | None
    rr_cv: float | None
    route: PhaseRoute
    signal: np.ndarray = field(repr=False)

    @property
    def irregular(self) -> bool:
        """Whether the ED-to-ED intervals vary beyond `IRREGULAR_CV` (`is_irregular`)."""
        return is_irregular(self.rr_cv)


def is_irregular(rr_cv: float | None) -> bool:
    """The irregular-rhythm rule: a coefficient of variation of the ED-to-ED intervals above `IRREGULAR_CV`."""
    return rr_cv is not None and rr_cv > IRREGULAR_CV


def find_beats(signal: np.ndarray, fps: float, route: PhaseRoute) -> BeatFinding:
    """Beats of a loop from its (F,) filling signal at `fps` frames/s (module docstring)."""
    smooth = _smooth(signal, fps)
    ess = [int(t) for t in _troughs(smooth, fps)]
    eds = _end_diastoles(smooth, ess, fps)
    beats = [
        Beat(ed, es, nxt) for ed, es, nxt in zip(eds, ess, eds[1:], strict=False) if ed is not None and nxt is not None
    ]
    heart_rate, cv = _rhythm(beats, fps)
    return BeatFinding(
        beats=beats,
        ed_frames=sorted({e for e in eds if e is not None}),
        es_frames=ess,
        heart_rate=heart_rate,
        rr_cv=cv,
        route=route,
        signal=np.asarray(signal, dtype=np.float64),
    )


def _rhythm(beats: list[Beat], fps: float) -> tuple[float | None, float | None]:
    """Heart rate (beats/min) from the mean ED-to-ED interval, and the intervals' coefficient of variation."""
    intervals = np.array([b.next_ed_frame - b.ed_frame for b in beats], dtype=float) / fps
    heart_rate = float(60.0 / intervals.mean()) if len(intervals) else None
    return heart_rate, float(intervals.std() / intervals.mean()) if len(intervals) >= 2 else None


def _end_diastoles(smooth: np.ndarray, ess: list[int], fps: float) -> list[int | None]:
    """The end-diastole before each end-systole, then the one after the last (None where the loop does not show
    it): len(ess) + 1 entries, or none without an end-systole."""
    if not ess:
        return []
    cycle = float(np.median(np.diff(ess))) if len(ess) >= 2 else cycle_frames(smooth, fps)
    if not cycle:
        return [None] * (len(ess) + 1)
    previous = [-1, *ess[:-1]]
    before = [_ed_before(smooth, es, low, cycle) for es, low in zip(ess, previous, strict=True)]
    return [*before, _ed_after(smooth, ess[-1], cycle)]


def _troughs(smooth: np.ndarray, fps: float) -> np.ndarray:
    """End-systoles: the signal's troughs at least one cycle at 200 beats/min apart, each at least 35 % of the
    signal's range (5th to 95th percentile) below its surroundings (scipy's prominence)."""
    if len(smooth) < 3:
        return np.array([], dtype=int)
    span = float(np.percentile(smooth, 95) - np.percentile(smooth, 5))
    if span <= 0:
        return np.array([], dtype=int)
    distance = max(2, int(fps * 60.0 / HEART_RATE_RANGE[1]))
    troughs, _ = find_peaks(-smooth, distance=distance, prominence=0.35 * span)
    return troughs


def _ed_before(smooth: np.ndarray, es: int, previous_es: int, cycle: float) -> int | None:
    """The end-diastole that starts the systole ending at `es`: the fullest frame in the 0.55 cycle before it
    and after the previous end-systole (systole lasts about a third of a cycle; further back lies diastasis,
    nearly as full). None when that stretch is cut short (by the loop's start or the previous end-systole) and
    its fullest frame is where it was cut, unless the LV is full there (a loop that starts at end-diastole)."""
    lo = es - int(round(0.55 * cycle))
    start = max(lo, previous_es + 1, 0)
    if es <= start:
        return None
    ed = start + int(np.argmax(smooth[start:es]))
    if lo < start and ed == start and not _full(smooth, ed):  # still falling where the stretch was cut: no ED seen
        return None
    return ed


def _full(smooth: np.ndarray, frame: int) -> bool:
    """Whether the LV is (nearly) full at `frame`: within a tenth of the signal's range of its top."""
    top, bottom = np.percentile(smooth, 98), np.percentile(smooth, 2)
    return bool(smooth[frame] >= top - 0.1 * (top - bottom))


def _ed_after(smooth: np.ndarray, es: int, cycle: float) -> int | None:
    """The end-diastole after the loop's last end-systole, when the loop holds it: the fullest frame from 0.3 of
    a cycle after that end-systole on, if the next systole visibly begins after it before the loop ends."""
    lo = es + int(round(0.3 * cycle))
    if lo >= len(smooth) - 2:
        return None
    ed = lo + int(np.argmax(smooth[lo:]))
    span = float(np.percentile(smooth, 95) - np.percentile(smooth, 5))
    falls = ed < len(smooth) - 1 and smooth[ed] - smooth[ed:].min() >= 0.3 * span
    return ed if falls else None


def cycle_frames(signal: np.ndarray, fps: float) -> float | None:
    """The cycle length in frames: the first strong autocorrelation peak between 30 and 200 beats/min; None when
    the loop is shorter than the shortest cycle or shows no peak."""
    low = max(2, int(np.floor(fps * 60.0 / HEART_RATE_RANGE[1])))
    high = min(len(signal) - 2, int(np.ceil(fps * 60.0 / HEART_RATE_RANGE[0])))
    if high <= low:
        return None
    centred = signal - signal.mean()
    full = np.correlate(centred, centred, mode="full")[len(centred) - 1 :]
    corr = full / np.maximum(full[0], 1e-12) * len(centred) / (len(centred) - np.arange(len(centred)))
    lags = np.arange(low, high + 1)
    peaks = [lag for lag in lags if corr[lag] >= corr[lag - 1] and corr[lag] >= corr[lag + 1] and corr[lag] > 0.2]
    if not peaks:
        return None
    best = max(corr[lag] for lag in peaks)
    return float(next(lag for lag in peaks if corr[lag] >= 0.7 * best))  # the first strong one, not a multiple


def _smooth(signal: np.ndarray, fps: float) -> np.ndarray:
    """A Gaussian of about 20 ms (1 frame at 50 frames/s), so speckle flicker does not make false extrema."""
    sigma = max(0.5, 0.02 * fps)
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(np.asarray(signal, dtype=np.float64), radius, mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def _standardise(signal: np.ndarray) -> np.ndarray:
    sd = signal.std()
    return (signal - signal.mean()) / sd if sd > 0 else signal - signal.mean()
