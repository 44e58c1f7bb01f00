"""The public Python API: load a trained model, predict EF for files, arrays or tensors.

    import cardiacclip as cc
    model = cc.load("runs/k1")                    # run folder or checkpoint file
    result = model.predict("study.dcm")           # file path (AVI, MP4, DICOM)
    result = model.predict(frames, fps=50.0)      # (F, H, W, 3) uint8 RGB array
    result = model.predict(clip)                  # (T, 3, H, W) or (N, T, 3, H, W) preprocessed tensor
    result.ef, result.category, result.probabilities, result.attention

Predictions average the deterministic evaluation clips of a video (EchoNet-Dynamic's test-time
augmentation). Files and arrays are read through the frame source (`cardiacclip.data.source`) with
the run's reading policy, and clips are sampled at the loop's own period (the frame-rate policy of
`cardiacclip.data.clips`), exactly as `evaluate` reads them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.choices import CropMethod
from cardiacclip.config import RunConfig
from cardiacclip.data.clips import ClipCount, ClipSampler, batch_frame_ids
from cardiacclip.data.dicom import LoopInfo
from cardiacclip.data.prepare import PreparedVideo, fallback_clip_count, prepare_video
from cardiacclip.data.region import Region
from cardiacclip.data.source import FrameSource, Reading, probe
from cardiacclip.model.beats import BeatSummary, LoopBeats, beat_clip_features, find_video_beats, on_beats
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.conformal import Calibration
from cardiacclip.model.factory import open_model
from cardiacclip.model.inference import predict_clips, reduce_clips
from cardiacclip.model.phase import BeatFinding, PhaseHead
from cardiacclip.runtime import Placement, resolve_device, resolve_precision

Input = str | Path | np.ndarray | torch.Tensor


@dataclass
class Prediction:
    """One video's prediction. EF values are in percent; `attention` is the first clip's MFL frame weights."""

    ef: float
    category: str
    probabilities: dict[str, float]  # category name -> probability (mean over clips)
    attention: list[float]  # (T,) weights of the first clip's frames, summing to 1
    clip_starts: list[int]  # first source frame of each clip
    clip_efs: list[float]  # EF of each clip
    fps: float | None  # frame rate of the input (None: unknown)
    period: int  # every period-th frame was taken
    ef_coarse: float  # the coarse read-out (sum of p_k * anchor_k), for comparison
    ef_low: float | None = None  # split-conformal interval (percent), when the model is calibrated
    ef_high: float | None = None
    interval_coverage: float | None = None  # its nominal coverage, e.g. 0.9
    n_frames: int | None = None  # decoded frames of the input video (None for tensor input)
    source: str = ""  # the file, or "array" / "tensor"
    crop: dict | None = None  # {"method": "none"|"regions"|"sector", "box": [x0, y0, x1, y1]} of the input kept
    flags: list[str] = field(default_factory=list)  # quality and rhythm flags: too_short, irregular_rhythm, ...
    colour: str | None = None  # grey, tinted (read as luminance unless the run says rgb) or colour_doppler
    warnings: list[str] = field(default_factory=list)
    beats: BeatSummary | None = None  # with clips="beats": the beats found and each one's EF
    notice: str = RESEARCH_NOTICE
    region: Region | None = field(default=None, repr=False, compare=False)  # the crop itself (mask included)
    # (T, S, S, 3) uint8: the first clip as the model saw it (for plots)
    first_clip: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready), without the crop mask and the frames."""
        hidden = {"region", "first_clip"}
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in hidden}
        if self.beats is not None:
            data["beats"] = {**dataclasses.asdict(self.beats), "n_beats": self.beats.n_beats}
        return data


