"""Heart rhythms of the synthetic echoes: where every frame lies in its beat, and every beat's truth.

A regular rhythm has one cycle length and one EF for every beat. An irregular (AF-like) rhythm draws
each ED-to-ED interval independently (log-normal around the subject's mean cycle, no pattern), keeps
the systolic duration about constant (diastole absorbs the variation, as in atrial fibrillation) and
lets each beat's filling follow the interval before it (Frank-Starling): a beat after a long interval
has a larger end-diastolic LV and a higher EF. Every complete beat's ED and ES frames and EF are
measured on the drawn geometry, so beat finding and per-beat EF can be scored against them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RR_VARIABILITY = 0.22  # standard deviation of log(ED-to-ED interval) in an irregular rhythm
STARLING_GAIN = 0.3  # relative EF change per relative change of the preceding interval


@dataclass(frozen=True)
class Rhythm:
    """Beat-to-beat variation of one loop: beat k lasts `rr[k]` seconds from its ED to the next, is built for
    EF `ef[k]` (percent) and fills to `scale[k]` times the subject's end-diastolic size."""

    rr: tuple[float, ...]
    ef: tuple[float, ...]
    scale: tuple[float, ...]


@dataclass(frozen=True)
class BeatTrack:
    """Per frame (F,): the cycle position (integer part: the beat; 0 = its end-diastole), the share of that
    beat spent in systole, the EF it is built for and its end-diastolic size."""

    phase: np.ndarray
    systole: np.ndarray
    ef: np.ndarray
    scale: np.ndarray


@dataclass(frozen=True)
class TrueBeat:
    """One complete beat as drawn: frames are 0-based, volumes in mL, EF in percent, interval in ms."""

    ed_frame: int
    es_frame: int
    next_ed_frame: int
    ef: float
    edv: float
    esv: float
    rr_ms: float


def sample_rhythm(rng: np.random.Generator, heart_rate: float, fps: float, n_frames: int, target_ef: float) -> Rhythm:
    """An AF-like rhythm long enough for `n_frames` frames at `fps`, around `heart_rate` (beats/min) and
    `target_ef` (percent)."""
    mean = 60.0 / heart_rate
    n = int(np.ceil(n_frames / fps / (0.55 * mean))) + 2
    rr = mean * np.clip(np.exp(rng.normal(0.0, RR_VARIABILITY, n)), 0.55, 1.8)
    before = np.concatenate([[1.0], rr[:-1] / mean])  # the interval that filled each beat, relative to the mean
    ef = np.clip(target_ef * (1.0 + STARLING_GAIN * (before - 1.0)) + rng.normal(0.0, 1.5, n), 8.0, 85.0)
    scale = before**0.15
    return Rhythm(tuple(map(float, rr)), tuple(map(float, ef)), tuple(map(float, scale)))


def regular_track(phase0: float, heart_rate: float, fps: float, n_frames: int, systole: float, ef: float) -> BeatTrack:
    """A regular rhythm: the cycle advances by heart_rate / 60 / fps per frame from `phase0`."""
    phase = phase0 + np.arange(n_frames) * heart_rate / 60.0 / fps
    return BeatTrack(phase, np.full(n_frames, systole), np.full(n_frames, ef), np.ones(n_frames))


def irregular_track(rhythm: Rhythm, phase0: float, fps: float, n_frames: int, systole: float) -> BeatTrack:
    """Frames of an irregular rhythm; the loop starts `phase0` of the way into beat 0. `systole` is the share at
    the mean cycle: the systolic time stays, so a short beat spends a larger share in systole. The end-diastolic
    size moves to the next beat's over diastole, so the LV never jumps between frames."""
    rr = np.asarray(rhythm.rr)
    starts = np.concatenate([[0.0], np.cumsum(rr)]) - phase0 * rr[0]
    t = np.arange(n_frames) / fps
    beat = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(rr) - 1)
    within = (t - starts[beat]) / rr[beat]
    shares = np.clip(systole * rr.mean() / rr, 0.2, 0.55)
    scale = np.asarray(rhythm.scale)
    following = scale[np.minimum(beat + 1, len(rr) - 1)]
    filling = np.clip((within - shares[beat]) / (1.0 - shares[beat]), 0.0, 1.0)
    blend = filling * filling * (3.0 - 2.0 * filling)
    frame_scale = scale[beat] + (following - scale[beat]) * blend
    return BeatTrack(beat + within, shares[beat], np.asarray(rhythm.ef)[beat], frame_scale)


def true_beats(track: BeatTrack, volume: np.ndarray, fps: float, ml_per_px3: float) -> list[TrueBeat]:
    """Every complete beat of a loop: ED is the largest LV within 0.15 of a cycle of a beat's start, ES the
    smallest LV between that ED and the next. A beat is complete when both of its ends lie inside the loop."""
    phase = track.phase
    eds = {}
    for k in range(int(np.ceil(phase[0])), int(np.floor(phase[-1])) + 1):
        near = np.flatnonzero(np.abs(phase - k) <= 0.15)
        eds[k] = int(near[np.argmax(volume[near])])
    beats = []
    for k in sorted(eds):
        if k + 1 not in eds or eds[k + 1] - eds[k] < 3:
            continue
        ed, next_ed = eds[k], eds[k + 1]
        es = ed + 1 + int(np.argmin(volume[ed + 1 : next_ed]))
        edv, esv = float(volume[ed]), float(volume[es])
        ef = 100.0 * (edv - esv) / edv
        beats.append(TrueBeat(ed, es, next_ed, ef, edv * ml_per_px3, esv * ml_per_px3, 1000.0 * (next_ed - ed) / fps))
    return beats
