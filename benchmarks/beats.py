"""Beat by beat against evenly spaced clips, on the demo's model (`cardiacclip.model.beats`).

    python benchmarks/beats.py --demo runs/demo --out runs/beats-bench

Uses the demo's run (`make demo` writes it; `--demo` names its folder, trained there when missing) and
fits its phase head when the run has none. Scores the demo's own test split, then fresh test sets drawn
with the demo's recipe, every video with its Beats.csv truth: regular loops and irregular (AF-like)
loops in the demo's style over three data seeds, and regular loops in the held-out style. Prints, per
set: ED and ES frame errors against the traced frames (mean absolute frames and milliseconds), per-beat
EF MAE (beats matched to the drawn beats by their end-diastole), the video MAE of beat averaging and of
the run's evenly spaced clips (same model, same videos), and the ratio of their times. The machine and the date are
printed with the table.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import cardiacclip as cc
from cardiacclip.data.echonet import dataset_from_config
from cardiacclip.data.filelist import key_frames, read_beats, read_filelist
from cardiacclip.jobs.demo import run_demo
from cardiacclip.jobs.train import fit_phase_run
from cardiacclip.model.layout import RunFolder
from cardiacclip.synthetic.dataset import generate_dataset


def _cpu() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor()


@dataclass
class SetResult:
    """The figures of one test set."""

    name: str
    videos: int = 0
    ed_frames: list[float] = field(default_factory=list)
    es_frames: list[float] = field(default_factory=list)
    fps: list[float] = field(default_factory=list)
    beat_errors: list[float] = field(default_factory=list)
    even_errors: list[float] = field(default_factory=list)
    beats_errors: list[float] = field(default_factory=list)
    even_seconds: float = 0.0
    beats_seconds: float = 0.0
    fallbacks: int = 0
    irregular_flags: int = 0

    def row(self) -> dict:
        ms = 1000.0 / np.asarray(self.fps)
        return {
            "set": self.name,
            "videos": self.videos,
            "ED error (frames)": np.mean(self.ed_frames),
            "ED error (ms)": np.mean(np.asarray(self.ed_frames) * ms),
            "ES error (frames)": np.mean(self.es_frames),
            "ES error (ms)": np.mean(np.asarray(self.es_frames) * ms),
            "per-beat EF MAE": np.mean(self.beat_errors) if self.beat_errors else float("nan"),
            "video MAE, beats": np.mean(self.beats_errors),
            "video MAE, even clips": np.mean(self.even_errors),
            "irregular_rhythm flags": self.irregular_flags,
            "fallbacks": self.fallbacks,
            "time beats / even": self.beats_seconds / self.even_seconds,
        }


def _ensure_run(demo: Path) -> RunFolder:
    """The demo's run folder, trained when missing, with a phase head."""
    run = RunFolder(demo / "run")
    if not run.best.is_file():
        run_demo(demo, progress=False)
    if not run.phase.is_file():
        predictor = cc.load(run.root, device="cpu")
        d = predictor.config.data
        sets = [
            dataset_from_config(d, split, run.split, clips=1, mean=predictor.model.mean, std=predictor.model.std)
            for split in ("train", "val")
        ]
        fit_phase_run(run.root, *sets, predictor.placement)
    return run


def _test_set(out: Path, n: int, seed: int, style: str, rhythm: str) -> Path:
    root = out / f"{style}-{rhythm}-seed{seed}"
    if not (root / "Beats.csv").is_file():
        generate_dataset(root, n=n, seed=seed, style=style, rhythm=rhythm, progress=False)
    return root


def _score(predictor: cc.Predictor, root: Path, name: str, split_file: Path | None = None) -> SetResult:
    """Both ways of predicting every video of a set (its TEST split when `split_file` is given)."""
    table = read_filelist(split_file or root / "FileList.csv")
    if split_file is not None:
        table = table[table["Split"].str.upper() == "TEST"]
    traced, truth = key_frames(root), read_beats(root)
    result = SetResult(name)
    for file_name, ef in zip(table["FileName"], table["EF"], strict=True):
        video = predictor.probe(root / "Videos" / f"{file_name}.avi")
        started = time.perf_counter()
        even = predictor.run(predictor.prepare(video))
        result.even_seconds += time.perf_counter() - started
        started = time.perf_counter()
        beats = predictor.run(predictor.prepare(video, "beats"))
        result.beats_seconds += time.perf_counter() - started
        result.videos += 1
        result.even_errors.append(abs(even.ef - ef))
        result.beats_errors.append(abs(beats.ef - ef))
        found = beats.beats
        result.fallbacks += found.fallback
        result.irregular_flags += "irregular_rhythm" in beats.flags
        es, ed = traced[f"{file_name}.avi"]
        result.ed_frames.append(min((abs(f - ed) for f in found.ed_frames), default=video.n_frames))
        result.es_frames.append(min((abs(f - es) for f in found.es_frames), default=video.n_frames))
        result.fps.append(video.fps or 50.0)
        if truth is not None:  # a dataset written before Beats.csv existed has no per-beat truth
            result.beat_errors += _beat_errors(found, truth[truth["FileName"] == file_name])
    return result


def _beat_errors(found: cc.BeatSummary, drawn: pd.DataFrame) -> list[float]:
    """|predicted - drawn| EF of each beat found whose end-diastole is within a quarter beat of a drawn one."""
    errors = []
    for ed, ef in zip(found.beat_ed, found.beat_efs, strict=True):
        distance = (drawn["EDFrame"] - ed).abs()
        if len(drawn) and distance.min() <= 0.25 * (drawn["NextEDFrame"] - drawn["EDFrame"]).median():
            errors.append(abs(ef - float(drawn.loc[distance.idxmin(), "EF"])))
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path("runs/demo"), help="the demo's output folder")
    parser.add_argument("--out", type=Path, default=Path("runs/beats-bench"), help="where the test sets go")
    parser.add_argument("--n", type=int, default=60, help="videos per test set")
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13], help="data seeds of the test sets")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    run = _ensure_run(args.demo)
    predictor = cc.load(run.root, device="cpu")
    phase = predictor.phase
    sets = [(f"regular, seed {s}", "echonet", "regular", s) for s in args.seeds]
    sets += [(f"irregular, seed {s}", "echonet", "irregular", s) for s in args.seeds]
    sets.append((f"held-out style, seed {args.seeds[0]}", "second", "regular", args.seeds[0]))
    rows = [_score(predictor, args.demo / "data", "the demo's test split", run.split).row()]
    print("done: the demo's test split", flush=True)
    for name, style, rhythm, seed in sets:
        rows.append(_score(predictor, _test_set(args.out, args.n, seed, style, rhythm), name).row())
        print(f"done: {name}", flush=True)
    table = pd.DataFrame(rows)
    print(f"\n{datetime.date.today()}, {_cpu()}, {os.cpu_count()} cores, no GPU (CPU, fp32)")
    route = "label-free" if phase is None else f"{phase.route} (validation: {phase.validation})"
    print(f"model: {run.root} (the demo's); phase route: {route}\n")
    print(_markdown(table))


def _markdown(table: pd.DataFrame) -> str:
    """A pipe table, numbers to two decimals."""
    cells = [[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row] for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


if __name__ == "__main__":
    main()
