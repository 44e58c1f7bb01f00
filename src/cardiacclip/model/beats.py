"""Beat by beat: one clip per heartbeat, an EF for each, the video's EF as their mean, rhythm flags.

Echocardiographers measure EF on the end-diastole and end-systole of one beat and average several
beats, more of them when the rhythm is irregular. With `clips="beats"` a prediction does the same
from the video alone: the phase signal (`cardiacclip.model.phase`) gives every complete beat
(ED -> ES -> next ED), the beats to average are chosen (`beats_to_average`: every complete beat of an
irregular rhythm; at most `REGULAR_BEATS` of a regular one, evenly spread), one clip is placed on each
(`ClipSampler.beat_clips`: it starts just before the beat's end-diastole and takes frames at the spacing of
the evenly spaced clips, through the end-systole), the model gives each clip an EF, and the video's EF is
their mean with their standard deviation beside it. A loop without a complete beat falls back to evenly
spaced clips, with a warning and the flag `no_complete_beat`.

Flags (added to a prediction's quality flags):
    irregular_rhythm: the ED-to-ED intervals' coefficient of variation exceeds `IRREGULAR_CV` (0.12:
        sinus rhythm at rest varies by a few percent, atrial fibrillation by 15-30 %; the beat finder's
        own error, about a frame in 40, stays well below it).
    beat_ef_spread: the beats' EFs span (max - min) more than the width of the model's calibrated EF
        interval (without a calibration: more than `SPREAD_WITHOUT_CALIBRATION` EF points).
    no_complete_beat: no complete beat was found; the EF comes from evenly spaced clips.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from cardiacclip.data.clips import ClipSampler, distinct_frames
from cardiacclip.data.prepare import PreparedVideo, plain
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.phase import (
    IRREGULAR_CV,
    BeatFinding,
    PhaseHead,
    PhaseRoute,
    find_beats,
    is_irregular,
    phase_signal,
)
from cardiacclip.runtime import CPU_FP32, Placement

SPREAD_WITHOUT_CALIBRATION = 10.0  # EF points
BEAT_FLAGS = {
    "irregular_rhythm": f"ED-to-ED intervals vary by more than {IRREGULAR_CV:.0%} (coefficient of variation)",
    "beat_ef_spread": "the beats' EFs differ by more than the width of the EF interval",
    "no_complete_beat": "no complete beat found: the EF comes from evenly spaced clips",
}

# A beat-by-beat prediction's columns in predict's rows and evaluate's predictions.csv (empty for other clips).
BEAT_COLUMNS = {
    "n_beats": "with --clips beats: complete beats averaged, every one of an irregular loop and at most 3 of a "
    "regular one (0: evenly spaced clips were used instead)",
    "heart_rate": "heart rate in beats per minute from the ED-to-ED intervals and the loop's frame rate",
    "rr_cv": "coefficient of variation of the ED-to-ED intervals (irregular_rhythm above 0.12)",
    "beat_efs": "EF of each beat averaged in percent, space-separated; EF_pred is their mean",
    "beat_ef_sd": "standard deviation of the beats' EFs (EF points)",
    "beat_ed_frames": "end-diastolic frame of each beat averaged (0-based), space-separated",
    "beat_es_frames": "end-systolic frame of each beat averaged",
    "ed_frames": "every end-diastole found, complete beat or not",
    "es_frames": "every end-systole found",
    "phase_route": "what found the phase: head (fitted on traced ED/ES) or periodicity (label-free)",
}


@dataclass
class BeatSummary:
    """The beats behind a prediction made with `clips="beats"`; frames are 0-based source frames.

    Attributes:
        route: what found the phase: "head" (the run's fitted phase head) or "periodicity" (label-free).
        heart_rate: beats per minute from the loop's frame rate and the ED-to-ED intervals (None when
            fewer than one complete beat, or the frame rate is unknown and the training rate was assumed).
        rr_cv: coefficient of variation of the ED-to-ED intervals (None with fewer than two beats).
        ed_frames, es_frames: every end-diastole and end-systole found, complete beats or not.
        beat_ed, beat_es, beat_next_ed: the frames of each complete beat averaged (`beats_to_average`).
        beat_periods: the period of each beat's clip (every period-th frame from its start, `BEAT_LEAD` periods
            before beat_ed: the evenly spaced clips' period, or longer where a short clip must reach the ES).
        beat_efs: the EF of each complete beat, in percent.
        ef_sd: their standard deviation (EF points; None with fewer than two beats).
        fallback: True when no complete beat was found and evenly spaced clips gave the EF.
        signal: (F,) the filling signal the beats were found on (ED high), for plots.
    """

    route: PhaseRoute
    heart_rate: float | None
    rr_cv: float | None
    ed_frames: list[int]
    es_frames: list[int]
    beat_ed: list[int] = field(default_factory=list)
    beat_es: list[int] = field(default_factory=list)
    beat_next_ed: list[int] = field(default_factory=list)
    beat_periods: list[int] = field(default_factory=list)
    beat_efs: list[float] = field(default_factory=list)
    ef_sd: float | None = None
    fallback: bool = False
    signal: list[float] = field(default_factory=list, repr=False)

    @property
    def n_beats(self) -> int:
        return len(self.beat_efs)

    @classmethod
    def from_finding(
        cls, finding: BeatFinding, beat_efs: np.ndarray, fps_known: bool, periods: np.ndarray | None = None
    ) -> BeatSummary:
        """What a prediction reports of a `BeatFinding`, the EFs (N,) of its complete beats' clips and their
        periods (N,)."""
        n = len(finding.beats)  # without a beat, the clips' EFs are the fallback's, not beats'
        efs = [float(e) for e in beat_efs][:n]
        frames = np.array([[b.ed_frame, b.es_frame, b.next_ed_frame] for b in finding.beats], dtype=int).reshape(n, 3)
        return cls(
            route=finding.route,
            heart_rate=finding.heart_rate if fps_known else None,
            rr_cv=finding.rr_cv,
            ed_frames=list(finding.ed_frames),
            es_frames=list(finding.es_frames),
            beat_ed=frames[:, 0].tolist(),
            beat_es=frames[:, 1].tolist(),
            beat_next_ed=frames[:, 2].tolist(),
            beat_periods=np.asarray(periods if periods is not None else [], dtype=int)[:n].tolist(),
            beat_efs=efs,
            ef_sd=float(np.std(efs)) if n >= 2 else None,
            fallback=n == 0,
            signal=np.round(finding.signal, 4).tolist(),
        )

    def columns(self) -> dict:
        """The `BEAT_COLUMNS` of a table row (frames and EFs space-separated)."""
        return {
            "n_beats": self.n_beats,
            "heart_rate": None if self.heart_rate is None else round(self.heart_rate, 2),
            "rr_cv": None if self.rr_cv is None else round(self.rr_cv, 4),
            "beat_efs": " ".join(f"{e:.4f}" for e in self.beat_efs),
            "beat_ef_sd": None if self.ef_sd is None else round(self.ef_sd, 4),
            "beat_ed_frames": " ".join(map(str, self.beat_ed)),
            "beat_es_frames": " ".join(map(str, self.beat_es)),
            "ed_frames": " ".join(map(str, self.ed_frames)),
            "es_frames": " ".join(map(str, self.es_frames)),
            "phase_route": self.route,
        }

    def flags(self, interval_width: float | None) -> list[str]:
        """The rhythm flags of the module docstring; `interval_width` is the EF interval's (None: uncalibrated)."""
        if self.fallback:
            return ["no_complete_beat"]
        flags = []
        if is_irregular(self.rr_cv):
            flags.append("irregular_rhythm")
        limit = SPREAD_WITHOUT_CALIBRATION if interval_width is None else interval_width
        if self.n_beats >= 2 and max(self.beat_efs) - min(self.beat_efs) > limit:
            flags.append("beat_ef_spread")
        return flags