class Predictor:
    """A trained CardiacCLIP ready to predict; made by `load`.

    Args:
        model: the network (eval mode).
        config: the run config it was trained with (clip geometry, training frame rate).
        device: where it runs. precision: "fp32", "bf16" or "fp16" autocast.
        calibration: the split-conformal EF interval, when the run has one.
        phase: the run's fitted phase head (`cardiacclip.model.phase`); None: beats are found label-free.
    """

    def __init__(
        self,
        model: CardiacCLIP,
        config: RunConfig,
        device: torch.device,
        precision: str = "fp32",
        calibration: Calibration | None = None,
        phase: PhaseHead | None = None,
    ):
        self.model, self.config, self.device, self.precision = model.eval(), config, device, precision
        self.calibration, self.phase = calibration, phase
        self.sampler = ClipSampler.from_config(config.data, model.mean, model.std)
        self.share_frames = True  # encode a frame shared by overlapping clips once (False: every clip alone)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.model.prompts.names)

    @property
    def placement(self) -> Placement:
        """Where the model runs and at which precision."""
        return Placement(self.device, self.precision)

    def predict(
        self, x: Input, *, fps: float | None = None, clips: ClipCount | None = None, crop: CropMethod | None = None
    ) -> Prediction:
        """EF for one video.

        Args:
            x: a file path (AVI, MP4, DICOM); a (F, H, W, 3) or (F, H, W) uint8 array of raw frames
                (pass `fps`); a (T, 3, H, W) float tensor holding one preprocessed clip; or a
                (N, T, 3, H, W) tensor holding N clips of one video (preprocessed as `self.sampler`
                does: resized, normalized with the backbone's mean/std).
            fps: frame rate of an array input (a file states its own); unknown rates assume the
                training rate, with a warning in the result.
            clips: evaluation clips per video: N evenly spaced, "all", or "beats" (one per heartbeat found in the
                video, `cardiacclip.model.beats`; default: the run's test_clips).
            crop: the ultrasound region to keep (`cardiacclip.data.region`): "auto" (DICOM region tags,
                else nothing for small square videos, else the scan sector found in the pixels),
                "regions", "sector" or "none"; default: the run's `data.crop`, as `evaluate` reads.
                Tensor input is never cropped.

        Raises:
            ValueError: an array or tensor in the wrong layout (the message names the expected one).
            VideoReadError: a file that cannot be read.
        """
        if isinstance(x, torch.Tensor):
            return self._predict_tensor(x)
        if isinstance(x, np.ndarray):
            return self.predict_frames(_check_frames(x), fps, clips, crop=crop)
        if isinstance(x, (str, Path)):
            return self.predict_source(self.probe(x, crop), clips, source=str(x))
        raise TypeError(f"predict takes a file path, a NumPy array or a torch tensor, not {type(x).__name__}")

    def predict_many(
        self,
        inputs: Iterable[Input],
        *,
        fps: float | None = None,
        clips: ClipCount | None = None,
        crop: CropMethod | None = None,
        errors: Literal["raise", "return"] = "raise",
    ) -> list[Prediction | Exception]:
        """`predict` for each input, in order. With `errors="return"` a failing input's exception
        takes its place in the list instead of stopping the batch."""
        results: list[Prediction | Exception] = []
        for x in inputs:
            try:
                results.append(self.predict(x, fps=fps, clips=clips, crop=crop))
            except Exception as exc:  # with errors="return" one input's failure must not end the batch
                if errors == "raise":
                    raise
                results.append(exc)
        return results

    def predict_frames(
        self,
        frames: np.ndarray,
        fps: float | None = None,
        clips: ClipCount | None = None,
        source: str = "array",
        crop: CropMethod | None = None,
        dicom: LoopInfo | None = None,
    ) -> Prediction:
        """EF for decoded frames (F, H, W, 3) uint8 RGB at `fps` frames/s (see `predict`); `dicom` is what
        the file said about itself (modality, ultrasound regions, reading warnings)."""
        video = probe(frames, self.reading(crop), fps=fps, info=dicom)
        return self.predict_source(video, clips, source=source)

    def reading(self, crop: CropMethod | None = None) -> Reading:
        """The run's reading policy (`cardiacclip.data.source.Reading`), with the region method `crop` if given."""
        return Reading.from_config(self.config.data, crop)

    def probe(self, path: str | Path, crop: CropMethod | None = None) -> FrameSource:
        """A file probed with the run's reading policy (`cardiacclip.data.source.probe`)."""
        return probe(path, self.reading(crop))

    def predict_source(
        self, video: FrameSource, clips: ClipCount | None = None, source: str | None = None
    ) -> Prediction:
        """EF for a probed loop (`Predictor.probe`); see `prepare` and `run`."""
        return self.run(self.prepare(video, clips, source))

    def prepare(self, video: FrameSource, clips: ClipCount | None = None, source: str | None = None) -> PreparedVideo:
        """The model-free half of a prediction (`cardiacclip.data.prepare.prepare_video`): only the frames the
        clips use, decoded, cropped and resized. Safe to run in worker processes."""
        return prepare_video(video, self.sampler, self.prepare_count(clips), source, fallback_clips=self.fallback_clips)

    def prepare_count(self, clips: ClipCount | None = None) -> ClipCount:
        """The clips a prediction takes: `clips`, or the run's test_clips."""
        return clips if clips is not None else self.config.data.test_clips

    @property
    def fallback_clips(self) -> int:
        """Evenly spaced clips of a loop without a complete beat (`data.prepare.fallback_clip_count`)."""
        return fallback_clip_count(self.config.data.test_clips)

    def run(self, prepared: PreparedVideo) -> Prediction:
        """The model half: EF and the rest for a `PreparedVideo`."""
        return self.run_many([prepared])[0]

    def run_many(self, videos: list[PreparedVideo]) -> list[Prediction]:
        """`run` for several videos with their clips batched together through the model (frames shared by
        overlapping clips of one video still encoded once); the same predictions as one video at a time."""
        found = [find_video_beats(self.model, self.sampler, v, self.phase, self.placement) for v in videos]
        videos = [on_beats(self.sampler, v, f) for v, f in zip(videos, found, strict=True)]
        out = self._clip_outputs(videos, found)
        predictions, start = [], 0
        for v, beats in zip(videos, found, strict=True):
            end = start + len(v.clips)
            prediction = self._video_result(v, {key: value[start:end] for key, value in out.items()})
            if beats is not None:
                self._add_beats(prediction, beats.finding, out["ef"][start:end], v.frame_source.fps, v.periods)
            predictions.append(prediction)
            start = end
        return predictions

    def _clip_outputs(self, videos: list[PreparedVideo], found: list[LoopBeats | None]) -> dict[str, np.ndarray]:
        """Every clip of several videos through the model in one batch (`predict_clips`); beat-by-beat videos
        reuse their phase pass's scale-1 features (`beat_clip_features`)."""
        pooled = self._beat_features(videos, found)
        if pooled is not None:
            return predict_clips(self.model, pooled, self.placement, pooled=True)
        clips = torch.cat([v.clips for v in videos]) if len(videos) > 1 else videos[0].clips
        shared = None
        if self.share_frames and all(v.source_index is not None for v in videos):
            shared = batch_frame_ids([v.source_index for v in videos])
        return predict_clips(self.model, clips, self.placement, source_index=shared)

    def _beat_features(self, videos: list[PreparedVideo], found: list[LoopBeats | None]) -> torch.Tensor | None:
        """The pooled features of every clip when every video was read beat by beat and can reuse its phase
        pass (`beat_clip_features`); None otherwise."""
        pooled = []
        for video, beats in zip(videos, found, strict=True):
            features = beat_clip_features(self.model, video, beats, self.placement) if beats is not None else None
            if features is None:
                return None
            pooled.append(features)
        return torch.cat(pooled)

    def _video_result(self, v: PreparedVideo, part: dict[str, np.ndarray]) -> Prediction:
        """One video's prediction from its clips' outputs and what its loop says about itself."""
        frames = v.frame_source
        prediction = self._from_outputs(part, v.starts, frames.fps, v.period, v.source, list(v.warnings))
        prediction.n_frames, prediction.flags, prediction.colour = frames.n_frames, list(frames.flags), frames.colour
        prediction.crop, prediction.region = frames.region.to_dict(), frames.region
        prediction.first_clip = v.first_clip
        return prediction

    def _add_beats(
        self,
        prediction: Prediction,
        finding: BeatFinding,
        clip_efs: np.ndarray,
        fps: float | None,
        periods: np.ndarray | None,
    ) -> None:
        """A beat-by-beat prediction's beats, rhythm flags and warnings (`fps`: the loop's rate, None if unknown)."""
        beats = BeatSummary.from_finding(finding, clip_efs, fps is not None, periods)
        prediction.beats = beats
        width = None if prediction.ef_low is None else prediction.ef_high - prediction.ef_low
        prediction.flags += beats.flags(width)
        if beats.fallback:
            prediction.warnings.append("no complete heartbeat found: the EF comes from evenly spaced clips")
        if self.phase is None:
            prediction.warnings.append(
                "beats found by the label-free route (periodicity of the frame features): "
                "the run has no phase head fitted on traced end-diastolic and end-systolic frames"
            )

    def _predict_tensor(self, x: torch.Tensor) -> Prediction:
        clips = _check_clips(x).float()
        out = predict_clips(self.model, clips, self.placement)
        return self._from_outputs(out, np.zeros(len(clips), dtype=int), None, self.sampler.period, "tensor", [])

    def _from_outputs(
        self, out: dict, starts: np.ndarray, fps: float | None, period: int, source: str, warnings: list[str]
    ) -> Prediction:
        video = reduce_clips(out)
        names, ef = self.categories, video["EF_pred"]
        low = high = None
        if self.calibration is not None:
            low, high = (float(v) for v in self.calibration.interval(ef, video["EF_clip_sd"]))
        return Prediction(
            ef=ef,
            category=names[video["category_pred"]],
            probabilities={n: float(p) for n, p in zip(names, video["probs"], strict=True)},
            attention=[float(a) for a in out["attention"][0]],
            clip_starts=[int(s) for s in starts],
            clip_efs=[float(e) for e in out["ef"]],
            fps=fps,
            period=int(period),
            ef_coarse=video["EF_pred_coarse"],
            ef_low=low,
            ef_high=high,
            interval_coverage=self.calibration.coverage if self.calibration is not None else None,
            source=source,
            warnings=warnings,
        )


