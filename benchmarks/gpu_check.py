#!/usr/bin/env python3
"""GPU check of the paper configuration on synthetic videos (run by benchmarks/gpu_check.sh; never in CI).

One 1-shot training epoch with AMP (`--precision auto`: bf16 where supported), evaluation of `--videos`
test videos, then bf16 vs fp32 predictions on 20 of them. Prints seconds per epoch, videos per second,
peak GPU memory and |EF bf16 - EF fp32| (mean, max). The backbone is the paper's architecture
(open_clip convnext_base, EchoCLIP's) with random weights: the speed and memory are the real model's,
the EFs are not meaningful. Aim: under 5 minutes on one H100-class GPU.

`--device cpu --backbone tiny --videos 6 --synthetic 120` runs the same steps small on a CPU (a smoke test).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--backbone", default="convnext_base", help="open_clip architecture, random weights")
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--synthetic", type=int, default=500, help="synthetic videos to generate")
    args = parser.parse_args()

    import open_clip

    from cardiacclip.config import RunConfig
    from cardiacclip.data.echonet import dataset_from_config
    from cardiacclip.jobs.train import train
    from cardiacclip.model.backbone import save_backbone_weights
    from cardiacclip.model.factory import open_model
    from cardiacclip.model.inference import predict_dataset
    from cardiacclip.runtime import Placement, resolve_precision
    from cardiacclip.synthetic.dataset import generate_dataset

    work = args.work or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    device = torch.device(args.device)
    started = time.perf_counter()
    data = work / "data"
    if not (data / "FileList.csv").is_file():
        generate_dataset(data, n=args.synthetic, seed=0, size=112, fps=50.0)
    torch.manual_seed(0)
    if args.backbone in ("tiny", "synthetic"):  # the package's own small backbones (CPU smoke tests)
        backbone = args.backbone
    else:
        clip_model = open_clip.create_model_and_transforms(args.backbone, pretrained=None)[0]
        backbone = str(save_backbone_weights(clip_model, work / f"{args.backbone}.safetensors", half=False))
    print(f"synthetic data and {args.backbone} backbone: {time.perf_counter() - started:.0f} s")

    config = RunConfig.load("paper")
    config.model.backbone, config.data.root = backbone, str(data)
    config.data.shots, config.data.val_size = 1, 20
    config.train.epochs, config.train.device, config.train.precision = 1, args.device, "auto"
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    result = train(config, work / "run")
    train_memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    print(
        f"1-shot epoch (train + 20-video validation + calibration): {result.seconds:.1f} s, "
        f"peak GPU memory {train_memory:.1f} GiB, precision {resolve_precision('auto', device)}"
    )

    opened = open_model(work / "run" / "checkpoints" / "last.pt", device)
    model, run_config = opened.model, opened.config
    test = dataset_from_config(
        run_config.data,
        "test",
        work / "run" / "split.csv",
        clips=run_config.data.test_clips,
        mean=model.mean,
        std=model.std,
    )
    test.table = test.table.head(args.videos)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    workers = min(4, os.cpu_count() or 1)
    table = predict_dataset(model, test, Placement(device, resolve_precision("auto", device)), workers=workers).table
    seconds = time.perf_counter() - start
    memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    print(
        f"evaluation: {len(table)} videos x {run_config.data.test_clips} clips in {seconds:.1f} s = "
        f"{len(table) / seconds:.2f} videos/s, peak GPU memory {memory:.1f} GiB"
    )

    test.table = test.table.head(20)
    fp32 = predict_dataset(model, test, Placement(device, "fp32"), progress=False).table
    bf16 = predict_dataset(model, test, Placement(device, "bf16"), progress=False).table
    d = np.abs(fp32["EF_pred"].to_numpy() - bf16["EF_pred"].to_numpy())
    print(f"bf16 vs fp32 on 20 videos: |dEF| mean {d.mean():.3f}, max {d.max():.3f} EF points")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
