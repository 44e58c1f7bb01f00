"""Fitting the phase head after training (`cardiacclip.model.phase`), and choosing its route by measurement.

The head is fitted on the traced end-diastolic and end-systolic frames of the training videos
(VolumeTracings.csv, or FileList.csv's EDFrame/ESFrame: `data.filelist.key_frames`), from the trained
model's pooled scale-1 trunk features. Both routes, the head and the label-free periodicity, then find
the beats of the validation videos; the route whose end-diastoles and end-systoles lie closer to the
traced ones (mean absolute frames, ED and ES added) is the one predictions use. A dataset without
traced frames gets no head: predictions then find beats label-free and say so.
"""

from __future__ import annotations

import logging

import numpy as np

from cardiacclip.data.echonet import EchoNetDataset
from cardiacclip.data.filelist import key_frames, video_file_name
from cardiacclip.data.prepare import prepare_video
from cardiacclip.model.beats import loop_phase_features
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.phase import PhaseHead, find_beats, fit_phase_head, periodicity_signal
from cardiacclip.runtime import CPU_FP32, Placement

log = logging.getLogger(__name__)

MAX_VIDEOS = 100  # per split: enough for a direction in feature space, and a minute on a CPU for the toy model


def fit_phase(
    model: CardiacCLIP,
    train_set: EchoNetDataset,
    val_set: EchoNetDataset,
    placement: Placement = CPU_FP32,
    max_videos: int = MAX_VIDEOS,
) -> PhaseHead | None:
    """The phase head of a trained model (module docstring); None when the training videos have no traced
    ED/ES frames."""
    train = _traced_features(model, train_set, placement, max_videos)
    if len(train) < 2:
        log.info("no traced end-diastolic and end-systolic frames in the training data: beats will be found label-free")
        return None
    ed = np.stack([f[ed] for f, _, ed, _ in train])
    es = np.stack([f[es] for f, es, _, _ in train])
    noise = np.concatenate([np.diff(f, axis=0)[::5] for f, *_ in train])
    head = fit_phase_head(ed, es, noise, source=f"training split, {len(train)} videos with traced ED and ES")
    validation = _route_errors(head, _traced_features(model, val_set, placement, max_videos))
    if not validation:
        return head
    head_error = validation["head_ed"] + validation["head_es"]
    route = "head" if head_error <= validation["periodicity_ed"] + validation["periodicity_es"] else "periodicity"
    log.info(
        "phase: mean frame error on %d validation videos: head ED %.2f ES %.2f, periodicity ED %.2f ES %.2f; "
        "predictions use the %s",
        int(validation["n_videos"]),
        *(validation[k] for k in ("head_ed", "head_es", "periodicity_ed", "periodicity_es")),
        route,
    )
    return PhaseHead(head.weight, head.n_videos, head.source, route, validation)


def _traced_features(
    model: CardiacCLIP, dataset: EchoNetDataset, placement: Placement, max_videos: int
) -> list[tuple[np.ndarray, int, int, float]]:
    """(features (F, C) of every frame, ES frame, ED frame, fps) of up to `max_videos` videos with traced frames."""
    pairs = key_frames(dataset.root)
    out = []
    for name, source in zip(dataset.file_names, dataset.sources, strict=True):
        key = pairs.get(video_file_name(name))
        if key is None or max(key) >= source.n_frames or len(out) >= max_videos:
            continue
        prepared = prepare_video(source, dataset.sampler, "beats", fallback_clips=1)
        if len(prepared.phase_index) != source.n_frames:
            continue  # a fast loop read every k-th frame: its traced frames may not be among them
        features, fps = loop_phase_features(model, dataset.sampler, prepared, placement)
        out.append((features, int(key[0]), int(key[1]), fps))
    return out


def _route_errors(head: PhaseHead, videos: list[tuple[np.ndarray, int, int, float]]) -> dict[str, float]:
    """Mean absolute frame error of the nearest end-diastole and end-systole each route finds, per route."""
    if not videos:
        return {}
    errors: dict[str, list[float]] = {k: [] for k in ("head_ed", "head_es", "periodicity_ed", "periodicity_es")}
    for features, es, ed, fps in videos:
        for route, signal in (("head", head.signal(features)), ("periodicity", periodicity_signal(features, fps))):
            found = find_beats(signal, fps, route)
            errors[f"{route}_ed"].append(_nearest(found.ed_frames, ed, len(features)))
            errors[f"{route}_es"].append(_nearest(found.es_frames, es, len(features)))
    return {**{k: float(np.mean(v)) for k, v in errors.items()}, "n_videos": float(len(videos))}


def _nearest(found: list[int], traced: int, n_frames: int) -> float:
    """Frames from the traced frame to the nearest one found (the loop's length when none was found)."""
    return float(min((abs(f - traced) for f in found), default=n_frames))