def _check_frames(frames: np.ndarray) -> np.ndarray:
    """(F, H, W, 3) or (F, H, W) uint8 raw frames; anything else is a ValueError naming the layout."""
    if frames.dtype != np.uint8:
        raise ValueError(
            f"a frame array must be uint8 (F, H, W, 3) RGB or (F, H, W) grey, got dtype {frames.dtype}; "
            "pass preprocessed clips as a torch tensor (T, 3, H, W)"
        )
    if frames.ndim == 3:
        frames = np.repeat(frames[..., None], 3, axis=-1)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"a frame array must be (F, H, W, 3) RGB or (F, H, W) grey, got shape {tuple(frames.shape)}")
    if len(frames) < 2:
        raise ValueError("a frame array needs at least 2 frames: LVEF needs the motion over the cardiac cycle")
    return frames


def _check_clips(x: torch.Tensor) -> torch.Tensor:
    """(T, 3, H, W) or (N, T, 3, H, W) -> (N, T, 3, H, W); the wrong layout is a ValueError naming the expected one."""
    expected = "expected (T, 3, H, W) for one clip or (N, T, 3, H, W) for N clips of one video"
    if x.ndim not in (4, 5):
        raise ValueError(f"tensor of shape {tuple(x.shape)}: {expected}")
    if x.shape[-3] != 3:
        hint = ""
        if x.ndim == 5 and x.shape[1] == 3:
            hint = " (this looks like (B, 3, T, H, W): move the channel axis with x.permute(0, 2, 1, 3, 4))"
        elif x.ndim == 4 and x.shape[0] == 3:
            hint = " (this looks like (3, T, H, W): move the channel axis with x.permute(1, 0, 2, 3))"
        raise ValueError(f"tensor of shape {tuple(x.shape)}: {expected}{hint}")
    if not torch.is_floating_point(x):
        raise ValueError(
            f"tensor of dtype {x.dtype}: pass preprocessed float clips, or raw uint8 frames as a "
            "NumPy (F, H, W, 3) array"
        )
    return x if x.ndim == 5 else x[None]


def load(path: str | Path, device: str | torch.device = "auto", precision: str | None = None) -> Predictor:
    """A trained model from a checkpoint file, a run folder or an exported package folder: the one way every job,
    the server and hubconf open a model (`cardiacclip.model.factory.open_model` resolves and rebuilds it).

    Args:
        path: checkpoint file, run folder (its best checkpoint, else the last) or `cardiacclip export` folder
            (`cardiacclip.model.layout`); its calibration.json, when present, gives every prediction an EF interval,
            its phase.json the phase head beats are found with (`clips="beats"`).
        device: "auto" (cuda, then mps, then cpu), or any torch device.
        precision: "fp32", "bf16", "fp16" or "auto"; default: the run's setting.

    Raises:
        CheckpointError: a missing, truncated or foreign file, with one line saying which.
    """
    torch_device = device if isinstance(device, torch.device) else resolve_device(device)
    loaded = open_model(path, torch_device)
    precision = resolve_precision(precision or loaded.config.train.precision, torch_device)
    return Predictor(loaded.model, loaded.config, torch_device, precision, loaded.calibration, loaded.phase)


__all__: Sequence[str] = ("Prediction", "Predictor", "load")
