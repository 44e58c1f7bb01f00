"""Running a trained CardiacCLIP over clips and datasets: per-clip predictions averaged per video."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from cardiacclip.data.clips import distinct_frames
from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.model.beats import BeatSummary, beat_clip_features, find_video_beats, on_beats
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.feature_cache import TrunkFeatureCache
from cardiacclip.model.phase import PhaseHead
from cardiacclip.progress import progress_bar
from cardiacclip.runtime import CPU_FP32, Placement

log = logging.getLogger(__name__)


@torch.no_grad()
def predict_clips(
    model: CardiacCLIP,
    clips: torch.Tensor,
    placement: Placement = CPU_FP32,
    chunk: int = 4,
    source_index: np.ndarray | None = None,
    pooled: bool = False,
) -> dict[str, np.ndarray]:
    """(N, T, 3, H, W) preprocessed clips of one video -> per-clip ef, ef_coarse (N,) in percent,
    probs (N, K), attention (N, T), as NumPy arrays; `chunk` clips go through the model at a time.

    With `source_index` (N, T), the source frame of every clip position, each distinct frame goes through
    the image encoder once however many overlapping clips hold it (when the model's frame embeddings are
    independent of the batch, `CardiacCLIP.frames_independent`); the result is the same to float rounding.
    With `pooled`, `clips` holds (N, T, F) cached pooled trunk features (`TrunkFeatureCache`) instead.
    """
    run, inputs = model, clips
    if pooled:
        run = partial(model, pooled=True)
    elif source_index is not None and model.frames_independent and len(clips) > 1:
        run = model.forward_features
        inputs = _unique_frame_features(model, clips, source_index, placement, chunk * clips.shape[1])
    batches = [inputs[i : i + chunk].to(placement.device, non_blocking=True) for i in range(0, len(inputs), chunk)]
    outputs: dict[str, list[torch.Tensor]] = {"ef": [], "ef_coarse": [], "probs": [], "attention": []}
    for batch in batches:
        with placement.autocast():
            out = run(batch)
        for key in outputs:
            outputs[key].append(out[key].float().cpu())
    return {key: torch.cat(value).numpy() for key, value in outputs.items()}


def _unique_frame_features(
    model: CardiacCLIP,
    clips: torch.Tensor,
    source_index: np.ndarray,
    placement: Placement,
    frames_per_pass: int,
) -> torch.Tensor:
    """(N, T, D) frame embeddings, each distinct source frame encoded once."""
    n, t = clips.shape[:2]
    frames, _, inverse = distinct_frames(clips, source_index)
    encoded = []
    device = placement.device
    for i in range(0, len(frames), frames_per_pass):
        with placement.autocast():
            encoded.append(model.encode_frames(frames[i : i + frames_per_pass].to(device)[None])[0])
    return torch.cat(encoded)[torch.from_numpy(inverse).to(device)].view(n, t, -1)


def reduce_clips(per_clip: dict[str, np.ndarray]) -> dict:
    """One video's result from its clips' outputs (`predict_clips`): the mean over clips (EchoNet-Dynamic's
    test-time augmentation) of EF and category probabilities, with the first clip's EF and the clips' spread.

    Returns EF_pred, EF_pred_first_clip, EF_pred_coarse, EF_clip_sd (EF points), category_pred (index of the
    most probable category), probs (K,), n_clips. `evaluate` and `predict` (`Predictor`) both reduce with it.
    """
    probs = per_clip["probs"].mean(axis=0)
    return {
        "EF_pred": float(per_clip["ef"].mean()),
        "EF_pred_first_clip": float(per_clip["ef"][0]),
        "EF_pred_coarse": float(per_clip["ef_coarse"].mean()),
        "EF_clip_sd": float(per_clip["ef"].std()),  # spread of the clip predictions (EF points)
        "category_pred": int(np.argmax(probs)),
        "probs": probs,
        "n_clips": int(len(per_clip["ef"])),
    }


@dataclass
class DatasetPredictions:
    """What `predict_dataset` returns.

    Attributes:
        table: one row per video: FileName, EF, EF_pred, EF_pred_first_clip, EF_pred_coarse, category,
            category_pred, p_<category>..., n_clips, clip_starts, period (EF in percent).
        attention: every clip's MFL frame weights per video, (N clips, T frames).
        failed: videos left out because their frames failed to decode after the probe, {FileName: reason}.
    """

    table: pd.DataFrame
    attention: dict[str, np.ndarray]
    failed: dict[str, str] = field(default_factory=dict)


def predict_dataset(
    model: CardiacCLIP,
    dataset: EchoNetDataset,
    placement: Placement = CPU_FP32,
    chunk: int = 4,
    progress: bool = True,
    desc: str = "evaluating",
    workers: int = 0,
    cache: TrunkFeatureCache | None = None,
    phase: PhaseHead | None = None,
) -> DatasetPredictions:
    """Predictions for every video of a dataset (in evaluation mode); `workers` DataLoader processes decode
    the videos while the model runs, and frames shared by overlapping clips are encoded once. With the
    dataset's clips "beats", each video gets one clip per beat found with `phase` (`cardiacclip.model.beats`)
    and its row the beats' columns.

    A video whose frames fail to decode is left out of the table and named in `failed` (see
    `DatasetPredictions`).
    """
    was_training = model.training
    model.eval()
    rows, attention, failed = [], {}, {}
    items: Iterable = (
        DataLoader(dataset, batch_size=None, num_workers=workers, persistent_workers=False)
        if workers > 0
        else (dataset[i] for i in range(len(dataset)))
    )
    for item in progress_bar(items, total=len(dataset), desc=desc, unit="video", disable=not progress, leave=False):
        if "error" in item:  # a video that failed after its probe: left out, listed in `failed`
            log.warning("left out of %s: %s", desc, item["error"])
            failed[item["file_name"]] = item["error"]
            continue
        if "prepared" in item:
            per_clip, row = _predict_beats(model, dataset, item, placement, chunk, phase)
        else:
            per_clip = _predict_item(model, dataset, item, placement, chunk, cache)
            row = _row(model, item, reduce_clips(per_clip))
        rows.append(row)
        attention[item["file_name"]] = per_clip["attention"]
    model.train(was_training)
    table = pd.DataFrame(rows)
    classes = model.prompts.classify(table["EF"].to_numpy(), model.config.label_bins)
    table.insert(2, "category", [model.prompts.names[int(c)] for c in classes])
    return DatasetPredictions(table, attention, failed)


def _predict_item(
    model: CardiacCLIP,
    dataset: EchoNetDataset,
    item: dict,
    placement: Placement,
    chunk: int,
    cache: TrunkFeatureCache | None,
) -> dict[str, np.ndarray]:
    """The clips of one dataset item through the model; with a frozen trunk's cache, each frame's features once
    per run."""
    source_index = dataset.sampler.source_index(item["starts"].numpy(), item["video"].shape[1], item["period"])
    if cache is None or source_index is None:
        return predict_clips(model, item["video"], placement, chunk, source_index)
    videos = [item["file_name"]] * len(source_index)
    features = cache.pooled(model, item["video"], videos, source_index, placement, strict=not dataset.decode_pixels)
    return predict_clips(model, features, placement, chunk, pooled=True)


def _predict_beats(
    model: CardiacCLIP, dataset: EchoNetDataset, item: dict, placement: Placement, chunk: int, phase: PhaseHead | None
) -> tuple[dict[str, np.ndarray], dict]:
    """One clip per beat of a dataset item (clips="beats"): the clips' outputs and the video's row, with the
    clips' own periods (clip_periods) and the beats' columns."""
    found = find_video_beats(model, dataset.sampler, item["prepared"], phase, placement)
    video = on_beats(dataset.sampler, item["prepared"], found)
    pooled = beat_clip_features(model, video, found, placement) if found is not None else None
    if pooled is not None:
        per_clip = predict_clips(model, pooled, placement, chunk, pooled=True)
    else:
        per_clip = predict_clips(model, video.clips, placement, chunk, video.source_index)
    placed = {**item, "starts": video.starts}
    row = _row(model, placed, reduce_clips(per_clip))
    periods = video.periods if video.periods is not None else np.full(len(video.starts), video.period)
    row["clip_periods"] = " ".join(str(int(p)) for p in periods)
    finding = found.finding if found is not None else None
    beats = BeatSummary.from_finding(finding, per_clip["ef"], video.frame_source.fps is not None, video.periods)
    row.update(beats.columns())
    return per_clip, row


def _row(model: CardiacCLIP, item: dict, summary: dict) -> dict:
    """One video's row of the `predict_dataset` table."""
    row = {"FileName": item["file_name"], "EF": float(item["ef"])}
    row.update({k: v for k, v in summary.items() if k != "probs"})
    row["category_pred"] = model.prompts.names[summary["category_pred"]]
    row.update(zip(model.prompts.probability_columns, map(float, summary["probs"]), strict=True))
    row["clip_starts"] = " ".join(str(int(s)) for s in item["starts"])
    row["period"] = int(item["period"])
    return row
