"""Synthetic echo datasets in the EchoNet-Dynamic layout: `generate_dataset` draws videos
(`cardiacclip.synthetic.echoes`) in worker processes and writes Videos/*.avi, FileList.csv, VolumeTracings.csv
(the traced ED and ES frames the EF is computed from), Beats.csv (every complete beat's ED, ES and EF) and
SyntheticParams.csv (how each video was drawn).

Tested by tests/synthetic/test_echoes.py.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from cardiacclip.choices import SyntheticRhythm
from cardiacclip.data.filelist import BEATS_FILE, write_filelist
from cardiacclip.data.video_io import write_video
from cardiacclip.progress import progress_bar
from cardiacclip.synthetic.echoes import SyntheticVideo, render_video, sample_params
from cardiacclip.synthetic.rhythm import sample_rhythm
from cardiacclip.synthetic.styles import check_style_name, style_for_video

log = logging.getLogger(__name__)


def synthetic_file_name(seed: int, index: int) -> str:
    """Names carry the seed, so archives made with different seeds never share a name."""
    return f"SYN{seed:05d}X{index:05d}"


def _make_one(job: tuple[Path, int, int, int, float, str, str]) -> tuple[dict, list[dict], dict, list[dict]]:
    out, seed, index, size, fps, style_name, rhythm_name = job
    rng = np.random.default_rng([seed, index])
    style = style_for_video(style_name, rng)
    params = sample_params(rng, size=size, fps=fps, style=style)
    rhythm = None
    if rhythm_name == "irregular":
        rhythm = sample_rhythm(rng, params.heart_rate, params.fps, params.n_frames, params.target_ef)
    video = render_video(params, rng, style, rhythm)
    fps = video.params.fps
    name = synthetic_file_name(seed, index)
    write_video(out / "Videos" / f"{name}.avi", video.frames, fps=fps)
    row = {
        "FileName": name,
        "EF": round(video.ef, 6),
        "ESV": round(video.esv, 4),
        "EDV": round(video.edv, 4),
        "FrameHeight": size,
        "FrameWidth": size,
        "FPS": fps,
        "NumberOfFrames": len(video.frames),
    }
    tracings = []
    for frame, coords in ((video.es_frame, video.es_tracing), (video.ed_frame, video.ed_tracing)):
        for x1, y1, x2, y2 in coords:
            tracings.append({"FileName": f"{name}.avi", "X1": x1, "Y1": y1, "X2": x2, "Y2": y2, "Frame": frame})
    params = {
        "FileName": name,
        **asdict(video.params),
        "ESFrame": video.es_frame,
        "EDFrame": video.ed_frame,
        "Style": style.name,
        "ChannelGamma": " ".join(f"{g:.3f}" for g in style.channel_gamma),
        "Rhythm": rhythm_name,
    }
    return row, tracings, params, _beat_rows(name, video)


def _beat_rows(name: str, video: SyntheticVideo) -> list[dict]:
    """Beats.csv rows (`cardiacclip.data.filelist.BEAT_COLUMNS`) of one video."""
    return [
        {
            "FileName": name,
            "Beat": i,
            "EDFrame": b.ed_frame,
            "ESFrame": b.es_frame,
            "NextEDFrame": b.next_ed_frame,
            "EF": round(b.ef, 6),
            "EDV": round(b.edv, 4),
            "ESV": round(b.esv, 4),
            "RR_ms": round(b.rr_ms, 3),
        }
        for i, b in enumerate(video.beats)
    ]


def assign_splits(n: int, seed: int, fractions: tuple[float, float, float] = (0.75, 0.125, 0.125)) -> np.ndarray:
    """TRAIN/VAL/TEST labels in EchoNet-Dynamic's proportions, shuffled with the seed."""
    counts = np.floor(np.asarray(fractions) / sum(fractions) * n).astype(int)
    counts[0] += n - counts.sum()
    labels = np.repeat(np.array(["TRAIN", "VAL", "TEST"]), counts)
    return np.random.default_rng([seed, 2**31 - 1]).permutation(labels)


