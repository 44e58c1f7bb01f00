#!/usr/bin/env python3
"""Training speed, measured side by side in one run on this machine (synthetic default: demo data, toy backbone).

A. Frozen trunk (`model.freeze_trunk`, `data.pad 0`): `--epochs` epochs without and with `train.trunk_cache`;
   seconds of every epoch (training + validation), the later epochs' speed-up (target >= 10x), and the largest
   difference in the logged metrics (target: equal to 1e-5).
B. DDP: one epoch of the synthetic default as 2 gloo processes (`torchrun --nproc-per-node 2`) and as one
   process, same config: wall time and the epoch's metrics. On a 2-core CPU this shows correctness and the
   overhead; the speed-up belongs to GPUs (see benchmarks/gpu_check.sh).

Usage: python benchmarks/bench_train.py [--data demo_out/data] [--epochs 3] [--skip-ddp]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cardiacclip.config import RunConfig
from cardiacclip.jobs.train import train


def frozen_config(data: Path, epochs: int, cache: bool) -> RunConfig:
    config = RunConfig.default_for("synthetic")
    config.data.root, config.data.pad = str(data), 0
    config.model.freeze_trunk = True
    config.train.epochs, config.train.trunk_cache, config.train.device = epochs, cache, "cpu"
    return config


def epoch_seconds(run: Path) -> np.ndarray:
    return np.diff(np.concatenate([[0.0], pd.read_csv(run / "metrics.csv")["seconds"].to_numpy()]))


def part_a(data: Path, epochs: int, work: Path) -> None:
    runs = {}
    for cache in (False, True):
        runs[cache] = work / ("cached" if cache else "uncached")
        train(frozen_config(data, epochs, cache), runs[cache], progress=False)
    plain, cached = epoch_seconds(runs[False]), epoch_seconds(runs[True])
    a, b = (pd.read_csv(runs[c] / "metrics.csv") for c in (False, True))
    columns = ["train_loss", "train_mae", "val_mae", "val_rmse"]
    difference = float(np.abs(a[columns].to_numpy() - b[columns].to_numpy()).max())
    print(f"# A. frozen trunk, {epochs} epochs (training + validation), seconds per epoch")
    print(f"uncached: {' '.join(f'{s:.1f}' for s in plain)}")
    print(f"cached:   {' '.join(f'{s:.1f}' for s in cached)}")
    later = plain[1:].mean() / cached[1:].mean()
    print(
        f"later epochs: {later:.1f}x faster with the cache; first epoch {plain[0] / cached[0]:.2f}x; "
        f"largest metric difference {difference:.1e}"
    )


def part_b(data: Path, work: Path) -> None:
    config = RunConfig.default_for("synthetic")
    config.data.root, config.train.epochs, config.train.device = str(data), 1, "cpu"
    config.to_yaml(work / "ddp.yaml")
    results = {}
    for label, launcher in (
        ("1 process", [sys.executable, "-m", "cardiacclip"]),
        (
            "2 gloo processes",
            [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "-m", "cardiacclip"],
        ),
    ):
        out = work / label.replace(" ", "_")
        start = time.perf_counter()
        done = subprocess.run(
            [*launcher, "train", "--data", str(data), "--out", str(out), "--config", str(work / "ddp.yaml")],
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            print(f"{label}: failed: {done.stderr.strip().splitlines()[-1]}")
            continue
        results[label] = (seconds, pd.read_csv(out / "metrics.csv").iloc[-1])
    print("\n# B. one epoch of the synthetic default, DDP over gloo on this CPU (wall time incl. start-up)")
    for label, (seconds, row) in results.items():
        print(
            f"{label:<17} {seconds:6.1f} s   train loss {row['train_loss']:.3f}, train MAE {row['train_mae']:.2f}, "
            f"val MAE {row['val_mae']:.2f}"
        )
    if len(results) == 2:
        print(f"2 processes / 1 process wall time: {results['2 gloo processes'][0] / results['1 process'][0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("demo_out/data"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--skip-ddp", action="store_true")
    args = parser.parse_args()
    if not (args.data / "FileList.csv").is_file():
        sys.exit(f"{args.data}: no FileList.csv; run `make demo` first (it writes demo_out/data) or pass --data")
    data = args.data
    with tempfile.TemporaryDirectory() as tmp:
        part_a(data, args.epochs, Path(tmp))
        if not args.skip_ddp:
            part_b(data, Path(tmp))


if __name__ == "__main__":
    main()