@torch.no_grad()
def phase_features(
    model: CardiacCLIP, frames: torch.Tensor, placement: Placement = CPU_FP32, chunk: int = 64
) -> np.ndarray:
    """(P, 3, H, W) preprocessed frames of one loop -> (P, C) pooled scale-1 trunk features
    (`EchoZoom.plain_features`), the input of the phase signal (`cardiacclip.model.phase`)."""
    out = []
    for i in range(0, len(frames), chunk):
        with placement.autocast():
            out.append(model.image_encoder.plain_features(frames[i : i + chunk].to(placement.device)).float().cpu())
    return torch.cat(out).numpy()


def loop_phase_features(
    model: CardiacCLIP, sampler: ClipSampler, video: PreparedVideo, placement: Placement = CPU_FP32
) -> tuple[np.ndarray, float]:
    """The phase frames of a video prepared with clips="beats" through the trunk: (P, C) features and the rate
    they are at in frames/s (a loop of unknown rate is read at the training rate `sampler.fps`, as its clips
    are; a subsampled fast loop at its rate over the step)."""
    index = video.phase_index
    step = int(index[1] - index[0]) if len(index) > 1 else 1
    frames = plain(sampler).to_tensor(video.frames[index])
    return phase_features(model, frames, placement), (video.frame_source.fps or sampler.fps or 50.0) / step


# complete beats a regular loop's EF averages: its beats agree, and each more costs a clip through the model (a
# 30 frames/s loop of 7 s holds 8 or more); an irregular loop averages every one (beats differ, and the mean over
# more of them is steadier: atrial fibrillation needs many more beats than sinus rhythm for the same precision)
REGULAR_BEATS = 3