def _run_jobs(jobs: list[tuple], workers: int, progress: bool) -> list[tuple]:
    """`_make_one` over `jobs`, in worker processes when there are several, results in job order."""
    bar = progress_bar(total=len(jobs), desc="synthetic echoes", unit="video", disable=not progress)
    if workers > 1 and len(jobs) > 1:
        pool = ProcessPoolExecutor(workers)
        made = pool.map(_make_one, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
    else:
        pool, made = None, map(_make_one, jobs)
    results = []
    for result in made:
        results.append(result)
        bar.update()
    bar.close()
    if pool is not None:
        pool.shutdown()
    return results


def generate_dataset(
    out: str | Path,
    n: int,
    seed: int = 0,
    size: int = 112,
    fps: float = 50.0,
    split_fractions: tuple[float, float, float] = (0.75, 0.125, 0.125),
    workers: int | None = None,
    progress: bool = True,
    style: str = "echonet",
    rhythm: SyntheticRhythm = "regular",
) -> pd.DataFrame:
    """Write an EchoNet-Dynamic-format folder of `n` synthetic videos and return its FileList.

    `style` is one of `cardiacclip.synthetic.styles.STYLE_NAMES` (a style with its own frame
    rate overrides `fps`); `rhythm` "irregular" draws AF-like loops (`cardiacclip.synthetic.rhythm`), whose
    EF label is the mean over their complete beats. The result depends only on (n, seed, size, fps,
    split_fractions, style, rhythm), not on `workers`: video i is drawn from its own generator seeded with
    (seed, i). Also writes `SyntheticParams.csv`, the drawing parameters of every video, and `Beats.csv`.
    """
    out = Path(out)
    check_style_name(style)
    (out / "Videos").mkdir(parents=True, exist_ok=True)
    jobs = [(out, seed, i, size, fps, style, rhythm) for i in range(n)]
    results = _run_jobs(jobs, workers or min(os.cpu_count() or 1, 8), progress)
    filelist = pd.DataFrame([r[0] for r in results])
    filelist["Split"] = assign_splits(n, seed, split_fractions)
    write_filelist(filelist, out / "FileList.csv")
    pd.DataFrame([row for r in results for row in r[1]]).to_csv(out / "VolumeTracings.csv", index=False)
    pd.DataFrame([r[2] for r in results]).to_csv(out / "SyntheticParams.csv", index=False)
    pd.DataFrame([row for r in results for row in r[3]]).to_csv(out / BEATS_FILE, index=False)
    log.info("wrote %d synthetic videos to %s", n, out)
    return filelist


def ensure_synthetic_data(
    root: Path,
    n: int,
    seed: int,
    split_fractions: tuple[float, float, float] = (0.6, 0.15, 0.25),
    workers: int | None = None,
    style: str = "echonet",
    rhythm: SyntheticRhythm = "regular",
) -> Path:
    """`generate_dataset` into `root` unless it already holds the same one (same n, seed, split fractions, style,
    rhythm)."""
    stamp = root / "synthetic.json"
    wanted = {"n": n, "seed": seed, "split_fractions": list(split_fractions)}
    if style != "echonet":  # older stamps have no style: they are echonet
        wanted["style"] = style
    if rhythm != "regular":
        wanted["rhythm"] = rhythm
    complete = (root / "FileList.csv").is_file() and (root / BEATS_FILE).is_file()  # older folders lack Beats.csv
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted and complete:
        log.info("reusing synthetic data in %s", root)
        return root
    if root.exists():
        shutil.rmtree(root)
    generate_dataset(
        root, n=n, seed=seed, split_fractions=split_fractions, workers=workers, style=style, rhythm=rhythm
    )
    stamp.write_text(json.dumps(wanted))
    return root
