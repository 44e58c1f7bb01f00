"""`cardiacclip predict`: EF, category and category probabilities for new echo videos.

Any number of files or folders (searched recursively for AVI/MP4/DICOM) in, one row per file
out. An unreadable file gets a row with its error and the others still run. Videos at a frame
rate other than the training data's are sampled with a period scaled to match, so a clip
covers the same time span.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import torch
from tqdm.auto import tqdm

from cardiacclip import RESEARCH_NOTICE
from cardiacclip.config import RunConfig
from cardiacclip.data.clips import evaluation_clips, resize_frames, take_clip
from cardiacclip.data.errors import VideoReadError
from cardiacclip.data.video_io import DICOM_SUFFIXES, VIDEO_SUFFIXES, read_video
from cardiacclip.evaluate.inference import predict_clips, summarize_video
from cardiacclip.model.cardiacclip import CardiacCLIP

log = logging.getLogger(__name__)


def collect_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders expanded recursively to their video and DICOM files (sorted)."""
    files: list[Path] = []
    suffixes = VIDEO_SUFFIXES | DICOM_SUFFIXES
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes))
        else:
            files.append(path)  # missing files are reported per file by read_video
    return files


def effective_period(config: RunConfig, fps: float | None) -> int:
    if not fps:
        return config.data.period
    return max(1, int(round(config.data.period * fps / config.data.fps)))


def predict_files(model: CardiacCLIP, config: RunConfig, files: list[Path], device: torch.device, precision: str = "fp32",
                  clips: int | str | None = None, attention_dir: str | Path | None = None,
                  progress: bool = True) -> list[dict]:
    """One result dict per file: EF, category, probabilities, or the error that stopped it."""
    d = config.data
    names = list(model.prompts.names)
    clips = clips if clips is not None else d.test_clips
    model.eval()
    results = []
    for path in tqdm(files, desc="predicting", unit="video", disable=not progress or len(files) < 2):
        row: dict = {"file": str(path)}
        try:
            frames, fps = read_video(path)
        except VideoReadError as exc:
            log.error("%s", exc)
            results.append({**row, "status": "error", "error": str(exc)})
            continue
        period = effective_period(config, fps)
        tensor, starts = evaluation_clips(frames, d.length, period, clips, d.image_size, d.normalize)
        summary = summarize_video(predict_clips(model, tensor, device, precision))
        row.update({
            "status": "ok",
            "EF_pred": round(summary["EF_pred"], 2),
            "category": names[summary["category_pred"]],
            **{f"p_{n.replace(' ', '_')}": round(float(p), 4) for n, p in zip(names, summary["probs"])},
            "frames": int(len(frames)),
            "fps": fps,
            "period": period,
            "clips": summary["n_clips"],
            "error": "",
        })
        if attention_dir is not None:
            from cardiacclip.evaluate.plots import plot_attention_strip

            clip_frames = take_clip(resize_frames(frames, d.image_size), int(starts[0]), d.length, period)
            out = Path(attention_dir) / f"{path.stem}_attention.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            plot_attention_strip(clip_frames, summary["attention"], out,
                                 title=f"{path.name}: EF {summary['EF_pred']:.1f}% ({names[summary['category_pred']]}), "
                                       f"first clip from frame {int(starts[0])}, period {period}")
            row["attention_plot"] = str(out)
        results.append(row)
    return results


def results_table(results: list[dict]):
    import pandas as pd

    table = pd.DataFrame(results)
    for column in ("frames", "period", "clips"):
        if column in table.columns:
            table[column] = table[column].astype("Int64")
    first = ["file", "status", "EF_pred", "category"]
    return table[[c for c in first if c in table.columns] + [c for c in table.columns if c not in first]]


def with_notice(results: list[dict]) -> dict:
    return {"notice": RESEARCH_NOTICE, "predictions": results}


__all__ = ["collect_inputs", "effective_period", "predict_files", "results_table", "with_notice"]