def beats_to_average(finding: BeatFinding) -> BeatFinding:
    """The finding with the complete beats whose EFs are averaged: every one in an irregular rhythm, at most
    `REGULAR_BEATS` evenly spread over the loop in a regular one; end-diastoles, end-systoles, heart rate and
    rhythm stay those of all beats found."""
    if finding.irregular or len(finding.beats) <= REGULAR_BEATS:
        return finding
    keep = np.unique(np.linspace(0, len(finding.beats) - 1, REGULAR_BEATS).round().astype(int))
    return dataclasses.replace(finding, beats=[finding.beats[int(i)] for i in keep])


@dataclass
class LoopBeats:
    """What the phase pass over a loop found: its beats (in source frames) and the (P, C) scale-1 trunk features
    of its phase frames (`PreparedVideo.phase_index`), which the beat clips reuse (`beat_clip_features`)."""

    finding: BeatFinding
    features: np.ndarray


def find_video_beats(
    model: CardiacCLIP,
    sampler: ClipSampler,
    video: PreparedVideo,
    head: PhaseHead | None,
    placement: Placement = CPU_FP32,
) -> LoopBeats | None:
    """The beats of a video prepared with clips="beats" (None for other clips), in its source frames, with the
    beats to average chosen (`beats_to_average`)."""
    if video.phase_index is None or video.frames is None:
        return None
    features, fps = loop_phase_features(model, sampler, video, placement)
    signal, route = phase_signal(features, fps, head)
    finding = beats_to_average(find_beats(signal, fps, route))
    index = video.phase_index
    if len(index) > 1 and index[1] - index[0] != 1:
        finding = _in_source_frames(finding, index)
    return LoopBeats(finding, features)


@torch.no_grad()
def beat_clip_features(
    model: CardiacCLIP, video: PreparedVideo, found: LoopBeats, placement: Placement = CPU_FP32, chunk: int = 64
) -> torch.Tensor | None:
    """(N, T, F) pooled trunk features (`EchoZoom.pooled_features`) of a video's beat clips (`on_beats`), each
    distinct frame once, its scale-1 part taken from the phase pass where that pass read the frame: the same
    numbers to float rounding, for four fifths of a two-scale frame's trunk cost. None where this does not apply
    (the reference layout mixes frames; scales not starting at 1): the clips then go through the model whole."""
    if video.source_index is None or video.phase_index is None or model.image_encoder.scales[0] != 1:
        return None
    n, t = video.source_index.shape
    frames, unique, inverse = distinct_frames(video.clips, video.source_index)
    row = {int(frame): i for i, frame in enumerate(video.phase_index)}
    read = np.array([int(u) in row for u in unique], dtype=bool)
    scale1 = torch.zeros(len(unique), found.features.shape[1])
    scale1[torch.from_numpy(read)] = torch.from_numpy(found.features[[row[int(u)] for u in unique[read]]]).float()
    if not read.all():  # past the loop's end (black) or between a fast loop's phase frames
        missing = torch.from_numpy(~read)
        scale1[missing] = torch.from_numpy(phase_features(model, frames[missing], placement))
    pooled = []
    for i in range(0, len(frames), chunk):
        with placement.autocast():
            batch = frames[i : i + chunk].to(placement.device)
            pooled.append(model.image_encoder.pooled_features(batch, scale1[i : i + chunk].to(placement.device)))
    return torch.cat(pooled).float().cpu()[torch.from_numpy(inverse)].view(n, t, -1)


def on_beats(sampler: ClipSampler, video: PreparedVideo, found: LoopBeats | None) -> PreparedVideo:
    """The video with one clip per complete beat (`ClipSampler.beat_clips`) in place of its evenly spaced clips;
    unchanged without a complete beat. `source_index` then holds each clip's own period."""
    finding = found.finding if found is not None else None
    if finding is None or not finding.beats or video.frames is None:
        return video
    sampler = sampler.for_video(video.frame_source.fps)
    n = len(video.frames)
    starts, periods = sampler.beat_clips([(b.ed_frame, b.es_frame) for b in finding.beats], n)
    taken = [sampler.take(video.frames, int(s), int(p)) for s, p in zip(starts, periods, strict=True)]
    return dataclasses.replace(
        video,
        clips=torch.stack([sampler.to_tensor(t) for t in taken]),
        starts=starts,
        source_index=sampler.source_index(starts, sampler.clip_length(n), periods),
        first_clip=taken[0],
        periods=periods,
    )


def _in_source_frames(finding: BeatFinding, index: np.ndarray) -> BeatFinding:
    """A finding made on a subsample of a loop's frames (`index` (P,) their source frames), in source frames."""
    beats = [
        dataclasses.replace(
            b,
            ed_frame=int(index[b.ed_frame]),
            es_frame=int(index[b.es_frame]),
            next_ed_frame=int(index[b.next_ed_frame]),
        )
        for b in finding.beats
    ]
    return dataclasses.replace(
        finding,
        beats=beats,
        ed_frames=[int(index[i]) for i in finding.ed_frames],
        es_frames=[int(index[i]) for i in finding.es_frames],
    )
